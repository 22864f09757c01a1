"""Definitions and imports of one source text: names, kinds and line spans (header, body), per language.

- Python: a fast line scan of the headers (`def`, `class`, module-level assignments, decorators, imports) that
  knows multi-line strings and multi-line signatures; `python_definitions_exact` (the `ast` module) gives exact
  spans where a caller needs them (and checks the scan in the tests).
- JavaScript, TypeScript, Go, Rust, Java: tree-sitter grammars (imported lazily, once per language).
- Anything else: a plain-text fallback that recognises common definition keywords at the start of a line.

Lines are 1-based and inclusive. Every function here is pure: text in, records out.
"""

from __future__ import annotations

import ast
import bisect
import logging
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Definition:
    """One definition: `start` includes decorators, `sig_end` ends the header (signature), `end` the body."""

    name: str
    kind: str  # function | class | method | variable | type | interface | enum | module
    start: int
    name_line: int
    sig_end: int
    end: int
    parent: str | None = None  # enclosing class / impl / receiver type for members
    sig_start: int = 0  # first line of the header snippet (decorators when few)
    text: str = ""  # the header snippet's text: lines sig_start..sig_stop
    sig_stop: int = 0

    def attach(self, lines: list[str]) -> None:
        """Keep the header snippet (decorators when few, the signature, at most 8 lines) and its text."""
        start = self.start if self.name_line - self.start <= 2 else self.name_line
        stop = min(max(self.sig_end, self.name_line), self.name_line + 7, len(lines))
        self.sig_start, self.sig_stop = start, stop
        self.text = "\n".join(lines[start - 1 : stop])


@dataclass(slots=True)
class Import:
    """One imported binding. `module` is as written: `..pkg.mod`, `./util`, `crate::a::b`, `com.x.y`."""

    local: str  # the name bound in the file ("" for side-effect and star imports)
    module: str
    name: str | None  # the imported member; None when the module itself is bound
    star: bool = False
    line: int = 0  # 1-based first line of the statement
    end: int = 0  # 1-based last line of the statement (0: same as line)


@dataclass(slots=True)
class FileSymbols:
    defs: list[Definition] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------------
# Languages
# --------------------------------------------------------------------------------------------------------

EXTENSION_LANGUAGE = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".lua": "lua",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".swift": "swift",
    ".scala": "scala",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".pl": "perl",
    ".pm": "perl",
    ".ex": "elixir",
    ".exs": "elixir",
    ".erl": "erlang",
    ".hs": "haskell",
    ".ml": "ocaml",
    ".dart": "dart",
    ".r": "r",
    ".jl": "julia",
    ".vue": "vue",
    ".svelte": "svelte",
    ".zig": "zig",
    ".nim": "nim",
    ".clj": "clojure",
    ".sql": "sql",
}

# LSP language ids -> our names
LANGUAGE_IDS = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "csharp": "csharp",
    "ruby": "ruby",
    "php": "php",
    "lua": "lua",
    "kotlin": "kotlin",
    "swift": "swift",
    "scala": "scala",
    "shellscript": "shell",
}

CODE_LANGUAGES = frozenset(EXTENSION_LANGUAGE.values())


def language_for_path(path: str) -> str | None:
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    return EXTENSION_LANGUAGE.get(path[dot:].lower())


def normalize_language(language: str | None, path: str | None = None) -> str | None:
    """An LSP language id or one of our names -> our name (the path's extension decides when unknown)."""
    if language:
        low = language.lower()
        if low in LANGUAGE_IDS:
            return LANGUAGE_IDS[low]
        if low in CODE_LANGUAGES:
            return low
    return language_for_path(path) if path else None


def family(language: str | None) -> str | None:
    """Languages that share import and resolution rules."""
    if language in ("javascript", "typescript", "tsx"):
        return "js"
    return language


TREE_SITTER_MAX_CHARS = 100_000  # larger files (bundles, generated code) get the quick scan only


def extract(text: str, language: str | None, exact: bool = True) -> FileSymbols:
    """Definitions and imports of `text` in `language` (our name); never raises.

    `exact=False` uses the quick regular-expression scan for the tree-sitter languages (about ten times
    faster; the index's first pass), `exact=True` the grammar.
    """
    try:
        if language == "python":
            syms = scan_python(text)
        elif language in _TS_LANGUAGES:
            if exact and len(text) <= TREE_SITTER_MAX_CHARS:
                syms = _extract_tree_sitter(text, language)
            else:
                syms = FileSymbols(defs=scan_fast(text, language), imports=_imports_for(text, language))
        elif language in CODE_LANGUAGES:
            syms = FileSymbols(defs=scan_generic(text), imports=[])
        else:
            return FileSymbols()
    except Exception:  # a parser problem must never break indexing or a completion
        log.debug("symbol extraction failed for a %s text", language, exc_info=True)
        return FileSymbols()
    if syms.defs and not syms.defs[0].sig_start:
        lines = text.split("\n")
        for d in syms.defs:
            d.attach(lines)
    return syms


# --------------------------------------------------------------------------------------------------------
# Python: fast header scan
# --------------------------------------------------------------------------------------------------------

_PY_HEAD = re.compile(r"(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)")
_PY_ASSIGN = re.compile(r"([A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*)[ \t]*(?::[^=\n]*)?=(?!=)")
_PY_TUPLE_ASSIGN = re.compile(r"\([ \t]*([A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*)[ \t]*,?[ \t]*\)[ \t]*=(?!=)")
_PY_CHAIN = re.compile(r"[ \t]*([A-Za-z_]\w*)[ \t]*=(?!=)")
_PY_ANN = re.compile(r"([A-Za-z_]\w*)[ \t]*:(?!=)[ \t]*[A-Za-z_\"'(\[]")
_PY_KEYWORDS = frozenset(
    {
        "if", "elif", "else", "try", "except", "finally", "with", "for", "while", "match", "case", "return",
        "yield", "raise", "assert", "del", "pass", "break", "continue", "global", "nonlocal", "import", "from",
        "lambda", "not", "and", "or", "in", "is", "print", "await", "async", "def", "class", "type",
    }
)  # fmt: skip
# soft keywords (match, case, type, print) may be assigned to
_PY_HARD_KEYWORDS = _PY_KEYWORDS - {"match", "case", "type", "print"}
_PY_FROM = re.compile(r"from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(.*)")
_PY_IMPORT = re.compile(r"import[ \t]+(.*)")
_ALIAS = re.compile(r"([\w.]+|\*)(?:[ \t]+as[ \t]+(\w+))?")


