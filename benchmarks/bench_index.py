"""Benchmark: background indexing of a large workspace while completions keep running.

Builds a workspace of N source files (default 10,000) by copying the Python sources of the benchmark corpora
(benchmarks/corpora.sh) into numbered package copies, then runs `ContextEngine.build_index()` on an asyncio
loop while
- a ticker measures how late the loop wakes up (event-loop stall: p50/p95/max),
- a fake completion calls `gather()` every 100 ms (a fast typist with no debounce) and records its latency.
Prints the build time, files and names indexed, resident memory after the build, and the figures above.

    .venv/bin/python benchmarks/bench_index.py [--files 10000] [--corpora DIR] [--keep DIR] [--npm zod@3.23.8]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from hoody_lsp.context import ContextEngine  # noqa: E402


def corpus_roots(cache: str | None) -> list[str]:
    cmd = ["sh", os.path.join(HERE, "corpora.sh")] + ([cache] if cache else [])
    env = dict(os.environ, PYTHON=os.environ.get("PYTHON", sys.executable))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [line for line in out.splitlines() if line.strip()]


def npm_roots(specs: list[str], cache: str) -> list[str]:
    """Unpacked npm packages (`npm pack NAME@VERSION`), for a JavaScript/TypeScript workspace."""
    roots = []
    for spec in specs:
        dest = os.path.join(cache, "npm-" + spec.replace("/", "_").replace("@", "_"))
        if not os.path.isdir(dest):
            os.makedirs(dest, exist_ok=True)
            out = subprocess.run(
                ["npm", "pack", spec, "--silent"], cwd=dest, check=True, capture_output=True, text=True
            )
            tarball = out.stdout.strip().splitlines()[-1]
            subprocess.run(["tar", "-xzf", tarball], cwd=dest, check=True)
        roots.append(os.path.join(dest, "package"))
    return roots


def python_sources(roots: list[str], suffixes: tuple[str, ...] = (".py",)) -> list[tuple[str, str]]:
    """(corpus-relative path, absolute path) of every source file of the corpora."""
    out = []
    for root in roots:
        base = os.path.basename(os.path.dirname(root.rstrip("/"))) if root.endswith("package") else ""
        base = base or os.path.basename(root.rstrip("/"))
        for dp, dns, fns in os.walk(root):
            dns[:] = sorted(d for d in dns if not d.startswith(".") and d not in ("build", "dist", "node_modules"))
            for fn in sorted(fns):
                if fn.endswith(suffixes):
                    ap = os.path.join(dp, fn)
                    out.append((os.path.join(base, os.path.relpath(ap, root)), ap))
    return out


def make_workspace(dest: str, n_files: int, roots: list[str], suffixes: tuple[str, ...] = (".py",)) -> str:
    """A workspace of `n_files` source files: copies copy000/, copy001/, ... of the corpora."""
    sources = python_sources(roots, suffixes)
    if not sources:
        raise SystemExit("no corpus sources; run benchmarks/corpora.sh")
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, ".gitignore"), "w") as fh:
        fh.write("*.log\nbuild/\n")
    k = 0
    copy = 0
    while k < n_files:
        for rel, ap in sources:
            if k >= n_files:
                break
            target = os.path.join(dest, f"copy{copy:03d}", rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(ap, target)
            k += 1
        copy += 1
    return dest


def rss_mb() -> float:
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 1e6
    except ImportError:  # psutil is a dev dependency; fall back to /proc
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def build_with_ticker(workspace: str) -> tuple[ContextEngine, float, list[float]]:
    """Index while a ticker measures how late the event loop wakes up (the stall indexing causes)."""
    engine = ContextEngine()
    engine.add_workspace(workspace)
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append((time.perf_counter() - t - 0.001) * 1000)

    task = asyncio.create_task(ticker())
    t0 = time.perf_counter()
    await engine.build_index()
    build_s = time.perf_counter() - t0
    done.set()
    await task
    return engine, build_s, stalls


async def build_with_completions(workspace: str, sample_files: list[str]) -> tuple[float, list[float]]:
    """Index while a fake completion asks for context every 100 ms; their latency."""
    engine = ContextEngine()
    engine.add_workspace(workspace)
    texts = {}
    for p in sample_files:
        with open(p, encoding="utf-8", errors="replace") as fh:
            texts[p] = fh.read()
    rng = random.Random(1)
    gathers: list[float] = []
    done = asyncio.Event()

    async def completions() -> None:
        while not done.is_set():
            await asyncio.sleep(0.1)
            p = rng.choice(sample_files)
            text = texts[p]
            t = time.perf_counter()
            engine.gather(path=p, text=text, offset=rng.randrange(len(text) + 1), language=None, budget_chars=6000)
            gathers.append((time.perf_counter() - t) * 1000)

    task = asyncio.create_task(completions())
    t0 = time.perf_counter()
    await engine.build_index()
    build_s = time.perf_counter() - t0
    done.set()
    await task
    return build_s, gathers


def measure(workspace: str, sample_files: list[str]) -> dict[str, float]:
    rss_before = rss_mb()
    engine, build_s, stalls = asyncio.run(build_with_ticker(workspace))
    gc.collect()
    rss_after = rss_mb()
    idx = engine.workspaces()[0]
    files, names = len(idx.files), len(idx.by_name)
    usable_s = idx.build_seconds or build_s
    del engine, idx
    gc.collect()
    build2_s, gathers = asyncio.run(build_with_completions(workspace, sample_files))
    return {
        "files_indexed": files,
        "names": names,
        "usable_s": round(usable_s, 2),  # file list and definition headers ready (state "ready")
        "build_s": round(build_s, 2),  # including the grammars' second pass over JS/TS/Go/Rust/Java files
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_with_index": round(rss_after, 1),
        "stall_ms_p50": round(pct(stalls, 0.5), 2),
        "stall_ms_p95": round(pct(stalls, 0.95), 2),
        "stall_ms_p99": round(pct(stalls, 0.99), 2),
        "stall_ms_max": round(max(stalls, default=0.0), 2),
        "build_s_with_completions": round(build2_s, 2),
        "completions_during_build": len(gathers),
        "gather_ms_p50_during_build": round(pct(gathers, 0.5), 2),
        "gather_ms_p95_during_build": round(pct(gathers, 0.95), 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--corpora", help="corpus cache folder (see corpora.sh)")
    ap.add_argument("--keep", help="build the workspace here and keep it")
    ap.add_argument("--npm", help="comma-separated npm packages (NAME@VERSION): a JavaScript/TypeScript workspace")
    args = ap.parse_args()
    suffixes: tuple[str, ...] = (".py",)
    tmp = args.keep or tempfile.mkdtemp(prefix="hoody-bench-index-")
    try:
        if args.npm:
            suffixes = (".ts", ".tsx", ".js", ".mjs", ".cjs", ".jsx")
            cache = os.path.expanduser(os.environ.get("HOODY_CORPORA", "~/.cache/hoody-lsp-corpora"))
            roots = npm_roots(args.npm.split(","), cache)
        else:
            roots = corpus_roots(args.corpora)
        if not os.path.isdir(os.path.join(tmp, "copy000")):
            make_workspace(tmp, args.files, roots, suffixes)
        rng = random.Random(0)
        files = [os.path.join(dp, f) for dp, _, fs in os.walk(tmp) for f in fs if f.endswith(suffixes)]
        sample = rng.sample(files, min(20, len(files)))
        result = measure(tmp, sample)
        result["files_in_workspace"] = len(files)
        print(json.dumps(result, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
