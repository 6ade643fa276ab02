"""The contract says what the code does: request fields, limits and statuses of openapi.yaml.

Each request body schema is compared with the pydantic model the view validates it with, so a
limit changed on one side only (a ``maxLength``, a ``pattern``, an enum) fails here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
import yaml

from config.settings import Settings
from rules.limits import MAX_PACK_BYTES, MAX_RULES
from schemas.records import DispositionAction
from streams.api.bodies import (
    EVIDENCE_MAX_ITEMS,
    NAME_MAX,
    REFERENCE_MAX,
    TEXT_MAX,
    AssignmentRequest,
    DepartmentAction,
    DispositionRequest,
    SilenceRequest,
    assignment_from,
    disposition_from,
    pack_publication,
    silence_from,
)
from streams.api.control_bodies import ModelRequest
from streams.api.views import openapi_spec
from tests.people import PEOPLE

if TYPE_CHECKING:
    from pydantic import BaseModel

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONSTRAINTS = (
    "type",
    "nullable",
    "enum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "items",
)
REQUESTS: dict[str, type[BaseModel]] = {
    "SilenceRequest": SilenceRequest,
    "DispositionRequest": DispositionRequest,
    "AssignmentRequest": AssignmentRequest,
    "ModelRequest": ModelRequest,
}


def from_pydantic(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A property of ``model_json_schema()`` in OpenAPI 3.0 spelling, constraints only."""
    if "$ref" in prop:
        prop = {**defs[prop["$ref"].rsplit("/", 1)[1]], **prop}
    if "anyOf" in prop:
        (inner,) = [p for p in prop["anyOf"] if p != {"type": "null"}]
        return {**from_pydantic(inner, defs), "nullable": True}
    out = {k: v for k, v in prop.items() if k in CONSTRAINTS}
    if isinstance(out.get("exclusiveMinimum"), int | float):  # JSON Schema 2020-12 → 3.0
        out["minimum"], out["exclusiveMinimum"] = out["exclusiveMinimum"], True
    if "items" in out:
        out["items"] = from_pydantic(out["items"], defs)
    return out


def from_spec(prop: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in prop.items() if k in CONSTRAINTS}
    if out.get("nullable") and None in out.get("enum", []):  # 3.0 lists null in a nullable enum
        out["enum"] = [v for v in out["enum"] if v is not None]
    if "items" in out:
        out["items"] = from_spec(out["items"])
    return out


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request_schemas_match_the_models_the_views_validate_with(name: str) -> None:
    model = REQUESTS[name].model_json_schema()
    spec = openapi_spec()["components"]["schemas"][name]
    assert spec["additionalProperties"] is False  # the models forbid extra fields
    assert set(spec["required"]) == set(model.get("required", []))
    assert set(spec["properties"]) == set(model["properties"])
    defs = model.get("$defs", {})
    for field, prop in model["properties"].items():
        assert from_spec(spec["properties"][field]) == from_pydantic(prop, defs), field


def test_limits_are_the_documented_ones() -> None:
    """The numbers a client reads in the spec, from the code's constants."""
    schemas = openapi_spec()["components"]["schemas"]
    disposition = schemas["DispositionRequest"]["properties"]
    assert disposition["actor"]["maxLength"] == NAME_MAX
    assert disposition["reason"]["maxLength"] == TEXT_MAX
    assert disposition["evidence"]["maxItems"] == EVIDENCE_MAX_ITEMS
    assert disposition["evidence"]["items"]["maxLength"] == REFERENCE_MAX
    task_id = openapi_spec()["components"]["parameters"]["TaskId"]["schema"]
    assert task_id["maxLength"] == NAME_MAX
    assert schemas["RulePack"]["properties"]["rules"]["maxItems"] == MAX_RULES
    assert f"{MAX_PACK_BYTES // 1024} KiB" in schemas["RulePack"]["description"]


def test_department_actions_are_every_action_but_assign() -> None:
    assert {a.value for a in DepartmentAction} == {a.value for a in DispositionAction} - {"assign"}


