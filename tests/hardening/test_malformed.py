"""Malformed JSON-RPC and invalid params over the server's real stdio.

The server must never crash, never leave a request unanswered and never let a broken message block the ones
after it; where JSON-RPC allows an error answer (a request whose id can be read), it answers one. Tests that do
not break the framing share one server (and check after each that it still answers at once); tests that break
the framing get their own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.fakebackend import FakeBackend, Reply
from tests.hardening.wire import RawServer, frame

pytestmark = pytest.mark.asyncio(loop_scope="module")

INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
ANSWER_S = 3.0  # generous for a loaded machine; a missing answer waits forever


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBackend]:
    with FakeBackend() as fake:
        fake.default = Reply(text="pass")
        yield fake


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("malformed")
    (root / "a.py").write_text("def f(x):\n    return x\n")
    return root


def options() -> dict[str, Any]:
    return {"completion": {"fallback": "always"}, "inlineCompletion": {"debounceMs": 0}}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(fake: FakeBackend, workspace: Path) -> AsyncIterator[RawServer]:
    env = {"HOODY_BASE_URL": fake.url, "HOODY_API_KEY": "malformed-key-0123456789"}
    async with RawServer.session(workspace, env=env, options=options(),
                                 stderr_path=workspace / "stderr.log") as srv:
        srv.did_open((workspace / "a.py").as_uri(), "def f(x):\n    return x\n")
        yield srv


@pytest_asyncio.fixture(loop_scope="module")
async def own(fake: FakeBackend, tmp_path: Path) -> AsyncIterator[RawServer]:
    env = {"HOODY_BASE_URL": fake.url, "HOODY_API_KEY": "malformed-key-0123456789"}
    # a server whose framing a test broke may not hear `shutdown`: do not wait long for it
    async with RawServer.session(tmp_path, env=env, options=options(), close_timeout=1.5) as srv:
        yield srv


async def still_answers(srv: RawServer, within: float = ANSWER_S) -> None:
    """The server is up and answers a valid request at once."""
    assert srv.alive, "the server exited"
    status = await srv.result("hoody/status", None, timeout=within)
    assert status["version"]


async def answer_to(srv: RawServer, raw: bytes, msg_id: Any, within: float = ANSWER_S) -> dict[str, Any]:
    """Write raw bytes carrying a request with `msg_id`; its answer (fails when none comes)."""
    future = srv.expect(msg_id)
    srv.write(raw)
    try:
        return await asyncio.wait_for(future, within)
    except TimeoutError:
        raise AssertionError(f"request {msg_id!r} got no answer within {within} s") from None


async def answers_to(srv: RawServer, raws: dict[Any, bytes], within: float = ANSWER_S
                     ) -> dict[Any, dict[str, Any] | None]:
    """Write several raw requests at once; each one's answer, or None when none came within `within`."""
    futures = {msg_id: srv.expect(msg_id) for msg_id in raws}
    for raw in raws.values():
        srv.write(raw)
    await asyncio.wait(list(futures.values()), timeout=within)
    return {msg_id: f.result() if f.done() and not f.exception() else None for msg_id, f in futures.items()}


async def stray_answers(srv: RawServer, before: int, within: float = 1.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while len(srv.stray) <= before and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return srv.stray[before:]


# -- framing and JSON -------------------------------------------------------------------------------------


async def test_invalid_json_does_not_stop_the_server(shared: RawServer) -> None:
    for body in (b"{abc}", b'{"jsonrpc": "2.0", "id": 1, "method": ', b"\xff\xfe\x00garbage", b"null", b"42"):
        shared.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await still_answers(shared)


async def test_invalid_json_answers_a_parse_error(shared: RawServer) -> None:
    """JSON-RPC 2.0: a body that is not JSON gets a Parse error answer with id null."""
    before = len(shared.stray)
    body = b'{"jsonrpc": "2.0", "id": 77, "method": "hoody/status", '
    shared.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    answers = await stray_answers(shared, before)
    await still_answers(shared)
    assert [a.get("id") for a in answers] == [None], answers
    assert answers[0]["error"]["code"] == PARSE_ERROR


async def test_content_length_shorter_than_the_body_does_not_swallow_the_next_request(own: RawServer) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": "short", "method": "hoody/status", "params": None}).encode()
    own.write(b"Content-Length: %d\r\n\r\n" % (len(body) - 7) + body)
    # the request right after must get its answer: the server finds the next header again
    answer = await answer_to(own, frame({"jsonrpc": "2.0", "id": "next", "method": "hoody/status", "params": None}),
                             "next")
    assert answer["result"]["version"]
    await still_answers(own)


async def test_content_length_longer_than_the_body_loses_at_most_the_next_message(own: RawServer) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": "long", "method": "hoody/status", "params": None}).encode()
    own.write(b"Content-Length: %d\r\n\r\n" % (len(body) + 12) + body)
    # 12 bytes of the next message's header are read as the end of that body: that message may be lost
    own.write(frame({"jsonrpc": "2.0", "id": "eaten", "method": "hoody/status", "params": None}))
    await asyncio.sleep(0.3)
    assert own.alive
    answer = await answer_to(own, frame({"jsonrpc": "2.0", "id": "after", "method": "hoody/status", "params": None}),
                             "after")
    assert answer["result"]["version"]


async def test_header_noise_is_ignored(shared: RawServer) -> None:
    status = json.dumps({"jsonrpc": "2.0", "id": "hdr", "method": "hoody/status", "params": None}).encode()
    raw = (b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(status)
           + status)
    answer = await answer_to(shared, raw, "hdr")
    assert answer["result"]["version"]


# -- missing fields and unknown methods --------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        {"id": "no-jsonrpc", "method": "hoody/status", "params": None},
        {"jsonrpc": "1.0", "id": "old-jsonrpc", "method": "hoody/status", "params": None},
        {"jsonrpc": "2.0", "id": "no-method", "params": None},
        {"jsonrpc": "2.0", "method": 7, "id": "method-not-a-string"},
        {"jsonrpc": "2.0", "id": {"not": "an id"}, "method": "hoody/status", "params": None},
        {"jsonrpc": "2.0"},
        [],
    ],
    ids=["no-jsonrpc", "jsonrpc-1.0", "no-method", "method-not-a-string", "id-an-object", "bare", "array"],
)
async def test_missing_or_wrong_fields_leave_the_server_answering(shared: RawServer, message: Any) -> None:
    shared.write(frame(message))
    await still_answers(shared)


