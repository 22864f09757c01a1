"""Fuzzing text synchronisation over real stdio: the server's copy of a document always equals a reference model.

Hypothesis draws documents and sequences of didChange notifications (incremental and whole-text, several changes
per notification, emoji, CJK, combining marks, CRLF, lone CR, U+2028, positions past the end of a line and past
the last line, positions inside a surrogate pair or a UTF-8 sequence) for clients speaking UTF-8, UTF-16 and
UTF-32. The reference model below applies the LSP rules on its own: a character past the end of its line means
the line end, a line past the last line means the document end, a position inside a character snaps to its start.

Black-box check, no debug hook: an invoked inline request at the document start makes the server send the whole
text to the fake backend (`prefix` is empty and `suffix` is the document, as it fits the 6,000 + 2,000 window;
the text is kept free of anything the secret scrubber would touch). Between changes, completion, inline
completion, code action and command requests at random (also invalid) positions must be answered, never with an
error. One server per encoding serves every example; each example opens its own document and closes it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakebackend import FakeBackend, RecordedRequest, Reply
from tests.hardening.wire import RawServer, SyncServer

ENCODINGS = ("utf-16", "utf-8", "utf-32")
EXAMPLES = 100
BREAK = re.compile(r"\r\n|\r|\n")
HUGE = 2**31 - 1  # the largest LSP uinteger

# Pieces of text: no letters that spell the scrubber's hint words (pass, secret, token, key, cred, ...), no '/'
# (so no '://'), no '_' or capitals (no token prefixes).
PIECES = [
    *"abcdfghijlmquvwxz", *"0123456789", " ", "  ", "\t", *"()[]{}=+-*,.;:#\"'",
    "\n", "\n", "\r\n", "\r\n", "\r", "\u2028", "\u2029", "\x0c", "\x85", "\x0b",
    "😀", "🎉", "👍🏽", "日", "本", "語", "한", "é", "ß", "a\u0301", "\u0301", "\u200d", "\x00",
]
piece_text = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


# -- the reference model ---------------------------------------------------------------------------------


def units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-16":
        return 2 if ord(ch) > 0xFFFF else 1
    return 1


def lines_of(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line's content, line break excluded."""
    spans, start = [], 0
    for m in BREAK.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def ref_offset(text: str, line: int, character: int, encoding: str) -> int:
    spans = lines_of(text)
    if line >= len(spans):
        return len(text)
    start, end = spans[line]
    col = 0
    for i in range(start, end):
        n = units(text[i], encoding)
        if col + n > character:
            return i  # past the end of the position's character, or inside it: its start
        col += n
    return end


def line_units(text: str, line: int, encoding: str) -> int:
    spans = lines_of(text)
    if line >= len(spans):
        return 0
    start, end = spans[line]
    return sum(units(c, encoding) for c in text[start:end])


# -- strategies that depend on the current text ----------------------------------------------------------


def draw_position(data: st.DataObject, text: str, encoding: str) -> tuple[int, int]:
    n_lines = len(lines_of(text))
    kind = data.draw(st.sampled_from(["in", "in", "in", "past_char", "past_line", "huge"]))
    if kind == "past_line":
        line = data.draw(st.integers(n_lines, n_lines + 3))
    elif kind == "huge":
        line = data.draw(st.sampled_from([0, n_lines - 1, n_lines, HUGE]))
    else:
        line = data.draw(st.integers(0, n_lines - 1))
    width = line_units(text, line, encoding)
    if kind == "past_char":
        character = data.draw(st.integers(width, width + 5))
    elif kind == "huge":
        character = data.draw(st.sampled_from([0, width, HUGE]))
    else:
        character = data.draw(st.integers(0, width))  # every unit: inside pairs and sequences too
    return line, character


def draw_range(data: st.DataObject, text: str, encoding: str) -> tuple[int, int, int, int]:
    a = draw_position(data, text, encoding)
    b = draw_position(data, text, encoding)
    (l0, c0), (l1, c1) = sorted([a, b])
    return l0, c0, l1, c1


def lsp_range(r: tuple[int, int, int, int]) -> dict[str, Any]:
    return {"start": {"line": r[0], "character": r[1]}, "end": {"line": r[2], "character": r[3]}}


# -- the session -----------------------------------------------------------------------------------------


class Session:
    def __init__(self, encoding: str, root: Path) -> None:
        self.encoding = encoding
        self.root = root
        self.fake = FakeBackend().start()
        # an empty answer: nothing is cached or kept, so every check makes its own backend request
        self.fake.default = Reply(text="")
        self.client = SyncServer()
        self.server: RawServer = self.client.open(
            root,
            env={"HOODY_BASE_URL": self.fake.url, "HOODY_API_KEY": "fuzz-key-0123456789"},
            encoding=encoding,
            options={"completion": {"fallback": "always"}, "actions": {"liveEdits": True}},
        )
        self.serial = 0
        self.checks = 0

    def close(self) -> None:
        self.client.close()
        self.fake.stop()

    def notify(self, method: str, params: Any) -> None:
        self.client.call(self.server.notify, method, params)

    def request(self, method: str, params: Any, timeout: float = 20.0) -> dict[str, Any]:
        return self.client.run(self.server.request(method, params, timeout=timeout), timeout=timeout + 5)

    def server_text(self, uri: str) -> str:
        """The whole text the server holds for `uri`, as it sends it to the backend."""
        before = len(self.fake.requests)
        answer = self.request("textDocument/inlineCompletion", RawServer.inline_params(uri, 0, 0, invoked=True))
        assert "error" not in answer, answer
        new = [r for r in self.fake.requests[before:] if _target(r) == _path(uri)]
        assert len(new) == 1, f"expected one backend request for the check, got {len(new)}"
        body = new[0].json
        assert body["prefix"] == ""
        self.checks += 1
        return body["prefix"] + body["suffix"]


