"""Soak: many inline-completion requests with cancels and backend faults; what the server holds afterwards.

    .venv/bin/python benchmarks/soak.py [--requests 10000] [--docs 12]

Real stdio to `python -m hoody_lsp`, real HTTP/SSE to the fake backend, whose replies cycle through: ok, 500, a
reset mid-stream, a stall mid-stream (ended by the inline timeout, 400 ms here), a malformed event, a slow
multi-line answer, and an ok multi-line one. Each document has its own client worker that types, asks at varied
positions (line ends, mid-word, out of range), sometimes two or three times in a row (the later ones supersede),
cancels about a quarter of its requests after 0-30 ms, and now and then closes and reopens its document.

Measured after a warm-up (a tenth of the requests, at least 200) and a short idle, and again at the end after a
short idle: resident memory (`hoody/status` rssMb), asyncio tasks, the server's open upstream streams and running
inline streams, and the fake's replies still in flight. Prints one line per figure; `soak()` returns them for the
hardening test.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakebackend import FakeBackend, RecordedRequest, Reply  # noqa: E402
from tests.hardening.wire import RawServer  # noqa: E402

TIMEOUT_MS = 400
REQUEST_CANCELLED = -32800
SERVER_CANCELLED = -32802
IDLE_S = 1.5

WORDS = ["total", "items", "value", "result", "count", "index", "name", "parse", "render", "cache", "数据", "naïve"]


@dataclass
class SoakResult:
    requests: int = 0
    answered: int = 0  # a result (suggestion or empty)
    with_items: int = 0
    cancelled: int = 0  # answered RequestCancelled
    errors: list[dict[str, Any]] = field(default_factory=list)  # any other JSON-RPC error
    unanswered: int = 0
    backend_requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    rss_warm: float = 0.0
    rss_end: float = 0.0
    rss_samples: list[float] = field(default_factory=list)
    chunk_items: list[int] = field(default_factory=list)  # suggestions shown in each tenth of the run
    tasks_baseline: int = 0
    tasks_end: int = 0
    open_streams_end: int = -1
    inline_streams_end: int = -1
    fake_open_streams_end: int = -1
    documents_end: int = -1
    alive: bool = False

    @property
    def rss_growth(self) -> float:
        return self.rss_end - self.rss_warm

    def lines(self) -> list[str]:
        lat = sorted(self.latencies_ms) or [0.0]
        p50 = statistics.median(lat)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        return [
            f"soak_requests            n={self.requests} (after warm-up)  answered={self.answered}  "
            f"with_items={self.with_items}  cancelled={self.cancelled}  errors={len(self.errors)}  "
            f"unanswered={self.unanswered}  "
            f"backend_requests={self.backend_requests}  seconds={self.seconds:.1f}",
            f"soak_latency_ms          p50={p50:.1f}  p95={p95:.1f}",
            f"soak_items_per_tenth     {' '.join(str(n) for n in self.chunk_items)}",
            f"soak_rss_mb              warm={self.rss_warm:.1f}  end={self.rss_end:.1f}  "
            f"growth={self.rss_growth:+.1f}  max={max(self.rss_samples or [0.0]):.1f}  (goal growth <= 10)",
            f"soak_left_over           tasks={self.tasks_end}  baseline={self.tasks_baseline}  "
            f"open_streams={self.open_streams_end}  inline_streams={self.inline_streams_end}  "
            f"fake_open_streams={self.fake_open_streams_end}  documents={self.documents_end}  "
            "(goal: baseline, 0, 0, 0)",
        ]


def fault_cycle() -> Any:
    """The fake's responder: replies cycle through successes and every fault the soak mixes in."""
    counter = itertools.count()

    def respond(req: RecordedRequest) -> Reply:
        i = next(counter)
        kind = i % 7
        if kind == 0:
            return Reply(text=f"value_{i} = compute({i})\n")
        if kind == 1:
            return Reply(status=500)
        if kind == 2:
            return Reply(text="alpha beta gamma delta epsilon", fault="reset_mid")
        if kind == 3:
            return Reply(text="alpha beta gamma delta epsilon", fault="stall_mid")
        if kind == 4:
            return Reply(text="x = 1\n", fault="malformed")
        if kind == 5:
            lines = [f"step_{i}_{n} = {n}\n" for n in range(6)]
            return Reply(chunks=lines, first_delay=0.08, chunk_delay=0.06)
        return Reply(text=f"if ready_{i}:\n    return {i}\nreturn None\n")

    return respond


def _utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


class Doc:
    def __init__(self, root: Path, n: int, rng: random.Random) -> None:
        self.uri = (root / f"soak_{n}.py").as_uri()
        self.version = 1
        self.rng = rng
        words = [rng.choice(WORDS) for _ in range(6)]
        self.lines = [f"def {words[0]}_{n}({words[1]}, {words[2]}):", f"    {words[3]} = [{words[4]}]", "    "]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def type_somewhere(self) -> dict[str, Any]:
        """Type a few characters at the end of a line; the incremental change to send."""
        line = self.rng.randrange(len(self.lines))
        piece = self.rng.choice(["x", " = ", "(", ")", "_id", ".get", self.rng.choice(WORDS), ", "])
        if len(self.lines[line]) > 120 or (len(self.lines) < 30 and self.rng.random() < 0.15):
            piece = ""
            self.lines.insert(line + 1, "    " + self.rng.choice(WORDS))
            col = _utf16(self.lines[line])
            self.version += 1
            return {"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}},
                    "text": "\n" + self.lines[line + 1]}
        col = _utf16(self.lines[line])
        self.lines[line] += piece
        self.version += 1
        return {"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}},
                "text": piece}

    def position(self) -> tuple[int, int]:
        kind = self.rng.random()
        line = self.rng.randrange(len(self.lines))
        width = _utf16(self.lines[line])
        if kind < 0.6:
            return line, width  # end of a line
        if kind < 0.85:
            return line, self.rng.randint(0, width)  # anywhere, mid-word too
        if kind < 0.95:
            return line, width + self.rng.randint(1, 50)  # past the line end
        return len(self.lines) + self.rng.randint(0, 5), self.rng.randint(0, 10)  # past the last line


