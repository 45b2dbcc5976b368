"""A strict fake of OpenAI's chat completions on 127.0.0.1, for the official client.

It holds requests to OpenAI's published strict structured-outputs contract,
recorded with its sources in generation/contracts/openai/structured_outputs.json:
a request the real API would refuse gets the same HTTP 400 and error body here,
so a schema we could never send to OpenAI fails in the tests, not in production.

With nothing queued it answers with a document generated from the schema it was
sent, every property present and every limit at its edge (`edge = "max"` or
"min"), which is what a strict-mode model may legally return. Queued answers
simulate the rest: a dict (sent as JSON content, valid or not), a str (raw
content), an int (that HTTP status), a Refusal or a Truncated answer.
"""

import json
import math
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONTRACT = json.loads(
    (Path(__file__).resolve().parents[2] / "generation/contracts/openai/structured_outputs.json").read_text()
)
LIMITS: dict = CONTRACT["limits"]
PERMITTED = {
    keyword
    for group, words in CONTRACT["supported_keywords"].items()
    if group not in {"types", "string_formats"}
    for keyword in words
}
TYPES = set(CONTRACT["supported_keywords"]["types"])
FORMATS = set(CONTRACT["supported_keywords"]["string_formats"])
REQUIRED_RULE = "'required' is required to be supplied and to be an array including every key in properties."
ROLES = {"system", "developer", "user", "assistant", "tool"}

SENTENCE = "A quiet street in Tokyo at dawn, lanterns still lit."
FORMAT_SAMPLES = {
    "date-time": "2026-01-02T03:04:05Z",
    "time": "03:04:05",
    "date": "2026-01-02",
    "duration": "P1D",
    "email": "team@example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
}
# Candidates tried, in order, against a `pattern` (a full regex generator is more than a fake needs).
PATTERN_CANDIDATES = [SENTENCE, "Tokyo", "tokyo", "TOKYO", "abc", "A", "a", "0", "42", "A1", "a-1", "a_b", "#1a2b3c"]
UNBOUNDED_ITEMS = 10  # an array without maxItems: a model may ramble on
UNBOUNDED_SPAN = 1000  # a number without a bound on the generated side


@dataclass(frozen=True)
class Refusal:
    """The model declines: content null, message.refusal set."""

    message: str = "I'm sorry, but I can't help with that request."


@dataclass(frozen=True)
class Truncated:
    """The answer hit the token limit: finish_reason "length" and cut-off content."""

    content: str = '{"questions": [{"question": "What mood should'


