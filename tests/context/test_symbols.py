"""Definitions and imports per language: the Python header scan (checked against `ast`), tree-sitter
languages, the plain-text fallback, and the fast buffer scan."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoody_lsp.context.symbols import (
    BufferScans,
    extract,
    language_for_path,
    normalize_language,
    python_definitions_exact,
    scan_buffer,
    scan_python,
)
from hoody_lsp.context.text import line_starts, line_starts_of

PY_SOURCE = '''"""Module docstring.

def not_a_function():
    pass
"""
import os
import pkg.sub as sub
from . import sibling
from ..parent import (
    alpha,
    beta as b,
)
from .star import *

LIMIT = 10
a, b2 = 1, 2
x = y = 3
TYPED: int = 4
ANNOTATED: "dict[str, int]"
MULTI = dict(
    key=1,
    other=2,
)


@decorator
@other.decorator(
    "arg(",
)
def decorated(a,
              b: int = 1) -> str:
    """Doc."""
    text = """
def fake_inside_string():
"""
    def nested():
        pass
    return text


async def fetch(url):
    return url


class Base(object):
    """A class."""

    attr = 1

    def method(self, x):
        return x

    @property
    def prop(self):
        return 1

    class Inner:
        def inner_method(self):
            pass


if TYPE_CHECKING:
    from typing import Any

    def conditional():
        pass
else:
    conditional = None

try:
    import json
except ImportError:
    json = None

for i in range(3):
    LOOP_VAR = i


def last(): return 1
'''


def _key(defs: list) -> set[tuple]:
    return {(d.name, d.kind, d.start, d.name_line, d.end, d.parent) for d in defs}


def test_python_scan_matches_ast() -> None:
    exact = python_definitions_exact(PY_SOURCE)
    assert exact is not None
    scanned = scan_python(PY_SOURCE).defs
    assert _key(scanned) == _key(exact)
    names = [(d.name, d.kind, d.parent) for d in scanned]
    assert ("decorated", "function", None) in names
    assert ("method", "method", "Base") in names
    assert ("inner_method", "method", "Inner") in names
    assert ("conditional", "function", None) in names
    assert not any(n[0] in ("not_a_function", "fake_inside_string", "nested", "LOOP_VAR") for n in names)


def test_python_spans() -> None:
    defs = {d.name: d for d in scan_python(PY_SOURCE).defs}
    lines = PY_SOURCE.split("\n")
    d = defs["decorated"]
    assert lines[d.start - 1] == "@decorator"
    assert lines[d.name_line - 1].startswith("def decorated(a,")
    assert lines[d.sig_end - 1].strip() == "b: int = 1) -> str:"
    assert lines[d.end - 1].strip() == "return text"
    assert defs["last"].start == defs["last"].end  # a one-line function
    m = defs["MULTI"]
    assert lines[m.end - 1] == ")"


def test_python_imports() -> None:
    imps = [(i.local, i.module, i.name, i.star) for i in scan_python(PY_SOURCE).imports]
    assert ("os", "os", None, False) in imps
    assert ("sub", "pkg.sub", None, False) in imps
    assert ("sibling", ".", "sibling", False) in imps
    assert ("alpha", "..parent", "alpha", False) in imps
    assert ("b", "..parent", "beta", False) in imps
    assert ("", ".star", None, True) in imps
    assert ("Any", "typing", "Any", False) in imps


def test_header_snippet_is_attached() -> None:
    d = next(d for d in extract(PY_SOURCE, "python").defs if d.name == "decorated")
    lines = PY_SOURCE.split("\n")
    assert d.text == "\n".join(lines[d.sig_start - 1 : d.sig_stop])
    assert d.text.endswith("b: int = 1) -> str:")


@pytest.mark.parametrize(
    ("language", "source", "expected", "imports"),
    [
        (
            "javascript",
            "import x, { a, b as c } from './m';\nconst { d } = require('./n');\n"
            "export function f(a) {\n  return a;\n}\nclass K extends B {\n  m() {}\n}\n"
            "export const g = (x) => {\n  return x;\n};\nfunction outer() { const local = 1; }\n",
            {
                ("f", "function", None),
                ("K", "class", None),
                ("m", "method", "K"),
                ("g", "variable", None),
                ("outer", "function", None),
            },
            {("x", "./m", "default"), ("a", "./m", "a"), ("c", "./m", "b"), ("d", "./n", "d")},
        ),
        (
            "typescript",
            "import type { T } from './types';\nexport interface Shape { area(): number }\n"
            "export type Id = string;\nexport enum Color { Red }\nexport abstract class Base {\n"
            "  abstract run(): void;\n  go(x: number): number { return x; }\n}\nexport * from './more';\n",
            {
                ("Shape", "interface", None),
                ("Id", "type", None),
                ("Color", "enum", None),
                ("Base", "class", None),
                ("go", "method", "Base"),
            },
            {("T", "./types", "T")},
        ),
        (
            "go",
            'package main\n\nimport (\n\t"fmt"\n\tu "example.com/x/util"\n)\n\nconst Max = 3\n\n'
            "type Server struct {\n\tAddr string\n}\n\nfunc (s *Server) Start() error {\n\treturn nil\n}\n\n"
            "func main() {\n\tfmt.Println(u.Clamp(1))\n}\n",
            {
                ("Max", "variable", None),
                ("Server", "type", None),
                ("Start", "method", "Server"),
                ("main", "function", None),
            },
            {("fmt", "fmt", None), ("u", "example.com/x/util", None)},
        ),
        (
            "rust",
            "use crate::geo::{shapes::Circle, unit as make_unit};\nuse std::io;\n\npub struct P { x: i32 }\n\n"
            "impl P {\n    pub fn new() -> Self { P { x: 0 } }\n}\n\npub trait T { fn t(&self); }\n\n"
            "pub fn free(a: i32) -> i32 {\n    a\n}\nconst K: i32 = 1;\n",
            {
                ("P", "class", None),
                ("new", "method", "P"),
                ("T", "interface", None),
                ("free", "function", None),
                ("K", "variable", None),
            },
            {("Circle", "crate::geo::shapes", "Circle"), ("make_unit", "crate::geo", "unit"), ("io", "std", "io")},
        ),
        (
            "java",
            "package a.b;\n\nimport com.acme.model.User;\nimport java.util.*;\n\npublic class Main {\n"
            "    static final int LIMIT = 3;\n    public Main() {}\n    public void run(String s) {\n    }\n}\n",
            {("Main", "class", None), ("LIMIT", "variable", "Main"), ("run", "method", "Main")},
            {("User", "com.acme.model", "User")},
        ),
    ],
)
def test_tree_sitter_languages(language: str, source: str, expected: set, imports: set) -> None:
    syms = extract(source, language)
    got = {(d.name, d.kind, d.parent) for d in syms.defs}
    assert expected <= got
    assert not any(d.name == "local" for d in syms.defs)  # locals of function bodies are not definitions
    got_imports = {(i.local, i.module, i.name) for i in syms.imports}
    assert imports <= got_imports
    for d in syms.defs:
        assert 1 <= d.start <= d.name_line <= d.sig_end <= d.end
        assert d.text  # the header snippet is kept


def test_tree_sitter_spans_and_signature() -> None:
    src = "export function compute(\n  a: number,\n  b: number,\n): number {\n  return a + b;\n}\n"
    d = extract(src, "typescript").defs[0]
    assert (d.start, d.name_line, d.sig_end, d.end) == (1, 1, 4, 6)
    assert d.text.endswith("): number {")


def test_plain_text_fallback() -> None:
    src = "module Util\n  def self.helper(x)\n    x\n  end\nend\n\nclass Thing\nend\n"
    names = {d.name for d in extract(src, "ruby").defs}
    assert {"Util", "Thing"} <= names
    assert extract("just prose\n", None).defs == []


def test_broken_text_never_raises() -> None:
    for lang in ("python", "javascript", "typescript", "tsx", "go", "rust", "java", "c"):
        extract("def (((( class { fn <<< \"\"\" '''", lang)


def test_languages() -> None:
    assert language_for_path("a/b.py") == "python"
    assert language_for_path("x.tsx") == "tsx"
    assert language_for_path("Makefile") is None
    assert normalize_language("typescriptreact") == "tsx"
    assert normalize_language(None, "a.go") == "go"
    assert normalize_language("plaintext", "a.rs") == "rust"


def test_buffer_scan_finds_imports_and_names_fast() -> None:
    text = PY_SOURCE * 20
    lines = text.split("\n")
    syms = scan_buffer(text, lines, line_starts(text), "python")
    locals_ = {d.name for d in syms.defs}
    assert {"decorated", "Base", "LIMIT", "method"} <= locals_
    assert ("sibling", ".", "sibling") in {(i.local, i.module, i.name) for i in syms.imports}
    js = "import { a } from './a';\nimport {\n  b,\n  c,\n} from '../b';\nfunction f() {}\n"
    syms = scan_buffer(js, js.split("\n"), line_starts(js), "typescript")
    assert {(i.local, i.module, i.line, i.end) for i in syms.imports} >= {("a", "./a", 1, 1), ("b", "../b", 2, 5)}
    assert "f" in {d.name for d in syms.defs}


def test_python_scan_survives_tricky_strings() -> None:
    src = (
        'SPLIT = re.compile(r"""\n(\n "(?:[^"\\\\]|\\\\.)*"  |\n)\n""", re.VERBOSE)\n'
        "LINE = re.compile(r'(?<!\\\\)(\\r\\n|\\n)')\n\n\n"
        "def after(a):\n    return a\n\n\n"
        "MSG = \"a ''' inside a plain string\"\n\n\n"
        "def last():\n"
        '    raise ValueError(f"bad {x}: \\\n'
        'continued at column zero")\n'
        "    return 1\n\n\n"
        "(A, B) = 1, 2\n"
        "match = 3\n"
    )
    exact = python_definitions_exact(src)
    assert exact is not None
    assert _key(scan_python(src).defs) == _key(exact)
    assert {d.name for d in scan_python(src).defs} == {"SPLIT", "LINE", "after", "MSG", "last", "A", "B", "match"}


