"""Schema catalogues: which Avro schema a Confluent wire-format id stands for.

Two implementations share one small interface (:class:`Catalogue`):

- :class:`LocalCatalogue` reads ``schemas/avro/`` and the committed ``schemas/avro/ids.json``
  (subject → version → id, file, fingerprint). Ids never change once committed, so messages
  written months ago with an old version stay readable; the fingerprint (SHA-256 of the Avro
  parsing canonical form) makes a silent edit of a published version fail loudly instead.
  To evolve a schema: copy the current ``.avsc`` to ``history/<stem>.v<N>.avsc``, point its
  ``ids.json`` entry there, edit the current file (new fields optional with a default), and add
  version N+1 with a fresh id and the new fingerprint.
- :class:`RegistryCatalogue` asks a Confluent Schema Registry (``confluent_kafka`` is imported
  only when one is configured).

Subjects are record full names (``riskloop.TruckFix``), see :mod:`schemas.record_specs`.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import fastavro
from fastavro.schema import to_parsing_canonical_form

from schemas.errors import ConfigError, RiskLoopError, ValidationFailed
from schemas.record_specs import AVRO_DIR, RECORDS

if TYPE_CHECKING:
    from pathlib import Path

ParsedSchema = Any
"""What ``fastavro.parse_schema`` returns (a dict, typed loosely by fastavro)."""


class CatalogueUnavailable(RiskLoopError):
    """The schema registry could not be reached: an infrastructure fault, not a bad record.

    Raised instead of ``ValidationFailed`` so a consumer retries rather than dead-lettering
    good data while the registry is down.
    """


class Catalogue(Protocol):
    """What codecs need from a schema catalogue."""

    def writer_id(self, subject: str) -> int:
        """Id to stamp on records of ``subject`` written now (its current version)."""
        ...

    def schema_by_id(self, schema_id: int) -> tuple[str, ParsedSchema]:
        """Subject and parsed writer schema of ``schema_id``; ``ValidationFailed`` if unknown."""
        ...

    def reader_schema(self, subject: str) -> ParsedSchema:
        """The current (reader) schema of ``subject``."""
        ...


def parse_avsc(text: str) -> ParsedSchema:
    """Parse one self-contained ``.avsc`` (its own name space, so versions never clash)."""
    return fastavro.parse_schema(json.loads(text), named_schemas={})


def fingerprint(text: str) -> str:
    """SHA-256 of the parsing canonical form: docs and formatting do not change it.

    >>> a = '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "long"}]}'
    >>> b = '{"type":"record","name":"X","doc":"d","fields":[{"name":"a","type":"long"}]}'
    >>> fingerprint(a) == fingerprint(b)
    True
    """
    canonical = to_parsing_canonical_form(json.loads(text))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class LocalCatalogue:
    """Catalogue from files: ``ids.json`` plus the ``.avsc`` files it names."""

    def __init__(self, avro_dir: Path = AVRO_DIR) -> None:
        ids_path = avro_dir / "ids.json"
        try:
            table = json.loads(ids_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read schema ids {ids_path}: {exc}") from exc
        self._by_id: dict[int, tuple[str, ParsedSchema]] = {}
        self._current: dict[str, tuple[int, ParsedSchema]] = {}
        for subject, versions in table.items():
            latest = -1
            for version, entry in versions.items():
                path = avro_dir / entry["file"]
                text = path.read_text(encoding="utf-8")
                if fingerprint(text) != entry["fingerprint"]:
                    raise ConfigError(
                        f"{path} no longer matches version {version} of {subject} in ids.json; "
                        "published versions are immutable: add a new version instead"
                    )
                schema_id = int(entry["id"])
                if schema_id in self._by_id:
                    raise ConfigError(f"schema id {schema_id} used twice in {ids_path}")
                parsed = parse_avsc(text)
                self._by_id[schema_id] = (subject, parsed)
                if int(version) > latest:
                    latest = int(version)
                    self._current[subject] = (schema_id, parsed)

    def writer_id(self, subject: str) -> int:
        """The id of ``subject``'s newest version in ``ids.json``: what records written
        now carry.
        """
        try:
            return self._current[subject][0]
        except KeyError:
            raise ConfigError(f"no schema registered for subject {subject!r} in ids.json") from None

    def schema_by_id(self, schema_id: int) -> tuple[str, ParsedSchema]:
        """The subject and schema an id was committed for, any version: a message
        written months ago with an old version still decodes.
        """
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise ValidationFailed(
                "unknown_schema", f"schema id {schema_id} is not in the local catalogue"
            ) from None

    def reader_schema(self, subject: str) -> ParsedSchema:
        """The current ``.avsc`` of ``subject``: what every record is read into, whatever
        version wrote it.
        """
        try:
            return self._current[subject][1]
        except KeyError:
            raise ValidationFailed("unknown_schema", f"no current schema for {subject!r}") from None

    def ids(self) -> dict[int, str]:
        """Every known id → subject (for listings and tests)."""
        return {i: s for i, (s, _) in self._by_id.items()}


@lru_cache(maxsize=1)
def default_catalogue() -> LocalCatalogue:
    """The shipped local catalogue, loaded once per process."""
    return LocalCatalogue()


class RegistryCatalogue:
    """Catalogue backed by a Confluent Schema Registry (untested here: no registry in CI).

    Writer ids come from registering the current ``.avsc`` under its subject (idempotent in
    the registry); reader schemas are always the local current files, so a worker reads what
    it was built for whatever writers registered.
    """

    def __init__(self, url: str, *, client: Any = None) -> None:
        self._url = url
        self._client = client
        self._ids: dict[str, int] = {}
        self._by_id: dict[int, tuple[str, ParsedSchema]] = {}

    def _registry(self) -> Any:
        if self._client is None:
            try:
                from confluent_kafka.schema_registry import SchemaRegistryClient
            except ImportError as exc:  # pragma: no cover - it is a declared dependency
                raise ConfigError(
                    "schema_registry_url is set but confluent-kafka[schemaregistry] is missing"
                ) from exc
            self._client = SchemaRegistryClient({"url": self._url})
        return self._client

    def writer_id(self, subject: str) -> int:
        """The registry's id for the current local ``.avsc``, registered on first use
        (idempotent) and kept for the process.
        """
        if subject not in self._ids:
            from confluent_kafka.schema_registry import Schema

            spec = RECORDS.get(subject)
            if spec is None:
                raise ConfigError(f"unknown subject {subject!r}")
            text = spec.avsc.read_text(encoding="utf-8")
            try:
                self._ids[subject] = int(
                    self._registry().register_schema(subject, Schema(text, "AVRO"))
                )
            except Exception as exc:
                raise CatalogueUnavailable(
                    f"cannot register {subject} at {self._url}: {exc}"
                ) from exc
        return self._ids[subject]

    def schema_by_id(self, schema_id: int) -> tuple[str, ParsedSchema]:
        """The writer schema the registry knows as ``schema_id``, kept once fetched. A 404
        is the record's fault (dead-lettered); any other failure is the registry's
        (:class:`CatalogueUnavailable`: retried, not dead-lettered).
        """
        if schema_id not in self._by_id:
            from confluent_kafka.schema_registry.error import SchemaRegistryError

            try:
                schema = self._registry().get_schema(schema_id)
            except SchemaRegistryError as exc:
                if getattr(exc, "http_status_code", None) == 404:
                    raise ValidationFailed(
                        "unknown_schema", f"schema id {schema_id} is not in the registry"
                    ) from exc
                raise CatalogueUnavailable(f"schema registry {self._url}: {exc}") from exc
            except Exception as exc:
                raise CatalogueUnavailable(f"schema registry {self._url}: {exc}") from exc
            raw = json.loads(schema.schema_str)
            subject = f"{raw.get('namespace', '')}.{raw.get('name', '')}"
            self._by_id[schema_id] = (subject, fastavro.parse_schema(raw, named_schemas={}))
        return self._by_id[schema_id]

    def reader_schema(self, subject: str) -> ParsedSchema:
        """The local current schema, never the registry's: a worker reads what it was built
        for, whatever writers registered.
        """
        return default_catalogue().reader_schema(subject)


def catalogue_for(schema_registry_url: str | None) -> Catalogue:
    """The registry catalogue when a URL is configured, else the shipped local one."""
    if schema_registry_url:
        return RegistryCatalogue(schema_registry_url)
    return default_catalogue()