def _path(uri: str) -> str:
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(uri).path)


def _target(req: RecordedRequest) -> str | None:
    body = req.json if isinstance(req.json, dict) else {}
    targets = body.get("target_files") or [{}]
    return targets[0].get("path")


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Session]]:
    made: dict[str, Session] = {}

    class Lazy(dict[str, Session]):
        def __missing__(self, encoding: str) -> Session:
            made[encoding] = self[encoding] = Session(encoding, tmp_path_factory.mktemp(f"fuzz-{encoding}"))
            return made[encoding]

    try:
        yield Lazy()
    finally:
        for session in made.values():
            session.close()


# -- the property ----------------------------------------------------------------------------------------


def random_request(data: st.DataObject, s: Session, uri: str, text: str) -> None:
    kind = data.draw(st.sampled_from(["inline", "inline_auto", "completion", "code_action", "refactor", "revert"]))
    line, character = draw_position(data, text, s.encoding)
    position = {"line": line, "character": character}
    if kind in ("inline", "inline_auto"):
        method, params = "textDocument/inlineCompletion", RawServer.inline_params(uri, line, character,
                                                                                 invoked=kind == "inline")
    elif kind == "completion":
        method = "textDocument/completion"
        params = {"textDocument": {"uri": uri}, "position": position, "context": {"triggerKind": 1}}
    elif kind == "code_action":
        method = "textDocument/codeAction"
        params = {"textDocument": {"uri": uri}, "range": lsp_range(draw_range(data, text, s.encoding)),
                  "context": {"diagnostics": []}}
    elif kind == "refactor":
        method = "workspace/executeCommand"
        params = {"command": "hoody.refactor",
                  "arguments": [{"uri": uri, "range": lsp_range(draw_range(data, text, s.encoding)),
                                 "instruction": "tidy"}]}
    else:
        method = "workspace/executeCommand"
        params = {"command": "hoody.revert", "arguments": [{"uri": uri}]}
    answer = s.request(method, params)
    assert "error" not in answer, f"{method} at {position} answered an error: {answer}"


def run_example(s: Session, data: st.DataObject) -> None:
    s.serial += 1
    uri = (s.root / f"doc{s.serial}.py").as_uri()
    text = data.draw(piece_text, label="initial")
    version = 1
    s.notify("textDocument/didOpen",
             {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}})
    try:
        assert s.server_text(uri) == text
        for _ in range(data.draw(st.integers(1, 5), label="notifications")):
            changes: list[dict[str, Any]] = []
            for _ in range(data.draw(st.integers(1, 3), label="changes in one notification")):
                if data.draw(st.integers(0, 9)) == 0:
                    text = data.draw(piece_text, label="whole text")
                    changes.append({"text": text})
                else:
                    rng = draw_range(data, text, s.encoding)
                    new = data.draw(piece_text, label="new text")
                    start = ref_offset(text, rng[0], rng[1], s.encoding)
                    end = ref_offset(text, rng[2], rng[3], s.encoding)
                    text = text[:start] + new + text[end:]
                    changes.append({"range": lsp_range(rng), "text": new})
            version += 1
            s.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                "contentChanges": changes})
            if data.draw(st.booleans(), label="random request"):
                random_request(data, s, uri, text)
            got = s.server_text(uri)
            assert got == text, f"server {got!r} != reference {text!r} after {changes!r}"
    finally:
        s.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def _fuzz(s: Session) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def prop(data: st.DataObject) -> None:
        run_example(s, data)

    prop()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_server_document_equals_the_reference(encoding: str, sessions: dict[str, Session]) -> None:
    s = sessions[encoding]
    t0 = time.monotonic()
    _fuzz(s)
    status = s.request("hoody/status", None)["result"]
    assert s.server.alive
    assert status["documents"] == 0  # every example closed its document
    assert s.checks >= EXAMPLES
    print(f"{encoding}: {s.checks} checks in {time.monotonic() - t0:.1f} s")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
def test_positions_inside_a_character_snap_to_its_start(encoding: str, sessions: dict[str, Session]) -> None:
    """A fixed case the fuzzer also draws: an insertion inside a surrogate pair / UTF-8 sequence."""
    s = sessions[encoding]
    s.serial += 1
    uri = (s.root / f"fixed{s.serial}.py").as_uri()
    text = "a😀b日\r\nz"
    s.notify("textDocument/didOpen",
             {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    inside = 2 if encoding == "utf-16" else 3  # the middle of 😀 (after 'a'): 1 + 1 / 1 + 2
    changes = [
        {"range": lsp_range((0, inside, 0, inside)), "text": "X"},  # before the emoji
        {"range": lsp_range((0, 999, 0, 999)), "text": "E"},  # end of line 0, before "\r\n"
        {"range": lsp_range((7, 0, 9, 4)), "text": "!"},  # past the last line: the document end
    ]
    s.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": changes})
    try:
        assert s.server_text(uri) == "aX😀b日E\r\nz!"
    finally:
        s.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
