"""Find `hoody:` directive comments in a document (pure).

A directive is a line comment, first on its line, whose text starts with `hoody:` (`# hoody: add retry`,
`// hoody: ...`, `-- hoody: ...`). The comment lines directly below it with the same marker, and no
`hoody:` of their own, continue it. Decisions:
- `hoody:` is matched case-insensitively (`Hoody:`, `HOODY:`), with or without a space after the marker;
- a doubled marker is the same marker (`## hoody:`, `/// hoody:`, `;; hoody:` - the Lisp habit, `--- hoody:`);
- a comment after code on the same line is not a directive (`x = 1  # hoody: ...`);
- a directive whose instruction is empty (on its line and its continuation lines) is not a directive;
- for a language not in the table both `#` and `//` are tried (the directive line decides which one its
  continuation lines use).
"""

from __future__ import annotations

from dataclasses import dataclass

from hoody_lsp.edits import LineIndex, split_lines, strip_line_break

_MARKERS: dict[str, tuple[str, ...]] = {}


def _register(markers: tuple[str, ...], *language_ids: str) -> None:
    for language_id in language_ids:
        _MARKERS[language_id] = markers


_register(
    ("#",),
    "python", "ruby", "shellscript", "shell", "bash", "sh", "zsh", "fish", "yaml", "toml", "perl", "r",
    "powershell", "makefile", "dockerfile", "cmake", "nix", "elixir", "julia", "coffeescript", "graphql",
    "nim", "crystal", "gdscript", "properties", "starlark", "bazel", "tcl", "raku", "awk", "jq",
    "requirements", "pip-requirements", "gitignore", "ignore", "dotenv", "ssh_config", "cython", "pyi",
)  # fmt: skip
_register(
    ("//",),
    "c", "cpp", "objective-c", "objective-cpp", "cuda-cpp", "java", "javascript", "typescript",
    "javascriptreact", "typescriptreact", "jsx", "tsx", "go", "rust", "swift", "kotlin", "scala", "csharp",
    "c#", "dart", "groovy", "zig", "jsonc", "json5", "proto", "proto3", "solidity", "vue", "svelte", "fsharp",
    "d", "v", "glsl", "hlsl", "wgsl", "less", "scss", "verilog", "systemverilog", "typst", "odin", "gleam",
    "hare", "haxe", "apex", "qml", "astro",
)  # fmt: skip
_register(("//", "#"), "php", "terraform", "hcl")
_register(
    ("--",),
    "lua", "sql", "haskell", "elm", "ada", "purescript", "vhdl", "plsql", "mysql", "pgsql", "postgres",
    "sqlite", "idris", "agda", "applescript", "teal", "plpgsql",
)  # fmt: skip
_register(
    (";",),
    "lisp", "clojure", "scheme", "racket", "commonlisp", "common-lisp", "emacs-lisp", "elisp", "fennel",
    "ini", "asm", "nasm", "assembly", "janet", "hy",
)  # fmt: skip
_register(('"',), "vim", "viml", "vimscript")
_register(("%",), "latex", "tex", "bibtex", "erlang", "matlab", "octave", "prolog", "postscript")
_register(("'",), "vb", "vba", "vbscript")
_register(("!",), "fortran", "fortran90", "fortran-modern")
_register(("::", "REM "), "bat", "batch", "cmd")

_UNKNOWN_MARKERS = ("#", "//")
_KEYWORD = "hoody:"


def line_comment_markers(language_id: str) -> tuple[str, ...]:
    """Every line-comment marker to try for `language_id` (`("#", "//")` for a language not in the table)."""
    return _MARKERS.get(language_id.lower(), _UNKNOWN_MARKERS)


def line_comment_marker(language_id: str) -> str | None:
    """The line-comment marker of `language_id` (its first one), None when the language is not known."""
    markers = _MARKERS.get(language_id.lower())
    return markers[0] if markers else None


@dataclass(frozen=True, slots=True)
class Directive:
    """A directive comment: lines `start_line`..`end_line` (0-based, inclusive)."""

    start_line: int
    end_line: int
    indent: str  # the directive line's indentation: the generated code takes it
    instruction: str  # the directive's text, continuation lines joined with "\n"
    marker: str = "#"


