"""Run ctxbench (the model-free context benchmark) on the corpora, default and hard settings, and print one
table: recall at the budget of `hoody-lsp context --stdio` next to every built-in baseline.

    .venv/bin/python benchmarks/ctxbench_run.py [--n 200] [--budget 6000] [--corpora DIR] [--only click,rich]
        [--ctxbench PATH/TO/ctxbench.py] [--json out.json]

Each corpus is run on its own (`--n` positions each) so every corpus weighs the same; the corpora come from
benchmarks/corpora.sh (sources of pure-Python packages, pinned versions). The hard setting is
`--hide-import --no-suffix`: the target's import is removed and nothing after the cursor is shown.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASELINES = ["random", "jaccard-tabs", "bm25", "bm25-defs", "imports", "imports-sig", "hybrid"]
SETTINGS = {"default": [], "hard": ["--hide-import", "--no-suffix"]}


def find_ctxbench(given: str | None) -> str:
    for cand in (
        given,
        os.environ.get("CTXBENCH"),
        os.path.join(ROOT, "..", "shared", "tools", "ctxbench", "ctxbench.py"),
    ):
        if cand and os.path.isfile(cand):
            return os.path.abspath(cand)
    raise SystemExit("ctxbench.py not found: pass --ctxbench PATH or set CTXBENCH")


def corpus_roots(cache: str | None) -> list[str]:
    cmd = ["sh", os.path.join(HERE, "corpora.sh")] + ([cache] if cache else [])
    env = dict(os.environ, PYTHON=os.environ.get("PYTHON", sys.executable))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [line for line in out.splitlines() if line.strip()]


def run_one(ctxbench: str, corpus: str, setting: str, n: int, budget: int) -> dict:
    sut = f"{shlex.quote(sys.executable)} -m hoody_lsp context --stdio"
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    try:
        cmd = [
            sys.executable, ctxbench, "run", corpus, "--n", str(n), "--budget", str(budget),
            "--systems", ",".join(BASELINES), "--sut-jsonl", sut, "--sut-name", "hoody-lsp", "--out", out,
            *SETTINGS[setting],
        ]  # fmt: skip
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        with open(out) as fh2:
            return json.load(fh2)
    finally:
        os.unlink(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="positions per corpus")
    ap.add_argument("--budget", type=int, default=6000)
    ap.add_argument("--corpora", help="corpus cache folder (see corpora.sh)")
    ap.add_argument("--only", help="comma-separated corpus name prefixes")
    ap.add_argument("--ctxbench")
    ap.add_argument("--json", help="also write every figure here")
    args = ap.parse_args()
    ctxbench = find_ctxbench(args.ctxbench)
    roots = corpus_roots(args.corpora)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        roots = [r for r in roots if any(os.path.basename(r).startswith(w) for w in wanted)]
    rows = []
    for corpus in roots:
        for setting in SETTINGS:
            rep = run_one(ctxbench, corpus, setting, args.n, args.budget)
            systems = rep["systems"]
            row = {
                "corpus": os.path.basename(corpus),
                "setting": setting,
                "positions": rep["diagnostics"]["positions"],
                "hoody-lsp": systems["hoody-lsp"]["recall_sig"],
                "ms_per_position": systems["hoody-lsp"]["ms_per_position"],
                "errors": systems["hoody-lsp"]["errors"],
            }
            for b in BASELINES:
                row[b] = systems[b]["recall_sig"]
            row["best_baseline"] = max(BASELINES, key=lambda b: row[b])
            rows.append(row)
            print(
                f"{row['corpus']:<18} {setting:<8} n={row['positions']:<4} hoody-lsp={row['hoody-lsp']:.3f} "
                f"best baseline {row['best_baseline']}={row[row['best_baseline']]:.3f}",
                file=sys.stderr,
            )
    cols = ["hoody-lsp", *BASELINES]
    print(f"| corpus | setting | n | {' | '.join(cols)} |")
    print("|---|---|---|" + "---|" * len(cols))
    for row in rows:
        cells = [f"**{row[c]:.3f}**" if c == "hoody-lsp" else f"{row[c]:.3f}" for c in cols]
        print(f"| {row['corpus']} | {row['setting']} | {row['positions']} | {' | '.join(cells)} |")
    for setting in SETTINGS:
        sel = [r for r in rows if r["setting"] == setting]
        if sel:
            total = sum(r["positions"] for r in sel)
            mean = {c: sum(r[c] * r["positions"] for r in sel) / total for c in cols}
            cells = [f"**{mean[c]:.3f}**" if c == "hoody-lsp" else f"{mean[c]:.3f}" for c in cols]
            print(f"| all (pooled) | {setting} | {total} | {' | '.join(cells)} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
