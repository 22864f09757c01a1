"""Live edits end to end: the answer streams into the buffer while the user keeps working.

The fake backend drips the answer line by line (`chunk_delay`) so the test can act mid-stream; the editor-like
client applies each `workspace/applyEdit`, reports it back with a new version, and (VS Code-like) rejects an
edit made for an older version.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.harness import Editor, Kind, editor_session
from tests.fakebackend import FakeBackend, Reply

HEAD = "import os\n\n\n"
REGION = "def add(a,b):\n  return a+b\n"
TAIL = "\n\nx = add(1, 2)\n"
SRC = HEAD + REGION + TAIL
NEW_LINES = [
    "def add(a: int, b: int) -> int:",
    '    """Add two numbers."""',
    "    total = a",
    "    total += b",
    "    if total > 100:",
    "        print('big')",
    "    return total",
]
NEW = "".join(line + "\n" for line in NEW_LINES)
KINDS = ["vscode", "neovim"]


def slow(lines: list[str] = NEW_LINES, delay: float = 0.08, **kw: Any) -> Reply:
    """The answer one line per chunk, `delay` seconds apart."""
    return Reply(chunks=[line + "\n" for line in lines], chunk_delay=delay, **kw)


def args(ed: Editor, uri: str, snippet: str = REGION) -> dict[str, Any]:
    return {
        "uri": uri,
        "range": ed.client.protocol._converter.unstructure(ed.range_of(uri, snippet)),
        "version": ed.docs[uri].version,
    }


def session(fake: FakeBackend, tmp_path: Path, kind: str = "vscode", **settings: Any) -> Any:
    return editor_session(fake.url, tmp_path, kind=kind, init_options=settings or None)  # type: ignore[arg-type]


def between(text: str, head: str, tail: str) -> str:
    assert text.startswith(head) and text.endswith(tail), text
    return text[len(head) : len(text) - len(tail)]


@pytest.mark.parametrize("kind", KINDS)
async def test_the_answer_streams_into_the_region(kind: Kind, fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = slow()
    async with session(fake_backend, tmp_path, kind) as ed:
        uri = ed.open("m.py", SRC)
        _, future = ed.execute_request("hoody.refactor", args(ed, uri))
        await ed.wait_for(lambda: ed.applied, what="the first live edit")
        # the first line shows while the model is still generating
        assert not fake_backend.requests[0].completed
        assert await future == {"applied": True}
        assert ed.text(uri) == HEAD + NEW + TAIL
        texts = [t for u, t in ed.history if u == uri]
        assert len(texts) >= 2 and texts[0] != texts[-1]  # it really streamed
        for text in texts:
            # outside the region nothing was ever touched; inside, generated lines then original ones
            shown = between(text, HEAD, TAIL)
            done = [line for line in shown.splitlines() if line in NEW_LINES]
            assert shown.startswith("".join(line + "\n" for line in done)), shown
        for params in ed.applied:
            if kind == "vscode":
                (change,) = params.edit.document_changes or []
                assert isinstance(change, types.TextDocumentEdit) and change.text_document.version is not None
            else:
                assert params.edit.document_changes is None and params.edit.changes
        (reports,) = ed.progress().values()
        assert isinstance(reports[-1], types.WorkDoneProgressEnd) and "7 lines" in (reports[-1].message or "")
        assert not ed.messages()


async def test_lines_the_model_keeps_are_never_rewritten(fake_backend: FakeBackend, tmp_path: Path) -> None:
    region = "def f(x):\n    a = x + 1\n    b = a * 2\n    c = b - 3\n    return c\n"
    answer = ["def f(x):", "    a = x + 1", "    b = a * 3", "    c = b - 3", "    return c"]
    fake_backend.default = slow(answer, delay=0.05)
    async with session(fake_backend, tmp_path) as ed:
        uri = ed.open("k.py", region)
        assert await ed.execute("hoody.refactor", args(ed, uri, region)) == {"applied": True}
        assert ed.text(uri) == region.replace("a * 2", "a * 3")
        edits = [e for p in ed.applied for c in p.edit.document_changes or []
                 if isinstance(c, types.TextDocumentEdit) for e in c.edits]
        assert edits and all(e.range.start.line == e.range.end.line == 2 for e in edits), edits


@pytest.mark.parametrize("kind", KINDS)
async def test_typing_above_and_below_keeps_streaming(kind: Kind, fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = slow(delay=0.1)
    async with session(fake_backend, tmp_path, kind) as ed:
        uri = ed.open("m.py", SRC)
        _, future = ed.execute_request("hoody.refactor", args(ed, uri))
        await ed.wait_for(lambda: ed.applied, what="the first live edit")
        ed.type(uri, "# typed above\n", at=0)
        await asyncio.sleep(0.15)
        ed.type(uri, "# typed below\n")
        await asyncio.sleep(0.05)
        ed.type(uri, "x", at=len("# typed above"))  # and once more above, on the same line
        assert await future == {"applied": True}
        assert ed.text(uri) == "# typed abovex\n" + HEAD + NEW + TAIL + "# typed below\n"
        assert not ed.messages()


@pytest.mark.parametrize("kind", KINDS)
async def test_typing_inside_stops_and_keeps_everything(kind: Kind, fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = slow(delay=0.1)
    async with session(fake_backend, tmp_path, kind) as ed:
        uri = ed.open("m.py", SRC)
        _, future = ed.execute_request("hoody.refactor", args(ed, uri))
        await ed.wait_for(lambda: ed.applied, what="the first live edit")
        at = ed.text(uri).index("def add(a: int") + len("def add(")
        ed.edit(uri, at, at, "self, ")
        left = ed.text(uri)
        result = await future
        assert result["applied"] is False and "edited" in result["reason"] and "kept" in result["reason"]
        assert ed.text(uri) == left  # nothing more was written after the user's keystroke
        assert "def add(self, a: int, b: int) -> int:\n" in left
        assert len(ed.messages()) == 1
        await ed.wait_disconnect(fake_backend.requests[0])


async def test_a_rejected_edit_stops_and_keeps_what_was_generated(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = slow(delay=0.1)
    async with session(fake_backend, tmp_path) as ed:
        uri = ed.open("m.py", SRC)
        _, future = ed.execute_request("hoody.refactor", args(ed, uri))
        await ed.wait_for(lambda: ed.applied, what="the first live edit")
        ed.reject_next = 1
        result = await future
        assert result["applied"] is False and "rejected" in result["reason"] and "kept" in result["reason"]
        kept = ed.text(uri)
        assert kept != SRC and between(kept, HEAD, TAIL).startswith(NEW_LINES[0] + "\n")
        assert len(ed.rejected) == 1 and len(ed.messages()) == 1
        # what was kept is still one step away from the original
        assert await ed.execute("hoody.revert", {"uri": uri}) == {"applied": True}
        assert ed.text(uri) == SRC


@pytest.mark.parametrize("how", ["cancelRequest", "progress"])
@pytest.mark.parametrize("kind", KINDS)
async def test_cancel_mid_stream_restores_the_original(
    how: str, kind: Kind, fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.default = slow(NEW_LINES * 4, delay=0.05)
    async with session(fake_backend, tmp_path, kind) as ed:
        uri = ed.open("m.py", SRC)
        msg_id, future = ed.execute_request("hoody.refactor", args(ed, uri))
        await ed.wait_for(lambda: len(ed.applied) >= 2, what="two live edits")
        ed.type(uri, "# mine\n", at=0)
        if how == "cancelRequest":
            ed.cancel_request(msg_id)
        else:
            (token,) = ed.progress()
            ed.cancel_progress(token)
        await ed.wait_disconnect(fake_backend.requests[0])
        await ed.wait_for(lambda: ed.text(uri) == "# mine\n" + SRC, what="the original text back")
        if how == "progress":
            assert await future == {"applied": False, "reason": "cancelled"}
        else:
            with pytest.raises(Exception, match=r"(?i)cancel"):
                await future
        await asyncio.sleep(0.2)  # nothing more arrives after the restore
        assert ed.text(uri) == "# mine\n" + SRC
        assert not ed.messages()


FAULTS = ["reset_mid", "stall_mid", "no_done", "error_event", "malformed"]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_failure_mid_stream_puts_back_the_original(
    fault: str, fake_backend: FakeBackend, tmp_path: Path
) -> None:
    lines = NEW_LINES * 2
    if fault in ("error_event", "malformed"):  # the fault follows the first chunk: make it hold whole lines
        reply = Reply(chunks=["".join(line + "\n" for line in lines[:4]), *(line + "\n" for line in lines[4:])],
                      chunk_delay=0.05, fault=fault)
    else:
        reply = slow(lines, delay=0.05, fault=fault)
    fake_backend.default = reply
    async with session(fake_backend, tmp_path, http={"timeoutS": 0.5}) as ed:
        uri = ed.open("m.py", SRC)
        _, future = ed.execute_request("hoody.refactor", args(ed, uri))
        await ed.wait_requests(fake_backend, 1)
        ed.type(uri, "# mine\n", at=0)
        result = await future
        assert result["applied"] is False and result["reason"]
        assert ed.text(uri) == "# mine\n" + SRC
        assert len(ed.messages()) == 1, ed.messages()
        if fault in ("reset_mid", "stall_mid", "no_done"):
            assert any(NEW_LINES[0] in t for _, t in ed.history)  # it had streamed some before failing


@pytest.mark.parametrize("kind", KINDS)
async def test_unicode_positions_in_each_encoding(kind: Kind, fake_backend: FakeBackend, tmp_path: Path) -> None:
    head = 'greeting = "😋 日本語 é"\n'
    region = 'def hi():\n    return "😋"\n'
    answer = ['def hi() -> str:', '    """Say hi 👋 (挨拶)."""', '    return "😋👋"']
    fake_backend.default = slow(answer, delay=0.05)
    async with session(fake_backend, tmp_path, kind) as ed:
        uri = ed.open("u.py", head + region + "after = '𝄞'\n")
        assert await ed.execute("hoody.refactor", args(ed, uri, region)) == {"applied": True}
        assert ed.text(uri) == head + "".join(line + "\n" for line in answer) + "after = '𝄞'\n"


async def test_crlf_documents_stay_crlf(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = slow(delay=0.05)
    crlf = SRC.replace("\n", "\r\n")
    async with session(fake_backend, tmp_path) as ed:
        uri = ed.open("w.py", crlf)
        assert await ed.execute("hoody.refactor", args(ed, uri, REGION.replace("\n", "\r\n"))) == {"applied": True}
        assert ed.text(uri) == (HEAD + NEW + TAIL).replace("\n", "\r\n")
        for _, text in ed.history:
            assert text.count("\n") == text.count("\r\n"), text


async def test_revert_puts_back_the_original_once(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = slow(delay=0.02)
    async with session(fake_backend, tmp_path) as ed:
        uri = ed.open("m.py", SRC)
        everything = ed.range(uri, 0, len(SRC))
        assert "Hoody: Revert last generation" not in [a.title for a in await ed.code_actions(uri, everything)]
        assert await ed.execute("hoody.refactor", args(ed, uri)) == {"applied": True}
        ed.type(uri, "# above\n", at=0)  # the region moves; revert still finds it
        actions = [a for a in await ed.code_actions(uri, ed.range(uri, 0, 0)) if isinstance(a, types.CodeAction)]
        (revert,) = [a for a in actions if a.title == "Hoody: Revert last generation"]
        assert revert.command is not None and revert.command.arguments
        assert await ed.execute(revert.command.command, *revert.command.arguments) == {"applied": True}
        assert ed.text(uri) == "# above\n" + SRC
        # one step only
        again = await ed.execute("hoody.revert", {"uri": uri})
        assert again["applied"] is False and "no generation" in again["reason"]

        # once the user changed the generated code, revert refuses (the editor's undo is the way)
        assert await ed.execute("hoody.refactor", args(ed, uri)) == {"applied": True}
        at = ed.text(uri).index("total += b")
        ed.edit(uri, at, at + len("total += b"), "total -= b")
        refused = await ed.execute("hoody.revert", {"uri": uri})
        assert refused["applied"] is False and "changed" in refused["reason"]
        assert "total -= b" in ed.text(uri)


async def test_shutdown_mid_stream_restores_the_original(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = slow(NEW_LINES * 10, delay=0.05)
    async with session(fake_backend, tmp_path) as ed:
        uri = ed.open("m.py", SRC)
        ed.execute_request("hoody.refactor", args(ed, uri))
        await ed.wait_for(lambda: len(ed.applied) >= 2, what="two live edits")
    assert ed.text(uri) == SRC
    assert fake_backend.requests[0].t_disconnected is not None


async def test_a_long_answer_takes_few_edits(fake_backend: FakeBackend, tmp_path: Path) -> None:
    lines = [f"    value_{i:02d} = compute(value_{i - 1:02d}, {i}) + 1" for i in range(1, 50)]  # ~2,000 characters
    assert 1900 < sum(len(line) + 1 for line in lines) < 2200
    fake_backend.default = slow(["def f(value_00):", *lines, "    return value_49"], delay=0.04)
    async with session(fake_backend, tmp_path) as ed:
        uri = ed.open("m.py", SRC)
        assert await ed.execute("hoody.refactor", args(ed, uri)) == {"applied": True}
        assert "    return value_49\n" in ed.text(uri)
        assert 2 <= len(ed.applied) <= 25, len(ed.applied)


async def test_a_client_that_reports_changes_late_still_gets_consistent_edits(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    # Neovim answers applyEdit at once and sends the didChange after its debounce: every edit must wait for it
    fake_backend.default = slow(delay=0.05)
    async with session(fake_backend, tmp_path, "neovim") as ed:
        ed.change_delay = 0.15
        uri = ed.open("m.py", SRC)
        assert await ed.execute("hoody.refactor", args(ed, uri)) == {"applied": True}
        assert ed.text(uri) == HEAD + NEW + TAIL
        assert len(ed.applied) >= 2 and not ed.messages()


async def test_an_openai_compatible_backend_streams_the_same_way(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = slow(delay=0.05)
    env = {"HOODY_BACKEND": "openai", "HOODY_MODEL": "local-model"}
    async with editor_session(fake_backend.url, tmp_path, env=env) as ed:
        uri = ed.open("m.py", SRC)
        assert await ed.execute("hoody.refactor", args(ed, uri)) == {"applied": True}
        assert ed.text(uri) == HEAD + NEW + TAIL
    assert fake_backend.requests[0].path.endswith("/chat/completions")
