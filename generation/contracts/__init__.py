"""The providers' published contracts, kept in the repo with their sources.

Each Replicate model in the registry has a JSON file under `replicate/`
holding the OpenAPI `components` of its model version as Replicate publishes
it (the `Input` and `Output` schemas Cog generates), the source it came from,
and facts the schema cannot say (official or run by version, seed behaviour,
own soundtrack, published price). One copy serves three readers: jobs_create
validates every request against it before anything is spent, the fake
Replicate in the tests refuses what does not match it (as Replicate answers
422), and `manage.py providers_check` compares it with what Replicate
publishes today.
"""

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker

ROOT = Path(__file__).resolve().parent


def _is_uri(value: object) -> bool:
    # Replicate takes files as URLs (its files API, a presigned URL) or data URIs; a bare path is refused.
    if not isinstance(value, str):
        return True
    if value.startswith("data:"):
        return "," in value
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


FORMATS = FormatChecker()
FORMATS.checks("uri")(_is_uri)


@dataclass(frozen=True)
class Contract:
    model: str
    official: bool
    version: str | None
    sources: list[str]
    retrieved: str
    seed: str | None
    deterministic: bool
    has_audio: bool
    pricing: dict[str, Any]
    voices: list[str]
    openapi: dict[str, Any]
    note: str = ""
    path: Path = field(default=ROOT, compare=False)

    @property
    def schemas(self) -> dict[str, Any]:
        return self.openapi.get("components", {}).get("schemas", {})

    @property
    def input_schema(self) -> dict[str, Any]:
        return self.schemas.get("Input", {})

    @property
    def output_schema(self) -> dict[str, Any]:
        return self.schemas.get("Output", {})

    def properties(self) -> dict[str, dict[str, Any]]:
        return self.input_schema.get("properties", {})

    def required(self) -> list[str]:
        return list(self.input_schema.get("required", []))

    def enum(self, name: str) -> list[Any] | None:
        """The allowed values of an input, following Cog's allOf/$ref enums."""
        return _enum(self.properties().get(name, {}), self.schemas)

    def validator(self, schema: str = "Input") -> Draft202012Validator:
        return _validator(self.path, schema)

    def problems(self, payload: dict[str, Any], *, partial: bool = False) -> list[str]:
        """What Replicate would refuse in this input, one message per field, each naming it.

        partial checks only the inputs given (a registry's fixed inputs), not what is required.
        """
        messages = []
        for error in sorted(self.validator().iter_errors(payload), key=lambda e: list(e.absolute_path)):
            if partial and error.validator == "required":
                continue
            where = ".".join(str(p) for p in error.absolute_path)
            messages.append(f"{where or 'input'}: {_describe(error)}")
        # Cog ignores inputs it does not declare; refusing them here catches a mapping that
        # sends a value under the wrong name, which would otherwise be paid for and lost.
        unknown = sorted(set(payload) - set(self.properties()))
        messages += [f"{name}: not an input of {self.model}" for name in unknown]
        return messages


def _describe(error: Any) -> str:
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(repr, error.validator_value))}"
    if error.validator == "type":
        return f"{error.instance!r} is not of type {error.validator_value}"
    if error.validator == "format":
        return f"{error.instance!r} is not a URL (upload the file or give an http(s) address)"
    return error.message


