"""Post-processing of inline completions: each filter with its own table of cursor-marked cases, then the
whole chain (`clean`) across languages, indentation styles, line endings, Unicode and partial streams.

A case is `(marked document, raw model answer, expected)`; `║` marks the cursor.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hoody_lsp.completion import CursorContext, clean, split_cursor
from hoody_lsp.completion import postprocess as pp

JS = {"language": "javascript", "indent": "  "}
TS = {"language": "typescript", "indent": "  "}
GO = {"language": "go", "indent": "\t"}
RUST = {"language": "rust", "indent": "    "}


def ctx(
    marked: str,
    language: str | None = "python",
    indent: str = "    ",
    multiline: bool | None = None,
    max_chars: int = 4000,
) -> CursorContext:
    prefix, suffix = split_cursor(marked)
    return CursorContext(prefix, suffix, language, indent, multiline=multiline, max_chars=max_chars)


Filter = Callable[[str, CursorContext], str]


def run(flt: Filter, marked: str, raw: str, **options: object) -> str:
    return flt(raw, ctx(marked, **options))  # type: ignore[arg-type]


# --- special tokens --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "ended"),
    [
        ("x = 1<|endoftext|>junk", "x = 1", True),
        ("<|fim_middle|>y = 2", "y = 2", False),  # a start marker goes, the answer follows it
        ("a<|im_end|>\n", "a", True),
        ("b<fim_suffix>c", "b", True),
        ("c <EOT>", "c ", True),
        ("d</s>", "d", True),
        ("<s>struck</s> text", "<s>struck</s> text", False),  # HTML, not a token
        ("e<|file_separator|>other.py", "e", True),
        ("f<｜end▁of▁sentence｜>", "f", True),
        ("<|endoftext|>", "", True),
        ("a <|> b", "a <|> b", False),  # Haskell's alternative operator
        ("plain\ntext", "plain\ntext", False),
    ],
)
def test_cut_special_tokens(raw: str, expected: str, ended: bool) -> None:
    assert pp.cut_special_tokens(raw) == (expected, ended)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<think>\nthe user wants x\nx = 2\n</think>\nx = 1", "x = 1"),
        ("<think>still thinking\nx = 2\n", ""),  # never its draft
        ("maybe x = 2?\n</think>\nx = 1", "x = 1"),  # the opening tag was in the prompt
        ("x = 1", "x = 1"),
    ],
)
def test_strip_reasoning(raw: str, expected: str) -> None:
    assert pp.strip_reasoning(raw) == expected


# --- markdown ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "language", "expected"),
    [
        ("```python\nx = 1\n```", "python", "x = 1"),
        ("Here is the code:\n```js\nfoo();\nbar();\n```\nHope it helps!", "javascript", "foo();\nbar();"),
        ("x = 1\n```\nThis sets x.", "python", "x = 1"),  # code, then a lone closing fence and prose
        ("```\nx = 1", "python", "x = 1"),  # a stream cut before the closing fence
        ("Sure! Here's the completion:\n\nx = 1", "python", "x = 1"),
        ("x = 1\ny = 2", "python", "x = 1\ny = 2"),
        ("```python\nx = 1\n```", "markdown", "```python\nx = 1\n```"),  # fences are content in Markdown
    ],
)
def test_strip_markdown(raw: str, language: str, expected: str) -> None:
    assert pp.strip_markdown(raw, language) == expected


# --- where the answer starts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marked", "raw", "expected"),
    [
        ("def f():\n    ║", "\n\n    return 1", "    return 1"),  # empty cursor line: start on it
        ("def f():\n    ║\n", "\n  \nreturn 1", "return 1"),
        ("x = 1║", "\ny = 2", "\ny = 2"),  # end of a line: the newline is the answer's
        ("    ║)", "\nfoo", "\nfoo"),  # not an empty line
    ],
)
def test_drop_leading_newlines(marked: str, raw: str, expected: str) -> None:
    assert run(pp.drop_leading_newlines, marked, raw) == expected


@pytest.mark.parametrize(
    ("marked", "raw", "expected"),
    [
        ("def f(║", "def f(x):", "x):"),
        ("    if x ║", "if x > 0:", "> 0:"),
        ("x = ║", " 1", "1"),  # no double space
        ("x = ║", "x = 1", "1"),
        ("    ║", "    return 1", "return 1"),  # the empty line's indentation repeated
        ("    ║", "        return 1", "    return 1"),  # ... but not the extra level
        ("    ║", "return 1", "return 1"),
        ("def f(x):\n    ret║", "def f(x):\n    return x", "return x"),  # the lines before, too
        ("x = pri║", "x = print(x)", "nt(x)"),
        ("    pri║", "print(x)", "print(x)"),  # a one-word line: the word stays for the item's range
        ("naïve_😋║", "naïve_😋_total = 1", "naïve_😋_total = 1"),
        ("x║", "x = 1", "x = 1"),  # one character is too little to call it an echo
        ("foo(║", "bar)", "bar)"),
        ("msg = '🎉 ║", "msg = '🎉 party'", "party'"),
        ("def add(a, b):\n    ║", "def add(a, b):\n    return a + b", "return a + b"),  # the header again
        ("class A:\n    def f(self):\n        ║", "class A:\n    def f(self):\n        return 1", "return 1"),
        ("x = compute()\n║", "x = compute()\nprint(x)", "x = compute()\nprint(x)"),  # one plain line may repeat
    ],
)
def test_drop_prefix_echo(marked: str, raw: str, expected: str) -> None:
    assert run(pp.drop_prefix_echo, marked, raw) == expected


# --- indentation -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marked", "raw", "options", "expected"),
    [
        # spaces from the model, tabs in the document
        ("func f() {\n\t║", "x := 1\n    if x {\n        y()\n    }", GO, "x := 1\n\tif x {\n\t\ty()\n\t}"),
        # the first line brings its own (absolute) indentation on an empty cursor line
        ("func f() {\n\t║", "    x := 1\n    y := 2", GO, "x := 1\n\ty := 2"),
        # 4-space answer, 2-space document
        ("function f() {║", "\n    if (x) {\n        y();\n    }\n}", JS, "\n  if (x) {\n    y();\n  }\n}"),
        # tabs from the model, spaces in the document
        ("def f():║", "\n\tif x:\n\t\treturn 1", {}, "\n    if x:\n        return 1"),
        # already right: untouched
        ("def f():║", "\n    return 1", {}, "\n    return 1"),
        # aligned continuation lines are no indentation step
        ("def f():║", "\n    x = g(a,\n          b)\n    return x", {}, "\n    x = g(a,\n          b)\n    return x"),
    ],
)
def test_reindent(marked: str, raw: str, options: dict[str, str], expected: str) -> None:
    assert run(pp.reindent, marked, raw, **options) == expected


# --- one line or a block ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marked", "raw", "expected"),
    [
        ("x = ║", "1\ny = 2", "1"),
        ("import os║", "\nimport sys\nimport re", "\nimport sys"),  # the answer starts on the next line
        ("foo(║)", "\nbar", ""),  # ... not mid-line
        ("result = ║", "compute(\n    a,\n)\nmore()", "compute(\n    a,\n)"),  # a call is kept whole
        ("result = ║", "compute(\n    a,", "compute("),  # never closed: the first line
        ("foo(║)", "bar(1,\n2)", "bar(1,"),  # mid-line: one line, always
    ],
)
def test_keep_first_line(marked: str, raw: str, expected: str) -> None:
    assert run(pp.keep_first_line, marked, raw) == expected


@pytest.mark.parametrize(
    ("marked", "raw", "options", "expected"),
    [
        ("def f():║", "\n    return 1\n\ndef g():\n    pass", {}, "\n    return 1\n"),
        ("def f():\n    ║", "x = 1\n    y = 2\n\n    z = 3", {}, "x = 1\n    y = 2\n"),  # one paragraph
        ("def f():\n    ║", "x = 1\nprint(f())", {}, "x = 1"),  # dedent ends the block
        ("function f() {║", "\n  return 1;\n}\nfunction g() {}", JS, "\n  return 1;\n}"),  # closer kept
        ("if (x) {║}", "\n  a();\n} else {\n  b();\n}", JS, "\n  a();"),
        ("def f():║", "\n    if x:\n        y()\n    z()\nw()", {}, "\n    if x:\n        y()\n    z()"),
    ],
)
def test_keep_block(marked: str, raw: str, options: dict[str, str], expected: str) -> None:
    assert run(pp.keep_block, marked, raw, **options) == expected


def test_keep_block_caps_lines() -> None:
    raw = "\n" + "\n".join(f"    x{i} = {i}" for i in range(60))
    kept = pp.keep_block(raw, ctx("def f():║"), max_lines=5)
    assert kept == "\n    x0 = 0\n    x1 = 1\n    x2 = 2\n    x3 = 3"
    assert pp.keep_block(raw, ctx("def f():║")).count("\n") == pp.MAX_LINES - 1


@pytest.mark.parametrize(
    ("marked", "raw", "expected"),
    [
        ("x = ║", "1\nprint(x)\nprint(x)\nprint(x)", "1\nprint(x)"),
        ("║", "a = f(1)\nb = g(a)\na = f(1)\nb = g(a)\na = f(1)", "a = f(1)\nb = g(a)"),  # a loop
        ("║", "  }\n}", "  }\n}"),  # closers repeat legitimately
        ('print("hi")║', '\nprint("hi")', ""),  # the cursor line itself, again
        ("║", "x += 1\ny += 1", "x += 1\ny += 1"),
    ],
)
def test_stop_at_repetition(marked: str, raw: str, expected: str) -> None:
    assert run(pp.stop_at_repetition, marked, raw) == expected


@pytest.mark.parametrize(
    ("marked", "raw", "options", "expected"),
    [
        ("def f():\n    ║\n    return x", "y = 1\n    return x", {}, "y = 1"),
        # the inner `}` is not the suffix's `}`: indentation tells them apart
        (
            "function f() {\n  ║\n}",
            "if (x) {\n    y();\n  }\n  z();\n}",
            JS,
            "if (x) {\n    y();\n  }\n  z();",
        ),
        # a long line matches whatever its indentation
        ("def f():║\n        return compute(x)", "\n    y = 1\n    return compute(x)", {}, "\n    y = 1"),
        # the answer ends with the suffix's first lines
        ("a = 1║\n    go()\n    stop()", "\nbegin()\ngo()\nstop()", {}, "\nbegin()"),
        ("x = 1\n║", "y = 2", {}, "y = 2"),  # no suffix
        ("║\nx = 1", "x = 1", {}, ""),  # nothing but the next line
    ],
)
def test_stop_at_suffix(marked: str, raw: str, options: dict[str, str], expected: str) -> None:
    assert run(pp.stop_at_suffix, marked, raw, **options) == expected


# --- brackets and the text after the cursor --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marked", "raw", "options", "expected"),
    [
        ("foo(║)", "a, b)", {}, "a, b"),  # the suffix already closes it
        ("foo(║)", "bar(1)", {}, "bar(1)"),  # its own pair stays
        ("foo(║", "a, b)", {}, "a, b)"),  # nothing closes it after the cursor: the answer may
        ("foo(a, [║])", "1, 2])", {}, "1, 2"),
        ('print("ab║")', 'c")', {}, "c"),  # the string is already closed too
        ('x = "ab║', 'c"', {}, 'c"'),
        ("if (x) {\n  ║\n}", "y();\n}\nfunction g() {}", JS, "y();\n"),
        ("x = ║", "[1, 2)", {}, "[1, 2"),  # a closer that matches nothing it opened
        ("x = ║", "1)", {}, "1"),  # nothing is open before the cursor
        ("foo(║)", '")" + x)', {}, '")" + x'),  # brackets in strings are text
        ("foo(║)", "x)  # (", {}, "x"),
        ('def f():\n    """Doc ║"""', 'text."""', {}, "text."),  # inside a docstring the suffix closes
        ("fn f<'a>(x: &'a str) -> &'a str {║}", "\n    x\n}", RUST, "\n    x\n"),
        ("const s = `hello ║`;", "world`;", JS, "world"),  # a template literal the suffix closes
    ],
)
def test_cut_at_outer_closers(marked: str, raw: str, options: dict[str, str], expected: str) -> None:
    assert run(pp.cut_at_outer_closers, marked, raw, **options) == expected


