"""Inline completions end to end: real stdio to the server, real HTTP/SSE to the fake backend."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.harness import editor_session
from tests.fakebackend import FakeBackend, Reply

FAST = {"inlineCompletion": {"debounceMs": 0}}


async def test_advertises_inline_completion_and_answers_with_the_fake_text(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.default = Reply(text="return a + b")
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        caps = ed.server_capabilities  # type: ignore[attr-defined]
        assert caps.inline_completion_provider is not None
        uri = ed.open("m.py", "def add(a, b):\n    ")
        items = await ed.inline(uri, types.Position(1, 4))
        assert [i.insert_text for i in items] == ["return a + b"]
        assert items[0].range == types.Range(types.Position(1, 4), types.Position(1, 4))
    (req,) = fake_backend.requests
    body = req.json
    assert req.path == "/api/v1/exec/ai/generate"
    assert req.headers["authorization"] == "Bearer test-key-0123456789"
    assert body["task"] == "completion" and body["mode"] == "stream"
    assert body["language"] == "python"
    assert body["prefix"] == "def add(a, b):\n    " and body["suffix"] == ""


async def test_request_carries_other_open_buffers_and_project_rules(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    (tmp_path / "AGENTS.md").write_text("Always use type hints.\n")
    fake_backend.default = Reply(text="total(1)")
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        ed.open("util.py", "def total(x: int) -> int:\n    return x * 2\n", write=True)
        uri = ed.open("main.py", "from util import total\n\nprint(", write=True)
        await ed.inline(uri, types.Position(2, 6))
    body = fake_backend.requests[-1].json
    kinds = {c["kind"] for c in body["context"]}
    contents = "\n".join(c["content"] for c in body["context"])
    assert "rules" in kinds and "Always use type hints." in contents
    assert "def total(x: int) -> int:" in contents


@pytest.mark.parametrize("kind", ["vscode", "neovim"])
async def test_unicode_ranges_are_right_in_each_encoding(
    kind: str, fake_backend: FakeBackend, tmp_path: Path
) -> None:
    # the model repeats the typed part of the word: the range must start where the word starts
    fake_backend.default = Reply(text="naïve_😋_total = 1")
    async with editor_session(fake_backend.url, tmp_path, kind=kind, init_options=FAST) as ed:  # type: ignore[arg-type]
        text = "s = '日本😋é'  # 注\nnaïve_😋"
        uri = ed.open("u.py", text)
        end = ed.pos(uri, len(text))
        items = await ed.inline(uri, end)
        assert len(items) == 1
        item = items[0]
        assert item.insert_text == "naïve_😋_total = 1"
        assert item.range is not None
        assert item.range.start == ed.pos(uri, len(text) - len("naïve_😋"))
        assert item.range.end == end


async def test_crlf_document_gets_crlf_and_right_positions(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = Reply(text="if x:\n        return 1\n    return 2")
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("c.py", "def f(x):\r\n    ")
        items = await ed.inline(uri, types.Position(1, 4))
        assert len(items) == 1
        assert "\r\n" in items[0].insert_text and "\n" not in items[0].insert_text.replace("\r\n", "")
        assert items[0].range == types.Range(types.Position(1, 4), types.Position(1, 4))


async def test_no_backend_call_when_it_must_not_ask(fake_backend: FakeBackend, tmp_path: Path) -> None:
    (tmp_path / ".hoodyignore").write_text("private/\n")
    options = {
        "inlineCompletion": {"debounceMs": 0, "disabledLanguages": ["markdown"]},
        "context": {"exclude": ["*.gen.py"]},
    }
    async with editor_session(fake_backend.url, tmp_path, init_options=options) as ed:
        word = ed.open("w.py", "value = compute(x)\n")
        t0 = time.monotonic()
        # inside a word, automatic trigger: nothing
        assert await ed.inline(word, types.Position(0, 3), invoked=False) == []
        md = ed.open("n.md", "# title\n", language="markdown")
        assert await ed.inline(md, types.Position(1, 0)) == []
        env = ed.open(".env", "SECRET=1\n", language="dotenv")
        assert await ed.inline(env, types.Position(1, 0)) == []
        gen = ed.open("x.gen.py", "x = 1\n")
        assert await ed.inline(gen, types.Position(1, 0)) == []
        big = ed.open("big.py", "x = 1\n" * 200_000)
        assert await ed.inline(big, types.Position(200_000, 0)) == []
        assert time.monotonic() - t0 < 5
        assert fake_backend.requests == []
        # ...while invoking inside a word does ask
        fake_backend.default = Reply(text="d")
        await ed.inline(word, types.Position(0, 3), invoked=True)
        assert len(fake_backend.requests) == 1


async def test_disabled_by_configuration_change(fake_backend: FakeBackend, tmp_path: Path) -> None:
    async with editor_session(
        fake_backend.url, tmp_path, configuration={"inlineCompletion": {"enabled": False, "debounceMs": 0}}
    ) as ed:
        uri = ed.open("a.py", "x = ")
        assert await ed.inline(uri, types.Position(0, 4)) == []
        assert fake_backend.requests == []
        ed.client.set_configuration({"inlineCompletion": {"enabled": True, "debounceMs": 0}}, section="hoody")
        ed.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await asyncio.sleep(0.3)
        fake_backend.default = Reply(text="1")
        assert [i.insert_text for i in await ed.inline(uri, types.Position(0, 4))] == ["1"]


@pytest.mark.parametrize(
    ("reply", "kind_words"),
    [
        (Reply(status=401), "key"),
        (Reply(status=403), "key"),
        (Reply(status=404), "baseUrl"),
        (Reply(status=500), ""),
        (Reply(status=503), ""),
        (Reply(text="abc def ghi", fault="reset_mid"), ""),
        (Reply(text="abc def ghi", fault="malformed"), ""),
        (Reply(text="abc", fault="html"), ""),
        (Reply(text="abc def", fault="no_done"), ""),
        (Reply(text="abc def", fault="error_event"), ""),
    ],
)
async def test_failures_answer_empty_tell_once_and_recover(
    reply: Reply, kind_words: str, fake_backend: FakeBackend, tmp_path: Path
) -> None:
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("a.py", "def f():\n    ")
        blocking = reply.status in (401, 403, 404)
        # a blocking failure stops requests, so only one reply is used
        fake_backend.script(*([reply] if blocking else [reply, reply]))
        t0 = time.monotonic()
        assert await ed.inline(uri, types.Position(1, 4)) == []
        assert time.monotonic() - t0 < 5
        await asyncio.sleep(0.1)
        messages = [m for m in ed.messages() if m.startswith("Hoody")]
        assert len(messages) == 1, messages
        assert kind_words in messages[0]
        # the same failure again is not told again
        assert await ed.inline(uri, types.Position(1, 4)) == []
        await asyncio.sleep(0.1)
        assert len([m for m in ed.messages() if m.startswith("Hoody")]) == 1
        if blocking:
            # after an auth or URL error no request goes out until the settings change
            assert len(fake_backend.requests) == 1
            ed.client.set_configuration({"apiKey": "new-key-123456"}, section="hoody")
            ed.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
            await asyncio.sleep(0.3)
        fake_backend.default = Reply(text="return 1")
        assert [i.insert_text for i in await ed.inline(uri, types.Position(1, 4))] == ["return 1"]


async def test_stall_is_dropped_at_the_deadline(fake_backend: FakeBackend, tmp_path: Path) -> None:
    options = {"inlineCompletion": {"debounceMs": 0, "timeoutMs": 600}}
    async with editor_session(fake_backend.url, tmp_path, init_options=options) as ed:
        uri = ed.open("a.py", "def f():\n    ")
        fake_backend.script(Reply(text="abcdef", fault="stall_mid"))
        t0 = time.monotonic()
        assert await ed.inline(uri, types.Position(1, 4)) == []
        assert time.monotonic() - t0 < 2.0
        (req,) = fake_backend.requests
        assert fake_backend.wait_for_disconnect(req, timeout=2.0)


async def test_rate_limit_holds_inline_requests_until_retry_after(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("a.py", "x = ")
        fake_backend.script(Reply(status=429, retry_after="1"))
        assert await ed.inline(uri, types.Position(0, 4)) == []
        assert await ed.inline(uri, types.Position(0, 4)) == []
        assert len(fake_backend.requests) == 1  # no request while Retry-After runs
        assert any("wait" in m.lower() or "rate" in m.lower() or "limit" in m.lower() for m in ed.messages())
        await asyncio.sleep(1.1)
        fake_backend.default = Reply(text="42")
        assert [i.insert_text for i in await ed.inline(uri, types.Position(0, 4))] == ["42"]


async def test_completion_fallback_per_client(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = Reply(text="return a * b")
    async with editor_session(fake_backend.url, tmp_path, kind="vscode", init_options=FAST) as ed:
        uri = ed.open("a.py", "def mul(a, b):\n    ")
        assert await ed.completion(uri, types.Position(1, 4)) is None  # VS Code gets ghost text only
        assert fake_backend.requests == []
    async with editor_session(fake_backend.url, tmp_path, kind="neovim", init_options=FAST) as ed:
        uri = ed.open("a.py", "def mul(a, b):\n    ret")
        result = await ed.completion(uri, types.Position(1, 7))
        assert result is not None and result.is_incomplete is True
        (item,) = result.items
        assert isinstance(item.text_edit, types.TextEdit)
        assert item.text_edit.new_text == "return a * b"
        assert item.text_edit.range == types.Range(types.Position(1, 4), types.Position(1, 7))
    options = {"inlineCompletion": {"debounceMs": 0}, "completion": {"fallback": "always"}}
    async with editor_session(fake_backend.url, tmp_path, kind="vscode", init_options=options) as ed:
        uri = ed.open("a.py", "def mul(a, b):\n    ")
        result = await ed.completion(uri, types.Position(1, 4))
        assert result is not None and [i.text_edit.new_text for i in result.items] == ["return a * b"]  # type: ignore[union-attr]


async def test_openai_backend_serves_inline(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = Reply(text="return 0")
    async with editor_session(
        None, tmp_path, init_options={**FAST, "backend": "openai", "baseUrl": fake_backend.url + "/v1",
                                      "model": "local-model"}
    ) as ed:
        uri = ed.open("a.py", "def zero():\n    ")
        assert [i.insert_text for i in await ed.inline(uri, types.Position(1, 4))] == ["return 0"]
    (req,) = fake_backend.requests
    assert req.path == "/v1/chat/completions"
    assert req.json["model"] == "local-model" and req.json["stream"] is True
