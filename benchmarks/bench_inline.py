"""Inline completion figures: server overhead, typing burst, typing-through, early answer.

    .venv/bin/python benchmarks/bench_inline.py [--n 200]

- overhead: latency the client sees minus the fake backend's own time for the request, as the fake measures it
  (invoked requests, so the debounce is out of the way), p50/p95 over N requests at fresh positions of a file
  that imports from a small workspace; then the same for benchmarks/toy_inline.py, a bare pygls + httpx server;
- burst: 20 keystrokes 40 ms apart with the adaptive debounce, then a pause: backend requests made, and
  superseded streams still open 100 ms after being superseded;
- typing-through: a 30-character suggestion typed one key at a time, a request per key: backend calls after
  the first;
- early answer: time to first ghost text for a 5-line suggestion streamed one line every 100 ms, with the
  early answer and without it (HOODY_EARLY_ANSWER=0), same fake backend.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from lsprotocol import types  # noqa: E402

from tests.e2e.harness import editor_session  # noqa: E402
from tests.fakebackend import FakeBackend, Reply  # noqa: E402

TTFT = 0.05


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


FAKE_PROCESS = """
import json, sys
sys.path.insert(0, {root!r})
from tests.fakebackend import FakeBackend, Reply
fake = FakeBackend()
fake.default = Reply(text="(0)", first_delay={ttft})
fake.start()
print(fake.url, flush=True)
for _ in sys.stdin:  # each line asks for the fake's own time per request so far, in seconds
    print(json.dumps([r.own_time for r in fake.requests]), flush=True)
"""

TOY = ROOT / "benchmarks" / "toy_inline.py"
# the edited file: it imports from the workspace, so the context engine has definitions to find
DOCUMENT = """from pkg.prompt import detect_indent, window
from pkg.postprocess import clean