def _string_line_flags(text: str, n_lines: int) -> bytearray:
    """flags[i] = 1 when line i (0-based) begins inside a triple-quoted string."""
    flags = bytearray(n_lines)
    nd = text.find('"""')
    ns = text.find("'''")
    if nd < 0 and ns < 0:
        return flags
    line = 0
    last = 0
    pos = 0
    while True:
        # the next opening quote (plain substring search: much faster than a regular expression)
        if nd >= 0 and nd < pos:
            nd = text.find('"""', pos)
        if ns >= 0 and ns < pos:
            ns = text.find("'''", pos)
        if nd < 0 and ns < 0:
            break
        start = nd if ns < 0 or (nd >= 0 and nd < ns) else ns
        q = text[start : start + 3]
        ls = text.rfind("\n", 0, start) + 1
        if ls < start:
            before = text[ls:start]
            if ("#" in before or "'" in before or '"' in before) and not _is_code_end(before):
                pos = start + 3
                continue
        # its closing quote (not escaped)
        close = text.find(q, start + 3)
        while close > 0 and text[close - 1] == "\\":
            k = close - 1
            while k >= 0 and text[k] == "\\":
                k -= 1
            if (close - 1 - k) % 2 == 0:
                break
            close = text.find(q, close + 1)
        line += text.count("\n", last, start)
        open_line = line
        if close < 0:
            if n_lines > open_line + 1:  # unterminated: the rest of the text is string
                flags[open_line + 1 :] = b"\x01" * (n_lines - open_line - 1)
            break
        line += text.count("\n", start, close)
        last = close
        if line > open_line:
            flags[open_line + 1 : line + 1] = b"\x01" * (line - open_line)
        pos = close + 3
    return flags


def _is_code_end(before: str) -> bool:
    """Is the end of `before` (text from a line start) code, not a comment or a one-line string?"""
    q: str | None = None
    k = 0
    n = len(before)
    while k < n:
        ch = before[k]
        if q:
            if ch == "\\":
                k += 1
            elif ch == q:
                q = None
        elif ch in "\"'":
            if before.startswith(ch * 3, k):
                return True  # a triple-quoted string closed earlier on the line: give up, call it code
            q = ch
        elif ch == "#":
            return False
        k += 1
    return q is None


_SIMPLE_STRING = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")


_BRACKET = re.compile(r"[()\[\]{}]")


def _depth_delta(line: str) -> int:
    """Brackets opened minus closed on one line, strings and comments left out."""
    if _BRACKET.search(line) is None:
        return 0
    opened = line.count("(") + line.count("[") + line.count("{")
    closed = line.count(")") + line.count("]") + line.count("}")
    if opened == closed:
        return 0  # balanced (brackets inside strings rarely unbalance a balanced line)
    if "'" not in line and '"' not in line and "#" not in line:
        return opened - closed
    if "'" in line or '"' in line:
        line = _SIMPLE_STRING.sub("", line)
    code = line.split("#", 1)[0]
    return code.count("(") + code.count("[") + code.count("{") - code.count(")") - code.count("]") - code.count("}")


def _line_depth(lines: list[str], flags: bytearray, j: int, n: int) -> int:
    """`_depth_delta` of the code of line j, leaving out the part inside a multi-line string."""
    line = lines[j]
    opens_string = j + 1 < n and flags[j + 1]
    if flags[j]:
        if opens_string:
            return 0  # the whole line is inside the string
        ends = [k for k in (line.find('"""'), line.find("'''")) if k >= 0]
        line = line[min(ends) + 3 :] if ends else ""
    elif opens_string:
        k = max(line.rfind('"""'), line.rfind("'''"))
        if k >= 0:
            line = line[:k]
    return _depth_delta(line)


def _statement_end(lines: list[str], flags: bytearray, i: int, n: int) -> int:
    """The last line of the statement starting at line i (brackets balanced, multi-line strings skipped)."""
    depth = _line_depth(lines, flags, i, n)
    j = i
    while depth > 0 and j + 1 < n and j - i < 2000:
        j += 1
        depth += _line_depth(lines, flags, j, n)
    return j


def _header_end(lines: list[str], i: int, limit: int = 40) -> int:
    """0-based index of the last line of a def/class header that starts at line i."""
    s = lines[i].rstrip()
    if s.endswith(":") and s.count("(") == s.count(")") and s.count("[") == s.count("]"):
        return i
    depth = 0
    stop = min(len(lines), i + limit)
    for j in range(i, stop):
        depth += _depth_delta(lines[j])
        if depth <= 0 and not lines[j].rstrip().endswith("\\"):
            return j  # brackets balanced at the end of a line: the header (and its colon) ends here
    return i


_NEXT_STATEMENT: dict[int, re.Pattern[str]] = {}


def _next_statement(text: str, flags: bytearray, n: int, ln0: int, off0: int, indent: int) -> tuple[int, int]:
    """(line, offset) of the first line from `ln0` (which starts at `off0`) that starts a statement
    indented `indent` or less; (n, end) when none.

    A regular expression jumps over the body (C speed): comments, closing brackets and lines inside
    multi-line strings do not end a block.
    """
    if ln0 >= n or off0 <= 0:
        return n, len(text) + 1
    pat = _NEXT_STATEMENT.get(indent)
    if pat is None:
        pat = _NEXT_STATEMENT[indent] = re.compile(r"\n[ \t]{0,%d}(?=[^ \t\r\n#)\]}])" % indent)  # noqa: UP031
    ref_line, ref_off = ln0, off0
    pos = off0 - 1
    while True:
        m = pat.search(text, pos)
        if m is None:
            return n, len(text) + 1
        x = m.start()
        ln = ref_line + text.count("\n", ref_off, x + 1)
        if (ln < n and flags[ln]) or text[x - 1 : x] == "\\" or text[x - 2 : x] == "\\\r":
            ref_line, ref_off = ln, x + 1
            pos = m.end()
            continue
        return ln, x + 1


def _advance(lines: list[str], i: int, j: int, off: int) -> int:
    """Offset of line j, from the offset of line i (j >= i)."""
    for k in range(i, j):
        off += len(lines[k]) + 1
    return off


def _last_code_before(lines: list[str], ln: int, floor: int) -> int:
    k = ln - 1
    while k > floor:
        s = lines[k].lstrip()
        if s and s[0] != "#":
            break
        k -= 1
    return k