class RequestError(Exception):
    def __init__(self, message: str, *, status: int = 400, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code


class SchemaError(Exception):
    def __init__(self, context: tuple, problem: str) -> None:
        super().__init__(f"In context={context!r}, {problem}")


def error_body(
    message: str, *, type: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


# Checking a request -----------------------------------------------------------


def check_request(body: object) -> dict:
    """The request's schema, or RequestError with OpenAI's message and param."""
    if not isinstance(body, dict):
        raise RequestError("We could not parse the JSON body of your request.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise RequestError("you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.", param="messages"
        )
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise RequestError(f"Invalid value for 'messages[{i}].role'.", param=f"messages.[{i}].role")
        if not isinstance(message.get("content"), str | list):
            raise RequestError(f"Missing or invalid 'messages[{i}].content'.", param=f"messages.[{i}].content")
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        raise RequestError(
            "This fake serves strict structured outputs only: response_format.type must be 'json_schema'.",
            param="response_format",
        )
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict):
        raise RequestError(
            "Missing required parameter: 'response_format.json_schema'.", param="response_format.json_schema"
        )
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(LIMITS["name_pattern"], name):
        raise RequestError(
            "Invalid 'response_format.json_schema.name': string does not match pattern. "
            f"Expected a string that matches the pattern '{LIMITS['name_pattern']}'.",
            param="response_format.json_schema.name",
            code="invalid_value",
        )
    if spec.get("strict") is not True:
        raise RequestError(
            "This fake serves strict structured outputs only: response_format.json_schema.strict must be true.",
            param="response_format.json_schema.strict",
        )
    schema = spec.get("schema")
    try:
        check_schema(schema)
    except SchemaError as exc:
        raise RequestError(f"Invalid schema for response_format '{name}': {exc}", param="response_format") from exc
    return schema


def check_schema(schema: object) -> None:
    """Raise SchemaError where the schema breaks a strict-mode rule of the contract."""
    if not isinstance(schema, dict) or schema.get("type") != "object" or "anyOf" in schema:
        got = schema.get("type") if isinstance(schema, dict) else type(schema).__name__
        raise SchemaError((), f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{got}\"'.")
    totals = {"properties": 0, "enum_values": 0, "characters": 0}
    _check_node(schema, (), schema, totals)
    for total, limit, what in [
        ("properties", "max_object_properties", "object properties"),
        ("enum_values", "max_enum_values", "enum values"),
        ("characters", "max_total_string_length", "characters of property names, definition names, enums and consts"),
    ]:
        if totals[total] > LIMITS[limit]:
            raise SchemaError(
                (),
                f"Expected at most {LIMITS[limit]} {what} in total within a single schema when using structured "
                f"outputs, but received {totals[total]}.",
            )
    _check_depth(schema, (), schema, level=0, refs=frozenset())


def _check_node(node: object, path: tuple, root: dict, totals: dict) -> None:
    if not isinstance(node, dict):
        raise SchemaError(path, "schema must be a JSON object.")
    for keyword in node:
        if keyword not in PERMITTED:
            raise SchemaError(path, f"'{keyword}' is not permitted.")
    for group in ("$defs", "definitions"):
        for name, definition in (node.get(group) or {}).items():
            totals["characters"] += len(name)
            _check_node(definition, (*path, group, name), root, totals)
    if "$ref" in node:
        resolve(root, node["$ref"], path)
        return
    kinds = _types(node, path)
    _check_values(node, path, totals)
    if "object" in kinds or "properties" in node:
        _check_object(node, path, root, totals)
    if "array" in kinds:
        if not isinstance(node.get("items"), dict) or not node["items"]:
            raise SchemaError(path, "'items' is required to be supplied and to be a schema.")
        _check_node(node["items"], (*path, "items"), root, totals)
    for i, variant in enumerate(node.get("anyOf") or []):
        _check_node(variant, (*path, "anyOf", i), root, totals)


def _types(node: dict, path: tuple) -> list[str]:
    kinds = node.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    if not kinds and not {"anyOf", "enum", "const"} & node.keys():
        raise SchemaError(path, "schema must have a 'type' key.")
    for kind in kinds:
        if kind not in TYPES:
            raise SchemaError(path, f"'{kind}' is not a permitted type.")
    return kinds


def _check_values(node: dict, path: tuple, totals: dict) -> None:
    """enum, const, format and pattern: the keywords that restrict values rather than shape."""
    if "enum" in node:
        values = node["enum"]
        totals["enum_values"] += len(values)
        text = sum(len(v) for v in values if isinstance(v, str))
        totals["characters"] += text
        if len(values) > 250 and text > LIMITS["max_enum_string_length_over_250_values"]:
            limit = LIMITS["max_enum_string_length_over_250_values"]
            raise SchemaError(path, f"enum values exceed {limit} characters in total.")
    if isinstance(node.get("const"), str):
        totals["characters"] += len(node["const"])
    if "format" in node and node["format"] not in FORMATS:
        raise SchemaError(path, f"'{node['format']}' is not a permitted format.")
    if "pattern" in node:
        try:
            re.compile(node["pattern"])
        except (re.error, TypeError) as exc:
            raise SchemaError(path, f"'pattern' is not a valid regular expression ({exc}).") from exc


def _check_object(node: dict, path: tuple, root: dict, totals: dict) -> None:
    if node.get("additionalProperties") is not False:
        raise SchemaError(path, "'additionalProperties' is required to be supplied and to be false.")
    properties = node.get("properties") or {}
    required = node.get("required")
    if not isinstance(required, list):
        raise SchemaError(path, REQUIRED_RULE)
    for key in properties:
        if key not in required:
            raise SchemaError(path, f"{REQUIRED_RULE} Missing '{key}'.")
    for key in required:
        if key not in properties:
            raise SchemaError(path, f"Extra required key '{key}' supplied.")
    totals["properties"] += len(properties)
    for key, child in properties.items():
        totals["characters"] += len(key)
        _check_node(child, (*path, "properties", key), root, totals)


def _check_depth(node: dict, path: tuple, root: dict, *, level: int, refs: frozenset) -> None:
    # Depth counts object schemas along a path, following $ref; a recursive $ref is allowed and counted once.
    if "$ref" in node:
        if node["$ref"] not in refs:
            target = resolve(root, node["$ref"], path)
            _check_depth(target, path, root, level=level, refs=refs | {node["$ref"]})
        return
    if node.get("type") == "object" or "properties" in node:
        level += 1
        if level > LIMITS["max_nesting_depth"]:
            raise SchemaError(
                path, f"schema nesting depth exceeds the maximum of {LIMITS['max_nesting_depth']} levels."
            )
    for key, child in (node.get("properties") or {}).items():
        _check_depth(child, (*path, "properties", key), root, level=level, refs=refs)
    if isinstance(node.get("items"), dict):
        _check_depth(node["items"], (*path, "items"), root, level=level, refs=refs)
    for i, variant in enumerate(node.get("anyOf") or []):
        _check_depth(variant, (*path, "anyOf", i), root, level=level, refs=refs)


def resolve(root: dict, ref: object, path: tuple = ()) -> dict:
    target: object = root
    if isinstance(ref, str) and ref.startswith("#"):
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            target = target.get(part) if isinstance(target, dict) else None
    else:
        target = None
    if not isinstance(target, dict):
        raise SchemaError(path, f"reference to component '{ref}' which was not found in the schema.")
    return target


# Answering from the schema --------------------------------------------------


def generate(schema: dict, *, edge: str = "max") -> object:
    """A document that fits the schema, with every array and number at the given edge of its limits."""
    return _value(schema, schema, edge=edge, refs=())


def _value(node: dict, root: dict, *, edge: str, refs: tuple) -> object:
    if "$ref" in node:
        ref = node["$ref"]
        # A recursive schema ends where its arrays may be empty: the way back in takes the "min" edge.
        return _value(resolve(root, ref), root, edge="min" if ref in refs else edge, refs=(*refs, ref))
    if "anyOf" in node:
        return _value(node["anyOf"][0], root, edge=edge, refs=refs)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {key: _value(child, root, edge=edge, refs=refs) for key, child in (node.get("properties") or {}).items()}
    if kind == "array":
        low = node.get("minItems", 0)
        count = node.get("maxItems", max(low, UNBOUNDED_ITEMS)) if edge == "max" else low
        return [_value(node["items"], root, edge=edge, refs=refs) for _ in range(count)]
    if kind in {"integer", "number"}:
        return _number(node, edge=edge, integer=kind == "integer")
    if kind == "boolean":
        return edge == "max"
    if kind == "string":
        return _string(node)
    return None


def _number(node: dict, *, edge: str, integer: bool) -> int | float:
    step = 1 if integer else 0.5
    low = node.get("minimum", node["exclusiveMinimum"] + step if "exclusiveMinimum" in node else None)
    high = node.get("maximum", node["exclusiveMaximum"] - step if "exclusiveMaximum" in node else None)
    if edge == "max":
        value = high if high is not None else (low or 0) + UNBOUNDED_SPAN
    else:
        value = low if low is not None else (high if high is not None and high < 0 else 0)
    if multiple := node.get("multipleOf"):
        snap = math.floor if edge == "max" else math.ceil
        value = snap(value / multiple) * multiple
    return int(value) if integer else float(value)


def _string(node: dict) -> str:
    if node.get("format") in FORMAT_SAMPLES:
        return FORMAT_SAMPLES[node["format"]]
    if pattern := node.get("pattern"):
        for candidate in PATTERN_CANDIDATES:
            if re.search(pattern, candidate):
                return candidate
        raise RequestError(f"The fake has no sample string for pattern {pattern!r}.", status=500)
    return SENTENCE


# The server -------------------------------------------------------------------


class FakeOpenAI:
    def __init__(self, *, api_key: str = "sk-test") -> None:
        self.api_key = api_key
        # Queued replies: dict (JSON content), str (raw content), int (HTTP status), Refusal or Truncated.
        self.answers: list[object] = []
        self.edge = "max"  # generated answers: arrays and numbers at their "max" or "min" limits
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                auth = self.headers.get("Authorization")
                fake.requests.append({"path": self.path, "body": body, "auth": auth})
                status, data = fake.answer(self.path, body, auth)
                encoded = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, body: object, auth: str | None) -> tuple[int, dict]:
        if auth != f"Bearer {self.api_key}":
            shown = (auth or "").removeprefix("Bearer ")[-4:]
            return 401, error_body(f"Incorrect API key provided: ...{shown}.", code="invalid_api_key")
        if path != "/v1/chat/completions":
            return 404, error_body(f"Invalid URL (POST {path})")
        try:
            schema = check_request(body)
            queued = self.answers.pop(0) if self.answers else None
            if isinstance(queued, int):
                kind = "server_error" if queued >= 500 else "requests" if queued == 429 else "invalid_request_error"
                return queued, error_body(f"fake {queued}", type=kind)
            message: dict = {"role": "assistant", "content": None, "refusal": None}
            finish = "stop"
            if isinstance(queued, Refusal):
                message["refusal"] = queued.message
            elif isinstance(queued, Truncated):
                message["content"], finish = queued.content, "length"
            elif isinstance(queued, str):
                message["content"] = queued
            else:
                message["content"] = json.dumps(queued if queued is not None else generate(schema, edge=self.edge))
        except RequestError as exc:
            kind = "server_error" if exc.status >= 500 else "invalid_request_error"
            return exc.status, error_body(str(exc), type=kind, param=exc.param, code=exc.code)
        return 200, {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 380, "total_tokens": 500},
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
