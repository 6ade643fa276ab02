"""Hot loading: which compiled pack version is active per pack name, and what came before.

Pure and synchronous: the worker feeds it publications from the compacted ``control.rulepacks``
topic and publishes the returned :class:`ActivationStatus`. Activating swaps one immutable
mapping reference, so a reader holding ``registry.engine()`` never sees a half-applied change,
and a version that fails validation or its own examples never replaces the active one.

>>> from config.settings import PROJECT_ROOT
>>> from rules.compiler import load_pack
>>> reg = PackRegistry()
>>> reg.activate(load_pack(PROJECT_ROOT / "rules/packs/trucks.yaml")).status
'accepted'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rules.compiler import CompiledPack, load_pack_text
from rules.engine import RuleEngine
from rules.errors import PackInvalid
from rules.spec import version_key
from rules.testing import failures, run_examples
from schemas.hotload import Registry

if TYPE_CHECKING:
    from collections.abc import Mapping

    from schemas.records import RulePackPublication

Status = Literal["accepted", "refused", "unchanged"]


@dataclass(frozen=True)
class ActivationStatus:
    """The outcome of one activation attempt, for ``control.status`` and the CLI."""

    name: str
    version: str
    content_hash: str
    status: Status
    reason: str = ""
    previous_version: str | None = None
    removed_rules: tuple[str, ...] = ()
    """Rules the new version dropped: pass them to ``RuleEngine.cleanup``."""

    @property
    def accepted(self) -> bool:
        """True when this attempt activated the version (a republish of the active one is
        ``unchanged``, not accepted)."""
        return self.status == "accepted"


def _version(pack: CompiledPack) -> str:
    return pack.version


def decides_alone(records: list[bytes | None]) -> list[bytes | None]:
    """``[the latest record]`` of one pack name if applying it alone ends where applying every
    record in order ends; ``[]`` when only the full replay can tell.

    Compiling a pack and playing its examples takes a while, and an uncompacted topic holds
    every version ever published: replaying them all made each start slow. The latest record
    decides alone when it is a tombstone, or a (non-rollback) version newer than every earlier
    one: whichever earlier one was active, it is accepted or refused for its own content. A
    rollback, or an older version (refused, or accepted after a refused newer one), needs the
    history; so does a latest record that turns out refused (the one before it stays active).

    >>> import json
    >>> def pub(v, back=None):
    ...     return json.dumps({"version": v, "rollback_of": back}).encode()
    >>> [json.loads(r)["version"] for r in decides_alone([pub("1.0.0"), pub("2.0.0")])]
    ['2.0.0']
    >>> decides_alone([pub("3.0.0"), pub("2.0.0")]), decides_alone([pub("2.0.0", "3.0.0")])
    ([], [])
    >>> decides_alone([pub("2.0.0"), None])
    [None]
    """
    if not records:
        return []
    last = records[-1]
    if last is None:
        return [last]
    try:
        meta = json.loads(last)
        if meta.get("rollback_of") is not None:
            return []
        newest = version_key(meta["version"])
        for record in records[:-1]:
            if record is not None and version_key(json.loads(record)["version"]) >= newest:
                return []
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return []  # not a publication, or an earlier one is not: the full replay decides
    return [last]


class PackRegistry:
    """Rule packs on the one hot-load :class:`~schemas.hotload.Registry`: the checks that
    refuse a pack version, and a rule engine over the active packs.

    Up to ``keep`` previous versions per name are kept for rollback.
    """

    def __init__(self, keep: int = 10) -> None:
        self._packs: Registry[CompiledPack] = Registry(version=_version, keep=keep)
        self._engine: RuleEngine | None = None

    @property
    def active(self) -> Mapping[str, CompiledPack]:
        """A read-only snapshot: name → active pack."""
        return self._packs.active

    def history(self, name: str) -> list[CompiledPack]:
        """Previous versions of a pack, oldest first."""
        return self._packs.history(name)

    def status(self) -> dict[str, str]:
        """Name → version of every active pack."""
        return self._packs.status()

    def engine(self) -> RuleEngine:
        """A rule engine over the active packs, rebuilt only after a change."""
        if self._engine is None:
            self._engine = RuleEngine(self._packs.active.values())
        return self._engine

    def activate(self, pack: CompiledPack, rollback: bool = False) -> ActivationStatus:
        """Make ``pack`` the active version of its name, unless a check refuses it.

        Refused: a version not newer than the active one (unless ``rollback``), a rule id
        already used by another active pack, a failing example.
        """
        current = self._packs.get(pack.name)
        if current is not None and current.content_hash == pack.content_hash:
            return self._status(pack, "unchanged", "this content is already active", current)
        if (
            current is not None
            and not rollback
            and version_key(pack.version) <= version_key(current.version)
        ):
            return self._status(
                pack,
                "refused",
                f"version {pack.version} is not newer than the active {current.version}; "
                "bump the version or use rollback",
                current,
            )
        clash = self._clashes(pack)
        if clash:
            return self._status(pack, "refused", clash, current)
        failed = failures(run_examples(pack))
        if failed:
            names = ", ".join(f"{f.rule_id}/{f.example}" for f in failed[:5])
            why = f" ({failed[0].detail[:200]})" if failed[0].detail else ""
            reason = f"{len(failed)} example(s) fail: {names}{why}"
            return self._status(pack, "refused", reason, current)
        self._packs.activate(pack.name, pack)
        self._engine = None
        removed = tuple(sorted(current.rule_ids - pack.rule_ids)) if current else ()
        return self._status(pack, "accepted", "rollback" if rollback else "", current, removed)

    def activate_publication(self, publication: RulePackPublication) -> ActivationStatus:
        """Compile and activate a pack version from the control topic."""
        try:
            pack = load_pack_text(
                publication.yaml, origin=f"{publication.name}@{publication.version}"
            )
        except PackInvalid as exc:
            return ActivationStatus(
                publication.name,
                publication.version,
                publication.content_hash,
                "refused",
                "; ".join(exc.problems),
            )
        if pack.name != publication.name or pack.version != publication.version:
            return self._status(pack, "refused", "the YAML's name/version differ from the record's")
        if publication.content_hash and publication.content_hash != pack.content_hash:
            return self._status(pack, "refused", "content hash does not match the YAML")
        if publication.rollback_of is not None:
            problem = self._rollback_problem(pack, publication.rollback_of)
            if problem:
                return self._status(pack, "refused", problem, self._packs.get(pack.name))
        return self.activate(pack, rollback=publication.rollback_of is not None)

    def _rollback_problem(self, pack: CompiledPack, rollback_of: str) -> str:
        """Why a publication marked ``rollback_of`` may not skip the version check, or "".

        A rollback goes back from the active version to an older one. After compaction a
        worker may start with only the rollback record left (the version it rolled back from
        is gone): going forward from what is active then needs no exemption.
        """
        try:
            older = version_key(pack.version) < version_key(rollback_of)
        except ValueError as exc:
            return f"rollback_of: {exc}"
        if not older:
            return f"a rollback goes back: {pack.version} is not older than {rollback_of}"
        current = self._packs.get(pack.name)
        if current is None or current.version == rollback_of:
            return ""
        if version_key(pack.version) > version_key(current.version):
            return ""
        return (
            f"rollback_of {rollback_of} is not the active version {current.version}; "
            "use `riskloop rules rollback` or a new version"
        )

    def rollback(self, name: str) -> ActivationStatus:
        """Reactivate the version before the active one; the active one is dropped."""
        current = self._packs.get(name)
        target = self._packs.rollback(name)
        if current is None or target is None:
            return ActivationStatus(
                name,
                current.version if current else "",
                "",
                "refused",
                f"pack {name!r} has no previous version to roll back to",
            )
        self._engine = None
        removed = tuple(sorted(current.rule_ids - target.rule_ids))
        return self._status(
            target, "accepted", f"rollback from {current.version}", current, removed
        )

    def remove(self, name: str) -> tuple[str, ...]:
        """Deactivate a pack (tombstone on the control topic); returns its rule ids."""
        current = self._packs.remove(name)
        if current is None:
            return ()
        self._engine = None
        return tuple(sorted(current.rule_ids))

    def _clashes(self, pack: CompiledPack) -> str:
        for other in self._packs.values():
            if other.name != pack.name and other.rule_ids & pack.rule_ids:
                shared = ", ".join(sorted(other.rule_ids & pack.rule_ids))
                return f"rule id(s) {shared} already belong to active pack {other.name!r}"
        return ""

    @staticmethod
    def _status(
        pack: CompiledPack,
        status: Status,
        reason: str,
        current: CompiledPack | None = None,
        removed: tuple[str, ...] = (),
    ) -> ActivationStatus:
        return ActivationStatus(
            name=pack.name,
            version=pack.version,
            content_hash=pack.content_hash,
            status=status,
            reason=reason,
            previous_version=current.version if current else None,
            removed_rules=removed,
        )
