"""End to end: `ContextEngine.gather` on small multi-file workspaces in each supported language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hoody_lsp.context import ContextEngine, Snippet
from tests.context.conftest import built_engine, cursor

Make = Callable[[dict[str, str | bytes]], Path]

PY_FILES: dict[str, str | bytes] = {
    "pkg/__init__.py": "from .core import Engine\nfrom .util import *\n__all__ = ['Engine']\n",
    "pkg/core.py": (
        "from .util import LIMIT\n\n\nclass Engine:\n    '''Runs things.'''\n\n"
        "    def __init__(self, speed: int, name: str = 'e') -> None:\n        self.speed = speed\n\n"
        "    def run(self, n):\n        return n * self.speed\n"
    ),
    "pkg/util.py": (
        'import os\n\nLIMIT = 10\nAPI_KEY = "sk-live-abcdefghijklmnopqrstuvwxyz012345"\n\n\n'
        "def clamp(value, low=0, high=LIMIT):\n    '''Clamp value.'''\n    return max(low, min(high, value))\n\n\n"
        "def connect(password='hunter2-secret'):\n    return password\n"
    ),
    "pkg/geometry.py": "def circle_area(radius):\n    return 3.14 * radius * radius\n",
    "private/keys.py": "def private_helper():\n    pass\n",
    ".hoodyignore": "private/\n",
    ".env": "TOKEN=abc\n",
}


def gather(engine: ContextEngine, root: Path, rel: str, marked: str, budget: int = 4000, lang: str = "python"):  # type: ignore[no-untyped-def]
    text, offset = cursor(marked)
    return engine.gather(path=str(root / rel), text=text, offset=offset, language=lang, budget_chars=budget)


def find(snippets: list[Snippet], rel: str, needle: str) -> Snippet | None:
    return next((s for s in snippets if s.rel == rel and needle in s.content), None)


def check_invariants(snippets: list[Snippet], current: str, budget: int) -> None:
    assert sum(len(s.content) + 1 for s in snippets) <= budget
    assert all(s.rel != current for s in snippets if s.kind != "recent_edit")
    seen: dict[str, list[tuple[int, int]]] = {}
    for s in snippets:
        assert 1 <= s.start_line <= s.end_line
        assert s.content.count("\n") == s.end_line - s.start_line
        for a, b in seen.get(s.rel, []):
            assert s.end_line < a or s.start_line > b, f"overlap in {s.rel}"
        seen.setdefault(s.rel, []).append((s.start_line, s.end_line))


def test_python_imports_resolve_through_reexports(make_workspace: Make) -> None:
    root = make_workspace(PY_FILES)
    engine = built_engine(root)
    snippets = gather(
        engine,
        root,
        "app.py",
        "from pkg import Engine\nfrom pkg.util import clamp\n\n\ndef main(n):\n    e = Engine(n)\n    ‸\n",
    )
    check_invariants(snippets, "app.py", 4000)
    engine_def = find(snippets, "pkg/core.py", "class Engine:")
    assert engine_def is not None and engine_def.kind == "definition" and engine_def.source == "imports"
    assert find(snippets, "pkg/core.py", "def __init__(self, speed: int") is not None  # how to construct it
    clamp = find(snippets, "pkg/util.py", "def clamp(value, low=0, high=LIMIT):")
    assert clamp is not None and clamp.source == "imports"
    # the name used at the cursor comes first
    assert snippets.index(engine_def) < snippets.index(clamp) or engine_def.score >= clamp.score
    assert all(s.path.startswith(str(root)) for s in snippets)


def test_python_module_attributes(make_workspace: Make) -> None:
    root = make_workspace(PY_FILES)
    engine = built_engine(root)
    snippets = gather(engine, root, "app.py", "from pkg import geometry\n\nx = geometry.circle_area(2)\n‸")
    s = find(snippets, "pkg/geometry.py", "def circle_area(radius):")
    assert s is not None and s.score >= 0.9


def test_name_without_import_is_found_by_name(make_workspace: Make) -> None:
    root = make_workspace(PY_FILES)
    engine = built_engine(root)
    snippets = gather(engine, root, "app.py", "def main(r):\n    return circle_area(r)‸\n")
    s = find(snippets, "pkg/geometry.py", "def circle_area")
    assert s is not None and s.source == "lexical"
    # a name being typed
    snippets = gather(engine, root, "app.py", "def main(r):\n    return circle_ar‸\n")
    assert find(snippets, "pkg/geometry.py", "def circle_area") is not None


def test_next_line_needs_are_predicted(make_workspace: Make) -> None:
    """Nothing names `clamp` yet, but the buffer imports from its module and talks about clamping."""
    root = make_workspace(PY_FILES)
    engine = built_engine(root)
    snippets = gather(
        engine, root, "app.py", "from pkg.util import LIMIT\n\n\ndef bounded(value):\n    # clamp the value\n    ‸"
    )
    s = find(snippets, "pkg/util.py", "def clamp")
    assert s is not None and s.kind == "definition"


def test_secrets_and_excluded_files_never_leave(make_workspace: Make) -> None:
    root = make_workspace(PY_FILES)
    engine = built_engine(root)
    snippets = gather(
        engine,
        root,
        "app.py",
        "from pkg.util import API_KEY, connect\nfrom private.keys import private_helper\n\n"
        "connect(API_KEY)\nprivate_helper()‸",
    )
    text = "\n".join(s.content for s in snippets)
    key_line = next(line for line in text.split("\n") if line.startswith("API_KEY ="))
    assert key_line.endswith('<redacted>"')
    assert "abcdefghijklmnopqrstuvwxyz012345" not in text
    assert "hunter2-secret" not in text
    assert not any(s.rel.startswith("private/") for s in snippets)
    assert not any(".env" in s.rel for s in snippets)
    assert not engine.is_allowed(str(root / "private" / "keys.py"))
    assert not engine.is_allowed(str(root / ".env"))


def test_rules_files_come_first(make_workspace: Make) -> None:
    files = dict(PY_FILES)
    files.update(
        {
            "AGENTS.md": "Use tabs.\n",
            "CLAUDE.md": "Prefer small functions.\n",
            ".hoody/instructions.md": "Write docstrings.\n",
            ".github/copilot-instructions.md": "No globals.\n",
            "pkg/AGENTS.md": "Package rules.\n",
        }
    )
    root = make_workspace(files)
    engine = built_engine(root)
    snippets = gather(engine, root, "pkg/new.py", "from .util import clamp\n\nclamp(1)‸")
    rules = [s for s in snippets if s.kind == "rules"]
    assert {s.rel for s in rules} == {
        "AGENTS.md",
        "CLAUDE.md",
        ".hoody/instructions.md",
        ".github/copilot-instructions.md",
        "pkg/AGENTS.md",
    }
    assert snippets[: len(rules)] == rules
    assert all(s.source == "rules" for s in rules)
    assert any(s.content == "Use tabs." for s in rules)
    # a small budget keeps the rules' share bounded
    small = gather(engine, root, "pkg/new.py", "from .util import clamp\n\nclamp(1)‸", budget=100)
    assert sum(len(s.content) + 1 for s in small if s.kind == "rules") <= 30


def test_open_buffers_and_recent_edits(make_workspace: Make) -> None:
    root = make_workspace(PY_FILES)
    engine = built_engine(root)
    notes = str(root / "notes.py")
    engine.open_document(
        notes,
        "\n".join(f"filler_{i} = {i}" for i in range(40))
        + "\ndef parse_invoice(invoice_text, currency):\n    totals = invoice_text.split(currency)\n    return totals\n"
        + "\n".join(f"other_{i} = {i}" for i in range(40)),
        "python",
    )
    other = str(root / "pkg" / "core.py")
    engine.open_document(other, (root / "pkg" / "core.py").read_text(), "python")
    engine.change_document(
        other, (root / "pkg" / "core.py").read_text() + "\n\ndef added_recently():\n    return 42\n", (12, 14)
    )
    snippets = gather(
        engine, root, "app.py", "def handle(invoice_text, currency):\n    totals = invoice_text.split(currency)\n    ‸"
    )
    check_invariants(snippets, "app.py", 4000)
    win = next((s for s in snippets if s.kind == "open_file"), None)
    assert win is not None and win.rel == "notes.py" and "def parse_invoice" in win.content
    recent = next((s for s in snippets if s.kind == "recent_edit"), None)
    assert recent is not None and recent.rel == "pkg/core.py" and "added_recently" in recent.content


def test_outside_any_workspace_and_untitled(make_workspace: Make, tmp_path: Path) -> None:
    engine = ContextEngine()
    text, offset = cursor("x = 1\n‸")
    assert (
        engine.gather(path=str(tmp_path / "loose.py"), text=text, offset=offset, language="python", budget_chars=500)
        == []
    )
    assert engine.gather(path="untitled:Untitled-1", text=text, offset=offset, language=None, budget_chars=500) == []
    assert engine.is_allowed("untitled:Untitled-1")
    assert engine.workspace_for("untitled:Untitled-1") is None


def test_javascript_and_typescript(make_workspace: Make) -> None:
    root = make_workspace(
        {
            "src/util/math.ts": (
                "export function clamp(value: number, low = 0, high = 10): number {\n"
                "  return Math.max(low, Math.min(high, value));\n}\n\n"
                "export class Vector {\n  constructor(public x: number, public y: number) {}\n"
                "  length(): number { return Math.hypot(this.x, this.y); }\n}\n"
            ),
            "src/util/index.ts": 'export * from "./math";\nexport { default as log } from "./log";\n',
            "src/util/log.ts": "export default function log(msg: string): void {\n  console.log(msg);\n}\n",
            "lib/format.js": "function pad(s, n) {\n  return s.padStart(n);\n}\nmodule.exports = { pad };\n",
        }
    )
    engine = built_engine(root)
    snippets = gather(
        engine,
        root,
        "src/app.ts",
        'import { clamp, Vector } from "./util";\nimport log from "./util/log";\n\n'
        "export function main(n: number) {\n  const v = new Vector(1, 2);\n  log('x');\n  return clamp(‸);\n}\n",
        lang="typescript",
    )
    check_invariants(snippets, "src/app.ts", 4000)
    assert find(snippets, "src/util/math.ts", "export function clamp(") is not None
    assert find(snippets, "src/util/math.ts", "export class Vector") is not None
    assert find(snippets, "src/util/log.ts", "export default function log(") is not None
    js = gather(
        engine,
        root,
        "lib/main.js",
        "const { pad } = require('./format');\n\nconsole.log(pad('a', 3));‸",
        lang="javascript",
    )
    assert find(js, "lib/format.js", "function pad(s, n)") is not None


def test_go(make_workspace: Make) -> None:
    root = make_workspace(
        {
            "go.mod": "module example.com/demo\n\ngo 1.21\n",
            "pkg/util/util.go": (
                "package util\n\n// Clamp limits v.\nfunc Clamp(v, lo, hi int) int {\n"
                "\tif v < lo {\n\t\treturn lo\n\t}\n"
                "\treturn v\n}\n\ntype Server struct {\n\tAddr string\n}\n"
            ),
            "cmd/helper.go": "package main\n\nfunc helperValue() int { return 3 }\n",
        }
    )
    engine = built_engine(root)
    snippets = gather(
        engine,
        root,
        "cmd/main.go",
        'package main\n\nimport (\n\t"fmt"\n\t"example.com/demo/pkg/util"\n)\n\nfunc main() {\n'
        '\ts := &util.Server{Addr: ":80"}\n\tfmt.Println(util.Clamp(helperValue(), 0, 10), s)‸\n}\n',
        lang="go",
    )
    check_invariants(snippets, "cmd/main.go", 4000)
    assert find(snippets, "pkg/util/util.go", "func Clamp(v, lo, hi int) int {") is not None
    assert find(snippets, "pkg/util/util.go", "type Server struct") is not None
    assert find(snippets, "cmd/helper.go", "func helperValue()") is not None  # same package, no import


def test_rust(make_workspace: Make) -> None:
    root = make_workspace(
        {
            "src/geo/mod.rs": "pub mod shapes;\n",
            "src/geo/shapes.rs": (
                "pub struct Circle {\n    pub r: f64,\n}\n\nimpl Circle {\n    pub fn area(&self) -> f64 {\n"
                "        3.14 * self.r * self.r\n    }\n}\n\npub fn unit() -> Circle {\n    Circle { r: 1.0 }\n}\n"
            ),
        }
    )
    engine = built_engine(root)
    snippets = gather(
        engine,
        root,
        "src/main.rs",
        "mod geo;\nuse crate::geo::shapes::{Circle, unit};\n\n"
        'fn main() {\n    let c = unit();\n    println!("{}", c.area());‸\n}\n',
        lang="rust",
    )
    check_invariants(snippets, "src/main.rs", 4000)
    assert find(snippets, "src/geo/shapes.rs", "pub fn unit() -> Circle") is not None
    assert find(snippets, "src/geo/shapes.rs", "pub struct Circle") is not None


def test_java(make_workspace: Make) -> None:
    root = make_workspace(
        {
            "src/com/acme/model/User.java": (
                "package com.acme.model;\n\npublic class User {\n    private final String name;\n\n"
                "    public User(String name) {\n        this.name = name;\n    }\n\n"
                '    public String greet(String other) {\n        return "hi " + other;\n    }\n}\n'
            ),
        }
    )
    engine = built_engine(root)
    snippets = gather(
        engine,
        root,
        "src/com/acme/app/Main.java",
        "package com.acme.app;\n\nimport com.acme.model.User;\n\npublic class Main {\n"
        "    public static void main(String[] args) {\n"
        '        User u = new User("bob");\n        u.greet(‸);\n    }\n}\n',
        lang="java",
    )
    check_invariants(snippets, "src/com/acme/app/Main.java", 4000)
    user = find(snippets, "src/com/acme/model/User.java", "public class User")
    assert user is not None and user.source == "imports"
    assert any("greet" in s.content for s in snippets)


def test_gather_never_returns_the_current_file_even_when_indexed(make_workspace: Make) -> None:
    root = make_workspace({"a.py": "def secret_answer():\n    return 42\n", "b.py": "from a import secret_answer\n"})
    engine = built_engine(root)
    # the buffer of a.py now differs from disk: the disk copy must not be used for it
    snippets = gather(engine, root, "a.py", "def other():\n    secret_answer‸\n")
    assert not any(s.rel == "a.py" for s in snippets)


def test_each_workspace_has_its_own_rules(make_workspace: Make) -> None:
    a = make_workspace({"AGENTS.md": "Rules of A.\n", "x.py": "def ax(): pass\n"})
    b = make_workspace({"AGENTS.md": "Rules of B!\n", "y.py": "def by(): pass\n"})
    engine = ContextEngine()
    engine.add_workspace(str(a))
    engine.add_workspace(str(b))
    engine.build_index_sync()
    for root, expected in ((a, "Rules of A."), (b, "Rules of B!"), (a, "Rules of A.")):
        snippets = gather(engine, root, "new.py", "x = 1\n‸")
        rules = [s for s in snippets if s.kind == "rules"]
        assert [(s.rel, s.path, s.content) for s in rules] == [("AGENTS.md", str(root / "AGENTS.md"), expected)]


def test_before_the_index_is_built_imports_are_read_on_demand(make_workspace: Make) -> None:
    root = make_workspace(
        {
            "pkg/__init__.py": "",
            "pkg/util.py": "def total(x: int) -> int:\n    return x * 2\n",
            "web/api.ts": "export function fetchUser(id: string): User {\n  return load(id);\n}\n",
            "other.py": "def unrelated(): pass\n",
        }
    )
    engine = ContextEngine()
    engine.add_workspace(str(root))  # no build yet: a completion may come first
    snippets = gather(engine, root, "main.py", "from pkg.util import total\n\nprint(total(‸")
    assert find(snippets, "pkg/util.py", "def total(x: int) -> int:") is not None
    snippets = gather(
        engine, root, "web/app.ts", 'import { fetchUser } from "./api";\n\nfetchUser(‸', lang="typescript"
    )
    assert find(snippets, "web/api.ts", "export function fetchUser(") is not None
    idx = engine.workspaces()[0]
    assert "other.py" not in idx.files  # nothing else was read
    engine.build_index_sync()
    assert {"pkg/util.py", "other.py", "web/api.ts"} <= set(idx.files)