def suggest(text, offset):
    prefix, suffix = window(text, offset, 6000, 2000)"""


def overhead(n: int, command: list[str] | None = None) -> tuple[float, float]:
    """Server overhead: what the client waits for minus what the fake backend itself took for the request, from
    having read it to having written its last byte (its time to first token included), as the fake measures it.

    The fake backend runs in its own process and the client is a bare JSON-RPC pipe, so neither shares a
    CPU-bound interpreter with what is measured. `command` runs another server (the bare toy) the same way."""
    import json
    import subprocess

    from lsp_wire import Wire

    fake = subprocess.Popen([sys.executable, "-c", FAKE_PROCESS.format(root=str(ROOT), ttft=TTFT)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert fake.stdout is not None and fake.stdin is not None
        url = fake.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(ROOT / "hoody_lsp" / "completion", Path(tmp, "pkg"))  # a small workspace: real code
            wire = Wire(env={"HOODY_BASE_URL": url, "HOODY_API_KEY": "bench"}, command=command)
            wire.initialize(tmp, caps={"textDocument": {"inlineCompletion": {}}},
                            options={"inlineCompletion": {"debounceMs": 0}})
            uri = Path(tmp, "a.py").as_uri()
            text = DOCUMENT
            wire.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                                "text": text}}, request=False)
            time.sleep(1.0)  # the workspace index builds in the background
            waited = []
            for i in range(n + 20):
                line = text.count("\n")
                added = f"\n    width{i} = len(detect_indent(prefix))"
                wire.send("textDocument/didChange", {
                    "textDocument": {"uri": uri, "version": i + 2},
                    "contentChanges": [{"range": {"start": {"line": line, "character": len(text.split("\n")[-1])},
                                                  "end": {"line": line, "character": len(text.split("\n")[-1])}},
                                        "text": added}]}, request=False)
                text += added
                position = {"line": text.count("\n"), "character": len(text.split("\n")[-1])}
                t0 = time.perf_counter()
                answer = wire.request("textDocument/inlineCompletion", {
                    "textDocument": {"uri": uri}, "position": position, "context": {"triggerKind": 1}})
                waited.append(time.perf_counter() - t0)
                assert answer["result"]["items"], answer
            wire.close()
        fake.stdin.write("stats\n")
        fake.stdin.flush()
        own = json.loads(fake.stdout.readline())
    finally:
        fake.kill()
    assert len(own) == len(waited), (len(own), len(waited))  # one backend request per completion
    samples = [(w - o) * 1000 for w, o in zip(waited, own, strict=True)][20:]  # the first 20 warm up
    return pct(samples, 50), pct(samples, 95)


async def burst() -> tuple[int, int]:
    with FakeBackend() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.default = Reply(text="_value", first_delay=0.2, chunk_delay=0.05)
        async with editor_session(fake.url, Path(tmp)) as ed:
            uri = ed.open("a.py", "")
            pending = []
            await asyncio.sleep(1.0)
            for ch in "accumulated_results_":  # 20 keystrokes
                end = ed.type(uri, ch)
                pending.append(ed.inline_request(uri, ed.pos(uri, end))[1])
                await asyncio.sleep(0.04)
            await asyncio.gather(*pending, return_exceptions=True)
            await asyncio.sleep(0.5)
            requests = len(fake.requests)
            late = 0
            for i, req in enumerate(fake.requests[:-1]):
                superseded_at = fake.requests[i + 1].t_received
                still_open = req.t_disconnected is None and not req.completed
                closed_late = req.t_disconnected is not None and req.t_disconnected - superseded_at > 0.1
                late += still_open or closed_late
    return requests, late


async def typing_through() -> int:
    suggestion = "compute_total(items, tax=0.25)"
    assert len(suggestion) == 30
    with FakeBackend() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.default = Reply(text=suggestion)
        async with editor_session(fake.url, Path(tmp), init_options={"inlineCompletion": {"debounceMs": 0}}) as ed:
            uri = ed.open("a.py", "result = ")
            await ed.inline(uri, types.Position(0, 9))
            for ch in suggestion[:-1]:
                end = ed.type(uri, ch)
                await ed.inline(uri, ed.pos(uri, end), invoked=False)
            return len(fake.requests) - 1


async def early(enabled: bool, runs: int = 5) -> float:
    lines = ["total = 0", "    for x in xs:", "        if x > 0:", "            total += x", "    return total"]
    chunks = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    times = []
    with FakeBackend() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.default = Reply(text="".join(chunks), chunks=chunks, first_delay=TTFT, chunk_delay=0.1)
        env = {"HOODY_EARLY_ANSWER": "1" if enabled else "0"}
        async with editor_session(fake.url, Path(tmp), env=env,
                                  init_options={"inlineCompletion": {"debounceMs": 0}}) as ed:
            for i in range(runs):
                uri = ed.open(f"f{i}.py", "def f(xs):\n    ")
                t0 = time.perf_counter()
                items = await ed.inline(uri, types.Position(1, 4))
                times.append((time.perf_counter() - t0) * 1000)
                assert items
    return statistics.median(times)


async def main(n: int) -> None:
    p50, p95 = overhead(n)
    print(f"inline_overhead_ms       p50={p50:.2f}  p95={p95:.2f}  (n={n}, fake TTFT {TTFT * 1000:.0f} ms)")
    p50, p95 = overhead(n, [sys.executable, str(TOY)])
    print(f"toy_overhead_ms          p50={p50:.2f}  p95={p95:.2f}  (bare pygls + httpx, same measure)")
    requests, late = await burst()
    print(f"typing_burst             backend_requests={requests}  superseded_open_after_100ms={late}")
    print(f"typing_through_30_chars  backend_calls_after_first={await typing_through()}")
    with_early, without = await early(True), await early(False)
    print(f"first_ghost_text_ms      early_answer={with_early:.0f}  without={without:.0f}  (5 lines, 100 ms/line)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    asyncio.run(main(ap.parse_args().n))