def _enum(node: dict[str, Any], schemas: dict[str, Any]) -> list[Any] | None:
    if "enum" in node:
        return list(node["enum"])
    for part in node.get("allOf", []) + node.get("anyOf", []):
        ref = part.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            found = _enum(schemas.get(ref.rsplit("/", 1)[-1], {}), schemas)
            if found is not None:
                return found
        elif (found := _enum(part, schemas)) is not None:
            return found
    return None


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema says it: null is one of the types."""
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable(v) for k, v in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


@cache
def _validator(path: Path, schema: str) -> Draft202012Validator:
    document = json.loads(path.read_text())
    root = {"$ref": f"#/components/schemas/{schema}", "components": _nullable(document["openapi"]["components"])}
    return Draft202012Validator(root, format_checker=FORMATS)


def _load(path: Path) -> Contract:
    data = json.loads(path.read_text())
    return Contract(
        model=data["model"],
        official=bool(data.get("official", True)),
        version=data.get("version"),
        sources=list(data.get("sources", [])),
        retrieved=str(data.get("retrieved", "")),
        seed=data.get("seed"),
        deterministic=bool(data.get("deterministic", False)),
        has_audio=bool(data.get("has_audio", False)),
        pricing=dict(data.get("pricing") or {}),
        voices=list(data.get("voices") or []),
        openapi=data["openapi"],
        note=str(data.get("note", "")),
        path=path,
    )


@cache
def replicate_contracts() -> dict[str, Contract]:
    """Every stored Replicate contract by model name (owner/name)."""
    found = {}
    for path in sorted((ROOT / "replicate").glob("*.json")):
        contract = _load(path)
        found[contract.model] = contract
    return found


def split_model_id(model_id: str) -> tuple[str, str | None]:
    """`owner/name:version` into its name and version; a bare name has no version."""
    name, _, version = model_id.partition(":")
    return name, version or None


def for_model(model_id: str) -> Contract | None:
    return replicate_contracts().get(split_model_id(model_id)[0])


def mapped_names(mapping: dict[str, Any]) -> dict[str, str]:
    """The registry's mapping of our names to the model's, without its fixed inputs."""
    return {ours: theirs for ours, theirs in mapping.items() if ours != "fixed" and isinstance(theirs, str)}


def registry_problems(*, model_id: str, capability: str, input_mapping: dict[str, Any]) -> list[str]:
    """Does a registry row's mapping fit its contract? Checked at start-up and in the admin."""
    contract = for_model(model_id)
    if contract is None:
        return [f"{model_id}: no stored contract in generation/contracts/replicate/"]
    problems = []
    name, version = split_model_id(model_id)
    if not contract.official and not version:
        problems.append(f"{name} is a community model: Replicate runs it by version (use {name}:<version>)")
    declared = contract.properties()
    for ours, theirs in mapped_names(input_mapping).items():
        if theirs not in declared:
            problems.append(f"{name}: our {ours!r} maps to {theirs!r}, which is not an input of the model")
    fixed = input_mapping.get("fixed", {})
    sent_names = set(mapped_names(input_mapping).values()) | set(fixed)
    for required in contract.required():
        if required not in sent_names:
            problems.append(f"{name}: the required input {required!r} is never sent")
    for message in contract.problems(fixed, partial=True):
        problems.append(f"{name}: fixed input {message}")
    return problems


def describe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two Input schemas (with their components) that could break our calls."""
    changes = []
    old_in, new_in = old["schemas"].get("Input", {}), new["schemas"].get("Input", {})
    old_props, new_props = old_in.get("properties", {}), new_in.get("properties", {})
    for name in sorted(set(new_in.get("required", [])) - set(old_in.get("required", []))):
        changes.append(f"new required input {name!r}")
    for name in sorted(set(old_props) - set(new_props)):
        changes.append(f"input {name!r} was removed")
    for name in sorted(set(new_props) - set(old_props)):
        changes.append(f"new optional input {name!r}")
    for name in sorted(set(old_props) & set(new_props)):
        before = _enum(old_props[name], old["schemas"]) or []
        after = _enum(new_props[name], new["schemas"]) or []
        changes += [f"{name}: enum value {value!r} was removed" for value in before if value not in after]
        changes += [f"{name}: new enum value {value!r}" for value in after if value not in before]
        old_type, new_type = old_props[name].get("type"), new_props[name].get("type")
        if old_type != new_type:
            changes.append(f"{name}: type changed from {old_type} to {new_type}")
        for bound in ("minimum", "maximum"):
            if old_props[name].get(bound) != new_props[name].get(bound):
                changes.append(f"{name}: {bound} {old_props[name].get(bound)} → {new_props[name].get(bound)}")
    return changes