def test_byte_limits_are_the_settings_defaults() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    limits = {
        f"{method.upper()} {path}": op["requestBody"]["x-max-body-bytes"]
        for path, ops in openapi_spec()["paths"].items()
        for method, op in ops.items()
        if "requestBody" in op
    }
    assert limits == {
        "POST /api/silences": defaults.api_max_body_bytes,
        "POST /api/tasks/{task_id}/dispositions": defaults.api_max_body_bytes,
        "POST /api/tasks/{task_id}/assignments": defaults.api_max_body_bytes,
        "POST /api/rulepacks": defaults.api_max_pack_bytes,
        "POST /api/fencesets": defaults.api_max_pack_bytes,
        "POST /api/calendars": defaults.api_max_pack_bytes,
        "POST /api/models": defaults.api_max_body_bytes,
    }


def test_the_largest_valid_disposition_fits_the_default_body_limit() -> None:
    """Every field at its limit, four UTF-8 bytes a character: still not a 413."""
    wide = "𠀀"
    body = {
        "task_id": wide * NAME_MAX,
        "department": wide * NAME_MAX,
        "actor": wide * NAME_MAX,
        "action": "dispose",
        "result": "rectification",
        "reason": wide * TEXT_MAX,
        "evidence": [wide * REFERENCE_MAX] * EVIDENCE_MAX_ITEMS,
    }
    DispositionRequest.model_validate(body)
    size = len(json.dumps(body, ensure_ascii=False).encode("utf-8"))
    assert size <= Settings(_env_file=None).api_max_body_bytes  # type: ignore[call-arg]


def test_every_api_operation_needs_a_token_and_says_so() -> None:
    spec = openapi_spec()
    assert spec["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"]["bearerFormat"] == "JWT"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path.startswith("/api/"):
                assert op.get("security", spec["security"]) == [{"bearer": []}], path
                assert {"401", "403", "503"} <= set(op["responses"]), (method, path)
            else:  # /health, /ready, /metrics, /openapi.json stay open
                assert op["security"] == [], path


def test_writes_declare_their_refusals() -> None:
    for path, ops in openapi_spec()["paths"].items():
        for method, op in ops.items():
            statuses = set(op["responses"])
            if "requestBody" in op:
                assert {"202", "400", "401", "403", "413", "422", "503"} <= statuses, path
            if any(p.get("$ref", "").endswith("/TaskId") for p in op.get("parameters", [])):
                assert "400" in statuses, (method, path)


def test_schemathesis_reads_every_operation() -> None:
    schema = schemathesis.openapi.from_dict(openapi_spec())
    labels = [result.ok().label for result in schema.get_all_operations()]
    assert len(labels) == sum(len(ops) for ops in openapi_spec()["paths"].values())


def test_the_request_examples_are_accepted() -> None:
    """The examples phase of schemathesis sends these: each must be a 202, not a 422."""
    paths = openapi_spec()["paths"]

    def example(path: str, media: str = "application/json") -> Any:
        return paths[path]["post"]["requestBody"]["content"][media]["example"]

    silence_from(
        example("/api/silences"),
        silence_id="s",
        now=NOW,
        max_duration=timedelta(30),
        who=PEOPLE["operator"],
    )
    disposition_from(
        example("/api/tasks/{task_id}/dispositions"),
        task_id="t",
        event_id="e",
        now=NOW,
        who=PEOPLE["hz_handler"],
        centre="risk_centre",
    )
    assignment_from(
        example("/api/tasks/{task_id}/assignments"),
        task_id="t",
        event_id="e",
        now=NOW,
        centre="risk_centre",
        departments={"hz_market"},
        who=PEOPLE["supervisor"],
    )
    pack = yaml.safe_dump(example("/api/rulepacks", "application/yaml"), allow_unicode=True)
    assert pack_publication(pack.encode(), who="w", now=NOW).name == "api-example"
