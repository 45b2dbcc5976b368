"""What the fake Replicate refuses, in the words and shape Replicate answers with.

Replicate validates the request body (top-level properties) and then the input
against the version's OpenAPI `Input` schema, and answers 422 with an RFC 7807
problem plus `invalid_fields`; the messages are gojsonschema's, as seen in
answers quoted from api.replicate.com:

    {"detail": "- input: prompt is required\\n- input.num_inference_steps: Must be less than or equal to 4\\n",
     "status": 422, "title": "Input validation failed",
     "invalid_fields": [{"type": "required", "field": "input", "description": "prompt is required"},
                        {"type": "number_lte", "field": "input.num_inference_steps",
                         "description": "Must be less than or equal to 4"}]}

One deliberate difference: Cog ignores an input its schema does not declare;
the fake refuses it (as `contract.problems` does), so a registry mapping that
sends a value under a wrong name fails a test instead of being paid for and lost.
"""

import json
import re
from typing import Any
from urllib.parse import urlsplit

from generation.contracts import Contract

WEBHOOK_EVENTS = ["start", "output", "logs", "completed"]
BODY_BY_MODEL = {"input", "stream", "webhook", "webhook_completed", "webhook_events_filter"}
BODY_BY_VERSION = BODY_BY_MODEL | {"version"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}


def problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "detail": detail, "status": status, **extra}


def not_found() -> dict[str, Any]:
    # What api.replicate.com answers for an unknown model, or a community model on the models endpoint.
    return {"detail": "The requested resource could not be found.", "status": 404}


def invalid_version() -> dict[str, Any]:
    return problem(
        422,
        "Invalid version or not permitted",
        "The specified version does not exist (or perhaps you don't have permission to use it?)",
    )


def validation_failed(fields: list[dict[str, str]]) -> dict[str, Any]:
    detail = "".join(f"- {f['field']}: {f['description']}\n" for f in fields)
    return problem(422, "Input validation failed", detail, invalid_fields=fields)


def _field(kind: str, field: str, description: str) -> dict[str, str]:
    return {"type": kind, "field": field, "description": description}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _webhook_ok(url: object) -> bool:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.hostname:
        return False
    # Replicate wants https; loopback http is the tests' own server.
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)


def body_problems(body: object, *, by_version: bool) -> list[dict[str, str]]:
    """The request body's own rules (the 2024-05-01 changelog): required input, no unknown keys, webhook shape."""
    if not isinstance(body, dict):
        return [_field("invalid_type", "", "Invalid type. Expected: object, given: " + _json_type(body))]
    fields = []
    if by_version and "version" not in body:
        fields.append(_field("required", "", "version is required"))
    if "input" not in body:
        fields.append(_field("required", "", "input is required"))
    elif not isinstance(body["input"], dict):
        fields.append(
            _field("invalid_type", "input", f"Invalid type. Expected: object, given: {_json_type(body['input'])}")
        )
    allowed = BODY_BY_VERSION if by_version else BODY_BY_MODEL
    for key in sorted(set(body) - allowed):
        fields.append(_field("additional_property_not_allowed", "", f"Additional property {key} is not allowed"))
    if "webhook" in body and not _webhook_ok(body["webhook"]):
        fields.append(_field("format", "webhook", "webhook must be an HTTPS URL"))
    events = body.get("webhook_events_filter")
    if events is not None:
        if not isinstance(events, list):
            fields.append(_field("invalid_type", "webhook_events_filter", "Invalid type. Expected: array"))
        else:
            allowed_events = ", ".join(json.dumps(e) for e in WEBHOOK_EVENTS)
            for n, event in enumerate(events):
                if event not in WEBHOOK_EVENTS:
                    where = f"webhook_events_filter.{n}"
                    fields.append(_field("enum", where, f"{where} must be one of the following: {allowed_events}"))
    return fields


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return JSON_TYPES.get(type(value), type(value).__name__)


def input_problems(contract: Contract, payload: dict[str, Any]) -> list[dict[str, str]]:
    """The input against the contract's Input schema, one invalid field per error, as Replicate words them."""
    fields = []
    for error in sorted(contract.validator().iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path]):
        path = [str(p) for p in error.absolute_path]
        name = path[0] if path else ""
        where = "input." + ".".join(path) if path else "input"
        if error.validator == "required":
            missing = re.match(r"'(.+)' is a required property", error.message)
            fields.append(_field("required", "input", f"{missing.group(1) if missing else error.message} is required"))
        elif error.validator == "enum":
            choices = ", ".join(json.dumps(v) for v in error.validator_value)
            fields.append(_field("enum", where, f"{name} must be one of the following: {choices}"))
        elif error.validator == "maximum":
            fields.append(
                _field("number_lte", where, f"Must be less than or equal to {_number(error.validator_value)}")
            )
        elif error.validator == "minimum":
            fields.append(
                _field("number_gte", where, f"Must be greater than or equal to {_number(error.validator_value)}")
            )
        elif error.validator == "type":
            expected = error.validator_value
            given = _json_type(error.instance)
            fields.append(_field("invalid_type", where, f"Invalid type. Expected: {expected}, given: {given}"))
        elif error.validator == "format":
            fields.append(_field("format", where, f"Does not match format '{error.validator_value}'"))
        else:
            fields.append(_field(str(error.validator), where, error.message))
    for name in sorted(set(payload) - set(contract.properties())):
        fields.append(_field("additional_property_not_allowed", "input", f"Additional property {name} is not allowed"))
    return fields


def file_inputs(contract: Contract) -> list[str]:
    """The inputs the model takes as files (format uri)."""
    return [name for name, spec in contract.properties().items() if spec.get("format") == "uri"]