def scan_python(text: str) -> FileSymbols:
    """Module-level functions, classes and assignments, methods and nested classes, and module imports.

    Walks the module and class levels line by line and jumps over function bodies.
    """
    lines = text.split("\n")
    n = len(lines)
    flags = _string_line_flags(text, n)
    defs: list[Definition] = []
    imports: list[Import] = []
    # open blocks: [indent, kind, definition-or-None, module level inside]; kind: class | ctl | assign
    stack: list[list[Any]] = []
    last_code = -1
    decorator_start = -1
    intern = sys.intern
    i = 0
    off = 0  # offset of line i
    while i < n:
        line = lines[i]
        if flags[i]:
            last_code = i
            off += len(line) + 1
            i += 1
            continue
        s = line.lstrip()
        if not s or s[0] == "#":
            off += len(line) + 1
            i += 1
            continue
        c0 = s[0]
        if c0 in ")]}":  # the closing bracket of a multi-line expression
            last_code = i
            off += len(line) + 1
            i += 1
            continue
        ind = len(line) - len(s)
        while stack and stack[-1][0] >= ind:
            closed: Definition | None = stack.pop()[2]
            if closed is not None:
                closed.end = max(closed.sig_end, last_code + 1)
        last_code = i
        module_level = stack[-1][3] if stack else True
        parent_kind = stack[-1][1] if stack else None
        if c0 == "@":
            if decorator_start < 0:
                decorator_start = i
            # a decorator's arguments may span lines
            j = _statement_end(lines, flags, i, n)
            last_code = j
            off = _advance(lines, i, j + 1, off)
            i = j + 1
            continue
        if c0 in "dca":
            m = _PY_HEAD.match(s)
            if m:
                kw, name = m.group(1), intern(m.group(2))
                h_end = _header_end(lines, i)
                start = decorator_start if decorator_start >= 0 else i
                decorator_start = -1
                d: Definition | None = None
                is_class = kw == "class"
                if module_level:
                    d = Definition(name, "class" if is_class else "function", start + 1, i + 1, h_end + 1, h_end + 1)
                elif parent_kind == "class" and stack[-1][2] is not None:
                    parent = stack[-1][2].name
                    d = Definition(
                        name, "class" if is_class else "method", start + 1, i + 1, h_end + 1, h_end + 1, parent
                    )
                if d is not None:
                    defs.append(d)
                off_next = _advance(lines, i, h_end + 1, off)
                if is_class and d is not None:
                    stack.append([ind, "class", d, False])
                    last_code = h_end
                    i, off = h_end + 1, off_next
                    continue
                # a function body (or anything not recorded): jump to the next statement at this level
                nxt, off = _next_statement(text, flags, n, h_end + 1, off_next, ind)
                last_code = _last_code_before(lines, nxt, h_end)
                if d is not None:
                    d.end = last_code + 1
                i = nxt
                continue
        decorator_start = -1
        if c0 in "fi" and (s.startswith("from ") or s.startswith("import ")):
            j = _parse_python_import(lines, i, imports)
            last_code = j
            off = _advance(lines, i, j + 1, off)
            i = j + 1
            continue
        if module_level:
            j = _statement_end(lines, flags, i, n)  # continuation lines are not statements
            m = _PY_ASSIGN.match(s) or _PY_TUPLE_ASSIGN.match(s)
            if m and m.group(1).split(",")[0].strip() not in _PY_HARD_KEYWORDS:
                targets = m.group(1).split(",")
                rest = s[m.end() :]
                chained = _PY_CHAIN.match(rest)
                while chained:  # a = b = value
                    targets.append(chained.group(1))
                    rest = rest[chained.end() :]
                    chained = _PY_CHAIN.match(rest)
                first = len(defs)
                for name in targets:
                    name = name.strip()
                    if name and name not in _PY_HARD_KEYWORDS:
                        defs.append(Definition(intern(name), "variable", i + 1, i + 1, i + 1, i + 1))
                stack.append([ind, "assign", defs[-1] if len(defs) > first else None, False])
                last_code = j
                off = _advance(lines, i, j + 1, off)
                i = j + 1
                continue
            m = _PY_ANN.match(s)
            if m and m.group(1) not in _PY_KEYWORDS:
                defs.append(Definition(intern(m.group(1)), "variable", i + 1, i + 1, i + 1, i + 1))
                stack.append([ind, "assign", defs[-1], False])
                last_code = j
                off = _advance(lines, i, j + 1, off)
                i = j + 1
                continue
            if j > i:
                code = lines[j].split("#", 1)[0].rstrip()
                if code.endswith(":"):
                    stack.append([ind, "ctl", None, True])
                last_code = j
                off = _advance(lines, i, j + 1, off)
                i = j + 1
                continue
        code = s.split("#", 1)[0].rstrip() if "#" in s else s.rstrip()
        if code.endswith(":"):
            if module_level and not s.startswith(("for ", "while ", "async ", "for(", "while(")):
                # definitions under a module-level if/try/with stay module-level (as for `ast`)
                stack.append([ind, "ctl", None, True])
            else:
                # loop bodies and blocks in class bodies hold nothing recorded: jump over them
                nxt, off = _next_statement(text, flags, n, i + 1, off + len(line) + 1, ind)
                last_code = _last_code_before(lines, nxt, i)
                i = nxt
                continue
        off += len(line) + 1
        i += 1
    while stack:
        blk = stack.pop()
        if blk[2] is not None:
            blk[2].end = max(blk[2].sig_end, last_code + 1)
    # an assignment's header: its first lines (a long literal is not a signature)
    for d in defs:
        if d.kind == "variable":
            d.sig_end = min(d.end, d.name_line + 3)
    _fix_multi_target_ends(defs)
    for d in defs:
        d.attach(lines)
    return FileSymbols(defs, imports)


def _fix_multi_target_ends(defs: list[Definition]) -> None:
    """`a, b = ...` makes several records for one statement; only the last got the block end."""
    for k in range(len(defs) - 2, -1, -1):
        d, nxt = defs[k], defs[k + 1]
        if d.kind == "variable" and nxt.kind == "variable" and d.start == nxt.start:
            d.end, d.sig_end = nxt.end, nxt.sig_end


def _parse_python_import(lines: list[str], i: int, out: list[Import]) -> int:
    """Parse the import statement starting at line i; return the index of its last line."""
    s = lines[i].strip()
    j = i
    stmt = s.split("#", 1)[0].rstrip()
    # parenthesised or backslash-continued names
    while (stmt.count("(") > stmt.count(")") or stmt.endswith("\\")) and j + 1 < len(lines) and j - i < 200:
        j += 1
        stmt = stmt.rstrip("\\") + " " + lines[j].split("#", 1)[0].strip()
    for part in stmt.split(";") if ";" in stmt else (stmt,):
        part = part.strip()
        m = _PY_FROM.match(part)
        if m:
            module = m.group(1)
            names = m.group(2).replace("(", " ").replace(")", " ")
            for am in _ALIAS.finditer(names):
                name = am.group(1)
                if name == "*":
                    out.append(Import("", module, None, True, i + 1, j + 1))
                elif "." not in name:
                    local = sys.intern(am.group(2) or name)
                    out.append(Import(local, module, sys.intern(name), False, i + 1, j + 1))
            continue
        m = _PY_IMPORT.match(part)
        if m:
            for am in _ALIAS.finditer(m.group(1)):
                mod = am.group(1)
                if mod == "*":
                    continue
                local = am.group(2) or mod.split(".")[0]
                out.append(Import(sys.intern(local), mod, None, False, i + 1, j + 1))
    return j


