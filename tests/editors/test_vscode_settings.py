"""The VS Code extension's manifest (editors/vscode/package.json) matches the server's Settings model.

Every leaf setting of `hoody_lsp.settings.Settings` except the API key is contributed as `hoody.<dotted
camelCase name>` with the same type, default, enum, bounds and description; nothing else is contributed but
the extension's own `hoody.serverPath` / `hoody.pythonPath`; settings that decide where code and the key go
are machine-scoped. Edit settings.py without package.json (or the reverse) and this fails.
"""

from __future__ import annotations

import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
import pytest
from pydantic import BaseModel, SecretStr
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

from hoody_lsp import __version__
from hoody_lsp.settings import ROUTING_SETTINGS, Settings

EXT_DIR = Path(__file__).resolve().parents[2] / "editors" / "vscode"
CLIENT_ONLY = {"hoody.serverPath", "hoody.pythonPath"}
# server commands: vscode-languageclient registers them as VS Code commands under these ids
SERVER_COMMANDS = {
    "hoody.refactor",
    "hoody.directive",
    "hoody.fix",
    "hoody.document",
    "hoody.tests",
    "hoody.custom",
    "hoody.revert",
}


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXT_DIR / "package.json").read_text(encoding="utf-8"))
    return data


def _properties() -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = _manifest()["contributes"]["configuration"]["properties"]
    return props


def _leaves(model: type[BaseModel], prefix: str = "hoody.") -> dict[str, FieldInfo]:
    out: dict[str, FieldInfo] = {}
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.update(_leaves(ann, f"{prefix}{to_camel(name)}."))
        else:
            out[f"{prefix}{to_camel(name)}"] = field
    return out


def _is_secret(field: FieldInfo) -> bool:
    return field.annotation is SecretStr or SecretStr in get_args(field.annotation)


SERVER_LEAVES = _leaves(Settings)
SECRET_LEAVES = {key for key, field in SERVER_LEAVES.items() if _is_secret(field)}


def _schema_type(ann: Any) -> dict[str, Any]:
    """The JSON-schema (VS Code configuration) shape of a settings annotation."""
    origin = get_origin(ann)
    if origin in (types.UnionType, typing.Union):
        members = [a for a in get_args(ann) if a is not type(None)]
        assert len(members) == 1, ann
        inner = _schema_type(members[0])
        inner["type"] = [inner["type"], "null"]
        return inner
    if origin is Literal:
        values = list(get_args(ann))
        assert all(isinstance(v, str) for v in values)
        return {"type": "string", "enum": values}
    if origin is tuple:
        item, ellipsis = get_args(ann)
        assert ellipsis is Ellipsis
        if isinstance(item, type) and issubclass(item, BaseModel):
            return {"type": "array", "items": {"type": "object"}, "item_model": item}
        return {"type": "array", "items": _schema_type(item)}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    assert ann in simple, f"no VS Code type for {ann!r}"
    return {"type": simple[ann]}


