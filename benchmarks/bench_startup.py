"""Start-up: process start to initialize result, and idle resident memory after initialize.

    .venv/bin/python benchmarks/bench_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_wire import Wire  # noqa: I001


TOY = Path(__file__).resolve().parents[2] / "shared" / "notes" / "examples" / "toy_server.py"


def measure(runs: int, command: list[str] | None, root: str) -> tuple[list[float], list[float]]:
    times, rss = [], []
    for _ in range(runs):
        wire = Wire(env={"HOODY_API_KEY": "bench"}, command=command)
        wire.initialize(root)
        times.append(time.perf_counter() - wire.started)
        time.sleep(1.5)  # let the background index settle: idle means after it
        rss.append(wire.rss_mb())
        wire.close()
    return times, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as root:
        Path(root, "a.py").write_text("def f():\n    return 1\n")
        times, rss = measure(args.runs, None, root)
        print(f"startup_to_initialize_s  p50={statistics.median(times):.3f}  max={max(times):.3f}  runs={args.runs}")
        print(f"idle_rss_mb              p50={statistics.median(rss):.1f}  max={max(rss):.1f}")
        if TOY.exists():  # the same measure for a bare pygls server, on the same machine
            times, rss = measure(args.runs, [sys.executable, str(TOY)], root)
            p50, idle = statistics.median(times), statistics.median(rss)
            print(f"bare_pygls_startup_s     p50={p50:.3f}  idle_rss_mb={idle:.1f}")


if __name__ == "__main__":
    main()
