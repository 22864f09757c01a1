"""Raw editor options and the environment -> one resolved, typed `Settings`.

Layers, later wins: defaults, environment variables, the editor's `initializationOptions`, then the
`workspace/configuration` section `hoody`. Editor settings may be nested (`{"inlineCompletion": {...}}`) or
dotted (`"inlineCompletion.debounceMs"`, with or without a leading `hoody.`); both mean the same setting.

An invalid value never fails the whole model: it is dropped, the field keeps its default, and one warning
naming the setting is returned so the caller can tell the user once. The API key is a `SecretStr`: its repr
never shows it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.alias_generators import to_camel

HOODY_BASE_URL = "https://api.hoody.com"
OPENAI_BASE_URL = "https://ai.hoody.com/api/v1"
HOODY_GATEWAY_MODEL = "hoody-ai/hoody-free"
DEFAULT_GENERATE_PATH = "/api/v1/exec/ai/generate"

# Settings that decide where code and the key go. Clients must take them from user/machine scope only.
ROUTING_SETTINGS = ("backend", "apiKey", "baseUrl", "generatePath", "http")

ENVIRONMENT = {
    "HOODY_BACKEND": ("backend",),
    "HOODY_API_KEY": ("apiKey",),
    "HOODY_BASE_URL": ("baseUrl",),
    "HOODY_MODEL": ("model",),
    "HTTPS_PROXY": ("http", "proxy"),
    "https_proxy": ("http", "proxy"),
    "SSL_CERT_FILE": ("http", "caBundle"),
}


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


class OpenAISettings(_Model):
    fim: bool = Field(False, description="Inline completion through /completions with prompt + suffix.")


class InlineCompletionSettings(_Model):
    enabled: bool = Field(True, description="Offer inline completions (ghost text).")
    disabled_languages: tuple[str, ...] = Field((), description="Language ids with no suggestions.")
    debounce_ms: int | None = Field(
        None, ge=0, le=10_000, description="A fixed debounce in ms; null adapts to your typing rhythm."
    )
    timeout_ms: int = Field(5000, ge=50, le=120_000, description="A suggestion later than this is dropped.")


class CompletionSettings(_Model):
    fallback: Literal["auto", "always", "never"] = Field(
        "auto",
        description="textDocument/completion items: auto (only for clients without inline completion), "
        "always, never.",
    )


class ContextSettings(_Model):
    budget_chars: int = Field(
        6000, ge=0, le=200_000, description="Characters of cross-file context per request."
    )
    exclude: tuple[str, ...] = Field((), description="Extra gitignore-style globs never read.")


class CustomAction(_Model):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    directive: str = Field(min_length=1)
    kind: str = "refactor.rewrite"


class ActionsSettings(_Model):
    live_edits: bool = Field(True, description="Stream generated code into the buffer while it arrives.")
    custom: tuple[CustomAction, ...] = Field(
        (), description="User actions: {id, title, directive, kind?} (kind default refactor.rewrite)."
    )


class HttpSettings(_Model):
    proxy: str | None = Field(None, description="Proxy URL for backend calls.")
    ca_bundle: str | None = Field(None, description="CA bundle file (default: the system's).")
    timeout_s: float = Field(
        30.0, gt=0, le=600, description="Longest silence while waiting for response bytes, in seconds."
    )
    allow_insecure: bool = Field(False, description="Allow http:// to hosts other than loopback.")


class Settings(_Model):
    backend: Literal["hoody", "openai"] = Field(
        "hoody", description="hoody (code generation API) or openai (any OpenAI-compatible server)."
    )
    api_key: SecretStr | None = Field(None, description="Bearer token; never logged.")
    base_url: str | None = Field(
        None,
        description="Backend URL (default https://api.hoody.com; for openai https://ai.hoody.com/api/v1).",
    )
    generate_path: str = Field(DEFAULT_GENERATE_PATH, description="Path of the hoody generate endpoint.")
    model: str | None = Field(None, description="Model id (needed by OpenAI-compatible servers).")
    openai: OpenAISettings = OpenAISettings()
    inline_completion: InlineCompletionSettings = InlineCompletionSettings()
    completion: CompletionSettings = CompletionSettings()
    context: ContextSettings = ContextSettings()
    actions: ActionsSettings = ActionsSettings()
    http: HttpSettings = HttpSettings()

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("generate_path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        value = value.strip()
        return value if value.startswith("/") else "/" + value

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    # -- derived values -------------------------------------------------------------------------------

    @property
    def effective_base_url(self) -> str:
        if self.base_url:
            return self.base_url
        return OPENAI_BASE_URL if self.backend == "openai" else HOODY_BASE_URL

    @property
    def effective_model(self) -> str | None:
        if self.model:
            return self.model
        if self.backend == "openai" and is_hoody_gateway(self.effective_base_url):
            return HOODY_GATEWAY_MODEL
        return None

    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def routing_fingerprint(self) -> tuple[Any, ...]:
        """What identifies the backend: when it changes, remembered auth/URL failures are forgotten."""
        return (
            self.backend,
            self.key(),
            self.effective_base_url,
            self.generate_path,
            self.effective_model,
            self.openai,
            self.http,
        )


def is_hoody_gateway(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("ai.hoody.com", "ai.hoody.icu")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- layering ---------------------------------------------------------------------------------------

_SNAKE_TO_CAMEL: dict[str, str] = {}


def _canonical_key(key: str) -> str:
    """`inline_completion` and `inlineCompletion` are the same key."""
    if "_" in key:
        return _SNAKE_TO_CAMEL.setdefault(key, to_camel(key))
    return key


def _nest(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys -> nested dicts; drops a leading `hoody` section; canonical camelCase keys."""
    out: dict[str, Any] = {}
    if "hoody" in raw and isinstance(raw["hoody"], Mapping) and len(raw) == 1:
        raw = raw["hoody"]
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        parts = [_canonical_key(p) for p in key.split(".") if p]
        if parts and parts[0] == "hoody" and len(parts) > 1:
            parts = parts[1:]
        if not parts:
            continue
        if isinstance(value, Mapping):
            value = _nest(value)
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        leaf = parts[-1]
        if isinstance(value, dict) and isinstance(node.get(leaf), dict):
            node[leaf] = _merge(node[leaf], value)
        else:
            node[leaf] = value
    return out


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def environment_layer(env: Mapping[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for name, path in ENVIRONMENT.items():
        value = env.get(name)
        if value is None or value == "":
            continue
        node = layer
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(path[-1], value)
    return layer


def _sections() -> dict[str, type[_Model]]:
    return {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, _Model)
    }


def _validate_leaf(model: type[_Model], field_name: str, value: Any) -> tuple[bool, Any, str]:
    """Validate one field on its own; (ok, value, error)."""
    alias = to_camel(field_name)
    try:
        instance = model.model_validate({alias: value})
    except ValidationError as exc:
        err = exc.errors()[0]
        return False, None, str(err.get("msg", "invalid"))
    return True, getattr(instance, field_name), ""


def resolve(*layers: Mapping[str, Any] | None) -> tuple[Settings, list[str]]:
    """Merge raw layers (earliest first) into Settings; invalid values fall back to their default.

    Returns the settings and one warning per invalid setting, naming it.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            merged = _merge(merged, _nest(layer))

    warnings: list[str] = []
    values: dict[str, Any] = {}
    sections = _sections()
    by_alias = {to_camel(name): name for name in Settings.model_fields}
    for key, raw in merged.items():
        name = by_alias.get(key)
        if name is None:
            continue  # unknown settings are ignored, like every editor does
        if name in sections:
            sub_model = sections[name]
            if raw is None:
                continue
            if not isinstance(raw, Mapping):
                warnings.append(_invalid(key, raw, "expected an object"))
                continue
            sub_values: dict[str, Any] = {}
            sub_aliases = {to_camel(n): n for n in sub_model.model_fields}
            for sub_key, sub_raw in raw.items():
                sub_name = sub_aliases.get(sub_key)
                if sub_name is None:
                    continue
                ok, value, msg = _validate_leaf(sub_model, sub_name, sub_raw)
                if ok:
                    sub_values[sub_name] = value
                else:
                    warnings.append(_invalid(f"{key}.{sub_key}", sub_raw, msg))
            values[name] = sub_model.model_validate(sub_values)
        else:
            ok, value, msg = _validate_leaf(Settings, name, raw)
            if ok:
                values[name] = value
            else:
                warnings.append(_invalid(key, raw, msg))
    return Settings.model_validate(values), warnings


def _invalid(name: str, raw: Any, msg: str) -> str:
    shown = "<hidden>" if name == "apiKey" else repr(raw)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    default = _default_of(name)
    return f"Hoody: setting `{name}` has an invalid value {shown} ({msg}); using the default {default}."


def _default_of(dotted: str) -> str:
    model: Any = Settings()
    for part in dotted.split("."):
        snake = next((n for n in type(model).model_fields if to_camel(n) == part), None)
        if snake is None:
            return "value"
        model = getattr(model, snake)
    if isinstance(model, BaseModel):
        return "value"
    return "none" if model is None else repr(list(model) if isinstance(model, tuple) else model)
