"""The code-action commands (ids, titles, kinds, tasks) and the `GenerateRequest` each one sends (pure).

`COMMANDS` is SPEC.md's commands table. `build_command_request` turns a command, its target region (code-point
offsets into the document text) and what the server gathered (cross-file context, diagnostics, the directive,
the test file) into the backend request: the task, the directive text, the target file with its 0-based range
(line, code-point column: the server converts columns to the client's encoding), the region's surrounding
lines and the diagnostics as context, and the command policy (retry before anything streamed, the
500,000-character cap is an error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from hoody_lsp.actions.directives import Directive
from hoody_lsp.backends.base import COMMAND_CAP_CHARS, ContextItem, GenerateRequest, TargetFile, Task
from hoody_lsp.edits import LineIndex

REFACTOR = "hoody.refactor"
DIRECTIVE = "hoody.directive"
FIX = "hoody.fix"
DOCUMENT = "hoody.document"
TESTS = "hoody.tests"
CUSTOM = "hoody.custom"
REVERT = "hoody.revert"


class CommandInfo(NamedTuple):
    title: str
    kind: str | None  # the code action kind; None: not offered as a code action of a kind
    task: Task | None  # the backend task; None: the command makes no request


COMMANDS: dict[str, CommandInfo] = {
    REFACTOR: CommandInfo("Hoody: Refactor selection…", "refactor.rewrite", "edit"),
    DIRECTIVE: CommandInfo("Hoody: Run directive", "refactor.rewrite", "edit"),
    FIX: CommandInfo("Hoody: Fix …", "quickfix", "edit"),
    DOCUMENT: CommandInfo("Hoody: Document", "refactor.rewrite", "edit"),
    TESTS: CommandInfo("Hoody: Generate tests", "source", "generate"),
    CUSTOM: CommandInfo("", "refactor.rewrite", "edit"),  # title and kind come from `actions.custom`
    REVERT: CommandInfo("Hoody: Revert last generation", None, None),
}
DEFAULT_TITLES: dict[str, str] = {command: info.title for command, info in COMMANDS.items()}
default_titles = DEFAULT_TITLES

DEFAULT_REFACTOR_INSTRUCTION = "Improve this code: clearer names, simpler logic, same behaviour."
DOCUMENT_INSTRUCTION = (
    "Document this code: add a docstring or doc comment, in the language's usual style, to each module, "
    "class and function that lacks one, and a short comment where the logic is not obvious. Do not change "
    "what the code does."
)
FIX_INSTRUCTION = "Fix the problems reported in this code. Change only what the fix needs."
FIX_WITHOUT_DIAGNOSTICS = "Fix the bugs in this code. Change only what the fix needs."
DIRECTIVE_PREAMBLE = "Replace this `hoody:` directive comment with the code it asks for:"
EDIT_OUTPUT_RULE = "Answer with only the code that replaces the target range, without explanations."

SURROUNDING_LINES = 40  # lines of the document on each side of the region sent as context
MODULE_CONTEXT_CHARS = 20_000  # a module up to this size goes whole with `hoody.tests`

_SEVERITIES = {1: "error", 2: "warning", 3: "information", 4: "hint"}
_TEST_FRAMEWORKS = {
    "python": "pytest",
    "javascript": "the project's test runner (Jest/Vitest style describe/it/expect)",
    "javascriptreact": "the project's test runner (Jest/Vitest style describe/it/expect)",
    "typescript": "the project's test runner (Jest/Vitest style describe/it/expect)",
    "typescriptreact": "the project's test runner (Jest/Vitest style describe/it/expect)",
    "go": "the standard testing package",
    "rust": "#[test] functions",
    "java": "JUnit 5",
    "kotlin": "JUnit 5",
}


@dataclass(frozen=True, slots=True)
class DiagnosticInfo:
    """A diagnostic of the document (0-based lines, code-point columns), as the client reported it."""

    message: str
    code: str | int | None = None
    source: str | None = None
    start_line: int = 0
    start_col: int = 0
    end_line: int = 0
    end_col: int = 0
    severity: int | None = None  # LSP DiagnosticSeverity: 1 error, 2 warning, 3 information, 4 hint


def fix_title(diagnostics: Sequence[DiagnosticInfo]) -> str:
    """The `hoody.fix` title: the problem's message when there is one, else how many there are."""
    if len(diagnostics) == 1:
        message = " ".join(diagnostics[0].message.split())
        if len(message) > 60:
            message = message[:59] + "…"
        return f"Hoody: Fix “{message}”"
    if diagnostics:
        return f"Hoody: Fix {len(diagnostics)} problems"
    return DEFAULT_TITLES[FIX]


