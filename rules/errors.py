"""Errors of the rule-pack machinery, each meant to be read by the modeller who wrote the pack."""

from __future__ import annotations

from schemas.errors import RiskLoopError


class PackInvalid(RiskLoopError):
    """A rule pack failed validation or compilation.

    ``problems`` holds one line per problem, each naming the pack, the rule id and the field, so
    the CLI can print all of them at once instead of making the modeller fix one at a time.
    """

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.origin = origin
        self.problems = list(problems)
        joined = "\n".join(f"{origin}: {p}" for p in self.problems)
        super().__init__(joined or f"{origin}: invalid rule pack")


class ActivationRefused(RiskLoopError):
    """A registry refused a pack version (older version, failing examples, id clash...)."""