def python_definitions_exact(text: str) -> list[Definition] | None:
    """The same records as `scan_python`, from the `ast` module (None when the text does not parse)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    out: list[Definition] = []

    def header_end(node: ast.AST) -> int:
        body = getattr(node, "body", None)
        lineno = getattr(node, "lineno", 1)
        if body:
            return max(lineno, body[0].lineno - 1)
        return getattr(node, "end_lineno", lineno) or lineno

    def visit(body: list[ast.stmt], parent: str | None, module_level: bool) -> None:
        for st in body:
            if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                start = min([d.lineno for d in st.decorator_list] + [st.lineno])
                is_class = isinstance(st, ast.ClassDef)
                end = st.end_lineno or st.lineno
                if module_level:
                    kind = "class" if is_class else "function"
                    out.append(Definition(st.name, kind, start, st.lineno, header_end(st), end))
                elif parent is not None:
                    kind = "class" if is_class else "method"
                    out.append(Definition(st.name, kind, start, st.lineno, header_end(st), end, parent))
                if is_class:
                    visit(st.body, st.name, False)
            elif module_level and isinstance(st, ast.Assign | ast.AnnAssign):
                targets = st.targets if isinstance(st, ast.Assign) else [st.target]
                end = st.end_lineno or st.lineno
                names: list[ast.expr] = list(targets)
                while names:
                    node = names.pop(0)
                    if isinstance(node, ast.Tuple | ast.List):
                        names[:0] = node.elts
                    elif isinstance(node, ast.Starred):
                        names.insert(0, node.value)
                    elif isinstance(node, ast.Name):
                        out.append(Definition(node.id, "variable", st.lineno, st.lineno, min(end, st.lineno + 3), end))
            elif module_level and isinstance(st, ast.If | ast.Try | ast.With):
                blocks = [st.body, getattr(st, "orelse", []), getattr(st, "finalbody", [])]
                blocks += [h.body for h in getattr(st, "handlers", [])]
                for b in blocks:
                    visit(b, None, True)

    visit(tree.body, None, True)
    return out


# --------------------------------------------------------------------------------------------------------
# Plain-text fallback
# --------------------------------------------------------------------------------------------------------

_GENERIC_DEF = re.compile(
    r"^(?P<indent>[ \t]{0,8})(?:(?:export|public|private|protected|internal|static|final|abstract|async|pub|"
    r"override|open|inline|extern|virtual|local|def|defp|const)\s+)*"
    r"(?P<kw>function|func|fn|def|defp|defmodule|sub|proc|class|struct|interface|trait|enum|module|object|"
    r"type|typedef|record|protocol|impl|fun)\s+(?P<name>[A-Za-z_$][\w$]*)",
    re.M,
)
_GENERIC_KIND = {
    "class": "class",
    "struct": "class",
    "record": "class",
    "object": "class",
    "interface": "interface",
    "trait": "interface",
    "protocol": "interface",
    "enum": "enum",
    "type": "type",
    "typedef": "type",
    "module": "module",
    "defmodule": "module",
    "impl": "class",
}


def scan_generic(text: str) -> list[Definition]:
    """Lines that start with a common definition keyword; the body runs to the next such line (max 60)."""
    out: list[Definition] = []
    line = 0
    last = 0
    for m in _GENERIC_DEF.finditer(text):
        line += text.count("\n", last, m.start())
        last = m.start()
        kind = _GENERIC_KIND.get(m.group("kw"), "function")
        out.append(Definition(sys.intern(m.group("name")), kind, line + 1, line + 1, line + 1, line + 1))
    total = text.count("\n") + 1
    for k, d in enumerate(out):
        nxt = out[k + 1].start - 1 if k + 1 < len(out) else total
        d.end = max(d.start, min(nxt, d.start + 60))
    return out


_FAST_PATTERNS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "js": [
        (
            re.compile(
                r"^(?P<indent>[ \t]{0,4})(?:export[ \t]+(?:default[ \t]+)?)?(?:declare[ \t]+)?(?:abstract[ \t]+)?"
                r"(?:async[ \t]+)?(?P<kw>function\*?|class|interface|type|enum|const|let|var|namespace)[ \t]+"
                r"(?P<name>[A-Za-z_$][\w$]*)",
                re.M,
            ),
            "",
        ),
        (
            re.compile(
                r"^(?P<indent>[ \t]{2,8})(?:(?:public|private|protected|static|readonly|async|override|get|set)[ \t]+)*"
                r"(?P<name>[A-Za-z_$][\w$]*)[ \t]*(?:<[^>\n]*>)?\([^)\n]*\)?[^;=\n]*\{[ \t]*$",
                re.M,
            ),
            "method",
        ),
    ],
    "go": [
        (
            re.compile(r"^func[ \t]+(?:\((?P<recv>[^)]*)\)[ \t]*)?(?P<name>[A-Za-z_]\w*)", re.M),
            "function",
        ),
        (re.compile(r"^(?P<kw>type|var|const)[ \t]+(?P<name>[A-Za-z_]\w*)", re.M), ""),
    ],
    "rust": [
        (
            re.compile(
                r"^(?P<indent>[ \t]{0,8})(?:pub(?:\([^)]*\))?[ \t]+)?(?:(?:async|unsafe|const|extern)[ \t]+)*"
                r"(?P<kw>fn|struct|enum|trait|type|const|static|mod|union)[ \t]+(?P<name>[A-Za-z_]\w*)",
                re.M,
            ),
            "",
        ),
        (
            re.compile(r"^(?P<kw>impl)(?:<[^>\n]*>)?[ \t]+(?:[\w:<>, ]+[ \t]+for[ \t]+)?(?P<name>[A-Za-z_]\w*)", re.M),
            "",
        ),
    ],
    "java": [
        (
            re.compile(
                r"^(?P<indent>[ \t]{0,8})(?:(?:public|private|protected|static|final|abstract|sealed|strictfp)[ \t]+)*"
                r"(?P<kw>class|interface|enum|record)[ \t]+(?P<name>[A-Za-z_]\w*)",
                re.M,
            ),
            "",
        ),
        (
            re.compile(
                r"^(?P<indent>[ \t]{2,8})(?:(?:public|private|protected|static|final|abstract|synchronized|default)"
                r"[ \t]+)*(?:<[^>\n]+>[ \t]+)?[\w<>\[\],.? ]+?[ \t]+(?P<name>[A-Za-z_]\w*)[ \t]*\([^;\n]*$",
                re.M,
            ),
            "method",
        ),
    ],
}
_FAST_KIND = {
    "function": "function", "function*": "function", "fn": "function", "class": "class", "struct": "class",
    "union": "class", "record": "class", "impl": "class", "interface": "interface", "trait": "interface",
    "type": "type", "enum": "enum", "namespace": "module", "mod": "module",
}  # fmt: skip
_NOT_METHODS = frozenset({"if", "for", "while", "switch", "catch", "function", "return", "else", "do", "try", "new"})


_FAST_STARTS: dict[str, tuple[str, ...]] = {
    "js": ("export", "function", "class", "interface", "type", "enum", "const", "let", "var", "namespace",
           "declare", "abstract", "async"),
    "go": ("func", "type", "var", "const"),
    "rust": ("pub", "fn", "struct", "enum", "trait", "type", "const", "static", "mod", "union", "impl", "async",
             "unsafe", "extern"),
    "java": ("public", "private", "protected", "static", "final", "abstract", "sealed", "strictfp", "class",
             "interface", "enum", "record"),
}  # fmt: skip


def scan_fast(text: str, language: str) -> list[Definition]:
    """Definition headers of a brace language by regular expressions on likely lines: the quick first pass
    of the index (tree-sitter refines it later). A body ends at the first `}` at its own indentation;
    function bodies are jumped over (plain substring search), class bodies are read for their members."""
    fam = family(language) or ""
    patterns = _FAST_PATTERNS.get(fam)
    if not patterns:
        return []
    starts = _FAST_STARTS[fam]
    lines = text.split("\n")
    n = len(lines)
    out: list[Definition] = []
    containers: list[tuple[int, int, str]] = []  # (indent, end line, name) of enclosing classes
    i = 0
    off = 0  # offset of line i
    while i < n:
        line = lines[i]
        st = line.lstrip()
        while containers and containers[-1][1] < i:
            containers.pop()
        indent = len(line) - len(st)
        in_class = bool(containers) and indent > containers[-1][0]
        candidate = st and (
            st.startswith(starts) or (in_class and "(" in st and line.rstrip().endswith(("{", "(", ",")))
        )
        nxt, nxt_off = i + 1, off + len(line) + 1
        if candidate:
            for pat, forced in patterns:
                m = pat.match(line)
                if m is None:
                    continue
                gd = m.groupdict()
                name = gd["name"]
                if forced == "method" and (name in _NOT_METHODS or not in_class):
                    continue
                kind = forced or _FAST_KIND.get(gd.get("kw") or "", "variable")
                recv = gd.get("recv")
                end, end_off = _brace_end(text, lines, i, off, line[:indent])
                sig = i
                while sig < min(end, i + 10) and "{" not in lines[sig]:
                    sig += 1
                parent = containers[-1][2] if in_class else None
                if recv:
                    kind = "method"
                    rm = re.search(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*$", recv)
                    parent = rm.group(1) if rm else None
                elif indent > 0 and parent is None:
                    break  # a local of some function body
                if kind == "function" and parent is not None:
                    kind = "method"
                if kind in ("class", "interface", "enum"):
                    containers.append((indent, end, name))
                elif end > i:
                    nxt, nxt_off = end + 1, end_off  # nothing inside a function body is a definition
                if gd.get("kw") != "impl":  # an impl block holds members; it defines nothing itself
                    out.append(Definition(sys.intern(name), kind, i + 1, i + 1, min(sig, end) + 1, end + 1, parent))
                break
        i, off = nxt, nxt_off
    return out


def _brace_end(text: str, lines: list[str], i: int, off: int, indent: str) -> tuple[int, int]:
    """(0-based line of the first `}` at `indent` after line i, offset of the line after it); (i, next
    offset) when the header's line ends the statement. Plain substring search."""
    line = lines[i]
    after = off + len(line) + 1
    tail = line.rstrip()
    if tail.endswith(";") or (tail.endswith("}") and tail.count("{") <= tail.count("}")):
        return i, after
    k = text.find("\n" + indent + "}", off)
    if k < 0:
        return i, after
    end = i + text.count("\n", off, k + 1)
    if end - i > 2000:
        return i, after
    return end, k + 1 + len(lines[end]) + 1