def _comment_body(line: str, marker: str) -> str | None:
    """The text after `marker` (a doubled marker counts as one) if `line` is a whole-line comment."""
    stripped = line.lstrip(" \t")
    if not stripped.startswith(marker):
        return None
    body = stripped[len(marker) :]
    if marker.strip() and len(marker.strip()) <= 2:
        body = body.lstrip(marker.strip()[0])
    return body


def _directive_text(body: str) -> str | None:
    """The instruction if a comment body starts a directive, else None."""
    text = body.lstrip(" \t")
    if text[: len(_KEYWORD)].lower() != _KEYWORD:
        return None
    return text[len(_KEYWORD) :].strip()


def _directive_start(line: str, markers: tuple[str, ...]) -> tuple[str, str] | None:
    """(marker, instruction on this line) when `line` starts a directive."""
    for marker in markers:
        body = _comment_body(line, marker)
        if body is None:
            continue
        text = _directive_text(body)
        if text is not None:
            return marker, text
    return None


def _continuation(line: str, marker: str) -> str | None:
    """The text of a continuation line (same marker, no new `hoody:`), else None."""
    body = _comment_body(line, marker)
    if body is None or _directive_text(body) is not None:
        return None
    return body.strip()


def _read_directive(lines: list[str], start: int, markers: tuple[str, ...]) -> Directive | None:
    found = _directive_start(lines[start], markers)
    if found is None:
        return None
    marker, first = found
    parts = [first]
    end = start
    while end + 1 < len(lines):
        text = _continuation(lines[end + 1], marker)
        if text is None:
            break
        parts.append(text)
        end += 1
    instruction = "\n".join(parts).strip()
    if not instruction:
        return None
    line = lines[start]
    return Directive(start, end, line[: len(line) - len(line.lstrip(" \t"))], instruction, marker)


def _lines(text: str) -> list[str]:
    return [strip_line_break(line) for line in split_lines(text)]


def find_directive(text: str, line: int, language_id: str) -> Directive | None:
    """The directive on `line`, or the one whose continuation lines include `line`; None if there is none."""
    lines = _lines(text)
    if not 0 <= line < len(lines):
        return None
    markers = line_comment_markers(language_id)
    # Walk up through comment lines to the directive they continue (or that starts on `line`).
    start = line
    while True:
        directive = _read_directive(lines, start, markers)
        if directive is not None:
            return directive if directive.end_line >= line else None
        if start == 0 or not any(_comment_body(lines[start], m) is not None for m in markers):
            return None
        start -= 1


def find_directives(text: str, language_id: str) -> list[Directive]:
    """Every directive in `text`, in order (for offering code actions)."""
    lines = _lines(text)
    markers = line_comment_markers(language_id)
    directives: list[Directive] = []
    i = 0
    while i < len(lines):
        directive = _read_directive(lines, i, markers) if _KEYWORD in lines[i].lower() else None
        if directive is None:
            i += 1
            continue
        directives.append(directive)
        i = directive.end_line + 1
    return directives


def directive_span(text: str, directive: Directive) -> tuple[int, int]:
    """Offsets of the directive's lines: from its first line's start (indentation included) to after its last
    line's line break (or the end of the text). This is the region the generated code replaces."""
    index = LineIndex(text)
    return index.line_start(directive.start_line), index.line_start(directive.end_line + 1)


def strip_directive_echo(code: str, language_id: str) -> str:
    """`code` without the directive comments (and continuation lines) a model copied into its answer."""
    lines = split_lines(code)
    markers = line_comment_markers(language_id)
    bare = [strip_line_break(line) for line in lines]
    kept: list[str] = []
    i = 0
    while i < len(lines):
        found = _directive_start(bare[i], markers)
        if found is None:
            kept.append(lines[i])
            i += 1
            continue
        i += 1
        while i < len(lines) and _continuation(bare[i], found[0]) is not None:
            i += 1
    return "".join(kept)
