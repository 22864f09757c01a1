"""Benchmark: latency of `ContextEngine.gather()` for one cursor on a workspace of N files (default 2,000).

The workspace holds copies of the corpora sources (see bench_index.py); the index is built first, a few
documents are open (as in an editor), then `gather` runs for random cursors (random file, random line, end of
the line's indentation) with a 6,000-character budget. Prints p50/p95/p99/max in milliseconds.

    .venv/bin/python benchmarks/bench_context.py [--files 2000] [--n 500] [--corpora DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench_index import corpus_roots, make_workspace, pct  # noqa: E402

from hoody_lsp.context import ContextEngine  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--n", type=int, default=500, help="cursors to time")
    ap.add_argument("--open", type=int, default=6, help="documents open in the editor")
    ap.add_argument("--corpora", help="corpus cache folder (see corpora.sh)")
    ap.add_argument("--keep", help="build the workspace here and keep it")
    args = ap.parse_args()
    tmp = args.keep or tempfile.mkdtemp(prefix="hoody-bench-context-")
    try:
        if not os.path.isdir(os.path.join(tmp, "copy000")):
            make_workspace(tmp, args.files, corpus_roots(args.corpora))
        engine = ContextEngine()
        engine.add_workspace(tmp)
        t0 = time.perf_counter()
        engine.build_index_sync()
        build_s = time.perf_counter() - t0
        files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(tmp) for f in fs if f.endswith(".py"))
        rng = random.Random(0)
        texts: dict[str, str] = {}

        def text_of(p: str) -> str:
            if p not in texts:
                with open(p, encoding="utf-8", errors="replace") as fh:
                    texts[p] = fh.read()
            return texts[p]

        for p in rng.sample(files, min(args.open, len(files))):
            engine.open_document(p, text_of(p), "python")
        times: list[float] = []
        sizes: list[int] = []
        for _ in range(args.n):
            p = rng.choice(files)
            text = text_of(p)
            lines = text.split("\n")
            ln = rng.randrange(len(lines))
            offset = sum(len(x) + 1 for x in lines[:ln]) + (len(lines[ln]) - len(lines[ln].lstrip()))
            t = time.perf_counter()
            snippets = engine.gather(path=p, text=text, offset=offset, language="python", budget_chars=6000)
            times.append((time.perf_counter() - t) * 1000)
            sizes.append(sum(len(s.content) + 1 for s in snippets))
        result = {
            "files": len(files),
            "index_build_s": round(build_s, 2),
            "cursors": len(times),
            "gather_ms_p50": round(pct(times, 0.5), 2),
            "gather_ms_p95": round(pct(times, 0.95), 2),
            "gather_ms_p99": round(pct(times, 0.99), 2),
            "gather_ms_max": round(max(times), 2),
            "mean_context_chars": round(sum(sizes) / len(sizes)),
        }
        print(json.dumps(result, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
