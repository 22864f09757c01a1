"""Settings: layering, nested vs dotted names, invalid values falling back one by one, the secret key."""

from __future__ import annotations

import logging

import pytest

from hoody_lsp.logs import SecretFilter, register_secret, scrub
from hoody_lsp.settings import (
    HOODY_BASE_URL,
    OPENAI_BASE_URL,
    Settings,
    environment_layer,
    is_loopback,
    resolve,
)


def test_defaults() -> None:
    s, warnings = resolve()
    assert warnings == []
    assert s.backend == "hoody"
    assert s.effective_base_url == HOODY_BASE_URL
    assert s.generate_path == "/api/v1/exec/ai/generate"
    assert s.model is None and s.effective_model is None
    assert s.inline_completion.enabled and s.inline_completion.timeout_ms == 5000
    assert s.inline_completion.debounce_ms is None
    assert s.completion.fallback == "auto"
    assert s.context.budget_chars == 6000
    assert s.actions.live_edits is True
    assert s.http.timeout_s == 30 and s.http.allow_insecure is False


def test_openai_defaults_to_the_hoody_gateway_and_its_free_model() -> None:
    s, _ = resolve({"backend": "openai"})
    assert s.effective_base_url == OPENAI_BASE_URL
    assert s.effective_model == "hoody-ai/hoody-free"
    s, _ = resolve({"backend": "openai", "baseUrl": "http://127.0.0.1:11434/v1/"})
    assert s.effective_base_url == "http://127.0.0.1:11434/v1"
    assert s.effective_model is None  # any other server needs a model


def test_precedence_defaults_env_init_config() -> None:
    env = environment_layer(
        {"HOODY_BACKEND": "openai", "HOODY_MODEL": "env-model", "HOODY_BASE_URL": "http://127.0.0.1:1",
         "HTTPS_PROXY": "http://proxy:3128", "SSL_CERT_FILE": "/etc/ca.pem"}
    )
    init = {"model": "init-model", "inlineCompletion": {"timeoutMs": 1000, "debounceMs": 10}}
    config = {"inlineCompletion": {"timeoutMs": 2000}}
    s, warnings = resolve(env, init, config)
    assert warnings == []
    assert s.backend == "openai"
    assert s.model == "init-model"
    assert s.inline_completion.timeout_ms == 2000  # config wins
    assert s.inline_completion.debounce_ms == 10  # init's other keys survive the merge
    assert s.http.proxy == "http://proxy:3128"
    assert s.http.ca_bundle == "/etc/ca.pem"


@pytest.mark.parametrize(
    "layer",
    [
        {"inlineCompletion": {"debounceMs": 0}},
        {"inlineCompletion.debounceMs": 0},
        {"hoody.inlineCompletion.debounceMs": 0},
        {"hoody": {"inlineCompletion": {"debounceMs": 0}}},
        {"inline_completion": {"debounce_ms": 0}},
    ],
)
def test_nested_and_dotted_names_are_the_same_setting(layer: dict[str, object]) -> None:
    s, warnings = resolve(layer)
    assert warnings == []
    assert s.inline_completion.debounce_ms == 0


def test_invalid_values_fall_back_one_by_one_with_one_message_each() -> None:
    s, warnings = resolve(
        {
            "backend": "nope",
            "inlineCompletion": {"timeoutMs": "soon", "enabled": False},
            "context": {"budgetChars": -1},
            "completion": {"fallback": "sometimes"},
            "baseUrl": "ftp://x",
            "actions": {"custom": [{"id": "x"}], "liveEdits": False},
            "http": "oops",
        }
    )
    assert s.backend == "hoody"
    assert s.inline_completion.timeout_ms == 5000
    assert s.inline_completion.enabled is False  # the valid neighbour still applies
    assert s.context.budget_chars == 6000
    assert s.completion.fallback == "auto"
    assert s.base_url is None
    assert s.actions.custom == () and s.actions.live_edits is False
    names = ["`backend`", "`inlineCompletion.timeoutMs`", "`context.budgetChars`", "`completion.fallback`",
             "`baseUrl`", "`actions.custom`", "`http`"]
    assert len(warnings) == len(names)
    for name in names:
        assert sum(name in w for w in warnings) == 1, name


def test_custom_actions_parse_with_default_kind() -> None:
    s, warnings = resolve({"actions": {"custom": [{"id": "log", "title": "Add logging", "directive": "add logs"}]}})
    assert warnings == []
    (action,) = s.actions.custom
    assert action.kind == "refactor.rewrite"


def test_key_is_secret_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    s, _ = resolve({"apiKey": "sk-live-abcdef123456"})
    assert "sk-live-abcdef123456" not in repr(s)
    assert "sk-live-abcdef123456" not in str(s)
    assert s.key() == "sk-live-abcdef123456"
    _, warnings = resolve({"apiKey": 12})
    assert all("12" not in w for w in warnings)
    register_secret(s.key())
    assert "sk-live-abcdef123456" not in scrub("token sk-live-abcdef123456 here")
    logger = logging.getLogger("test.secret")
    record = logger.makeRecord("t", logging.INFO, __file__, 1, "params %s", ({"apiKey": "other-secret"},), None)
    SecretFilter().filter(record)
    assert "other-secret" not in record.getMessage()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.8.9.1", True),
     ("10.0.0.1", False), ("example.com", False), (None, False)],
)
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_routing_fingerprint_changes_only_with_routing() -> None:
    a, _ = resolve({"apiKey": "k1"})
    b, _ = resolve({"apiKey": "k1", "inlineCompletion": {"debounceMs": 5}})
    c, _ = resolve({"apiKey": "k2"})
    assert a.routing_fingerprint() == b.routing_fingerprint()
    assert a.routing_fingerprint() != c.routing_fingerprint()
    assert isinstance(a, Settings)
