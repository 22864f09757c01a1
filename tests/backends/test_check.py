"""`hoody-lsp check` end to end: a real subprocess, settings from the environment, the fake as the backend."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hoody_lsp.check import run_check
from tests.backends.conftest import KEY, settings_for
from tests.fakebackend import FakeBackend, Reply

HOODY_LSP = str(Path(sys.executable).with_name("hoody-lsp"))
JSON_KEYS = {"ok", "backend", "baseUrl", "model", "problem", "message", "latencyMs"}


def _env(**values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HOODY_") and k.lower() not in ("https_proxy", "http_proxy", "all_proxy")
    }
    env.update(values)
    return env


def _check(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = subprocess.run([HOODY_LSP, "check", *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert KEY not in proc.stdout and KEY not in proc.stderr, "the key is never printed"
    return proc.returncode, proc.stdout, proc.stderr


def _check_json(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    code, out, err = _check(env, "--json")
    result = json.loads(out)  # stdout holds the object alone
    assert set(result) == JSON_KEYS, err
    assert isinstance(result["ok"], bool) and isinstance(result["message"], str) and result["message"]
    assert code == (0 if result["ok"] else 1)
    return code, result


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ok(fake_backend: FakeBackend) -> None:
    code, result = _check_json(_env(HOODY_BASE_URL=fake_backend.url, HOODY_API_KEY=KEY))
    assert code == 0
    assert result["ok"] is True and result["problem"] is None
    assert result["backend"] == "hoody" and result["baseUrl"] == fake_backend.url and result["model"] is None
    assert isinstance(result["latencyMs"], (int, float)) and result["latencyMs"] > 0
    req = fake_backend.requests[0]
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.json is not None and req.json["mode"] == "stream" and req.json["max_tokens"] <= 32


def test_ok_openai_with_model_from_the_environment(fake_backend: FakeBackend) -> None:
    env = _env(HOODY_BACKEND="openai", HOODY_BASE_URL=fake_backend.url + "/v1", HOODY_MODEL="qwen2.5-coder")
    code, result = _check_json(env)
    assert code == 0 and result["model"] == "qwen2.5-coder" and result["backend"] == "openai"
    assert fake_backend.requests[0].path == "/v1/chat/completions"


@pytest.mark.parametrize(
    ("reply", "problem", "words"),
    [
        (Reply(status=401), "auth", "HOODY_API_KEY"),
        (Reply(status=403), "auth", "apiKey"),
        (Reply(status=404), "not_found", "baseUrl"),
        (Reply(status=429, retry_after="17"), "rate_limited", "17 s"),
        (Reply(status=503), "protocol", "503"),
        (Reply(fault="html"), "protocol", "HTML"),
        (Reply(text="abcdefgh", fault="malformed"), "protocol", "JSON"),
        (Reply(text="abcdefgh", fault="reset_mid"), "unreachable", "reset"),
    ],
)
def test_problems_from_the_backend(fake_backend: FakeBackend, reply: Reply, problem: str, words: str) -> None:
    fake_backend.default = reply
    code, result = _check_json(_env(HOODY_BASE_URL=fake_backend.url, HOODY_API_KEY=KEY))
    assert code == 1 and result["ok"] is False
    assert result["problem"] == problem
    assert words in result["message"]
    assert result["latencyMs"] is None


def test_no_key(fake_backend: FakeBackend) -> None:
    code, result = _check_json(_env(HOODY_BASE_URL=fake_backend.url))
    assert (code, result["problem"]) == (1, "no_key")
    assert "HOODY_API_KEY" in result["message"]
    assert fake_backend.requests == []


def test_unreachable() -> None:
    port = _closed_port()
    code, result = _check_json(_env(HOODY_BASE_URL=f"http://127.0.0.1:{port}", HOODY_API_KEY=KEY))
    assert (code, result["problem"]) == (1, "unreachable")
    assert str(port) in result["message"]


def test_tls(fake_backend: FakeBackend) -> None:
    code, result = _check_json(_env(HOODY_BASE_URL=f"https://127.0.0.1:{fake_backend.port}", HOODY_API_KEY=KEY))
    assert (code, result["problem"]) == (1, "tls")


def test_config_http_to_a_remote_host() -> None:
    code, result = _check_json(_env(HOODY_BASE_URL="http://example.invalid", HOODY_API_KEY=KEY))
    assert (code, result["problem"]) == (1, "config")
    assert "allowInsecure" in result["message"]


def test_config_openai_without_model() -> None:
    env = _env(HOODY_BACKEND="openai", HOODY_BASE_URL="https://llm.example.invalid/v1", HOODY_API_KEY=KEY)
    code, result = _check_json(env)
    assert (code, result["problem"]) == (1, "config")
    assert "model" in result["message"] and result["model"] is None


def test_plain_words_output(fake_backend: FakeBackend) -> None:
    code, out, _ = _check(_env(HOODY_BASE_URL=fake_backend.url, HOODY_API_KEY=KEY))
    assert code == 0
    assert out.startswith("Backend: hoody at " + fake_backend.url)
    assert "OK: Generation works" in out
    fake_backend.default = Reply(status=401)
    code, out, _ = _check(_env(HOODY_BASE_URL=fake_backend.url, HOODY_API_KEY=KEY))
    assert code == 1
    assert "Problem (auth):" in out and "{" not in out


def test_usage_error_is_2() -> None:
    code, _, _ = _check(_env(), "--bogus")
    assert code == 2


async def test_timeout_in_process(fake_backend: FakeBackend) -> None:
    # http.timeoutS has no environment variable, so this one runs in-process with the same function.
    fake_backend.default = Reply(text="late", headers_delay=5)
    result = await run_check(settings_for(fake_backend, "hoody", http={"timeoutS": 0.3}))
    assert result.problem == "timeout" and result.ok is False
    assert result.to_json()["problem"] == "timeout"