@pytest.mark.parametrize(
    ("marked", "raw", "options", "expected"),
    [
        ("x = ║;", "5;", JS, "5"),
        ("foo(a║, b)", "x, b)", {}, "x"),  # the rest of the line, repeated
        ("foo(║, b)", "g(a, b)", {}, "g(a, b)"),  # cutting would break the answer's own call
        ("def f║:", "(x):", {}, "(x)"),
        ("x = ║", "5;", JS, "5;"),
        ('print(f"{name║}")', "!r}", {}, "!r"),  # a brace inside the string, already there
        ("foo(║)", "bar(1)", {}, "bar(1)"),  # its own closer stays
        ("x = [║];", "1, 2];", JS, "1, 2"),
        ("f(║')", "'a'", {}, "'a'"),  # its own closing quote stays
    ],
)
def test_drop_line_suffix_overlap(marked: str, raw: str, options: dict[str, str], expected: str) -> None:
    assert run(pp.drop_line_suffix_overlap, marked, raw, **options) == expected


@pytest.mark.parametrize(
    ("marked", "raw", "expected"),
    [
        ("def f():║", "\n    x = 1\n    y = g(\n        a,", "\n    x = 1"),
        ("def f():║", "\n    y = g(\n        a,", "\n    y = g("),  # nothing balanced: the first line
        ("def f():║", "\n    y = g(a)\n    return y", "\n    y = g(a)\n    return y"),
    ],
)
def test_back_off_open_brackets(marked: str, raw: str, expected: str) -> None:
    assert run(pp.back_off_open_brackets, marked, raw) == expected


