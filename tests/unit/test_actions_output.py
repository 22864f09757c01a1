"""The model's answer -> code fitted to the target region."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoody_lsp.actions.output import (
    detect_eol,
    detect_indent,
    extract_code,
    fit_to_target,
    strip_special_tokens,
)

# ------------------------------------------------------------------------------------------ extract_code


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # plain code passes through (blank lines around it dropped)
        ("def f():\n    return 1\n", "def f():\n    return 1"),
        ("\n\n    indented = True\n\n", "    indented = True"),
        # prose around one fenced block is dropped
        (
            "Here is the code:\n\n```python\ndef f():\n    return 1\n```\n\nThis works because it returns 1.",
            "def f():\n    return 1",
        ),
        # special tokens: the end-of-turn token ends the answer, role headers disappear
        ("def f():\n    return 1\n<|im_end|>\nassistant garbage", "def f():\n    return 1"),
        ("<|im_start|>assistant\n```go\nfunc f() {}\n```<|im_end|>", "func f() {}"),
        ("x = 1<|endoftext|>", "x = 1"),
        ("x = 1</s>", "x = 1"),
        ("<｜begin▁of▁sentence｜>x = 1<｜end▁of▁sentence｜>", "x = 1"),
        # pieces separated only by blank lines, same tag: one block split in two, joined with its blank lines
        ("```py\nimport os\n```\n\n```py\nx = 1\n```", "import os\n\nx = 1"),
        # prose between blocks: separate answers; the largest wins
        ("```\nshort\n```\nAnd a longer one:\n```\nlonger block\nhere\n```", "longer block\nhere"),
        # a shell block loses against code even when larger
        (
            "Install first:\n```bash\npip install something-rather-long --upgrade\n```\nThen:\n```\nimport x\n```",
            "import x",
        ),
        # a stray closing fence after plain code is not a block
        ("def f():\n    pass\n```", "def f():\n    pass"),
        # an empty code block is an empty answer, not its prose
        ("Here is:\n```python\n```", ""),
        # an unclosed fence runs to the end
        ("```python\nx = 1\ny = 2", "x = 1\ny = 2"),
        # an indented fence: its indentation is taken off the content, relative indentation kept
        ("  ```python\n  x = 1\n    y = 2\n  ```", "x = 1\n  y = 2"),
        # longer fences may hold shorter ones
        ("````md\n```python\nx\n```\n````", "```python\nx\n```"),
        # tilde fences
        ("~~~\nx = 1\n~~~", "x = 1"),
        # a clear prose first line is dropped from an unfenced answer, code is not
        ("Here is the updated function:\ndef f():\n    pass", "def f():\n    pass"),
        ("Sure! Here's the refactored code:\n\nx = 1", "x = 1"),
        ("class Foo:\n    pass", "class Foo:\n    pass"),
        ("Foo = make_thing(1, 2)", "Foo = make_thing(1, 2)"),
        ("", ""),
        # reasoning models: the thinking goes, even when it holds code of its own
        ("<think>\nMaybe:\n```python\nwrong = 1\n```\n</think>\n\n```python\nright = 2\n```", "right = 2"),
        ("Let me think... x = 1?\n</think>\nright = 2", "right = 2"),  # the opening tag was in the prompt
        ("<think>\nforgot to close\nright = 2", "forgot to close\nright = 2"),
    ],
)
def test_extract_code(answer: str, expected: str) -> None:
    assert extract_code(answer) == expected


def test_the_target_language_block_wins_over_a_larger_other_one() -> None:
    answer = (
        "```javascript\n// the same in JS, longer\nfunction f() {\n  return 1;\n}\n```\n"
        "In Python:\n```python\ndef f():\n    return 1\n```"
    )
    assert extract_code(answer, language="python") == "def f():\n    return 1"
    assert extract_code(answer, language="javascript").startswith("// the same in JS")
    # Without a language the largest wins.
    assert extract_code(answer).startswith("// the same in JS")


def test_equally_large_blocks_the_later_wins() -> None:
    answer = "Before:\n```python\nx = 1\n```\nAfter:\n```python\nx = 2\n```"
    assert extract_code(answer, language="python") == "x = 2"


def test_fence_info_with_a_file_name() -> None:
    assert extract_code("```python:pkg/mod.py\nx = 1\n```", language="python") == "x = 1"


@pytest.mark.parametrize(
    ("partial", "expected"),
    [
        ("Here is", ""),  # the first line is not complete: it may be prose
        ("Here is the code:\n```python\ndef f", "def f"),
        ("x = 1\n``", "x = 1"),  # maybe a fence starting: held back
        ("x = 1\ny <|im_", "x = 1\ny "),  # a special token being cut
        ("```python\ndef f():\n    return 1\n", "def f():\n    return 1"),
        ("<think>\nthe user wants\nx = 1\n", ""),  # still thinking: nothing to show
        ("Here is:\n```python\n", ""),  # the code has not arrived yet
        ("<think>\nhm\n</think>\nx = 1\ny", "x = 1\ny"),
    ],
)
def test_extract_code_while_streaming(partial: str, expected: str) -> None:
    assert extract_code(partial, partial=True) == expected


def test_strip_special_tokens_keeps_code_with_angle_brackets() -> None:
    code = "if a < b and c > d:\n    x = vec<int>()"
    assert strip_special_tokens(code) == code


@given(st.lists(st.sampled_from(["x = 1", "    y()", "", "}", "def f(a, b):", "\t# c", "😀 = 2"]), max_size=12))
@settings(max_examples=100, deadline=None)
def test_plain_code_passes_through(lines: list[str]) -> None:
    code = "\n".join(lines)
    # Whitespace-only lines at the ends are not code.
    kept = code.split("\n")
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    expected = "\n".join(kept)
    assert extract_code(code) == expected
    assert extract_code(f"```\n{code}\n```") == expected


# ----------------------------------------------------------------------------------------- fit_to_target


def fit(code: str, document: str, *, indent: str = "    ", eol: str = "\n") -> str:
    """Fit `code` to the region marked «...» in `document`."""
    before, rest = document.split("«", 1)
    original, after = rest.split("»", 1)
    return fit_to_target(code, original=original, before=before, after=after, indent=indent, eol=eol)


@pytest.mark.parametrize(
    ("code", "document", "expected"),
    [
        # the code's indentation is re-based to the region's
        (
            "def g():\n    return 2",
            "class A:\n«    def f():\n        return 1\n»\n",
            "    def g():\n        return 2\n",
        ),
        # over-indented code is brought back
        ("        x = 1\n        y = 2", "def f():\n«    a = 0\n»", "    x = 1\n    y = 2\n"),
        # a region starting inside the indentation: the first line continues after that whitespace
        ("x = 1\ny = 2", "def f():\n  «  a = 0\n»", "  x = 1\n    y = 2\n"),
        # the code repeats the line just before the region: dropped
        (
            "class A:\n    def g():\n        return 2\n",
            "class A:\n«    def f():\n        return 1\n»\n",
            "    def g():\n        return 2\n",
        ),
        # ... and the lines just after it
        (
            "x = 1\ny = 2\nreturn x + y",
            "def f():\n«    x = 0\n»    return x + y\n",
            "    x = 1\n    y = 2\n",
        ),
        # a lone closing bracket is not an echo worth dropping
        ("}\nfoo();", "if (a) {\n}\n«bar();\n»", "}\nfoo();\n"),
        # never the whole code
        ("return x + y", "def f():\n«    x = 0\n»    return x + y\n", "    return x + y\n"),
        # no trailing newline when the region had none
        ("bar(2)", "    x = «bar(1)»\n", "bar(2)"),
        ("bar(2)\n", "    x = «bar(1)»\n", "bar(2)"),
        # a mid-line region: the first line goes after the text, the rest keeps its relative indentation
        ("bar(\n    2,\n)", "    x = «bar(1)»\n", "bar(\n        2,\n    )"),
        # a directive region: the generated code takes the directive's indentation
        ("if x:\n    y = 1", "def f():\n«    # hoody: do it\n»    return\n", "    if x:\n        y = 1\n"),
        # an empty region at a line start before other text: the code gets its own line(s)
        ("import os", "«»x = 1\n", "import os\n"),
        # an empty region on an empty line: the indentation of the next non-blank line
        ("y = 2", "def f():\n    x = 1\n«»\n    return x\n", "    y = 2"),
        # blank lines in the code stay empty (no trailing whitespace)
        ("a = 1\n    \nb = 2", "def f():\n«    pass\n»", "    a = 1\n\n    b = 2\n"),
        # empty code: nothing
        ("\n\n", "«x = 1\n»", ""),
    ],
)
def test_fit_to_target(code: str, document: str, expected: str) -> None:
    assert fit(code, document) == expected


def test_a_model_echoing_the_whole_file_keeps_only_the_region() -> None:
    head = "".join(f"import mod{i}\n" for i in range(60))
    tail = "".join(f"print({i})\n" for i in range(60))
    document = head + "\n«def f():\n    return 1\n»\n" + tail
    answer = head + "\ndef f():\n    return 2\n\n" + tail
    assert fit(answer, document) == "def f():\n    return 2\n"


def test_tabs_in_the_code_become_the_documents_spaces() -> None:
    assert fit("if x:\n\ty = 1", "def f():\n«    pass\n»", indent="  ") == "    if x:\n      y = 1\n"


def test_spaces_in_the_code_become_the_documents_tabs() -> None:
    code = "if x:\n    y = 1\n    if z:\n        w = 2"
    assert fit(code, "func() {\n«\tpass\n»}", indent="\t") == "\tif x:\n\t\ty = 1\n\t\tif z:\n\t\t\tw = 2\n"


def test_crlf_document_gets_crlf() -> None:
    result = fit("a = 1\nb = 2\r\nc = 3", "x\r\n«y\r\n»z\r\n", eol="\r\n")
    assert result == "a = 1\r\nb = 2\r\nc = 3\r\n"


@given(
    st.lists(st.sampled_from(["x = 1", "    y()", "", "\tz", "😀 = 2", "if a:", "        deep"]), max_size=10),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.sampled_from(["", "    ", "\t"]),
)
@settings(max_examples=100, deadline=None)
def test_fit_properties(lines: list[str], eol: str, trailing: bool, region_indent: str) -> None:
    code = "\n".join(lines)
    original = f"{region_indent}old = 1" + (eol if trailing else "")
    result = fit_to_target(code, original=original, before=f"def f():{eol}", after=f"end{eol}", indent="    ", eol=eol)
    if not any(line.strip() for line in lines):
        assert result == ""
        return
    # Only the document's line break.
    assert not re.search(r"\r(?!\n)" if eol == "\r\n" else r"\r", result)
    if eol == "\r\n":
        assert "\n" not in result.replace("\r\n", "")
    # The trailing newline policy of the region.
    assert result.endswith(eol) == trailing
    # Every non-blank line carries at least the region's indentation, blank lines none.
    for line in result.removesuffix(eol).split(eol):
        assert line.startswith(region_indent) or not line
        assert line.strip() or line == ""


@pytest.mark.parametrize(
    ("text", "eol"),
    [("a\r\nb\n", "\r\n"), ("a\nb\r\n", "\n"), ("abc", "\n"), ("a\rb", "\r")],
)
def test_detect_eol(text: str, eol: str) -> None:
    assert detect_eol(text) == eol


@pytest.mark.parametrize(
    ("text", "indent"),
    [
        ("def f():\n    x = 1\n    if x:\n        y = 2\n", "    "),
        ("function f() {\n  x();\n  if (y) {\n    z();\n  }\n}\n", "  "),
        ("func f() {\n\tx()\n\tif y {\n\t\tz()\n\t}\n}\n", "\t"),
        ("x = 1\n", "    "),
    ],
)
def test_detect_indent(text: str, indent: str) -> None:
    assert detect_indent(text) == indent