# --------------------------------------------------------------------------------------------------------
# tree-sitter languages
# --------------------------------------------------------------------------------------------------------

_TS_LANGUAGES = ("javascript", "typescript", "tsx", "go", "rust", "java")
TREE_SITTER_LANGUAGES = frozenset(_TS_LANGUAGES)

_TS_PATTERNS: dict[str, list[str]] = {
    "javascript": [
        "(function_declaration name: (identifier) @name) @function",
        "(generator_function_declaration name: (identifier) @name) @function",
        "(class_declaration name: (identifier) @name) @class",
        "(method_definition name: (property_identifier) @name) @method",
        "(variable_declarator name: (identifier) @name) @variable",
    ],
    "typescript": [
        "(function_declaration name: (identifier) @name) @function",
        "(generator_function_declaration name: (identifier) @name) @function",
        "(function_signature name: (identifier) @name) @function",
        "(class_declaration name: (type_identifier) @name) @class",
        "(abstract_class_declaration name: (type_identifier) @name) @class",
        "(interface_declaration name: (type_identifier) @name) @interface",
        "(type_alias_declaration name: (type_identifier) @name) @type",
        "(enum_declaration name: (identifier) @name) @enum",
        "(method_definition name: (property_identifier) @name) @method",
        "(method_signature name: (property_identifier) @name) @method",
        "(abstract_method_signature name: (property_identifier) @name) @method",
        "(variable_declarator name: (identifier) @name) @variable",
        "(internal_module name: (identifier) @name) @module",
    ],
    "go": [
        "(function_declaration name: (identifier) @name) @function",
        "(method_declaration name: (field_identifier) @name) @method",
        "(type_spec name: (type_identifier) @name) @type",
        "(const_spec name: (identifier) @name) @variable",
        "(var_spec name: (identifier) @name) @variable",
    ],
    "rust": [
        "(function_item name: (identifier) @name) @function",
        "(function_signature_item name: (identifier) @name) @function",
        "(struct_item name: (type_identifier) @name) @class",
        "(union_item name: (type_identifier) @name) @class",
        "(enum_item name: (type_identifier) @name) @enum",
        "(trait_item name: (type_identifier) @name) @interface",
        "(type_item name: (type_identifier) @name) @type",
        "(const_item name: (identifier) @name) @variable",
        "(static_item name: (identifier) @name) @variable",
        "(mod_item name: (identifier) @name) @module",
        "(macro_definition name: (identifier) @name) @function",
    ],
    "java": [
        "(class_declaration name: (identifier) @name) @class",
        "(interface_declaration name: (identifier) @name) @interface",
        "(enum_declaration name: (identifier) @name) @enum",
        "(record_declaration name: (identifier) @name) @class",
        "(annotation_type_declaration name: (identifier) @name) @interface",
        "(method_declaration name: (identifier) @name) @method",
        "(constructor_declaration name: (identifier) @name) @method",
        "(field_declaration declarator: (variable_declarator name: (identifier) @name)) @variable",
    ],
}
_TS_PATTERNS["tsx"] = _TS_PATTERNS["typescript"]

# containers whose members are recorded with a parent; anything else that encloses a definition makes it local
_CLASS_NODES = frozenset(
    {
        "class_declaration",
        "abstract_class_declaration",
        "class",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "impl_item",
        "trait_item",
        "object_type",
        "annotation_type_declaration",
    }
)
_SCOPE_NODES = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "arrow_function",
        "method_definition",
        "function_item",
        "method_declaration",
        "constructor_declaration",
        "func_literal",
        "closure_expression",
        "lambda_expression",
        "statement_block",
        "block",
    }
)
_PASS_NODES = frozenset(
    {
        "program",
        "source_file",
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "class_body",
        "declaration_list",
        "interface_body",
        "enum_body",
        "enum_body_declarations",
        "field_declaration",
        "const_declaration",
        "var_declaration",
        "type_declaration",
        "const_spec",
        "var_spec",
        "ambient_declaration",
        "internal_module",
        "module",
        "mod_item",
        "object_type",
        "type_spec",
        "class_heritage",
    }
)