async def test_an_invalid_request_with_a_readable_id_gets_an_error(shared: RawServer) -> None:
    """JSON-RPC 2.0: an Invalid Request whose id can be read is answered with an error for that id."""
    messages: list[dict[str, Any]] = [
        {"id": "no-jsonrpc", "method": "hoody/status", "params": None},
        {"jsonrpc": "2.0", "id": "method-not-a-string", "method": 7},
    ]
    answers = await answers_to(shared, {m["id"]: frame(m) for m in messages})
    wrong = {i: a for i, a in answers.items()
             if a is None or a.get("error", {}).get("code") not in (INVALID_REQUEST, METHOD_NOT_FOUND)}
    assert not wrong, f"no error answer for: {wrong}"


async def test_a_request_without_params_is_answered(shared: RawServer) -> None:
    """JSON-RPC lets a request omit `params`; the server must still answer (here: its status)."""
    answer = await answer_to(shared, frame({"jsonrpc": "2.0", "id": "no-params", "method": "hoody/status"}),
                             "no-params")
    assert "result" in answer and answer["result"]["version"], answer


async def test_unknown_request_is_method_not_found(shared: RawServer) -> None:
    for method in ("hoody/nope", "textDocument/nope", "$/nope"):
        answer = await shared.request(method, {"x": 1}, timeout=ANSWER_S)
        assert answer["error"]["code"] == METHOD_NOT_FOUND, answer


async def test_unknown_notification_is_ignored(shared: RawServer) -> None:
    before_stray, before_notes = len(shared.stray), shared.notification_count
    for method in ("hoody/nope", "$/nope", "textDocument/nope"):
        shared.notify(method, {"x": 1})
    await still_answers(shared)
    await asyncio.sleep(0.2)
    assert shared.stray[before_stray:] == []
    assert shared.notification_count == before_notes  # no error shown to the user either


# -- invalid params ----------------------------------------------------------------------------------------


def _params_cases() -> list[tuple[str, Any]]:
    pos = {"line": 0, "character": 0}
    doc = {"uri": "file:///nowhere/x.py"}
    return [
        ("textDocument/inlineCompletion", {"textDocument": 3, "position": pos, "context": {"triggerKind": 1}}),
        ("textDocument/inlineCompletion", {"textDocument": doc, "position": {"line": "a", "character": 0},
                                           "context": {"triggerKind": 1}}),
        ("textDocument/inlineCompletion", {"textDocument": doc, "position": {"line": -1, "character": -5},
                                           "context": {"triggerKind": 1}}),
        ("textDocument/inlineCompletion", {"textDocument": doc, "position": pos, "context": {"triggerKind": 9}}),
        ("textDocument/inlineCompletion", "not an object"),
        ("textDocument/completion", "x"),
        ("textDocument/completion", {"textDocument": doc}),
        ("textDocument/codeAction", []),
        ("textDocument/codeAction", {"textDocument": doc, "range": {"start": pos}, "context": {}}),
        ("workspace/executeCommand", {"command": 5}),
        ("workspace/executeCommand", {"command": "hoody.refactor", "arguments": "not a list"}),
        ("workspace/executeCommand", {"command": "hoody.refactor", "arguments": [{"uri": 5, "range": "x"}]}),
        ("workspace/executeCommand", {"command": "hoody.refactor", "arguments": ["x", 1, None]}),
        ("workspace/executeCommand", {"command": "hoody.custom", "arguments": [{"uri": "file:///x.py",
                                      "range": {"start": pos, "end": pos}, "action": 12}]}),
        ("workspace/executeCommand", {"command": "hoody.nope", "arguments": []}),
        ("hoody/context", 7),
        ("hoody/context", {"textDocument": "x", "position": None}),
        ("hoody/context", {"textDocument": doc, "position": {"line": "x", "character": []}, "budgetChars": "many"}),
    ]


