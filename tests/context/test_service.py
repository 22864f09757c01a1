"""`hoody-lsp context`: the JSON-lines service and the one-shot command, as SPEC.md describes them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from hoody_lsp.context.service import ContextService, serve_jsonl

Make = Callable[[dict[str, str | bytes]], Path]

FILES: dict[str, str | bytes] = {
    "pkg/__init__.py": "",
    "pkg/b.py": "LIMIT = 3\n\n\ndef helper(x, y=LIMIT):\n    '''Help.'''\n    return x + y\n",
    "pkg/mod.py": "from .b import helper\n\n\ndef run(v):\n    total = 0\n    return helper(v)\n",
    "pkg/secret_disk.py": "def only_on_disk():\n    pass\n",
    ".env": "TOKEN=abc\n",
}
KEYS = {"file", "start_line", "end_line", "kind", "source", "score"}


def run_lines(requests: list[object]) -> list[dict]:
    out = io.StringIO()
    lines = [r if isinstance(r, str) else json.dumps(r) for r in requests]
    serve_jsonl(iter(line + "\n" for line in lines), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_jsonl_protocol(make_workspace: Make) -> None:
    root = make_workspace(FILES)
    text = (root / "pkg" / "mod.py").read_text()
    cut = text.index("return helper")
    answers = run_lines(
        [
            {"method": "initialize", "workspace": str(root)},
            {
                "method": "context",
                "workspace": str(root),
                "file": "pkg/mod.py",
                "line": 6,
                "col": 4,
                "budget_chars": 6000,
                "language": "python",
                "prefix": text[:cut],
                "suffix": text[cut:],
                "open_files": ["pkg/b.py"],
                "recent_files": [],
            },
            "{not json",
            {"method": "nope"},
            {"method": "context", "workspace": str(root)},
            {"method": "context", "workspace": str(root / "missing"), "file": "a.py", "line": 1, "col": 0},
            {"method": "context", "workspace": str(root), "file": ".env", "line": 1, "col": 0},
            {"method": "context", "workspace": str(root), "file": "pkg/mod.py", "line": "x", "col": 0},
            # absolute file, no prefix/suffix: the disk text, cursor from line/col
            {"method": "context", "workspace": str(root), "file": str(root / "pkg" / "mod.py"), "line": 6, "col": 11},
        ]
    )
    assert len(answers) == 9  # one answer per request line, in order
    assert answers[0] == {"ok": True}
    snippets = answers[1]["snippets"]
    assert snippets and all(set(s) >= KEYS for s in snippets)
    first = snippets[0]
    assert first["file"] == "pkg/b.py" and first["kind"] == "definition" and first["source"] == "imports"
    assert first["start_line"] == 4 and "def helper(x, y=LIMIT):" in first["content"]
    assert all(s["kind"] in ("definition", "open_file", "recent_edit", "retrieved", "rules") for s in snippets)
    assert not any(s["file"] == "pkg/mod.py" for s in snippets)
    for k in range(2, 8):
        assert set(answers[k]) == {"error"}, answers[k]
    assert "invalid JSON" in answers[2]["error"]
    assert "unknown method" in answers[3]["error"]
    assert "file" in answers[4]["error"]
    assert "not found" in answers[5]["error"]
    assert "excluded" in answers[6]["error"]
    assert "line" in answers[7]["error"]
    assert answers[8]["snippets"][0]["file"] == "pkg/b.py"


def test_prefix_and_suffix_replace_the_disk_text(make_workspace: Make) -> None:
    root = make_workspace(FILES)
    svc = ContextService()
    assert svc.handle({"method": "initialize", "workspace": str(root)}) == {"ok": True}
    # the buffer no longer imports helper; it uses something only its own (unsaved) text defines
    prefix = "def only_here():\n    pass\n\n\nonly_here()\n"
    ans = svc.handle(
        {
            "method": "context",
            "workspace": str(root),
            "file": "pkg/mod.py",
            "line": 6,
            "col": 0,
            "prefix": prefix,
            "suffix": "",
        }
    )
    assert "snippets" in ans
    assert not any(s["file"] == "pkg/mod.py" for s in ans["snippets"])
    assert not any("def helper" in s["content"] and s["source"] == "imports" for s in ans["snippets"])


def test_several_workspaces_and_implicit_initialize(make_workspace: Make) -> None:
    a = make_workspace(FILES)
    b = make_workspace({"lib/x.py": "def xenon(): pass\n"})
    svc = ContextService()
    assert svc.handle({"method": "initialize", "workspace": str(a)}) == {"ok": True}
    ans = svc.handle(
        {
            "method": "context",
            "workspace": str(b),
            "file": "main.py",
            "line": 1,
            "col": 5,
            "prefix": "xenon",
            "suffix": "()\n",
        }
    )
    assert any(s["file"] == "lib/x.py" for s in ans["snippets"])


def test_stdio_subprocess_and_one_shot_command(make_workspace: Make) -> None:
    root = make_workspace(FILES)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    reqs = [
        {"method": "initialize", "workspace": str(root)},
        {"method": "context", "workspace": str(root), "file": "pkg/mod.py", "line": 6, "col": 11},
        {"bad": "request"},
        {"method": "context", "workspace": str(root), "file": "pkg/mod.py", "line": 6, "col": 11},
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "hoody_lsp", "context", "--stdio"],
        input="".join(json.dumps(r) + "\n" for r in reqs),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == 4 and answers[0] == {"ok": True}
    assert answers[1]["snippets"][0]["file"] == "pkg/b.py"
    assert "error" in answers[2]
    assert answers[3] == answers[1]
    one = subprocess.run(
        [sys.executable, "-m", "hoody_lsp", "context", "--workspace", str(root), "--file", "pkg/mod.py",
         "--line", "6", "--col", "11", "--budget", "500", "--json"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    data = json.loads(one.stdout)
    assert data["snippets"][0]["file"] == "pkg/b.py"
    assert sum(len(s["content"]) + 1 for s in data["snippets"]) <= 500
    bad = subprocess.run(
        [sys.executable, "-m", "hoody_lsp", "context", "--workspace", str(root), "--json"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stdout == ""
    err = subprocess.run(
        [sys.executable, "-m", "hoody_lsp", "context", "--workspace", str(root), "--file", ".env",
         "--line", "1", "--col", "0", "--json"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert err.returncode == 1 and "error" in json.loads(err.stdout)