def describe_diagnostic(diagnostic: DiagnosticInfo) -> str:
    """One line for the model: severity, message, code, source and range (1-based line:column)."""
    severity = _SEVERITIES.get(diagnostic.severity or 0, "problem")
    details = [
        f"code {diagnostic.code}" if diagnostic.code not in (None, "") else "",
        diagnostic.source or "",
    ]
    detail = ", ".join(part for part in details if part)
    d = diagnostic
    where = f"{d.start_line + 1}:{d.start_col + 1}-{d.end_line + 1}:{d.end_col + 1}"
    return f"{severity}: {diagnostic.message}" + (f" ({detail})" if detail else "") + f" at {where}"


def lsp_range(text: str, start: int, end: int, index: LineIndex | None = None) -> dict[str, Any]:
    """The 0-based LSP-like range of `text[start:end]`, columns in code points."""
    index = index or LineIndex(text)
    start_line, start_col = index.offset_to_line_col(start)
    end_line, end_col = index.offset_to_line_col(end)
    return {
        "start": {"line": start_line, "character": start_col},
        "end": {"line": end_line, "character": end_col},
    }


def whole_lines(text: str, start: int, end: int) -> tuple[int, int]:
    """The region widened to whole lines: from its first line's start to after its last line's line break.
    A region ending at a line start (and not empty) does not take in that next line."""
    index = LineIndex(text)
    start_line, _ = index.offset_to_line_col(start)
    end_line, end_col = index.offset_to_line_col(end)
    if end_col == 0 and end > start and index.line_start(end_line) == end:
        return index.line_start(start_line), end
    return index.line_start(start_line), index.line_start(end_line + 1)


def fix_region(text: str, start: int, end: int, diagnostics: Sequence[DiagnosticInfo]) -> tuple[int, int]:
    """The region `hoody.fix` rewrites: the selection and every diagnostic's lines, as whole lines."""
    index = LineIndex(text)
    for diagnostic in diagnostics:
        start = min(start, index.line_col_to_offset(diagnostic.start_line, diagnostic.start_col))
        end = max(end, index.line_col_to_offset(diagnostic.end_line, diagnostic.end_col))
    return whole_lines(text, start, end)


def _context_item(path: str, text: str, index: LineIndex, a: int, b: int) -> ContextItem | None:
    content = text[a:b]
    if not content.strip():
        return None
    first, _ = index.offset_to_line_col(a)
    last, last_col = index.offset_to_line_col(b)
    if last_col == 0 and b > a and index.line_start(last) == b:
        last -= 1  # `b` is just after a line break: that line is the last one
    return ContextItem(path, content, first + 1, last + 1, "open_file")


def surrounding_context(
    path: str, text: str, start: int, end: int, lines: int = SURROUNDING_LINES
) -> list[ContextItem]:
    """The text around the region: up to `lines` lines before it and after it (the partial lines the region
    starts or ends in included), as `open_file` items with 1-based lines."""
    index = LineIndex(text)
    start_line, _ = index.offset_to_line_col(start)
    end_line, _ = index.offset_to_line_col(end)
    items = [
        _context_item(path, text, index, index.line_start(max(0, start_line - lines)), start),
        _context_item(path, text, index, end, index.line_start(end_line + lines + 1)),
    ]
    return [item for item in items if item is not None]


def diagnostic_context(path: str, diagnostics: Sequence[DiagnosticInfo]) -> list[ContextItem]:
    return [
        ContextItem(path, describe_diagnostic(d), d.start_line + 1, max(d.end_line, d.start_line) + 1, "diagnostic")
        for d in diagnostics
    ]


def _with_extra(directive: str, instruction: str | None) -> str:
    if instruction and instruction.strip():
        return f"{directive}\n\n{instruction.strip()}"
    return directive