async def test_wrong_params_get_an_answer(shared: RawServer) -> None:
    """Params of the wrong shape or type: an Invalid params error (or, for the server's own requests, a result
    that says what is wrong), never silence."""
    cases = _params_cases()
    raws = {f"params-{i}": frame({"jsonrpc": "2.0", "id": f"params-{i}", "method": m, "params": p})
            for i, (m, p) in enumerate(cases)}
    answers = await answers_to(shared, raws)
    problems = []
    for (method, params), answer in zip(cases, answers.values(), strict=True):
        if answer is None:
            problems.append(f"no answer: {method} {params!r}")
        elif "error" in answer and answer["error"]["code"] != INVALID_PARAMS:
            problems.append(f"{method} {params!r}: {answer['error']}")
        elif "result" in answer and not (answer["result"] in (None, [], {"items": []})
                                         or isinstance(answer["result"], dict)):
            problems.append(f"{method} {params!r}: result {answer['result']!r}")
    await still_answers(shared)
    assert not problems, "\n".join(problems)


async def test_requests_for_a_document_never_opened(shared: RawServer, workspace: Path) -> None:
    uri = (workspace / "never_opened.py").as_uri()
    pos = {"line": 0, "character": 0}
    rng = {"start": pos, "end": {"line": 3, "character": 1}}
    requests: list[tuple[str, Any]] = [
        ("textDocument/inlineCompletion", RawServer.inline_params(uri, 0, 0)),
        ("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos}),
        ("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": rng, "context": {"diagnostics": []}}),
        ("hoody/context", {"textDocument": {"uri": uri}, "position": pos}),
        ("workspace/executeCommand", {"command": "hoody.refactor", "arguments": [{"uri": uri, "range": rng}]}),
        ("workspace/executeCommand", {"command": "hoody.revert", "arguments": [{"uri": uri}]}),
    ]
    for method, params in requests:
        answer = await shared.request(method, params, timeout=ANSWER_S)
        assert "error" not in answer, (method, answer)
        result = answer["result"]
        if method == "textDocument/inlineCompletion":
            assert result == {"items": []}
        if method == "workspace/executeCommand":
            assert result["applied"] is False and result["reason"]
    shared.did_change(uri, 2, [{"text": "x = 1\n"}])  # didChange and didClose for it are ignored
    shared.did_close(uri)
    await still_answers(shared)


# -- size and blocking -------------------------------------------------------------------------------------


async def test_huge_messages(shared: RawServer, workspace: Path) -> None:
    uri = (workspace / "huge.py").as_uri()
    text = "value = compute(1, 2)  # a line of code\n" * 150_000  # 6 MB
    shared.did_open(uri, text)
    answer = await shared.request("textDocument/inlineCompletion", RawServer.inline_params(uri, 149_999, 5),
                                  timeout=30)
    assert answer["result"] == {"items": []}  # too large to send, answered at once
    shared.did_change(uri, 2, [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 5}},
                                "text": "v"}])
    shared.did_close(uri)
    big = await shared.request("hoody/nope", {"blob": "y" * 8_000_000}, timeout=30)
    assert big["error"]["code"] == METHOD_NOT_FOUND
    status = await shared.result("hoody/status", None)
    assert status["documents"] == 1  # a.py only
    await still_answers(shared, within=2.0)


async def test_a_waiting_request_does_not_block_others(shared: RawServer, fake: FakeBackend, workspace: Path) -> None:
    uri = (workspace / "slow.py").as_uri()
    shared.did_open(uri, "def slow():\n    ")
    fake.script(Reply(text="return 1", headers_delay=2.0))
    _, pending = shared.send_request("textDocument/inlineCompletion", RawServer.inline_params(uri, 1, 4))
    await asyncio.to_thread(fake.wait_for_requests, len(fake.requests) + 1, 5.0)
    shared.write(b"Content-Length: 3\r\n\r\n{{{")  # garbage in between
    t0 = time.monotonic()
    await shared.result("hoody/status", None, timeout=ANSWER_S)
    await shared.result("textDocument/codeAction", {
        "textDocument": {"uri": uri},
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
        "context": {"diagnostics": []},
    }, timeout=ANSWER_S)
    await shared.result("hoody/context", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4}},
                        timeout=ANSWER_S)
    quick = time.monotonic() - t0
    assert not pending.done()
    assert quick < 1.5, f"other requests waited {quick:.2f} s behind a slow one"
    answer = await asyncio.wait_for(pending, 10)
    assert answer["result"]["items"][0]["insertText"] == "return 1"
    shared.did_close(uri)
