"""Rule titles and legal bases, from the shipped rule packs: what a warning's reason ids mean.

A reason names its rule by id and pack version; the words a person acts on (title, legal basis,
description) are in the pack. The console reads the shipped packs once; a reason from a
hot-loaded version the console has not shipped still shows its id and version, with the shipped
version's words marked as such.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from streams.logs import get_logger

if TYPE_CHECKING:
    from pathlib import Path

log = get_logger(__name__)


@dataclass(frozen=True)
class RuleWords:
    """What a person reads about one rule, and the shipped pack and version the words
    come from (a warning may name a later, hot-loaded version).
    """

    rule_id: str
    title: str
    legal_basis: str
    description: str
    pack: str
    version: str


class Rulebook:
    """Rule id → its words, read from ``folder`` on first use (in a thread: CEL compiles)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._rules: dict[str, RuleWords] | None = None
        self._lock = asyncio.Lock()

    async def lookup(self, rule_id: str) -> RuleWords | None:
        """The rule's words, or None for a rule no shipped pack has. The packs are read on the
        first lookup, once, however many pages ask at the same time.
        """
        async with self._lock:
            if self._rules is None:
                self._rules = await asyncio.to_thread(self._read)
        return self._rules.get(rule_id)

    def _read(self) -> dict[str, RuleWords]:
        from rules.compiler import expand_paths, load_pack
        from schemas.errors import RiskLoopError

        words: dict[str, RuleWords] = {}
        for path in expand_paths([self.folder]):
            try:
                pack = load_pack(path)
            except RiskLoopError as exc:
                log.warning("console cannot read a rule pack", pack=str(path), error=str(exc)[:300])
                continue
            for rule in pack.rules:
                s = rule.spec
                words[s.id] = RuleWords(
                    s.id, s.title, s.legal_basis, s.description, pack.name, pack.version
                )
        return words