@pytest.mark.parametrize(
    ("language", "source"),
    [
        (
            "typescript",
            "export interface Shape {\n  area(): number;\n}\n\nexport class Circle implements Shape {\n"
            "  constructor(private r: number) {\n  }\n\n  area(): number {\n    if (this.r) {\n      return 1;\n    }\n"
            "    return 3.14 * this.r * this.r;\n  }\n}\n\nexport const unit = (): Circle => {\n"
            "  return new Circle(1);\n};\n"
            "function helper(a: number) {\n  const local = a;\n  return local;\n}\n",
        ),
        (
            "go",
            "package geo\n\ntype Circle struct {\n\tR float64\n}\n\nfunc (c *Circle) Area() float64 {\n"
            "\treturn c.R\n}\n\n"
            "func Unit() *Circle {\n\treturn &Circle{R: 1}\n}\n\nconst Pi = 3.14\n",
        ),
        (
            "rust",
            "pub struct Circle {\n    pub r: f64,\n}\n\nimpl Circle {\n    pub fn area(&self) -> f64 {\n"
            "        self.r\n    }\n}\n\n"
            "pub fn unit() -> Circle {\n    Circle { r: 1.0 }\n}\n",
        ),
        (
            "java",
            "package geo;\n\npublic class Circle {\n    private double r;\n"
            "\n    public Circle(double r) {\n        this.r = r;\n"
            "    }\n\n    public double area() {\n        if (r > 0) {\n            return r;\n"
            "        }\n        return 0;\n    }\n}\n",
        ),
    ],
)
def test_quick_scan_agrees_with_the_grammar(language: str, source: str) -> None:
    quick = extract(source, language, exact=False).defs
    exact = extract(source, language).defs
    exact_keys = {(d.name, d.name_line, d.end, d.parent) for d in exact}
    assert quick, "the quick scan finds headers"
    assert {(d.name, d.name_line, d.end, d.parent) for d in quick} <= exact_keys
    top = {d.name for d in exact if d.parent is None and d.kind != "variable"}
    assert top <= {d.name for d in quick}
    assert not any(d.name in ("local", "if") for d in quick)