_ts_lock = threading.Lock()
_ts_cache: dict[str, Any] = {}


def _ts_language(language: str) -> Any:
    """(Language, Parser, [Query]) for a language, built once; None when its grammar is missing."""
    with _ts_lock:
        if language in _ts_cache:
            return _ts_cache[language]
        result: Any = None
        try:
            import importlib

            import tree_sitter

            if language in ("typescript", "tsx"):
                ts_grammar: Any = importlib.import_module("tree_sitter_typescript")
                raw = ts_grammar.language_tsx() if language == "tsx" else ts_grammar.language_typescript()
            else:
                grammar: Any = importlib.import_module(f"tree_sitter_{language}")
                raw = grammar.language()
            if raw is not None:
                lang = tree_sitter.Language(raw)
                valid = []
                for pattern in _TS_PATTERNS[language]:
                    try:
                        tree_sitter.Query(lang, pattern)
                        valid.append(pattern)
                    except Exception:  # a node type this grammar version does not have
                        log.debug("tree-sitter %s: pattern not supported: %s", language, pattern)
                # one query with every pattern: the tree is walked once
                queries = [tree_sitter.Query(lang, "\n".join(valid))] if valid else []
                result = (lang, tree_sitter.Parser(lang), queries, tree_sitter.QueryCursor)
        except Exception:
            log.info("tree-sitter grammar for %s is not available; using the plain-text fallback", language)
            result = None
        _ts_cache[language] = result
        return result


def _ts_container(node: Any) -> tuple[bool, Any]:
    """(visible, class-like container or None): local definitions (inside a function body) are not visible."""
    cur = node.parent
    while cur is not None:
        t = cur.type
        if t in _CLASS_NODES:
            return True, cur
        if t in _SCOPE_NODES:
            return False, None
        if t not in _PASS_NODES:
            # e.g. a variable declarator inside a for loop or an expression
            if t in ("program", "source_file"):
                return True, None
            return False, None
        cur = cur.parent
    return True, None


def _node_name(node: Any) -> str | None:
    if node is None:
        return None
    name = node.child_by_field_name("name")
    if name is not None and name.text is not None:
        return str(name.text.decode("utf-8", "replace"))
    if node.type == "impl_item":
        t = node.child_by_field_name("type")
        if t is not None and t.text is not None:
            return str(t.text.decode("utf-8", "replace")).split("<", 1)[0]
    return None


def _go_receiver(node: Any) -> str | None:
    recv = node.child_by_field_name("receiver")
    if recv is None or recv.text is None:
        return None
    m = re.search(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*\)\s*$", recv.text.decode("utf-8", "replace"))
    return m.group(1) if m else None


def _extract_tree_sitter(text: str, language: str) -> FileSymbols:
    spec = _ts_language(language)
    if spec is None:
        return FileSymbols(defs=scan_generic(text), imports=_imports_for(text, language))
    _lang, parser, queries, cursor_cls = spec
    data = text.encode("utf-8", "surrogatepass")
    tree = parser.parse(data)
    root = tree.root_node
    defs: list[Definition] = []
    seen: set[tuple[int, int]] = set()
    intern = sys.intern
    for query in queries:
        for _idx, caps in cursor_cls(query).matches(root):
            name_nodes = caps.get("name")
            if not name_nodes:
                continue
            kind, def_nodes = next(((k, v) for k, v in caps.items() if k != "name"), (None, None))
            if not kind or not def_nodes:
                continue
            node = def_nodes[0]
            name_node = name_nodes[0]
            key = (node.start_byte, name_node.start_byte)
            if key in seen:
                continue
            seen.add(key)
            visible, container = _ts_container(node)
            if not visible:
                continue
            parent = _node_name(container) if container is not None else None
            if kind == "method" and language == "go":
                parent = _go_receiver(node)
            if kind == "function" and container is not None:
                kind = "method"
            if kind == "variable" and container is not None and language != "java":
                continue  # object/class fields in JS/TS/Go: too many, little value
            start_row = node.start_point[0]
            # `export function f` / `export const x`: the statement starts the definition
            outer = node.parent
            while outer is not None and outer.type in (
                "export_statement",
                "lexical_declaration",
                "variable_declaration",
            ):
                start_row = outer.start_point[0]
                outer = outer.parent
            name_row = name_node.start_point[0]
            end_row = node.end_point[0]
            if kind == "variable" and node.parent is not None and language in ("javascript", "typescript", "tsx"):
                end_row = max(end_row, node.parent.end_point[0])
            body = node.child_by_field_name("body")
            if body is None and kind == "variable":
                value = node.child_by_field_name("value")
                if value is not None:
                    body = value.child_by_field_name("body")
            if body is not None:
                sig_row = body.start_point[0]
            else:
                sig_row = min(end_row, name_row + (0 if kind in ("method", "function") else 3))
            sig_row = max(sig_row, name_row)
            defs.append(
                Definition(
                    intern(name_node.text.decode("utf-8", "replace")),
                    kind,
                    start_row + 1,
                    name_row + 1,
                    sig_row + 1,
                    max(end_row, sig_row) + 1,
                    intern(parent) if parent else None,
                )
            )
    defs.sort(key=lambda d: (d.start, d.name_line))
    return FileSymbols(defs=defs, imports=_imports_for(text, language))


# --------------------------------------------------------------------------------------------------------
# Imports of the other languages (regular expressions: they work on broken buffers too)
# --------------------------------------------------------------------------------------------------------

_JS_IMPORT_FROM = re.compile(
    r"(?:^|[;\n])[ \t]*(?:import|export)[ \t]+(?:type[ \t]+)?(?P<what>[\w$*{}\s,]+?)[ \t\n]*from[ \t]*"
    r"[\"'](?P<mod>[^\"'\n]+)[\"']"
)
_JS_IMPORT_AT = re.compile(
    r"(?:import|export)[ \t]+(?:type[ \t]+)?(?P<what>[\w$*{}\s,]+?)[ \t\n]*from[ \t]*[\"'](?P<mod>[^\"'\n]+)[\"']"
)
_JS_REQUIRE = re.compile(
    r"(?:const|let|var)[ \t]+(?P<what>[\w$]+|\{[\w$\s,:]+\})[ \t]*=[ \t]*require\([ \t]*[\"'](?P<mod>[^\"'\n]+)[\"']"
)
_GO_IMPORT_BLOCK = re.compile(r"^import[ \t]*\((?P<body>[^)]*)\)", re.M)
_GO_IMPORT_ONE = re.compile(r"^import[ \t]+(?P<alias>[\w.]+[ \t]+)?\"(?P<path>[^\"]+)\"", re.M)
_GO_SPEC = re.compile(r"^[ \t]*(?P<alias>[\w.]+[ \t]+)?\"(?P<path>[^\"]+)\"", re.M)
_RUST_USE = re.compile(r"^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?use[ \t]+(?P<path>[^;]+);", re.M)
_JAVA_IMPORT = re.compile(r"^[ \t]*import[ \t]+(?P<static>static[ \t]+)?(?P<path>[\w.]+(?:\.\*)?)[ \t]*;", re.M)


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _imports_for(text: str, language: str) -> list[Import]:
    fam = family(language)
    if fam == "js":
        return js_imports(text)
    if language == "go":
        return go_imports(text)
    if language == "rust":
        return rust_imports(text)
    if language == "java":
        return java_imports(text)
    return []


