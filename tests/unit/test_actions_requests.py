"""The commands table and the GenerateRequest each command sends."""

from __future__ import annotations

from typing import Any

import pytest

from hoody_lsp.actions.directives import directive_span, find_directives
from hoody_lsp.actions.requests import (
    COMMANDS,
    DEFAULT_REFACTOR_INSTRUCTION,
    DEFAULT_TITLES,
    DOCUMENT_INSTRUCTION,
    SURROUNDING_LINES,
    DiagnosticInfo,
    build_command_request,
    describe_diagnostic,
    fix_region,
    fix_title,
    lsp_range,
    surrounding_context,
    whole_lines,
)
from hoody_lsp.backends.base import COMMAND_CAP_CHARS, ContextItem, GenerateRequest

DOC = "import os\n\n\ndef f(x):\n    y = x + 1\n    return y\n\n\nprint(f(1))\n"
BODY = "    y = x + 1\n    return y\n"
START = DOC.index(BODY)
END = START + len(BODY)


def build(command: str, **overrides: Any) -> GenerateRequest:
    args: dict[str, Any] = {
        "instruction": None,
        "language": "python",
        "path": "pkg/mod.py",
        "text": DOC,
        "start": START,
        "end": END,
        "context": (),
        "diagnostics": None,
        "directive": None,
        "custom_directive": None,
        "test_path": None,
        "test_existing": None,
    }
    args.update(overrides)
    return build_command_request(command, **args)


def test_commands_table_matches_the_spec() -> None:
    assert COMMANDS["hoody.refactor"] == ("Hoody: Refactor selection…", "refactor.rewrite", "edit")
    assert COMMANDS["hoody.directive"] == ("Hoody: Run directive", "refactor.rewrite", "edit")
    assert COMMANDS["hoody.fix"] == ("Hoody: Fix …", "quickfix", "edit")
    assert COMMANDS["hoody.document"] == ("Hoody: Document", "refactor.rewrite", "edit")
    assert COMMANDS["hoody.tests"] == ("Hoody: Generate tests", "source", "generate")
    assert COMMANDS["hoody.custom"].task == "edit"
    assert COMMANDS["hoody.revert"] == ("Hoody: Revert last generation", None, None)
    assert DEFAULT_TITLES["hoody.tests"] == "Hoody: Generate tests"


def test_refactor_request() -> None:
    request = build("hoody.refactor", instruction="use f-strings")
    assert request.task == "edit"
    assert request.directive.startswith("use f-strings")
    assert request.language == "python"
    (target,) = request.target_files
    assert target.path == "pkg/mod.py"
    assert target.content == BODY
    assert target.range == {"start": {"line": 4, "character": 0}, "end": {"line": 6, "character": 0}}
    # The command policy.
    assert request.retry is True
    assert request.cap_is_error is True
    assert request.cap_chars == COMMAND_CAP_CHARS == 500_000


def test_refactor_without_instruction_uses_the_default() -> None:
    assert build("hoody.refactor").directive.startswith(DEFAULT_REFACTOR_INSTRUCTION)
    assert build("hoody.refactor", instruction="   ").directive.startswith(DEFAULT_REFACTOR_INSTRUCTION)


def test_surrounding_lines_go_as_context_after_the_callers_context() -> None:
    rules = ContextItem("AGENTS.md", "be nice", 1, 1, "rules")
    request = build("hoody.document", context=[rules])
    assert request.context[0] == rules
    before, after = request.context[1:]
    assert (before.kind, after.kind) == ("open_file", "open_file")
    assert before.content == "import os\n\n\ndef f(x):\n"
    assert (before.start_line, before.end_line) == (1, 4)
    assert after.content == "\n\nprint(f(1))\n"
    assert (after.start_line, after.end_line) == (7, 9)
    assert DOCUMENT_INSTRUCTION in request.directive


def test_surrounding_context_is_limited_and_keeps_partial_lines() -> None:
    text = "".join(f"line {i}\n" for i in range(200))
    start = text.index("line 100") + 2  # mid-line
    end = text.index("line 101") + 4
    before, after = surrounding_context("f", text, start, end)
    assert before.content.endswith("line 100"[:2])
    assert (before.start_line, before.end_line) == (101 - SURROUNDING_LINES, 101)
    assert after.content.startswith(" 101\n")
    assert (after.start_line, after.end_line) == (102, 102 + SURROUNDING_LINES)


def test_no_empty_context_items() -> None:
    assert surrounding_context("f", "x = 1\n", 0, 6) == []