async def _worker(srv: RawServer, doc: Doc, budget: list[int], result: SoakResult, rng: random.Random) -> None:
    srv.did_open(doc.uri, doc.text)
    while budget[0] > 0:
        if rng.random() < 0.02:  # close and reopen: the server forgets the document's streams and cache
            srv.did_close(doc.uri)
            doc.version = 1
            srv.did_open(doc.uri, doc.text)
        pending: list[tuple[float, asyncio.Future[dict[str, Any]]]] = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            if budget[0] <= 0:
                break
            budget[0] -= 1
            if rng.random() < 0.6:
                srv.did_change(doc.uri, doc.version + 1, [doc.type_somewhere()])
            line, character = doc.position()
            params = RawServer.inline_params(doc.uri, line, character, invoked=rng.random() < 0.5)
            msg_id, future = srv.send_request("textDocument/inlineCompletion", params)
            pending.append((time.monotonic(), future))
            result.requests += 1
            if rng.random() < 0.25:
                asyncio.get_running_loop().call_later(rng.uniform(0, 0.03), srv.cancel, msg_id)
            if rng.random() < 0.5:
                await asyncio.sleep(rng.uniform(0, 0.02))
        for sent, future in pending:
            try:
                answer = await asyncio.wait_for(future, TIMEOUT_MS / 1000 + 10)
            except TimeoutError:
                result.unanswered += 1
                continue
            if "error" in answer:
                if answer["error"].get("code") in (REQUEST_CANCELLED, SERVER_CANCELLED):
                    result.cancelled += 1
                else:
                    result.errors.append(answer["error"])
            else:
                result.answered += 1
                result.latencies_ms.append((time.monotonic() - sent) * 1000)
                items = (answer.get("result") or {}).get("items") or []
                result.with_items += bool(items)


async def _run(srv: RawServer, docs: list[Doc], n: int, result: SoakResult, seed: int) -> None:
    budget = [n]
    await asyncio.gather(*(_worker(srv, doc, budget, result, random.Random(seed * 1000 + i))
                           for i, doc in enumerate(docs)))


async def _settle(srv: RawServer, fake: FakeBackend, baseline: int | None, within: float) -> dict[str, Any]:
    """Poll until nothing is running (or `within` passes); the last status."""
    await asyncio.sleep(IDLE_S)
    deadline = time.monotonic() + within
    while True:
        status = await srv.status()
        idle = (status["openStreams"] == 0 and status["inlineStreams"] == 0 and fake.open_streams == 0
                and (baseline is None or status["tasks"] <= baseline))
        if idle or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.1)


async def soak(n: int = 10_000, docs: int = 12, seed: int = 7, warmup: int | None = None,
               log_file: Path | None = None) -> SoakResult:
    result = SoakResult()
    warm = warmup if warmup is not None else max(200, n // 10)
    with FakeBackend() as fake, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "helpers.py").write_text("def compute(x):\n    return x * 2\n")
        fake.responder = fault_cycle()
        options = {"inlineCompletion": {"timeoutMs": TIMEOUT_MS}}
        env = {"HOODY_BASE_URL": fake.url, "HOODY_API_KEY": "soak-key-0123456789"}
        args = ["--log-file", str(log_file), "--log-level", "debug"] if log_file else None
        async with RawServer.session(root, env=env, options=options, close_timeout=10, args=args) as srv:
            rng = random.Random(seed)
            documents = [Doc(root, i, rng) for i in range(docs)]
            t0 = time.monotonic()
            await _run(srv, documents, warm, SoakResult(), seed)
            status = await _settle(srv, fake, None, within=5.0)
            result.tasks_baseline = status["tasks"]
            result.rss_warm = status["rssMb"]
            rest = n - warm
            chunk = max(1, rest // 10)
            done = 0
            while done < rest:
                step = min(chunk, rest - done)
                shown = result.with_items
                await _run(srv, documents, step, result, seed + done + 1)
                result.chunk_items.append(result.with_items - shown)
                done += step
                result.rss_samples.append((await srv.status())["rssMb"])
            result.seconds = time.monotonic() - t0
            status = await _settle(srv, fake, result.tasks_baseline, within=5.0)
            result.rss_end = status["rssMb"]
            result.tasks_end = status["tasks"]
            result.open_streams_end = status["openStreams"]
            result.inline_streams_end = status["inlineStreams"]
            result.documents_end = status["documents"]
            result.fake_open_streams_end = fake.open_streams
            result.backend_requests = len(fake.requests)
            result.alive = srv.alive
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--docs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--log-file", type=Path, help="the server's debug log")
    args = ap.parse_args()
    result = asyncio.run(soak(args.requests, args.docs, args.seed, log_file=args.log_file))
    for line in result.lines():
        print(line)
    for error in result.errors[:5]:
        print(f"  error: {error}")


if __name__ == "__main__":
    main()