def js_imports(text: str) -> list[Import]:
    """import/export-from statements and require() bindings, found from plain substring hits (fast)."""
    out: list[Import] = []
    for kw in ("import", "export"):
        pos = text.find(kw)
        while pos >= 0:
            ls = text.rfind("\n", 0, pos) + 1
            head = text[ls:pos].strip()
            if not head or head.endswith(";"):
                m = _JS_IMPORT_AT.match(text, pos)
                if m is not None:
                    what, mod = m.group("what").strip(), m.group("mod")
                    line = _line_at(text, m.start("what"))
                    end = line + text.count("\n", m.start("what"), m.end())
                    _js_bindings(what, mod, line, out, kw == "export", end)
            pos = text.find(kw, pos + len(kw))
    pos = text.find("require(")
    while pos >= 0:
        ls = text.rfind("\n", 0, pos) + 1
        m2 = _JS_REQUIRE.search(text, ls, pos + 200)
        if m2 is not None and m2.start() < pos:
            line = _line_at(text, m2.start())
            end = line + text.count("\n", m2.start(), m2.end())
            _js_bindings(m2.group("what").replace(":", " as "), m2.group("mod"), line, out, False, end)
        pos = text.find("require(", pos + 8)
    out.sort(key=lambda imp: imp.line)
    return out


def _js_bindings(what: str, mod: str, line: int, out: list[Import], reexport: bool, end: int) -> None:
    first = len(out)
    brace = what.find("{")
    head = what[:brace] if brace >= 0 else what
    for part in head.split(","):
        part = part.strip()
        if not part:
            continue
        if part == "*":
            out.append(Import("", mod, None, True, line))  # export * from
        elif part.startswith("*"):
            alias = part.split()[-1]
            out.append(Import(alias, mod, None, False, line))  # import * as ns
        elif not reexport:
            out.append(Import(part, mod, "default", False, line))
    if brace >= 0:
        inner = what[brace + 1 : what.find("}", brace) if "}" in what[brace:] else len(what)]
        for part in inner.split(","):
            bits = part.replace(" as ", " as ").split()
            if not bits:
                continue
            if bits[0] == "type" and len(bits) > 1:
                bits = bits[1:]
            name = bits[0]
            alias = bits[2] if len(bits) >= 3 and bits[1] == "as" else name
            out.append(Import(alias, mod, name, False, line))
    for imp in out[first:]:
        imp.end = end


def go_imports(text: str) -> list[Import]:
    out: list[Import] = []
    for m in _GO_IMPORT_BLOCK.finditer(text):
        base_line = _line_at(text, m.start("body"))
        body = m.group("body")
        for s in _GO_SPEC.finditer(body):
            _go_binding(s.group("alias"), s.group("path"), base_line + body.count("\n", 0, s.start("path")), out)
    for m in _GO_IMPORT_ONE.finditer(text):
        _go_binding(m.group("alias"), m.group("path"), _line_at(text, m.start()), out)
    return out


def _go_binding(alias: str | None, path: str, line: int, out: list[Import]) -> None:
    local = (alias or "").strip() or path.rstrip("/").rsplit("/", 1)[-1]
    if local in ("_",):
        return
    if local == ".":
        out.append(Import("", path, None, True, line))
        return
    out.append(Import(local.replace("-", "_"), path, None, False, line))


def rust_imports(text: str) -> list[Import]:
    out: list[Import] = []
    for m in _RUST_USE.finditer(text):
        line = _line_at(text, m.start())
        written = re.sub(r"\s+", "", re.sub(r"\s+as\s+", "@", m.group("path")))
        for path in _expand_rust_use(written):
            alias = None
            if "@" in path:
                path, alias = path.split("@", 1)
            parts = path.split("::")
            if parts[-1] == "*":
                out.append(Import("", "::".join(parts[:-1]), None, True, line))
                continue
            if parts[-1] == "self":
                parts = parts[:-1]
            name = parts[-1] if parts else ""
            if not name:
                continue
            out.append(Import(alias or name, "::".join(parts[:-1]), name, False, line))
    return out


def _expand_rust_use(path: str) -> list[str]:
    """`a::{b, c::{d@e}}` -> ["a::b", "a::c::d@e"] (an alias follows '@')."""
    brace = path.find("{")
    if brace < 0:
        return [path]
    prefix = path[:brace]
    inner = path[brace + 1 : path.rfind("}")]
    parts: list[str] = []
    depth = 0
    cur = ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    out: list[str] = []
    for p in parts:
        out.extend(_expand_rust_use(prefix + p))
    return out


def java_imports(text: str) -> list[Import]:
    out: list[Import] = []
    for m in _JAVA_IMPORT.finditer(text):
        path = m.group("path")
        line = _line_at(text, m.start())
        module, _, name = path.rpartition(".")
        if name == "*":
            out.append(Import("", module, None, True, line))
        else:
            out.append(Import(name, module, name, False, line))
    return out


# --------------------------------------------------------------------------------------------------------
# Buffers: names and imports fast (the current file changes on every keystroke)
# --------------------------------------------------------------------------------------------------------