def test_directive_request() -> None:
    text = "def f():\n    # hoody: add retry\n    # with backoff\n    return call()\n"
    (directive,) = find_directives(text, "python")
    start, end = directive_span(text, directive)
    request = build("hoody.directive", text=text, start=start, end=end, directive=directive)
    assert request.task == "edit"
    assert "add retry\nwith backoff" in request.directive
    assert request.target_files[0].content == "    # hoody: add retry\n    # with backoff\n"
    assert request.target_files[0].range == {
        "start": {"line": 1, "character": 0},
        "end": {"line": 3, "character": 0},
    }


def test_fix_request_lists_the_diagnostics() -> None:
    diagnostic = DiagnosticInfo("undefined name 'z'", "F821", "ruff", 4, 8, 4, 9, 1)
    request = build("hoody.fix", diagnostics=[diagnostic])
    assert request.task == "edit"
    assert "undefined name 'z'" in request.directive
    item = request.context[-1]
    assert item.kind == "diagnostic"
    assert (item.start_line, item.end_line) == (5, 5)
    assert item.content == "error: undefined name 'z' (code F821, ruff) at 5:9-5:10"


def test_describe_diagnostic_without_code_or_source() -> None:
    assert describe_diagnostic(DiagnosticInfo("bad", start_line=0, end_line=0, end_col=3)) == (
        "problem: bad at 1:1-1:4"
    )


def test_fix_title() -> None:
    assert fix_title([DiagnosticInfo("undefined name 'z'")]) == "Hoody: Fix “undefined name 'z'”"
    assert fix_title([DiagnosticInfo("a"), DiagnosticInfo("b")]) == "Hoody: Fix 2 problems"
    assert fix_title([]) == "Hoody: Fix …"
    long = fix_title([DiagnosticInfo("x" * 200)])
    assert long.startswith("Hoody: Fix") and len(long) < 80


def test_custom_request() -> None:
    request = build("hoody.custom", custom_directive="Translate comments to English", instruction="keep it")
    assert request.task == "edit"
    assert request.directive.startswith("Translate comments to English\n\nkeep it")


def test_tests_request_for_a_new_file() -> None:
    request = build("hoody.tests", start=0, end=0, test_path="tests/test_mod.py")
    assert request.task == "generate"
    (target,) = request.target_files
    assert target.path == "tests/test_mod.py"
    assert target.content is None
    assert "pytest" in request.directive
    assert "new test file tests/test_mod.py" in request.directive
    # The module under test goes whole.
    assert request.context[-1].content == DOC
    assert (request.context[-1].start_line, request.context[-1].end_line) == (1, 9)


def test_tests_request_for_an_existing_file_and_a_selection() -> None:
    existing = "def test_old():\n    assert True\n"
    request = build("hoody.tests", test_path="tests/test_mod.py", test_existing=existing)
    assert request.target_files[0].content == existing
    assert "keeping every existing test" in request.directive
    assert "lines 5-6" in request.directive


@pytest.mark.parametrize(
    ("command", "overrides"),
    [
        ("hoody.revert", {}),
        ("hoody.nope", {}),
        ("hoody.directive", {}),
        ("hoody.custom", {}),
        ("hoody.tests", {}),
        ("hoody.refactor", {"start": 5, "end": 2}),
        ("hoody.refactor", {"end": len(DOC) + 1}),
    ],
)
def test_invalid_requests(command: str, overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        build(command, **overrides)


@pytest.mark.parametrize(
    ("text", "start", "end", "expected"),
    [
        ("ab\ncd\nef\n", 4, 4, "cd\n"),
        ("ab\ncd\nef\n", 1, 4, "ab\ncd\n"),
        ("ab\ncd\nef\n", 3, 6, "cd\n"),  # ending at a line start does not take that line
        ("ab\r\ncd", 5, 5, "cd"),
    ],
)
def test_whole_lines(text: str, start: int, end: int, expected: str) -> None:
    a, b = whole_lines(text, start, end)
    assert text[a:b] == expected


def test_fix_region_takes_in_the_diagnostics_lines() -> None:
    text = "a = 1\nb = c\nd = 2\n"
    diagnostic = DiagnosticInfo("undefined c", start_line=1, start_col=4, end_line=1, end_col=5)
    a, b = fix_region(text, 0, 0, [diagnostic])
    assert text[a:b] == "a = 1\nb = c\n"


def test_lsp_range_counts_code_points_and_crlf() -> None:
    text = "😀😀\r\nab"
    assert lsp_range(text, 1, 6) == {"start": {"line": 0, "character": 1}, "end": {"line": 1, "character": 2}}