def _tests_directive(
    language: str | None, path: str, lines: tuple[int, int] | None, test_path: str, test_existing: str | None
) -> str:
    subject = f"the code in {path}" if lines is None else f"the code of {path}, lines {lines[0]}-{lines[1]}"
    framework = _TEST_FRAMEWORKS.get((language or "").lower())
    text = f"Write tests for {subject}" + (f", using {framework}" if framework else "") + "."
    if test_existing is not None:
        text += (
            f" The test file {test_path} exists: answer with its complete new content, keeping every "
            "existing test unchanged and adding the new tests."
        )
    else:
        text += f" Answer with the complete content of the new test file {test_path}."
    return text


def build_command_request(
    command: str,
    *,
    instruction: str | None,
    language: str | None,
    path: str,
    text: str,
    start: int,
    end: int,
    context: Sequence[ContextItem],
    diagnostics: Sequence[DiagnosticInfo] | None,
    directive: Directive | None,
    custom_directive: str | None,
    test_path: str | None,
    test_existing: str | None,
) -> GenerateRequest:
    """The backend request of `command` for the region `text[start:end]` of the document at `path`.

    Directive text per command: `hoody.refactor` the instruction (or `DEFAULT_REFACTOR_INSTRUCTION`);
    `hoody.directive` the directive's instruction (or `instruction` when there is no directive);
    `hoody.fix` the diagnostics to fix; `hoody.document` `DOCUMENT_INSTRUCTION`; `hoody.tests` what to write
    into `test_path` (its existing content `test_existing`, or a new file); `hoody.custom` `custom_directive`.
    A given `instruction` is added to the directive of fix, document, tests and custom.
    Raises ValueError for an unknown command, `hoody.revert`, or a missing directive, custom directive or
    test path.
    """
    info = COMMANDS.get(command)
    if info is None or info.task is None:
        raise ValueError(f"{command!r} makes no generation request")
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"region {start}..{end} outside the text (0..{len(text)})")
    diagnostics = tuple(diagnostics or ())
    index = LineIndex(text)
    region = text[start:end]

    if command == REFACTOR:
        directive_text = instruction.strip() if instruction and instruction.strip() else DEFAULT_REFACTOR_INSTRUCTION
    elif command == DIRECTIVE:
        wanted = directive.instruction if directive is not None else (instruction or "").strip()
        if not wanted:
            raise ValueError("hoody.directive needs a directive")
        directive_text = f"{DIRECTIVE_PREAMBLE}\n{wanted}"
    elif command == FIX:
        if diagnostics:
            listed = "\n".join(f"- {describe_diagnostic(d)}" for d in diagnostics)
            directive_text = _with_extra(f"{FIX_INSTRUCTION}\n{listed}", instruction)
        else:
            directive_text = _with_extra(FIX_WITHOUT_DIAGNOSTICS, instruction)
    elif command == DOCUMENT:
        directive_text = _with_extra(DOCUMENT_INSTRUCTION, instruction)
    elif command == CUSTOM:
        if not custom_directive or not custom_directive.strip():
            raise ValueError("hoody.custom needs the action's directive")
        directive_text = _with_extra(custom_directive.strip(), instruction)
    else:  # TESTS
        if not test_path:
            raise ValueError("hoody.tests needs the test file's path")
        lines = None
        if start != end:
            selected = _context_item(path, text, index, start, end)
            lines = (selected.start_line, selected.end_line) if selected is not None else None
        directive_text = _with_extra(_tests_directive(language, path, lines, test_path, test_existing), instruction)

    items: list[ContextItem] = list(context)
    if command == TESTS:
        assert test_path is not None
        if start == end or len(text) <= MODULE_CONTEXT_CHARS:
            whole = _context_item(path, text, index, 0, len(text))
            items.extend([whole] if whole is not None else [])
        else:
            under_test = _context_item(path, text, index, start, end)
            items.extend([under_test] if under_test is not None else [])
            items.extend(surrounding_context(path, text, start, end))
        targets = (TargetFile(test_path, content=test_existing),)
    else:
        directive_text = f"{directive_text}\n\n{EDIT_OUTPUT_RULE}"
        items.extend(surrounding_context(path, text, start, end))
        targets = (TargetFile(path, content=region, range=lsp_range(text, start, end, index)),)
    items.extend(diagnostic_context(path, diagnostics))

    return GenerateRequest(
        task=info.task,
        directive=directive_text,
        language=language,
        target_files=targets,
        context=tuple(items),
        cap_chars=COMMAND_CAP_CHARS,
        cap_is_error=True,
        retry=True,
    )