_PY_LINES = [
    "import os", "from pkg import (", "    a,", "    b as c,", ")", "from x import y \\", "    , z",
    "def f(x):", "class K(Base):", "    def m(self):", "        return x", "VALUE = 1", "a, b = 1, 2",
    "    total = helper(x)", "    pass", "", "# import nothing", "    if x:", "async def g():",
]
_GO_LINES = ["import (", '    "fmt"', ")", "func main() {", "    x := 1", "}", "type T struct {", "var v = 2", ""]


@settings(max_examples=300, deadline=None)
@given(
    language=st.sampled_from(["python", "go", "rust"]),
    seed_lines=st.lists(st.integers(0, 100), min_size=1, max_size=40),
    edits=st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 3), st.lists(st.integers(0, 100), max_size=3)), max_size=6
    ),
    cursor_shift=st.sampled_from([0, 0, 0, 1, -2, 9, -12, 30]),  # mostly at the edit, sometimes far from it
)
def test_buffer_scans_reused_across_edits_equal_a_fresh_scan(
    language: str, seed_lines: list[int], edits: list[tuple[int, int, list[int]]], cursor_shift: int
) -> None:
    """Each edit replaces a few lines at the cursor; the reused (and moved) result must equal a fresh scan."""
    pool = _PY_LINES if language == "python" else [*_GO_LINES, "use a::{b,", "    c};", "fn f() {", "    let x = 1;"]
    lines = [pool[i % len(pool)] for i in seed_lines]
    scans = BufferScans()

    def check(lines: list[str], cursor_line: int) -> None:
        text = "\n".join(lines)
        split = text.split("\n")
        starts = line_starts_of(split)
        got = scans.scan("buf", text, split, starts, language, cursor_line)
        want = scan_buffer(text, split, starts, language)
        assert [(d.name, d.name_line, d.start, d.end) for d in got.defs] == [
            (d.name, d.name_line, d.start, d.end) for d in want.defs
        ], text
        assert [(i.local, i.module, i.name, i.line, i.end) for i in got.imports] == [
            (i.local, i.module, i.name, i.line, i.end) for i in want.imports
        ], text

    check(lines, 0)
    for at, removed, added in edits:
        at = min(at, len(lines))
        lines = lines[:at] + [pool[i % len(pool)] for i in added] + lines[at + removed :]
        check(lines, max(0, min(at + cursor_shift, len(lines) - 1)))


def test_buffer_scans_move_definitions_below_an_inserted_line() -> None:
    scans = BufferScans()
    before = ["import os", "", "def f():", "    x = 1", "", "def g():", "    pass"]
    after = [*before[:4], "    y = 2", *before[4:]]
    for lines, cursor in ((before, 3), (after, 4)):
        text = "\n".join(lines)
        got = scans.scan("buf", text, lines, line_starts_of(lines), "python", cursor)
    assert [(d.name, d.name_line) for d in got.defs] == [("f", 3), ("g", 7)]
