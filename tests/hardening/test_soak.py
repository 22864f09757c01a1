"""Soak tests: what long sessions leave behind.

- A short soak (benchmarks/soak.py, 1,500 requests): every request is answered (a result, or RequestCancelled
  for a cancelled one; never another error), resident memory grows by no more than 10 MB after the warm-up, and
  after a short idle the server runs no more asyncio tasks than its steady background ones, holds no upstream
  stream and no running inline stream, and the fake backend has no reply in flight.
- Typing alone (10,000 didChange notifications) does not grow memory.
- Cancels racing the inline timeout leave no upstream connection open.
- Cancels while more streams run than the HTTP pool holds leave completions working.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from benchmarks.soak import soak
from tests.fakebackend import FakeBackend, Reply
from tests.hardening.wire import RawServer

REQUESTS = 1_500


async def test_soak_with_cancels_and_faults_leaves_nothing_behind() -> None:
    result = await soak(REQUESTS, docs=10, seed=11, warmup=300)
    report = "\n".join(result.lines())
    assert result.alive, report
    assert result.requests == REQUESTS - 300, report
    assert result.unanswered == 0, report
    assert result.errors == [], report
    assert result.answered + result.cancelled == result.requests, report
    assert result.fake_open_streams_end == 0, report
    assert result.open_streams_end == 0 and result.inline_streams_end == 0, report
    assert result.tasks_end <= result.tasks_baseline, report
    assert result.rss_growth <= 10.0, report
    # the mix really ran, and suggestions kept coming to the end (faults never wear the server out)
    assert result.cancelled > 50 and result.backend_requests > 500, report
    assert all(n > 0 for n in result.chunk_items[-3:]), report
    assert result.documents_end == 10, report


TYPED = 10_000


async def test_typing_leaves_no_memory_behind(tmp_path: Path) -> None:
    """Each didChange is handled and forgotten: 10,000 keystrokes (no requests) grow memory by at most 5 MB
    beyond the text itself."""
    env = {"HOODY_API_KEY": "soak-key-0123456789", "HOODY_BASE_URL": "http://127.0.0.1:9"}
    async with RawServer.session(tmp_path, env=env) as srv:
        uri = (tmp_path / "typed.py").as_uri()
        srv.did_open(uri, "")
        typist = Typist(srv, uri)
        await typist.type(2_000)  # warm-up
        await asyncio.sleep(0.3)
        before = (await srv.status())["rssMb"]
        await typist.type(TYPED)
        await asyncio.sleep(0.3)
        status = await srv.status()
        assert status["documents"] == 1
    growth = status["rssMb"] - before
    assert growth <= 5.0, f"{TYPED} didChange notifications grew resident memory by {growth:.1f} MB"


class Typist:
    """Types one character per didChange at the end of the document, 60 to a line."""

    def __init__(self, srv: RawServer, uri: str) -> None:
        self.srv, self.uri = srv, uri
        self.version, self.line, self.col = 1, 0, 0

    async def type(self, n: int) -> None:
        for i in range(n):
            self.version += 1
            ch = "\n" if self.col >= 60 else "x"
            at = {"line": self.line, "character": self.col}
            self.srv.did_change(self.uri, self.version, [{"range": {"start": at, "end": at}, "text": ch}])
            self.line, self.col = (self.line + 1, 0) if ch == "\n" else (self.line, self.col + 1)
            if i % 500 == 499:
                await self.srv.status()  # let the server keep up (and the pipe drain)
        await self.srv.status()


RACES = 320
RACE_TIMEOUT_MS = 120


async def test_cancel_at_the_deadline_leaves_no_connection_open(tmp_path: Path) -> None:
    """A stalled answer is dropped at the inline timeout; the user's next keystroke (a superseding request) or
    a $/cancelRequest lands at about the same moment. However the two race, the upstream connection is
    closed: the fake has no reply in flight afterwards (a leaked connection also holds one of the HTTP pool's
    16 slots for good)."""
    with FakeBackend() as fake:
        fake.default = Reply(text="alpha beta gamma delta epsilon", fault="stall_mid")
        env = {"HOODY_BASE_URL": fake.url, "HOODY_API_KEY": "soak-key-0123456789"}
        options = {"inlineCompletion": {"timeoutMs": RACE_TIMEOUT_MS}}
        async with RawServer.session(tmp_path, env=env, options=options) as srv:
            docs = [Racer(srv, (tmp_path / f"race_{i}.py").as_uri()) for i in range(8)]
            rng = random.Random(5)
            for round_ in range(RACES // len(docs)):
                await asyncio.gather(*(d.race(rng.uniform(-0.03, 0.03), supersede=round_ % 2 == 0) for d in docs))
            await asyncio.sleep(1.5)
            status = await srv.status()
            leaked = fake.open_streams  # before shutdown, which closes every connection
        assert len(fake.requests) >= RACES
    assert (status["openStreams"], status["inlineStreams"]) == (0, 0)
    assert leaked == 0, f"{leaked} upstream connections still open after {RACES} cancel/deadline races"


class Racer:
    def __init__(self, srv: RawServer, uri: str) -> None:
        self.srv, self.uri, self.version, self.col = srv, uri, 1, 4
        srv.did_open(uri, "x = ")

    def _type(self) -> None:
        self.version += 1
        at = {"line": 0, "character": self.col}
        self.srv.did_change(self.uri, self.version, [{"range": {"start": at, "end": at}, "text": "z"}])
        self.col += 1

    def newline(self) -> None:
        self.version += 1
        at = {"line": 0, "character": self.col}
        self.srv.did_change(self.uri, self.version, [{"range": {"start": at, "end": at}, "text": "\n"}])

    async def ask_and_cancel(self, after: float) -> None:
        self._type()
        msg_id, answer = self.srv.send_request("textDocument/inlineCompletion",
                                               RawServer.inline_params(self.uri, 0, self.col))
        await asyncio.sleep(after)
        self.srv.cancel(msg_id)
        await asyncio.wait_for(answer, 10)

    async def race(self, offset: float, *, supersede: bool) -> None:
        self._type()  # a new position: the running stream cannot serve it
        msg_id, first = self.srv.send_request("textDocument/inlineCompletion",
                                              RawServer.inline_params(self.uri, 0, self.col))
        await asyncio.sleep(RACE_TIMEOUT_MS / 1000 + offset)
        if supersede:
            self._type()
            _, second = self.srv.send_request("textDocument/inlineCompletion",
                                              RawServer.inline_params(self.uri, 0, self.col))
            await asyncio.wait_for(second, 10)
        else:
            self.srv.cancel(msg_id)
        await asyncio.wait_for(first, 10)


CONTENDED_DOCS = 24  # more streams at once than the HTTP pool's 16 connections
CONTENDED_ROUNDS = 20


async def test_cancels_under_pool_contention_leave_completions_working(tmp_path: Path) -> None:
    """24 documents ask at once, each request cancelled 0-10 ms later, 20 times over: then a plain request must
    still reach the backend and get its suggestion. httpx/httpcore's pool can keep a connection whose request
    was cancelled while it was being set up (encode/httpcore#1093); 16 of them and no request ever goes out
    again (benchmarks/soak.py shows it after a few thousand requests)."""
    with FakeBackend() as fake:
        fake.default = Reply(text="value = 1\n", first_delay=0.2)
        env = {"HOODY_BASE_URL": fake.url, "HOODY_API_KEY": "soak-key-0123456789"}
        options = {"inlineCompletion": {"debounceMs": 0, "timeoutMs": 2000}}
        async with RawServer.session(tmp_path, env=env, options=options) as srv:
            docs = [Racer(srv, (tmp_path / f"busy_{i}.py").as_uri()) for i in range(CONTENDED_DOCS)]
            rng = random.Random(9)
            for _ in range(CONTENDED_ROUNDS):
                await asyncio.gather(*(d.ask_and_cancel(rng.uniform(0, 0.01)) for d in docs))
            await asyncio.sleep(1.0)
            before = len(fake.requests)
            final = docs[0]
            final.newline()
            answer = await srv.result("textDocument/inlineCompletion", RawServer.inline_params(final.uri, 1, 0),
                                      timeout=10)
            reached = len(fake.requests) - before
    assert reached == 1, f"the request after the cancels never reached the backend ({reached} requests)"
    assert [item["insertText"] for item in answer["items"]] == ["value = 1"]
