"""Live-edit figures: how soon generated code shows in the buffer, and how many edits an answer takes.

    .venv/bin/python benchmarks/bench_live_edits.py [--runs 10]

- first line: time from the moment the fake backend sends the chunk that completes the first line of the
  answer to the moment the editor-like client has that line in its buffer (the client applied the
  `workspace/applyEdit`), p50/p95/max over N commands (goal <= 150 ms). The fake sends the first chunk
  `first_delay` after the request's headers; its own timing error is about a millisecond;
- edits: `workspace/applyEdit` calls for a 2,000-character answer (50 lines) streamed over 1, 4, 10 and 30 seconds
  (goal <= 25).

Real stdio to `python -m hoody_lsp` (VS Code-like client: versioned edits), real HTTP/SSE to the fake backend.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402

from tests.e2e.harness import Editor, editor_session  # noqa: E402
from tests.fakebackend import FakeBackend, Reply  # noqa: E402

FIRST_DELAY = 0.3
REGION = "def f(a,b):\n  return a+b\n"
LINES = [f"    value_{i:02d} = compute(value_{i - 1:02d}, {i}) + 1" for i in range(1, 50)]
ANSWER = ["def f(value_00):", *LINES, "    return value_49"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def watch(ed: Editor) -> list[tuple[float, str, str]]:
    """(time, uri, text) after every edit the client applies."""
    seen: list[tuple[float, str, str]] = []
    original = ed.on_apply_edit

    async def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        result = await original(params)
        now = time.monotonic()
        for uri, doc in ed.docs.items():
            seen.append((now, uri, doc.text))
        return result

    ed.on_apply_edit = on_apply_edit  # type: ignore[method-assign]
    return seen


def args(ed: Editor, uri: str) -> dict[str, Any]:
    return {"uri": uri, "range": ed.client.protocol._converter.unstructure(ed.range_of(uri, REGION)),
            "version": ed.docs[uri].version}


async def first_line(runs: int) -> list[float]:
    samples: list[float] = []
    with FakeBackend() as fake, tempfile.TemporaryDirectory() as tmp:
        async with editor_session(fake.url, Path(tmp)) as ed:
            seen = watch(ed)
            for i in range(runs + 2):
                fake.default = Reply(chunks=[line + "\n" for line in ANSWER[:6]], first_delay=FIRST_DELAY,
                                     chunk_delay=0.05)
                uri = ed.open(f"m{i}.py", "import os\n\n\n" + REGION)
                n = len(fake.requests)
                result = await ed.execute("hoody.refactor", args(ed, uri))
                assert result == {"applied": True}, result
                sent = fake.requests[n].t_received + FIRST_DELAY
                shown = next(t for t, u, text in seen if u == uri and ANSWER[0] in text)
                if i >= 2:  # warm-up
                    samples.append((shown - sent) * 1000)
    return samples


async def edits_for(duration: float) -> tuple[int, int]:
    with FakeBackend() as fake, tempfile.TemporaryDirectory() as tmp:
        delay = duration / len(ANSWER)
        fake.default = Reply(chunks=[line + "\n" for line in ANSWER], chunk_delay=delay)
        async with editor_session(fake.url, Path(tmp)) as ed:
            uri = ed.open("m.py", "import os\n\n\n" + REGION)
            result = await ed.execute("hoody.refactor", args(ed, uri))
            assert result == {"applied": True}, result
            assert ANSWER[-1] in ed.text(uri)
            return len(ed.applied), sum(len(line) + 1 for line in ANSWER)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    ns = parser.parse_args()
    samples = await first_line(ns.runs)
    print(f"first generated line -> client buffer: p50 {pct(samples, 50):.1f} ms, p95 {pct(samples, 95):.1f} ms, "
          f"max {max(samples):.1f} ms over {len(samples)} commands (goal <= 150 ms)")
    for duration in (1.0, 4.0, 10.0, 30.0):
        applies, chars = await edits_for(duration)
        print(f"{chars}-character answer streamed over {duration:.0f} s: {applies} applyEdit calls (goal <= 25)")


if __name__ == "__main__":
    asyncio.run(main())
