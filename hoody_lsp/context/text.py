"""Small pure text helpers shared by the index and retrieval: identifiers, sub-tokens, positions."""

from __future__ import annotations

import builtins
import keyword
import operator
import re
from functools import lru_cache
from itertools import accumulate

IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_SUB = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# words that say nothing about which definition is meant
COMMON_WORDS = frozenset(
    set(keyword.kwlist)
    | {
        "self", "cls", "this", "super", "None", "True", "False", "null", "undefined", "nil", "true", "false",
        "var", "let", "const", "function", "func", "fn", "return", "new", "typeof", "instanceof", "void",
        "public", "private", "protected", "static", "final", "class", "interface", "extends", "implements",
        "package", "import", "export", "default", "from", "as", "async", "await", "yield", "struct", "enum",
        "impl", "trait", "pub", "mut", "use", "mod", "crate", "match", "type", "go", "chan", "defer", "range",
        "map", "string", "int", "bool", "float", "err", "error", "ok", "args", "kwargs", "i", "j", "k", "x",
        "y", "n", "e", "v", "t", "s", "f", "a", "b", "c", "d",
    }
)  # fmt: skip
BUILTIN_NAMES = frozenset(dir(builtins))


@lru_cache(maxsize=65536)
def subtokens(name: str) -> tuple[str, ...]:
    """`HTTPServerError` -> ("httpservererror", "http", "server", "error"); lower-case, parts of 2+ chars."""
    low = name.lower().strip("_$")
    if not low:
        return ()
    parts = [p.lower() for p in _SUB.findall(name)]
    out = [low]
    if len(parts) > 1:
        out.extend(p for p in parts if len(p) > 1 and p != low)
    return tuple(dict.fromkeys(out))


def line_starts(text: str) -> list[int]:
    """Offsets where each line begins."""
    out = [0]
    pos = text.find("\n")
    while pos >= 0:
        out.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return out


def line_starts_of(lines: list[str]) -> list[int]:
    """Offsets where each line begins, from the split lines (C-speed accumulation)."""
    if not lines:
        return [0]
    return [0, *map(operator.add, accumulate(map(len, lines[:-1])), range(1, len(lines)))]


def offset_of(text: str, line: int, col: int) -> int:
    """0-based line and code-point column -> offset in `text` (clamped to the text and the line)."""
    if line < 0:
        return 0
    start = 0
    for _ in range(line):
        nxt = text.find("\n", start)
        if nxt < 0:
            return len(text)
        start = nxt + 1
    end = text.find("\n", start)
    if end < 0:
        end = len(text)
    return min(start + max(col, 0), end)