def test_back_off_for_an_early_answer_shows_nothing_unbalanced() -> None:
    assert pp.back_off_open_brackets("\n    y = g(\n        a,", ctx("def f():║"), keep_first=False) == ""


# --- final touches -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("aaa\nbbb\nccc", 9, "aaa\nbbb"),  # at a line end
        ("x" * 20, 10, "x" * 10),  # one long line: a hard cut
        ("e\u0301" * 10, 5, "e\u0301e\u0301"),  # never between a letter and its accent
        ("ab👨\u200d👩\u200d👧", 4, "ab"),  # never inside an emoji sequence
        ("short", 10, "short"),
    ],
)
def test_cap_chars(text: str, limit: int, expected: str) -> None:
    assert pp.cap_chars(text, limit) == expected


@pytest.mark.parametrize(
    ("marked", "raw", "expected"),
    [
        ("def f():║", "\n    x = 1   \n\n\n", "\n    x = 1"),
        ("foo(║b)", "a, ", "a, "),  # the space before the text after the cursor stays
        ("x = ║", "1  ", "1"),
        ("foo(║)", "a, b  ", "a, b"),  # nothing to separate from
    ],
)
def test_trim(marked: str, raw: str, expected: str) -> None:
    assert run(pp.trim, marked, raw) == expected


