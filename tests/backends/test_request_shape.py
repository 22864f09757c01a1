"""What goes over the wire: body fields and headers of both backends, and the policy on where code and key go."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hoody_lsp import __version__
from hoody_lsp.backends import make_backend
from hoody_lsp.backends.base import ContextItem, GenerateRequest, TargetFile
from hoody_lsp.backends.errors import ConfigError, NoKeyError, NotFoundError
from hoody_lsp.backends.http import display_url, parse_retry_after
from hoody_lsp.backends.openai import CURSOR, OpenAIBackend, build_messages, fence
from hoody_lsp.settings import resolve
from tests.backends.conftest import KEY, completion, settings_for
from tests.fakebackend import FakeBackend, Reply, http_date

FULL = GenerateRequest(
    task="completion",
    directive="Complete the function.",
    language="python",
    framework="django",
    prefix="def area(r):\n    return ",
    suffix="\n\nprint(area(2))\n",
    target_files=(TargetFile(path="geo/shapes.py"),),
    context=(
        ContextItem(path="geo/consts.py", content="PI = 3.14159\n", start_line=1, end_line=1, kind="definition"),
        ContextItem(path="AGENTS.md", content="Use type hints.\n", start_line=1, end_line=1, kind="rules"),
    ),
    max_tokens=64,
    temperature=0.2,
    stop=("\n\n",),
)


async def _send(fake: FakeBackend, kind: str, request: GenerateRequest, **overrides: Any) -> dict[str, Any]:
    backend = make_backend(settings_for(fake, kind, **overrides))
    try:
        assert await backend.generate(request).text() == "pass"
    finally:
        await backend.aclose()
    assert fake.requests[-1].json is not None
    return dict(fake.requests[-1].json)


async def test_hoody_body_and_headers(fake_backend: FakeBackend) -> None:
    body = await _send(fake_backend, "hoody", FULL, model="hoody-code-1")
    assert body == {
        "directive": "Complete the function.",
        "mode": "stream",
        "task": "completion",
        "language": "python",
        "framework": "django",
        "target_files": [{"path": "geo/shapes.py"}],
        "context": [
            {
                "path": "geo/consts.py",
                "content": "PI = 3.14159\n",
                "start_line": 1,
                "end_line": 1,
                "kind": "definition",
            },
            {"path": "AGENTS.md", "content": "Use type hints.\n", "start_line": 1, "end_line": 1, "kind": "rules"},
        ],
        "prefix": "def area(r):\n    return ",
        "suffix": "\n\nprint(area(2))\n",
        "model": "hoody-code-1",
        "max_tokens": 64,
        "temperature": 0.2,
        "stop": ["\n\n"],
        "client": {"name": "hoody-lsp", "version": __version__},
    }
    req = fake_backend.requests[-1]
    assert req.method == "POST"
    assert req.path == "/api/v1/exec/ai/generate"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["content-type"] == "application/json"
    assert "text/event-stream" in req.headers["accept"]
    assert req.headers["user-agent"].startswith("hoody-lsp/")


async def test_hoody_edit_body_with_range_and_custom_path(fake_backend: FakeBackend) -> None:
    rng = {"start": {"line": 3, "character": 0}, "end": {"line": 5, "character": 0}}
    request = GenerateRequest(
        task="edit",
        directive="Add a docstring.",
        target_files=(TargetFile(path="m.py", content="def f():\n    pass\n", range=rng),),
    )
    body = await _send(fake_backend, "hoody", request, generatePath="custom/generate")
    assert fake_backend.requests[-1].path == "/custom/generate"
    assert body["task"] == "edit"
    assert body["target_files"] == [{"path": "m.py", "content": "def f():\n    pass\n", "range": rng}]
    assert "prefix" not in body and "suffix" not in body and "model" not in body and "stop" not in body


async def test_openai_chat_body_and_headers(fake_backend: FakeBackend) -> None:
    body = await _send(fake_backend, "openai", FULL)
    req = fake_backend.requests[-1]
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert set(body) == {"model", "messages", "max_tokens", "temperature", "stop", "stream"}
    assert body["model"] == "test-model"
    assert body["stream"] is True
    assert (body["max_tokens"], body["temperature"], body["stop"]) == (64, 0.2, ["\n\n"])
    system, user = body["messages"]
    assert system["role"] == "system" and "code only" in system["content"]
    assert user["role"] == "user"
    content = user["content"]
    assert f"def area(r):\n    return {CURSOR}\n\nprint(area(2))\n" in content
    assert "geo/shapes.py" in content and "`geo/consts.py`" in content and "PI = 3.14159" in content
    assert "Project instructions from `AGENTS.md`" in content and "Use type hints." in content
    assert content.index("PI = 3.14159") < content.index(CURSOR), "context comes before the file"


async def test_openai_fim_uses_completions_with_prompt_and_suffix(fake_backend: FakeBackend) -> None:
    body = await _send(fake_backend, "openai", FULL, openai={"fim": True})
    assert fake_backend.requests[-1].path == "/v1/completions"
    assert body == {
        "model": "test-model",
        "prompt": "def area(r):\n    return ",
        "suffix": "\n\nprint(area(2))\n",
        "max_tokens": 64,
        "temperature": 0.2,
        "stop": ["\n\n"],
        "stream": True,
    }


async def test_openai_fim_is_only_for_completion(fake_backend: FakeBackend) -> None:
    request = GenerateRequest(task="edit", directive="Rename x.", target_files=(TargetFile("a.py", "x = 1\n"),))
    body = await _send(fake_backend, "openai", request, openai={"fim": True})
    assert fake_backend.requests[-1].path == "/v1/chat/completions"
    assert "messages" in body


async def test_openai_stop_sequences_are_limited_to_four(fake_backend: FakeBackend) -> None:
    body = await _send(fake_backend, "openai", completion(stop=("a", "b", "c", "d", "e", "f")))
    assert body["stop"] == ["a", "b", "c", "d"]


def test_edit_messages_hold_the_code_and_the_instruction() -> None:
    request = GenerateRequest(
        task="edit",
        directive="Use a list comprehension.",
        language="python",
        prefix="import os\n",
        suffix="\nprint(out)\n",
        target_files=(TargetFile(path="m.py", content="out = []\nfor x in xs:\n    out.append(x)\n"),),
    )
    user = build_messages(request)[1]["content"]
    assert "Instruction: Use a list comprehension." in user
    assert "out = []\nfor x in xs:\n    out.append(x)\n" in user
    assert "import os" in user and "print(out)" in user
    assert user.index("import os") < user.index("Instruction") < user.index("out.append")


def test_generate_messages_name_the_file_and_keep_existing_content() -> None:
    request = GenerateRequest(
        task="generate",
        directive="Write pytest tests for m.py.",
        target_files=(TargetFile(path="tests/test_m.py", content="import m\n"),),
    )
    user = build_messages(request)[1]["content"]
    assert "`tests/test_m.py`" in user and "Write pytest tests for m.py." in user and "import m" in user


def test_fence_cannot_be_closed_by_the_content() -> None:
    assert fence("x = 1") == "```\nx = 1\n```"
    assert fence("a ``` b", "md").startswith("````md\n")
    assert fence("a ```` b").startswith("`````\n")


# -- policy --------------------------------------------------------------------------------------------------


async def test_http_to_a_remote_host_is_refused_without_a_network_call() -> None:
    settings, _ = resolve({"baseUrl": "http://example.invalid", "apiKey": KEY})
    backend = make_backend(settings)
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        await backend.generate(completion()).text()
    assert time.monotonic() - started < 0.5
    assert "http://" in info.value.message and "allowInsecure" in info.value.message
    assert backend._client is None, "no HTTP client was even built"  # type: ignore[attr-defined]
    await backend.aclose()


async def test_allow_insecure_lets_http_through_a_proxy(fake_backend: FakeBackend) -> None:
    # The fake plays the proxy: http:// to a remote name goes through it, with no DNS lookup here.
    settings, _ = resolve(
        {"baseUrl": "http://backend.test", "apiKey": KEY, "http": {"allowInsecure": True, "proxy": fake_backend.url}}
    )
    backend = make_backend(settings)
    assert await backend.generate(completion()).text() == "pass"
    req = fake_backend.requests[-1]
    assert req.path == "http://backend.test/api/v1/exec/ai/generate"
    assert req.headers["host"] == "backend.test"
    await backend.aclose()


async def test_loopback_never_goes_through_the_proxy(fake_backend: FakeBackend) -> None:
    settings = settings_for(fake_backend, "hoody", http={"proxy": "http://127.0.0.1:9"})
    backend = make_backend(settings)
    assert await backend.generate(completion()).text() == "pass"
    await backend.aclose()


async def test_no_key_fails_before_any_network_call(fake_backend: FakeBackend) -> None:
    settings, _ = resolve({"baseUrl": fake_backend.url})
    backend = make_backend(settings)
    with pytest.raises(NoKeyError) as info:
        await backend.generate(completion()).text()
    assert "HOODY_API_KEY" in info.value.message and "apiKey" in info.value.message
    assert fake_backend.requests == []
    await backend.aclose()


async def test_openai_remote_without_key_fails_before_any_network_call() -> None:
    settings, _ = resolve({"backend": "openai", "baseUrl": "https://example.invalid/v1", "model": "m"})
    with pytest.raises(NoKeyError):
        await make_backend(settings).generate(completion()).text()


async def test_openai_on_loopback_needs_no_key(fake_backend: FakeBackend) -> None:
    settings, _ = resolve({"backend": "openai", "baseUrl": fake_backend.url + "/v1", "model": "qwen"})
    backend = make_backend(settings)
    assert await backend.generate(completion()).text() == "pass"
    assert "authorization" not in fake_backend.requests[-1].headers
    await backend.aclose()


async def test_openai_without_a_model_says_to_set_it() -> None:
    settings, _ = resolve({"backend": "openai", "baseUrl": "https://llm.example.invalid/v1", "apiKey": KEY})
    with pytest.raises(ConfigError) as info:
        await make_backend(settings).generate(completion()).text()
    assert "`model`" in info.value.message


def test_openai_on_the_hoody_gateway_has_a_default_model() -> None:
    settings, _ = resolve({"backend": "openai", "apiKey": KEY})
    backend = make_backend(settings)
    assert isinstance(backend, OpenAIBackend)
    call = backend.prepare(completion())
    assert call.url == "https://ai.hoody.com/api/v1/chat/completions"
    assert call.body["model"] == "hoody-ai/hoody-free"


@pytest.mark.parametrize("bad_key", ["two words", "kéy-with-accent", "line\nbreak"])
async def test_a_key_with_impossible_characters_is_a_config_error(fake_backend: FakeBackend, bad_key: str) -> None:
    settings = settings_for(fake_backend, "hoody", apiKey=bad_key)
    with pytest.raises(ConfigError) as info:
        await make_backend(settings).generate(completion()).text()
    assert bad_key not in info.value.message
    assert fake_backend.requests == []


async def test_a_missing_ca_bundle_is_a_config_error(fake_backend: FakeBackend) -> None:
    settings = settings_for(fake_backend, "hoody", http={"caBundle": "/nonexistent/ca.pem"})
    with pytest.raises(ConfigError) as info:
        await make_backend(settings).generate(completion()).text()
    assert "caBundle" in info.value.message


async def test_a_redirect_to_another_host_never_carries_the_key(fake_backend: FakeBackend, kind: str) -> None:
    with FakeBackend() as elsewhere:
        path = "/v1/chat/completions" if kind == "openai" else "/api/v1/exec/ai/generate"
        fake_backend.script(Reply(status=307, headers={"Location": elsewhere.url + path}, body=b""))
        backend = make_backend(settings_for(fake_backend, kind))
        with pytest.raises(NotFoundError) as info:
            await backend.generate(completion()).text()
        assert elsewhere.url in info.value.message and "baseUrl" in info.value.message
        assert fake_backend.requests[0].headers["authorization"] == f"Bearer {KEY}"
        assert not elsewhere.wait_for_requests(1, timeout=0.2)
        assert not any("authorization" in r.headers for r in elsewhere.requests)
        await backend.aclose()


# -- small pure helpers ----------------------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("120") == 30
    assert parse_retry_after("-4") == 0
    assert parse_retry_after(None) == 5
    assert parse_retry_after("soon") == 5
    assert 8 <= parse_retry_after(http_date(10)) <= 10.5
    assert parse_retry_after(http_date(-100)) == 0


def test_display_url_hides_user_info_and_query() -> None:
    assert display_url("https://user:pw@api.example.com:8443/v1?key=abc") == "https://api.example.com:8443/v1"
