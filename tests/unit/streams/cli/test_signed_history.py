"""The CLI's view of a control topic is what the workers accepted: records no trusted key
signed are skipped, so `rules rollback` can never re-sign (launder) a stranger's pack."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config.settings import PROJECT_ROOT, Settings
from schemas.control_signature import sign
from streams import publish
from streams.control_keyring import load_keyring
from streams.control_keys import publication_key

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from schemas.records import RulePackPublication

PACK = PROJECT_ROOT / "rules" / "packs" / "complaints.yaml"


def version(folder: Path, v: str) -> RulePackPublication:
    doc = yaml.safe_load(PACK.read_text(encoding="utf-8"))
    doc["version"] = v
    path = folder / f"complaints-{v}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return publish.prepare_pack(path, "li")


def test_rollback_skips_what_no_trusted_key_signed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Settings(_env_file=None, dev={"state_dir": tmp_path})  # type: ignore[call-arg, arg-type]
    ring = load_keyring(s)
    stranger = Ed25519PrivateKey.generate()
    topic = s.topics.rulepacks

    def record(pub: RulePackPublication, *, trusted: bool) -> Any:
        key = publication_key(pub.name, pub.version, pub.content_hash).encode()
        value = pub.model_dump_json().encode()
        headers = (
            ring.sign(topic, key, value)
            if trusted
            else sign(stranger, topic, key, value, pub.published_at)
        )
        return SimpleNamespace(key=lambda: key, value=lambda: value, headers=lambda: headers)

    # a stranger's 9.1.0 sits between the modeller's 9.0.0 and 9.2.0
    history = [
        record(version(tmp_path, "9.0.0"), trusted=True),
        record(version(tmp_path, "9.1.0"), trusted=False),
        record(version(tmp_path, "9.2.0"), trusted=True),
    ]
    monkeypatch.setattr(publish, "read_records", lambda _s, _t: iter(history))
    sent: list[RulePackPublication] = []
    monkeypatch.setattr(publish, "send_pack", lambda _s, pub: sent.append(pub))
    pub = publish.rollback_pack(s, "complaints", "li")
    assert (pub.version, pub.rollback_of) == ("9.0.0", "9.2.0")
    assert [p.version for p in sent] == ["9.0.0"]