@pytest.mark.parametrize(
    ("marked", "text", "useless"),
    [
        ("x = ║", "   \n ", True),
        ("foo(║)", ")", True),  # exactly what follows
        ("║\n    return 1", "\n    return 1", True),
        ("x = ║", "1", False),
    ],
)
def test_is_useless(marked: str, text: str, useless: bool) -> None:
    assert pp.is_useless(text, ctx(marked)) is useless


# --- the whole chain -----------------------------------------------------------------------------------------------

CLEAN_CASES: list[tuple[str, str, dict[str, str], str]] = [
    # Python
    ("def f(║)", "a, b)", {}, "a, b"),
    ("def f(║):\n    pass", "a, b):", {}, "a, b"),
    ("x = ║", "```python\nx = 1\n```\nThis sets x.", {}, "1"),
    ("def f(x):\n    ║", "return x\n\ndef g():\n    pass", {}, "return x"),
    ("def f(x):║", "\n    return x\n\ndef g():\n    pass", {}, "\n    return x"),
    ("def f(x):║\n\nprint(1)", "\n    y = x + 1\n    return y\nprint(1)", {}, "\n    y = x + 1\n    return y"),
    ("import os║\nimport re", "\nimport sys\nimport re", {}, "\nimport sys"),
    ("    pri║", "print(x)", {}, "print(x)"),  # a one-word line: left for extend_word_range
    ("x = pri║", "print(x)", {}, "print(x)"),  # a word echoed: left for extend_word_range
    ("for x in y:\n    ║", "print(x)\n    print(x)\n    print(x)", {}, "print(x)"),
    ("x = 1║", "<|fim_middle|> + 2<|endoftext|>garbage", {}, " + 2"),
    ("result = ║", "compute(\n    a,\n    b,\n)\nnext_line()", {}, "compute(\n    a,\n    b,\n)"),
    ("x = ║", "   ", {}, ""),
    ("foo(║)", ")", {}, ""),
    ("x = 1\n║\ny = 2", "y = 2", {}, ""),  # only the line that is already there
    # JavaScript / TypeScript
    ("function f() {║}", "\n  return 1;\n}", JS, "\n  return 1;"),
    ("function f() {║", "\n  return 1;\n}", JS, "\n  return 1;\n}"),  # the suffix does not close it
    ("x = ║;", "5;", JS, "5"),
    ("const f = (x: number): number => {║}", "\n  return x * 2;\n};", TS, "\n  return x * 2;"),
    ("items.map((x) => ║)", "x * 2)", TS, "x * 2"),
    ('print(f"{name║}")', '!r}")', {}, "!r"),
    # Go (tabs)
    ("func main() {\n\t║\n}", "fmt.Println(1)\n    x := 2\n}", GO, "fmt.Println(1)\n\tx := 2"),
    ('fmt.Println(║)', '"hello")', GO, '"hello"'),
    # Rust
    ("fn add(a: i32, b: i32) -> i32 {║}", "\n    a + b\n}", RUST, "\n    a + b"),
    ("fn first<'a>(s: &'a str) -> &'a str {\n    ║\n}", "&s[..1]\n}", RUST, "&s[..1]"),
    # chat-style answers: fenced, echoing what is already there
    ("def add(a, b):\n    ║", "```python\ndef add(a, b):\n    return a + b\n```", {}, "return a + b"),
    ("total = calculate(║)", "Here's the completion:\n```python\ntotal = calculate(a, b)\n```", {}, "a, b"),
    # Unicode: emoji, CJK, combining characters
    ('msg = "🎉 ║"', 'party"', {}, "party"),
    ("名前 = 1\n║", "print(名前)", {}, "print(名前)"),
    ("s = 'cafe\u0301 ║'", "cre\u0300me'", {}, "cre\u0300me"),
    ("emoji = ['😀', ║]", "'🎉']", {}, "'🎉'"),
]