def _bounds(field: FieldInfo) -> dict[str, Any]:
    names = {
        annotated_types.Ge: ("ge", "minimum"),
        annotated_types.Le: ("le", "maximum"),
        annotated_types.Gt: ("gt", "exclusiveMinimum"),
        annotated_types.Lt: ("lt", "exclusiveMaximum"),
    }
    out: dict[str, Any] = {}
    for meta in field.metadata:
        for cls, (attr, key) in names.items():
            if isinstance(meta, cls):
                out[key] = getattr(meta, attr)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_default(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    return value


def test_every_server_setting_but_the_key_is_contributed_and_nothing_else() -> None:
    contributed = set(_properties())
    expected = set(SERVER_LEAVES) - SECRET_LEAVES
    assert {"hoody.apiKey"} == SECRET_LEAVES
    assert "hoody.apiKey" not in contributed, "the API key belongs in SecretStorage, never in settings.json"
    assert sorted(expected - contributed) == [], "server settings missing from package.json"
    assert sorted(contributed - expected - CLIENT_ONLY) == [], "package.json has settings the server lacks"
    assert contributed >= CLIENT_ONLY


@pytest.mark.parametrize("key", sorted(set(SERVER_LEAVES) - SECRET_LEAVES))
def test_contributed_setting_matches_the_model(key: str) -> None:
    field = SERVER_LEAVES[key]
    prop = _properties()[key]
    shape = _schema_type(field.annotation)

    assert prop.get("type") == shape["type"], f"{key}: type"
    assert prop.get("enum") == shape.get("enum"), f"{key}: enum"
    assert prop.get("default") == _json_default(field.default), f"{key}: default"
    assert prop.get("description") == field.description, f"{key}: description"
    assert field.description, f"{key}: the model should describe it"

    bounds = _bounds(field)
    for name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        assert prop.get(name) == bounds.get(name), f"{key}: {name}"

    if shape["type"] == "array":
        items = prop.get("items", {})
        assert items.get("type") == shape["items"]["type"], f"{key}: items type"
        model = shape.get("item_model")
        if model is not None:
            # objects in a list: same fields, same required ones, same defaults
            item_fields = {to_camel(n): f for n, f in model.model_fields.items()}
            assert set(items.get("properties", {})) == set(item_fields), f"{key}: item fields"
            required = sorted(a for a, f in item_fields.items() if f.is_required())
            assert sorted(items.get("required", [])) == required, f"{key}: required item fields"
            for alias, f in item_fields.items():
                sub = items["properties"][alias]
                assert sub.get("type") == _schema_type(f.annotation)["type"], f"{key}.{alias}: type"
                if not f.is_required():
                    assert sub.get("default") == f.default, f"{key}.{alias}: default"


@pytest.mark.parametrize("key", sorted(_properties()))
def test_routing_settings_are_machine_scoped(key: str) -> None:
    first = key.split(".")[1]
    routing = first in ROUTING_SETTINGS or key in CLIENT_ONLY
    scope = _properties()[key].get("scope", "window")
    if routing:
        assert scope == "machine", f"{key} decides where code or the key go: a workspace must not set it"
    else:
        assert scope not in ("machine", "application"), f"{key} should be settable per workspace"


def test_commands_are_contributed_under_their_own_ids() -> None:
    commands = {c["command"]: c for c in _manifest()["contributes"]["commands"]}
    for cid, title in {
        "hoody.setApiKey": "Set API Key",
        "hoody.clearApiKey": "Clear API Key",
        "hoody.refactorSelection": "Refactor Selection…",
    }.items():
        assert cid in commands, cid
        assert commands[cid]["title"] == title
        assert commands[cid]["category"] == "Hoody"
    # the client registers the server's commands itself; a contributed twin would clash with them
    assert not set(commands) & SERVER_COMMANDS


def test_extension_minimum_server_version_is_met_by_this_server() -> None:
    source = (EXT_DIR / "src" / "server.ts").read_text(encoding="utf-8")
    match = re.search(r"MIN_SERVER_VERSION = '(\d+)\.(\d+)\.(\d+)'", source)
    assert match, "MIN_SERVER_VERSION constant not found"
    minimum = tuple(int(x) for x in match.groups())
    have = tuple(int(x) for x in __version__.split(".")[:3])
    assert have >= minimum


def test_manifest_basics_for_packaging() -> None:
    manifest = _manifest()
    assert manifest["name"] == "hoody"
    assert manifest["main"] == "./out/extension.js"
    deps = manifest["dependencies"]
    assert deps["vscode-languageclient"].lstrip("^~").startswith("11.")
    # @types/vscode must not be newer than the oldest VS Code the manifest accepts
    engine = manifest["engines"]["vscode"].lstrip("^~")
    types_vscode = manifest["devDependencies"]["@types/vscode"].lstrip("^~")
    assert types_vscode.split(".")[:2] == engine.split(".")[:2]