_BUFFER_DEF_WORDS: dict[str, tuple[str, ...]] = {
    "python": ("def ", "class "),
    "js": ("function", "class ", "const ", "let ", "var ", "interface ", "type ", "enum "),
    "go": ("func ", "type ", "var ", "const "),
    "rust": ("fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "mod ", "union ", "macro_rules!"),
    "java": ("class ", "interface ", "enum ", "record "),
}
_BUFFER_DEF = re.compile(
    r"(?:async\s+)?(?:def|class|function\*?|const|let|var|interface|type|enum|func(?:\s*\([^)]*\))?|fn|struct|"
    r"trait|static|mod|union|record|macro_rules!)\s+([A-Za-z_$][\w$]*)"
)
_IMPORT_WORDS: dict[str, tuple[str, ...]] = {
    "python": ("import ",),
    "js": ("import", "require(", "export "),
    "go": ("import",),
    "rust": ("use ",),
    "java": ("import ",),
}


def _hits(text: str, word: str) -> Iterator[int]:
    pos = text.find(word)
    while pos >= 0:
        yield pos
        pos = text.find(word, pos + 1)


def scan_buffer(text: str, lines: list[str], starts: list[int], language: str | None) -> FileSymbols:
    """The current buffer's imports and defined names, found with plain substring search around keywords.

    Much cheaper than `extract` on large buffers; the definitions carry their name line only.
    """
    fam = family(language)
    if fam not in _BUFFER_DEF_WORDS:
        return FileSymbols(defs=scan_generic(text) if language in CODE_LANGUAGES else [], imports=[])
    defs: list[Definition] = []
    seen_lines: set[int] = set()
    for word in _BUFFER_DEF_WORDS[fam]:
        for pos in _hits(text, word):
            if pos and (text[pos - 1].isalnum() or text[pos - 1] in "_$."):
                continue
            ln = bisect.bisect_right(starts, pos) - 1
            m = _BUFFER_DEF.match(text, pos)
            if m is None:
                continue
            name = m.group(1)
            defs.append(Definition(name, "variable", ln + 1, ln + 1, ln + 1, ln + 1))
            seen_lines.add(ln)
    if fam == "python":
        for i, line in enumerate(lines):
            if line and (line[0].isalpha() or line[0] == "_") and i not in seen_lines:
                m2 = _PY_ASSIGN.match(line)
                if m2:
                    for name in m2.group(1).split(","):
                        name = name.strip()
                        if name and name not in _PY_KEYWORDS:
                            defs.append(Definition(name, "variable", i + 1, i + 1, i + 1, i + 1))
    imports: list[Import] = []
    done: set[int] = set()
    for word in _IMPORT_WORDS[fam]:
        for pos in _hits(text, word):
            ln = bisect.bisect_right(starts, pos) - 1
            if ln in done:
                continue
            line = lines[ln]
            head = line.lstrip()
            if fam == "python":
                if not (head.startswith("import ") or (head.startswith("from ") and " import" in line)):
                    continue
                last = _parse_python_import(lines, ln, imports)
                done.update(range(ln, last + 1))
                continue
            if fam == "js":
                if not head.startswith(("import", "export", "const ", "let ", "var ")):
                    continue
                chunk_end = min(len(lines), ln + 40)
                chunk = "\n".join(lines[ln:chunk_end])
                stop = chunk.find(";")
                m3 = _JS_IMPORT_FROM.match("\n" + chunk) or _JS_REQUIRE.search(chunk.split("\n", 1)[0])
                if m3 is None:
                    continue
                span = chunk[: m3.end()] if stop < 0 else chunk[: max(stop, m3.end() - 1) + 1]
                got = js_imports(span)
                for imp in got:
                    imp.line += ln
                    imp.end = ln + span.count("\n") + 1
                imports.extend(got)
                done.update(range(ln, ln + span.count("\n") + 1))
                continue
            if fam == "rust":
                if not head.startswith(("use ", "pub use ", "pub(crate) use ")):
                    continue
                end = ln
                while end < len(lines) - 1 and ";" not in lines[end] and end - ln < 60:
                    end += 1
                got = rust_imports("\n".join(lines[ln : end + 1]))
                for imp in got:
                    imp.line += ln
                    imp.end = end + 1
                imports.extend(got)
                done.update(range(ln, end + 1))
                continue
            if fam == "java":
                if head.startswith("import "):
                    got = java_imports(line)
                    for imp in got:
                        imp.line = imp.end = ln + 1
                    imports.extend(got)
                    done.add(ln)
                continue
            if fam == "go" and head.startswith("import"):
                end = ln
                if "(" in line and ")" not in line:
                    while end < len(lines) - 1 and ")" not in lines[end] and end - ln < 200:
                        end += 1
                got = go_imports("\n".join(lines[ln : end + 1]))
                for imp in got:
                    imp.line += ln
                    imp.end = end + 1
                imports.extend(got)
                done.update(range(ln, end + 1))
    return FileSymbols(defs=defs, imports=imports)


class BufferScans:
    """`scan_buffer` for buffers being edited: the last result per buffer is kept, and when an edit near the
    cursor touched no line that could define or import anything, that result is reused with the line numbers
    after the edit moved. A keystroke in a 1,000-line file then costs two list comparisons instead of a scan.

    JavaScript and TypeScript always get a fresh scan: their `const`/`let` lines are everywhere, and an import
    statement there can run on to the next semicolon lines later.
    """

    REGION = 8  # lines each side of the cursor line an edit may touch for the old result to be reused

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._last: dict[str, tuple[str | None, list[str], FileSymbols]] = {}

    def scan(
        self, key: str, text: str, lines: list[str], starts: list[int], language: str | None, cursor_line: int
    ) -> FileSymbols:
        prev = self._last.pop(key, None)
        syms = None
        fam = family(language)
        if prev is not None and prev[0] == language and fam in _BUFFER_DEF_WORDS and fam != "js":
            syms = _moved(prev[1], prev[2], lines, cursor_line, fam)
        if syms is None:
            syms = scan_buffer(text, lines, starts, language)
        self._last[key] = (language, lines, syms)
        while len(self._last) > self._size:
            del self._last[next(iter(self._last))]
        return syms


def _moved(old: list[str], syms: FileSymbols, new: list[str], cursor_line: int, fam: str) -> FileSymbols | None:
    """`syms` (of the `old` lines) for the `new` lines, or None when the edit may have changed them."""
    n_old, n_new = len(old), len(new)
    a = max(0, cursor_line - BufferScans.REGION)  # lines before `a` must be unchanged
    tail = max(0, n_new - (cursor_line + BufferScans.REGION + 1))  # and so must the last `tail` lines
    if a + tail > min(n_old, n_new) or new[:a] != old[:a] or (tail and new[-tail:] != old[-tail:]):
        return None
    words = _BUFFER_DEF_WORDS[fam] + _IMPORT_WORDS[fam]
    changed = old[a : n_old - tail] + new[a : n_new - tail]
    if a:
        changed.append(old[a - 1])  # a definition keyword there may name something on the next line
    for line in changed:
        if any(word in line for word in words) or (fam == "python" and line[:1].isidentifier()):
            return None
    # an import statement above that is still open (no closing parenthesis or semicolon yet) may take in the
    # edited lines: the scans follow one for up to 200 lines
    imports = _IMPORT_WORDS[fam]
    if any(word in line for line in old[max(0, a - 200) : a] for word in imports):
        return None
    first, last = a + 1, n_old - tail  # the old lines that changed, 1-based
    if any(imp.line <= last + 1 and max(imp.end, imp.line) >= first - 1 for imp in syms.imports):
        return None  # a statement spanning lines (a parenthesized import, a `use` list) reaches the edit
    delta = n_new - n_old
    if not delta:
        return FileSymbols(list(syms.defs), list(syms.imports))
    defs = [
        d if d.name_line < first else replace(
            d, start=d.start + delta, name_line=d.name_line + delta, sig_end=d.sig_end + delta, end=d.end + delta
        )
        for d in syms.defs
    ]
    moved = [
        imp if imp.line < first else replace(imp, line=imp.line + delta, end=imp.end + delta if imp.end else 0)
        for imp in syms.imports
    ]
    return FileSymbols(defs, moved)