@pytest.mark.parametrize(("marked", "raw", "options", "expected"), CLEAN_CASES)
def test_clean(marked: str, raw: str, options: dict[str, str], expected: str) -> None:
    assert clean(raw, ctx(marked, **options)) == expected  # type: ignore[arg-type]


def test_clean_reads_crlf_answers_and_documents_and_answers_lf() -> None:
    assert clean("\r\n    return 1\r\n", ctx("def f():║")) == "\n    return 1"
    crlf = ctx("def f():\r\n    x = 1\r\n    ║\r\n    return x\r\n")
    assert clean("y = 2\r\n    return x\r\n", crlf) == "y = 2"


def test_clean_respects_a_forced_mode() -> None:
    raw = "\n    y = 1\n    return y"
    assert clean(raw, ctx("def f():║", multiline=False)) == "\n    y = 1"  # one line: the first below
    assert clean("1\ny = 2", ctx("x = ║", multiline=True)) == "1\ny = 2"


def test_clean_caps_lines_and_characters() -> None:
    short = "\n" + "\n".join(f"    v{i:04d} = {i:04d}" for i in range(1000))
    out = clean(short, ctx("def f():║"))
    assert out.count("\n") == 39 and out.endswith("v0038 = 0038")  # 40 lines, the cursor line's included
    wide = "\n" + "\n".join(f"    v{i:04d} = '{'x' * 100}'" for i in range(39))  # 114 characters a line
    out = clean(wide, ctx("def f():║"))
    assert 3900 < len(out) <= 4000
    assert all(len(line) == 114 for line in out.split("\n")[1:])  # cut at a line end
    long_line = "x = [" + ", ".join(str(i) for i in range(3000)) + "]"
    assert clean(long_line, ctx("║")) == long_line[:4000].rstrip()  # one line: a hard cut


