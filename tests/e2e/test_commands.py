"""The hoody.* commands end to end, applied as one edit at the end (`actions.liveEdits: false`).

Real stdio to the server, real HTTP/SSE to the fake backend, and an editor-like client that applies
`workspace/applyEdit` itself and, like VS Code, rejects an edit made for an older version.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.harness import Editor, editor_session
from tests.fakebackend import FakeBackend, Reply

ONE_EDIT: dict[str, Any] = {"actions": {"liveEdits": False}}
SRC = "import os\n\n\ndef add(a,b):\n  return a+b\n\n\nx = add(1, 2)\n"


def args(ed: Editor, uri: str, rng: types.Range, **extra: Any) -> dict[str, Any]:
    return {
        "uri": uri,
        "range": ed.client.protocol._converter.unstructure(rng),
        "version": ed.docs[uri].version,
        **extra,
    }


def edits_of(params: types.ApplyWorkspaceEditParams) -> list[types.TextEdit | types.AnnotatedTextEdit]:
    edit = params.edit
    if edit.document_changes:
        return [e for c in edit.document_changes if isinstance(c, types.TextDocumentEdit) for e in c.edits]
    return [e for edits in (edit.changes or {}).values() for e in edits]


async def test_refactor_sends_one_minimal_versioned_edit_with_a_preview(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    (tmp_path / "AGENTS.md").write_text("Use four spaces.\n")
    fake_backend.default = Reply(
        text="Here is the refactored code:\n```python\ndef add(a,b):\n    return a + b\n```\nIt is clearer now.\n"
    )
    async with editor_session(fake_backend.url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("m.py", SRC, write=True)
        rng = ed.range_of(uri, "def add(a,b):\n  return a+b\n")
        result = await ed.execute("hoody.refactor", args(ed, uri, rng, instruction="indent with four spaces"))
        assert result == {"applied": True}
        assert ed.text(uri) == SRC.replace("  return a+b", "    return a + b")
        (params,) = ed.applied
        # versioned, for the version the server saw, with a change annotation asking for confirmation
        (change,) = params.edit.document_changes or []
        assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 1
        annotations = params.edit.change_annotations or {}
        assert [a.needs_confirmation for a in annotations.values()] == [True]
        assert all(isinstance(e, types.AnnotatedTextEdit) for e in change.edits)
        # minimal: the unchanged `def` line and everything outside the selection are not rewritten
        assert all(e.range.start.line == 4 and e.range.end.line == 4 for e in change.edits)
        assert not ed.messages()
        (reports,) = ed.progress().values()
        assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].cancellable
        assert isinstance(reports[-1], types.WorkDoneProgressEnd) and "2 lines" in (reports[-1].message or "")
    (req,) = fake_backend.requests
    body = req.json
    assert body["task"] == "edit" and body["mode"] == "stream"
    assert "indent with four spaces" in body["directive"]
    (target,) = body["target_files"]
    assert target["content"] == "def add(a,b):\n  return a+b\n"
    assert target["range"] == {"start": {"line": 3, "character": 0}, "end": {"line": 5, "character": 0}}
    kinds = {c["kind"] for c in body["context"]}
    assert "rules" in kinds
    assert any("Use four spaces." in c["content"] for c in body["context"])
    assert any("x = add(1, 2)" in c["content"] for c in body["context"])  # the lines around the selection


async def test_neovim_like_client_gets_plain_changes_and_utf8_positions(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.default = Reply(text="total = (a + b) * 2")
    text = 'msg = "😋日本"; total = a+b*2  # 注\nnext_line = 1\n'
    async with editor_session(fake_backend.url, tmp_path, kind="neovim", init_options=ONE_EDIT) as ed:
        uri = ed.open("u.py", text)
        rng = ed.range_of(uri, "total = a+b*2")
        result = await ed.execute("hoody.refactor", args(ed, uri, rng))
        assert result == {"applied": True}
        assert ed.text(uri) == text.replace("total = a+b*2", "total = (a + b) * 2")
        (params,) = ed.applied
        assert params.edit.document_changes is None and list(params.edit.changes or {}) == [uri]
    target = fake_backend.requests[0].json["target_files"][0]
    assert target["content"] == "total = a+b*2"
    # the backend's range counts code points, whatever the client's encoding
    assert target["range"]["start"] == {"line": 0, "character": len('msg = "😋日本"; ')}


@pytest.mark.parametrize(("kind", "live"), [("vscode", False), ("neovim", False), ("vscode", True)])
async def test_directive_is_replaced_at_its_indentation(
    kind: str, live: bool, fake_backend: FakeBackend, tmp_path: Path
) -> None:
    answer = "```python\n# hoody: return the square\n# of x\nresult = x * x\nreturn result\n```"
    fake_backend.default = Reply(chunks=[line + "\n" for line in answer.split("\n")], chunk_delay=0.05)
    text = "def f(x):\n    # hoody: return the square\n    # of x\n    pass\n"
    options = {"actions": {"liveEdits": live}}
    async with editor_session(fake_backend.url, tmp_path, kind=kind, init_options=options) as ed:  # type: ignore[arg-type]
        uri = ed.open("d.py", text)
        cursor = ed.range_of(uri, "of x")
        actions = await ed.code_actions(uri, types.Range(cursor.start, cursor.start))
        (run,) = [a for a in actions if isinstance(a, types.CodeAction) and a.title == "Hoody: Run directive"]
        assert run.command is not None and run.command.arguments
        result = await ed.execute(run.command.command, *run.command.arguments)
        assert result == {"applied": True}
        assert ed.text(uri) == "def f(x):\n    result = x * x\n    return result\n    pass\n"
    directive = fake_backend.requests[0].json["directive"]
    assert "return the square\nof x" in directive


async def test_fix_sends_the_diagnostics_message_code_source_and_range(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.default = Reply(text="def f(x):\n    return x + 1\n")
    text = "def f(x):\n    return y + 1\n\nprint(f(1))\n"
    diagnostic = types.Diagnostic(
        range=types.Range(types.Position(1, 11), types.Position(1, 12)),
        message="undefined name 'y'",
        code="F821",
        source="pyflakes",
        severity=types.DiagnosticSeverity.Error,
    )
    async with editor_session(fake_backend.url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("f.py", text)
        actions = await ed.code_actions(uri, diagnostic.range, [diagnostic])
        fixes = [a for a in actions if isinstance(a, types.CodeAction) and a.kind == types.CodeActionKind.QuickFix]
        (fix,) = fixes
        assert fix.title == "Hoody: Fix “undefined name 'y'”"
        assert list(fix.diagnostics or []) == [diagnostic]
        assert fix.command is not None and fix.command.arguments
        result = await ed.execute(fix.command.command, *fix.command.arguments)
        assert result == {"applied": True}
        assert ed.text(uri) == "def f(x):\n    return x + 1\n\nprint(f(1))\n"
        # the whole line of the diagnostic was the target: only `y` changed
        (edit,) = edits_of(ed.applied[0])
        assert edit.range == types.Range(types.Position(1, 11), types.Position(1, 12)) and edit.new_text == "x"
    body = fake_backend.requests[0].json
    assert "undefined name 'y'" in body["directive"]
    (diag,) = [c for c in body["context"] if c["kind"] == "diagnostic"]
    assert "undefined name 'y'" in diag["content"] and "F821" in diag["content"] and "pyflakes" in diag["content"]
    assert "2:12-2:13" in diag["content"] and diag["start_line"] == 2
    assert body["target_files"][0]["range"]["start"] == {"line": 1, "character": 0}


async def test_document_and_custom_actions(fake_backend: FakeBackend, tmp_path: Path) -> None:
    custom = [{"id": "log", "title": "Hoody: Add logging", "directive": "Add a logging call to each branch."}]
    fake_backend.script(
        Reply(text='def add(a,b):\n  """Add two numbers."""\n  return a+b\n'),
        Reply(text="log.debug('add')\nreturn a+b\n"),
    )
    async with editor_session(
        fake_backend.url, tmp_path, init_options={**ONE_EDIT, "actions": {"liveEdits": False, "custom": custom}}
    ) as ed:
        uri = ed.open("m.py", SRC)
        rng = ed.range_of(uri, "def add(a,b):\n  return a+b")
        actions = {a.title: a for a in await ed.code_actions(uri, rng) if isinstance(a, types.CodeAction)}
        doc, log_action = actions["Hoody: Document"], actions["Hoody: Add logging"]
        assert doc.kind == "refactor.rewrite" and log_action.kind == "refactor.rewrite"
        assert doc.command is not None and doc.command.arguments
        assert await ed.execute(doc.command.command, *doc.command.arguments) == {"applied": True}
        assert '  """Add two numbers."""\n' in ed.text(uri)
        rng = ed.range_of(uri, "  return a+b\n")
        log_args = args(ed, uri, rng, action="log")
        assert await ed.execute("hoody.custom", log_args) == {"applied": True}
        assert "  log.debug('add')\n  return a+b\n" in ed.text(uri)
        # an action that is not configured: a clear answer and one message, nothing sent
        before = ed.text(uri)
        result = await ed.execute("hoody.custom", args(ed, uri, rng, action="nope"))
        assert result["applied"] is False and "nope" in result["reason"]
        assert ed.text(uri) == before
        assert len(ed.messages()) == 1
    assert "Add a logging call to each branch." in fake_backend.requests[1].json["directive"]
    assert len(fake_backend.requests) == 2


@pytest.mark.parametrize("kind", ["vscode", "neovim"])
async def test_tests_go_to_a_new_conventional_test_file(kind: str, fake_backend: FakeBackend, tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    answer = "```python\nfrom calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n```"
    fake_backend.default = Reply(text=answer)
    async with editor_session(fake_backend.url, tmp_path, kind=kind) as ed:  # type: ignore[arg-type]
        uri = ed.open("calc.py", "def add(a, b):\n    return a + b\n", write=True)
        actions = await ed.code_actions(uri, types.Range(types.Position(0, 0), types.Position(0, 0)))
        (tests,) = [a for a in actions if isinstance(a, types.CodeAction) and a.title == "Hoody: Generate tests"]
        assert tests.kind == "source" and tests.command is not None and tests.command.arguments
        result = await ed.execute(tests.command.command, *tests.command.arguments)
        assert result == {"applied": True}
        test_uri = (tmp_path / "tests" / "test_calc.py").as_uri()
        assert ed.text(test_uri) == "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
        (params,) = ed.applied
        if kind == "vscode":
            changes = params.edit.document_changes or []
            assert isinstance(changes[0], types.CreateFile) and changes[0].uri == test_uri
        else:
            assert params.edit.document_changes is None and list(params.edit.changes or {}) == [test_uri]
        assert ed.text(uri) == "def add(a, b):\n    return a + b\n"  # the module is untouched
    body = fake_backend.requests[0].json
    assert body["task"] == "generate"
    assert body["target_files"][0]["path"] == str(tmp_path / "tests" / "test_calc.py")


async def test_tests_are_appended_to_an_existing_test_file(fake_backend: FakeBackend, tmp_path: Path) -> None:
    existing = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    (tmp_path / "test_calc.py").write_text(existing)
    # the model forgets the existing test: nothing of the user's is lost, the new test goes at the end
    fake_backend.default = Reply(text="from calc import sub\n\n\ndef test_sub():\n    assert sub(3, 2) == 1\n")
    async with editor_session(fake_backend.url, tmp_path) as ed:
        uri = ed.open("calc.py", "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n", write=True)
        result = await ed.execute("hoody.tests", {"uri": uri})
        assert result == {"applied": True}
        test_uri = (tmp_path / "test_calc.py").as_uri()
        text = ed.text(test_uri)
        assert text.startswith(existing)
        assert text.endswith("def test_sub():\n    assert sub(3, 2) == 1\n")
        # one step back, in the test file
        assert await ed.execute("hoody.revert", {"uri": test_uri}) == {"applied": True}
        assert ed.text(test_uri) == existing
    assert fake_backend.requests[0].json["target_files"][0]["content"] == existing


async def test_bad_arguments_answer_applied_false_never_an_error(fake_backend: FakeBackend, tmp_path: Path) -> None:
    async with editor_session(fake_backend.url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("m.py", SRC)
        for bad in ([], [1], [{"uri": 3}], [{"uri": uri, "range": "all"}],
                    [{"uri": uri, "range": {"start": {"line": -1, "character": 0}, "end": {}}}],
                    [{"uri": "file:///not/open.py", "range": {"start": {"line": 0, "character": 0},
                                                                 "end": {"line": 0, "character": 1}}}]):
            result = await ed.execute("hoody.refactor", *bad)
            assert result["applied"] is False and result["reason"], bad
        # an action offered for a version the document has left behind
        rng = ed.range_of(uri, "def add(a,b):")
        stale = args(ed, uri, rng)
        ed.type(uri, "# typed\n", at=0)
        result = await ed.execute("hoody.refactor", stale)
        assert result["applied"] is False and "changed" in result["reason"]
        assert ed.text(uri) == "# typed\n" + SRC
        assert not ed.applied
    assert not fake_backend.requests


async def test_progress_reports_characters_and_uses_the_clients_token(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.default = Reply(text="def add(a, b):\n    return a + b\n" * 3, chunk_delay=0.02)
    async with editor_session(fake_backend.url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("m.py", SRC)
        rng = ed.range_of(uri, "def add(a,b):\n  return a+b\n")
        _, future = ed.execute_request("hoody.refactor", args(ed, uri, rng), work_done_token="client-token-1")
        assert await future == {"applied": True}
        reports = ed.progress()["client-token-1"]
    begin, *middle, end = reports
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.title == "Hoody: Refactor selection"
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message
    counts = [int((r.message or "").split()[0]) for r in middle if isinstance(r, types.WorkDoneProgressReport)]
    assert counts and counts == sorted(counts) and counts[-1] <= 3 * len("def add(a, b):\n    return a + b\n")


@pytest.mark.parametrize("how", ["cancelRequest", "progress"])
async def test_cancel_closes_the_stream_and_leaves_the_document(
    how: str, fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.default = Reply(text="x = 1\n" * 400, chunk_delay=0.02)
    async with editor_session(fake_backend.url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("m.py", SRC)
        rng = ed.range_of(uri, "def add(a,b):\n  return a+b\n")
        msg_id, future = ed.execute_request("hoody.refactor", args(ed, uri, rng))
        await ed.wait_requests(fake_backend, 1)
        await ed.wait_for(lambda: any(len(r) >= 2 for r in ed.progress().values()), what="a progress report")
        if how == "cancelRequest":
            ed.cancel_request(msg_id)
            with pytest.raises(Exception, match=r"(?i)cancel"):
                await future
        else:
            (token,) = ed.progress()
            ed.cancel_progress(token)
            assert await future == {"applied": False, "reason": "cancelled"}
        req = fake_backend.requests[0]
        await ed.wait_disconnect(req)
        assert ed.text(uri) == SRC and not ed.applied
        assert not ed.messages()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


FAILURES = [
    ("401", Reply(status=401, body=b'{"error": "bad token", "code": "INVALID_TOKEN"}',
                  headers={"Content-Type": "application/json"})),
    ("403", Reply(status=403, body=b'{"error": "forbidden", "code": "TOKEN_EXPIRED"}',
                  headers={"Content-Type": "application/json"})),
    ("404", Reply(status=404, body=b'{"statusCode": 404, "error": "Not Found", "message": "no route"}',
                  headers={"Content-Type": "application/json"})),
    ("429", Reply(status=429, retry_after="0")),  # retried (no wait), then given up
    ("html", Reply(fault="html")),
    ("malformed", Reply(text="def add(a, b):\n    return a + b\n", fault="malformed")),
    ("no_done", Reply(text="def add(a, b):\n    return a + b\n", fault="no_done")),
    ("error_event", Reply(text="def add(a, b):\n    return a + b\n", fault="error_event")),
    ("reset_mid", Reply(text="def add(a, b):\n    return a + b\n", fault="reset_mid")),
    ("stall_mid", Reply(text="def add(a, b):\n    return a + b\n", fault="stall_mid")),
    ("oversized", Reply(fault="oversized", chunks=["x" * 4000])),
]


@pytest.mark.parametrize("kind", ["vscode", "neovim"])
async def test_every_failure_leaves_the_document_and_shows_one_message(
    kind: str, fake_backend: FakeBackend, tmp_path: Path
) -> None:
    settings = {**ONE_EDIT, "http": {"timeoutS": 0.5}}
    async with editor_session(fake_backend.url, tmp_path, kind=kind, init_options=settings) as ed:  # type: ignore[arg-type]
        uri = ed.open("m.py", SRC)
        rng = ed.range_of(uri, "def add(a,b):\n  return a+b\n")
        for name, reply in FAILURES:
            fake_backend.default = reply  # every attempt gets it (retryable ones are retried)
            told = len(ed.messages())
            result = await ed.execute("hoody.refactor", args(ed, uri, rng))
            assert result["applied"] is False and result["reason"], name
            assert ed.text(uri) == SRC, name
            assert len(ed.messages()) == told + 1, (name, ed.messages()[told:])
            assert ed.client.messages[-1].type in (types.MessageType.Error, types.MessageType.Warning)
        assert not ed.applied
    # 401 and 403 are the same kind of failure: a command tells it every time (inline would tell it once)
    assert len(fake_backend.requests) >= len(FAILURES)


async def test_tls_failure(fake_backend: FakeBackend, tmp_path: Path) -> None:
    url = fake_backend.url.replace("http://", "https://")  # a TLS handshake against a plain HTTP server
    async with editor_session(url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("m.py", SRC)
        result = await ed.execute("hoody.refactor", args(ed, uri, ed.range_of(uri, "def add(a,b):\n  return a+b\n")))
        assert result["applied"] is False
        assert ed.text(uri) == SRC and len(ed.messages()) == 1, ed.messages()


async def test_unreachable_backend(tmp_path: Path) -> None:
    # Slow by design: a refused connection is retried (commands only, before anything streamed) for ~15 s.
    async with editor_session(f"http://127.0.0.1:{_closed_port()}", tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("m.py", SRC)
        result = await ed.execute("hoody.refactor", args(ed, uri, ed.range_of(uri, "def add(a,b):\n  return a+b\n")))
        assert result["applied"] is False
        assert ed.text(uri) == SRC and len(ed.messages()) == 1, ed.messages()


async def test_retryable_statuses_are_retried_before_anything_streamed(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.script(Reply(status=503), Reply(status=429, retry_after="0"),
                        Reply(text="def add(a, b):\n    return a + b\n"))
    async with editor_session(fake_backend.url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("m.py", SRC)
        rng = ed.range_of(uri, "def add(a,b):\n  return a+b\n")
        assert await ed.execute("hoody.refactor", args(ed, uri, rng)) == {"applied": True}
        assert "    return a + b\n" in ed.text(uri) and not ed.messages()
    assert len(fake_backend.requests) == 3


async def test_typing_elsewhere_while_generating_still_applies_at_the_right_place(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.default = Reply(text="def add(a, b):\n    return a + b\n", first_delay=0.3)
    async with editor_session(fake_backend.url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("m.py", SRC)
        rng = ed.range_of(uri, "def add(a,b):\n  return a+b\n")
        _, future = ed.execute_request("hoody.refactor", args(ed, uri, rng))
        await ed.wait_requests(fake_backend, 1)
        ed.type(uri, "# above\n", at=0)
        ed.type(uri, "# below\n")
        assert await future == {"applied": True}
        new = SRC.replace("def add(a,b):\n  return a+b", "def add(a, b):\n    return a + b")
        assert ed.text(uri) == "# above\n" + new + "# below\n"


async def test_editing_the_target_while_generating_applies_nothing(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = Reply(text="def add(a, b):\n    return a + b\n", first_delay=0.3)
    async with editor_session(fake_backend.url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("m.py", SRC)
        rng = ed.range_of(uri, "def add(a,b):\n  return a+b\n")
        _, future = ed.execute_request("hoody.refactor", args(ed, uri, rng))
        await ed.wait_requests(fake_backend, 1)
        at = ed.text(uri).index("a+b")
        ed.edit(uri, at, at + 3, "a - b")
        result = await future
        assert result["applied"] is False and "changed" in result["reason"]
        assert ed.text(uri) == SRC.replace("a+b", "a - b", 1)
        assert len(ed.messages()) == 1 and not ed.applied


async def test_secrets_are_not_sent_and_not_lost(fake_backend: FakeBackend, tmp_path: Path) -> None:
    region = 'def connect():\n    password = "hunter2-very-secret"\n    return db(password)\n'
    # the model only sees the placeholder, and echoes it back on the line it kept
    fake_backend.default = Reply(
        text='def connect() -> Db:\n    password = "<redacted>"\n    return db(password, retries=3)\n'
    )
    async with editor_session(fake_backend.url, tmp_path, init_options=ONE_EDIT) as ed:
        uri = ed.open("db.py", region)
        assert await ed.execute("hoody.refactor", args(ed, uri, ed.range_of(uri, region))) == {"applied": True}
        assert ed.text(uri) == region.replace("connect():", "connect() -> Db:").replace(
            "db(password)", "db(password, retries=3)"
        )
    assert "hunter2" not in fake_backend.requests[0].body.decode()


async def test_a_command_failure_is_told_even_after_inline_told_the_same_kind(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.default = Reply(status=401, body=b'{"error": "bad token", "code": "INVALID_TOKEN"}',
                                 headers={"Content-Type": "application/json"})
    options = {**ONE_EDIT, "inlineCompletion": {"debounceMs": 0}}
    async with editor_session(fake_backend.url, tmp_path, init_options=options) as ed:
        uri = ed.open("m.py", SRC)
        assert await ed.inline(uri, ed.pos(uri, len("import os")), invoked=True) == []
        await ed.wait_for(lambda: len(ed.messages()) == 1, what="the inline failure message")
        result = await ed.execute("hoody.refactor", args(ed, uri, ed.range_of(uri, "def add(a,b):\n")))
        assert result["applied"] is False
        assert len(ed.messages()) == 2 and ed.text(uri) == SRC