# --- partial streams ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marked", "raw", "expected"),
    [
        ("def f(║)", "a, b", ""),  # no whole line yet
        ("def f(║)", "a, b)\n    pass", "a, b"),
        ("def f(x):║", "\n    y = x + 1\n    retu", "\n    y = x + 1"),
        ("def f(x):║", "\n    return g(\n        x,\n", ""),  # a half-written call waits
        ("x = ║", "1<|endoftext|>", "1"),  # an end token makes the stream final
        ("x = ║", "```python\nx = 1\n", "1"),
        ("x = ║", "Here is the code:\n", ""),
        ("x = ║", "<think>\nx = 2 maybe\n", ""),  # a reasoning model still thinking
        ("x = ║", "<think>\nhm\n</think>\n1\n", "1"),
        ("import os║", "\nimport sys\n", "\nimport sys"),
        ("result = ║", "compute(\n    a,\n", ""),
    ],
)
def test_clean_partial_stream(marked: str, raw: str, expected: str) -> None:
    assert clean(raw, ctx(marked), final=False) == expected


@pytest.mark.parametrize(
    ("marked", "raw", "options"),
    [
        ("def f(x):║", "\n    y = x + 1\n    if y:\n        return g(\n            y,\n        )\n    return 0\n", {}),
        ("function f() {║}", "\n  const a = [\n    1,\n  ];\n  return a;\n}\n", JS),
        ("func main() {\n\t║\n}", "x := 1\n\tfmt.Println(x)\n}\n", GO),
        ("x = ║", "```python\nx = compute(\n    1,\n)\n```\nDone.", {}),
    ],
)
def test_every_early_answer_is_a_prefix_of_the_final_one(marked: str, raw: str, options: dict[str, str]) -> None:
    context = ctx(marked, **options)  # type: ignore[arg-type]
    final = clean(raw, context)
    assert final
    for end in range(len(raw) + 1):
        early = clean(raw[:end], context, final=False)
        assert final.startswith(early), (raw[:end], early, final)


def test_cursor_context_at_builds_a_window_and_detects_indentation() -> None:
    marked = "package main\n\nfunc main() {\n\tif x {\n\t\t║\n\t}\n}\n"
    text = marked.replace("║", "")
    context = CursorContext.at(text, marked.index("║"), "go", prefix_chars=30, suffix_chars=10)
    assert context.indent == "\t"
    # 30 + the 4 the suffix leaves: the blank line fits, `package main` does not
    assert context.prefix == "\nfunc main() {\n\tif x {\n\t\t"
    assert context.suffix == "\n\t}\n}\n"
