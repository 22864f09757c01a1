"""Retrieval for one cursor: the definitions, buffer regions and rules a completion needs, ranked, then packed
into a character budget without duplicates.

Sources, strongest first:
- `imports`: definitions of the names the buffer imports, resolved through the import (re-exports and star
  imports followed), ranked by where the name is used: at the cursor, imported but not used yet, used
  further away. Python and JavaScript/TypeScript resolve modules exactly; Go, Rust, Java and the rest match
  definition names against the import path.
- `lexical`: names used near the cursor (or being typed) that nothing in the buffer binds yet: definitions
  found by name.
- `related`: what the next line may need although nothing names it yet: members of the modules the buffer
  imports from, definitions that files with similar imports import (co-import), definitions whose name
  shares words with the code before the cursor, definitions the project imports most.
- `open_buffer` / `recent`: the best-matching window of other open files, regions edited lately.

Everything here is pure: the index is read, never changed; file lines come through a callable.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from hoody_lsp.context.index import (
    FileEntry,
    WorkspaceIndex,
    absolute_module,
    js_resolve_spec,
    python_module_of,
)
from hoody_lsp.context.symbols import BufferScans, Definition, Import, family, normalize_language, scan_buffer
from hoody_lsp.context.text import BUILTIN_NAMES, COMMON_WORDS, IDENT, line_starts_of, subtokens

# --------------------------------------------------------------------------------------------------------
# The buffer at the cursor
# --------------------------------------------------------------------------------------------------------

_USE = re.compile(r"(?<![\w.$])([A-Za-z_$][\w$]*)((?:[ \t]*\.[ \t]*[A-Za-z_$][\w$]*)*)")
_ASSIGNED = re.compile(
    r"(?:\b(?:let|const|var|for|as|val|mut)\s+([A-Za-z_$][\w$]*))|(?<![\w.$])([A-Za-z_$][\w$]*)\s*(?::=|=(?![=>]))"
)
_PARAMS_AT = re.compile(r"(?:def|function|func|fn)\s*[\w$]*\s*\(([^)]*)\)")
_DECLARES = re.compile(r"\b(?:let|const|var|for|as|val|mut)\s")
_WORD_CHAR = re.compile(r"\w")
_WORD_AT_END = re.compile(r"[A-Za-z_$][\w$]*$")

SCAN_BEFORE = 120  # lines before the cursor whose every name is looked at
SCAN_AFTER = 60
_CHAIN = re.compile(r"(?:[ \t]*\.[ \t]*[A-Za-z_$][\w$]*)+")


@dataclass(slots=True)
class Buffer:
    """What retrieval needs to know about the current text."""

    text: str
    lines: list[str]
    language: str | None
    cursor_line: int  # 0-based
    cursor_col: int
    typed: str  # the identifier being typed at the cursor ("" when none)
    defs: list[Definition]
    imports: list[Import]
    import_lines: set[int]  # 0-based lines of import statements
    occ: dict[str, list[int]]  # name -> 0-based lines where it is used (not as an attribute)
    attrs: dict[tuple[str, str], list[int]]  # (name, "a.b") -> lines of `name.a.b`
    local: set[str]  # names the buffer defines or assigns
    query: dict[str, float] = field(default_factory=dict)  # sub-token -> weight, from the code before the cursor
    starts: list[int] = field(default_factory=list)  # offset of each line
    lo: int = 0  # the lines scanned for every name: lo <= line < hi
    hi: int = 0
    _far: dict[str, tuple[list[int], dict[str, list[int]]]] = field(default_factory=dict)

    def uses(self, name: str) -> list[int]:
        """Every line using `name` (imported names are followed through the whole buffer, on demand)."""
        near = self.occ.get(name, [])
        if self.lo == 0 and self.hi >= len(self.lines):
            return near
        far = self._far_of(name)[0]
        return sorted(set(near).union(far)) if far else near

    def chains(self, name: str) -> dict[str, list[int]]:
        """`name.a.b` uses: chain ("a.b") -> lines."""
        out = {chain: lines for (n, chain), lines in self.attrs.items() if n == name}
        if self.lo == 0 and self.hi >= len(self.lines):
            return out
        for chain, lines in self._far_of(name)[1].items():
            out[chain] = sorted(set(out.get(chain, [])).union(lines))
        return out

    def _far_of(self, name: str) -> tuple[list[int], dict[str, list[int]]]:
        got = self._far.get(name)
        if got is None:
            got = self._far[name] = _far_uses(self.text, self.starts, self.lo, self.hi, name, self.import_lines)
        return got


def _chain_key(chain: str) -> str:
    """`" . a . b"` -> `"a.b"`: an attribute chain as the buffer's uses are keyed."""
    return chain.replace(" ", "").replace("\t", "").lstrip(".")


@lru_cache(maxsize=1024)  # the lines near the cursors of the last few buffers
def _line_uses(line: str) -> tuple[tuple[str, str], ...]:
    """The names a line uses, each with its attribute chain ("a.b" for `name.a.b`, else ""). Memoized: from
    one keystroke to the next almost every line is the same."""
    return tuple(
        (name, _chain_key(chain) if chain else "")
        for name, chain in _USE.findall(line)
    )


@lru_cache(maxsize=1024)  # the lines near the cursors of the last few buffers
def _line_assigns(line: str) -> tuple[str, ...]:
    """The names a line assigns or declares (`x = `, `let x`, `for x`, `as x`). Memoized like `_line_uses`."""
    if "=" not in line and not _DECLARES.search(line):
        return ()
    return tuple(am.group(1) or am.group(2) for am in _ASSIGNED.finditer(line))


def _param_names(window: str) -> set[str]:
    """Parameter names of the functions defined in `window` (parameter lists may span lines). The keywords are
    found with plain substring search: a regex trying every position costs ten times more."""
    names: set[str] = set()
    for word in ("def", "fn", "func"):  # "func" also finds "function"
        pos = window.find(word)
        while pos >= 0:
            if pos == 0 or not _WORD_CHAR.match(window, pos - 1):
                pm = _PARAMS_AT.match(window, pos)
                if pm:
                    for part in pm.group(1).split(","):
                        w = IDENT.search(part)
                        if w:
                            names.add(w.group())
            pos = window.find(word, pos + 1)
    return names


def analyze(
    text: str, offset: int, language: str | None, path: str | None = None, scans: BufferScans | None = None
) -> Buffer:
    """Read the buffer once: its imports, definitions, the names used where, the words near the cursor.

    Every name is looked at near the cursor; imported names are followed through the whole buffer with
    plain substring search (fast on large files).
    """
    lang = normalize_language(language, path)
    offset = max(0, min(offset, len(text)))
    lines = text.split("\n")
    starts = line_starts_of(lines)
    cl = bisect.bisect_right(starts, offset) - 1
    ls = starts[cl]
    before = text[ls:offset]
    m = _WORD_AT_END.search(before)
    typed = m.group() if m else ""
    if scans is not None and path is not None:
        syms = scans.scan(path, text, lines, starts, lang, cl)
    else:
        syms = scan_buffer(text, lines, starts, lang)
    import_lines: set[int] = set()
    for imp in syms.imports:
        for ln in range(imp.line - 1, max(imp.end, imp.line)):
            import_lines.add(ln)
    lo, hi = max(0, cl - SCAN_BEFORE), min(len(lines), cl + SCAN_AFTER)
    occ: dict[str, list[int]] = {}
    attrs: dict[tuple[str, str], list[int]] = {}
    local: set[str] = {d.name for d in syms.defs}
    for i in range(lo, hi):
        if i in import_lines:
            continue
        line = lines[i]
        if i == cl and typed:
            line = line[: len(before) - len(typed)] + line[len(before) :]
        for name, chain in _line_uses(line):
            lst = occ.get(name)
            if lst is None:
                occ[name] = [i]
            elif lst[-1] != i:
                lst.append(i)
            if chain:
                key = (name, chain)
                al = attrs.get(key)
                if al is None:
                    attrs[key] = [i]
                elif al[-1] != i:
                    al.append(i)
    near = lines[max(lo, cl - 80) : hi]
    for line in near:
        local.update(_line_assigns(line))
    local.update(_param_names("\n".join(near)))
    buf = Buffer(text, lines, lang, cl, offset - ls, typed, syms.defs, syms.imports, import_lines, occ, attrs, local)
    buf.query = _query_tokens(lines, cl, import_lines, typed)
    buf.starts, buf.lo, buf.hi = starts, lo, hi
    return buf


def _far_uses(
    text: str, starts: list[int], lo: int, hi: int, name: str, import_lines: set[int]
) -> tuple[list[int], dict[str, list[int]]]:
    """Uses of one name outside lines lo..hi: every one above, the first below (and the same for each
    `name.chain`). Plain substring search: fast on long buffers."""
    a = starts[lo]
    b = starts[hi] if hi < len(starts) else len(text)
    found: set[int] = set()
    chains: dict[str, set[int]] = {}
    below_seen: set[str] = set()
    whole_word = _whole_word(name)
    for region_start, region_end, below in ((0, a, False), (b, len(text), True)):
        for m in whole_word.finditer(text, region_start, region_end):
            pos, end = m.span()
            ln = bisect.bisect_right(starts, pos) - 1
            if ln in import_lines:
                continue
            chain_m = _CHAIN.match(text, end) if end < len(text) and text[end] in " \t." else None
            chain = _chain_key(chain_m.group()) if chain_m else ""
            if not below or "" not in below_seen:
                found.add(ln)
                if below:
                    below_seen.add("")
            if chain and (not below or chain not in below_seen):
                chains.setdefault(chain, set()).add(ln)
                if below:
                    below_seen.add(chain)
    return sorted(found), {c: sorted(v) for c, v in chains.items()}


@lru_cache(maxsize=64)
def _whole_word(name: str) -> re.Pattern[str]:
    """`name` as a whole word, not after a dot. The name comes first in the pattern: the regex engine then
    jumps from one occurrence of it to the next (a leading look-behind would make it try every position)."""
    word = re.escape(name)
    return re.compile(f"{word}(?<![A-Za-z0-9_$.]{word})(?![A-Za-z0-9_$])")


@lru_cache(maxsize=1024)  # the lines near the cursors of the last few buffers
def _line_subtokens(line: str) -> tuple[str, ...]:
    """The sub-tokens (over 2 characters) of a line's identifiers, common words left out. Memoized."""
    return tuple(st for tok in IDENT.findall(line) if tok not in COMMON_WORDS for st in subtokens(tok) if len(st) > 2)


def _query_tokens(lines: list[str], cl: int, import_lines: set[int], typed: str) -> dict[str, float]:
    """Sub-tokens of the code just before the cursor (nearer lines weigh more) and of the next few lines."""
    q: dict[str, float] = {}
    for i in range(max(0, cl - 20), min(len(lines), cl + 4)):
        if i in import_lines:
            continue
        dist = cl - i if i <= cl else (i - cl) * 2
        w = 1.0 / (1.0 + dist / 4.0)
        for st in _line_subtokens(lines[i]):
            if q.get(st, 0.0) < w:
                q[st] = w
    for st in subtokens(typed) if typed else ():
        q[st] = max(q.get(st, 0.0), 2.0)
    return q


# --------------------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Candidate:
    """A region proposed for the prompt (1-based inclusive lines of `rel`)."""

    rel: str
    start: int
    end: int
    kind: str  # definition | open_file | recent_edit | retrieved | rules
    source: str  # imports | lexical | related | open_buffer | recent | rules
    score: float
    name: str = ""
    name_line: int = 0
    full_end: int = 0  # end of the whole definition, for growing the snippet when budget is left
    text: str | None = None  # the snippet's text when the index holds it (no file read needed)


def usage_score(uses: Sequence[int], cl: int) -> float:
    """How much a bound name matters at the cursor, from the lines where it is used (0-based)."""
    before = [u for u in uses if u < cl]
    after = [u for u in uses if u > cl]
    near = [cl - u for u in before if cl - u <= 3] + [u - cl for u in after if u - cl <= 2]
    if cl in uses or near:
        return 1.0 - 0.01 * (min(near) if near and cl not in uses else 0)
    if not before and after:
        return max(0.9, 0.97 - 0.0005 * (after[0] - cl))
    if not before:
        return 0.9
    return USED_FLOOR + USED_SPAN * math.exp(-(cl - before[-1]) / 40.0)


def _def_candidate(entry: FileEntry, d: Definition, score: float, source: str) -> Candidate:
    """A definition's header snippet (decorators when few, the signature, at most 8 lines)."""
    if d.sig_start:
        return Candidate(
            entry.rel, d.sig_start, d.sig_stop, "definition", source, score, d.name, d.name_line, d.end, d.text
        )
    start = d.start if d.name_line - d.start <= 2 else d.name_line
    end = min(max(d.sig_end, d.name_line), d.name_line + 7)
    return Candidate(entry.rel, start, end, "definition", source, score, d.name, d.name_line, d.end)


@dataclass(slots=True)
class _Pred:
    entry: FileEntry
    d: Definition
    f_qual: float = 0.0  # a member of a module the buffer binds as a module (`mod.name` reaches it)
    f_mod: float = 0.0  # a member of a module the buffer imports names from
    f_co: float = 0.0
    f_lex: float = 0.0
    f_ment: float = 0.0
    f_pop: float = 0.0


# weights of the prediction features (tuned on some corpora, checked on others)
USED_FLOOR, USED_SPAN = 0.5, 0.3  # a name used above the cursor: its score fades with the distance

WEIGHTS = {
    "qual": 0.90,
    "mod": 0.30,
    "co": 0.35,
    "lex": 0.40,
    "ment": 0.40,
    "pop": 0.25,
    "dir": 0.25,
    "kind": 0.05,
}
# A prediction's score is PRED_SCALE x its weighted evidence, at most PRED_MAX: strong predictions rank above
# names used far above the cursor (whose use the prompt already shows), never above names used at the cursor
# or imported and not used yet.
PRED_SCALE = 0.75
PRED_MAX = 0.89
MAX_PREDICTIONS = 150  # more never fit a budget
CO_MAX_IMPORTERS = 400


class Retriever:
    """Definition candidates for one buffer in one workspace index."""

    def __init__(self, ws: WorkspaceIndex, buf: Buffer, current_rel: str | None) -> None:
        self.ws = ws
        self.buf = buf
        self.cur = current_rel
        self.cur_entry = ws.files.get(current_rel) if current_rel else None
        self.out: dict[tuple[str, int], Candidate] = {}
        self.bound_defs: set[tuple[str, int]] = set()
        self.buffer_files: set[str] = set()
        self.module_files: dict[str, float] = {}  # files bound as modules (`m.name` reaches any member) -> activity
        self.buffer_modules: set[str] = set()
        self.buffer_keys: set[tuple[str, str | None]] = set()
        self.preds: dict[tuple[str, int], _Pred] = {}
        self._own: set[tuple[str, str]] | None = None

    # -- helpers ------------------------------------------------------------------------------------------

    def add(self, entry: FileEntry, d: Definition, score: float, source: str) -> None:
        if entry.rel == self.cur:
            return
        key = (entry.rel, d.name_line)
        self.bound_defs.add(key)
        old = self.out.get(key)
        if old is None or old.score < score:
            self.out[key] = _def_candidate(entry, d, score, source)
        if d.parent is None and score >= 0.9:
            for other in entry.same_name(d)[-2:]:  # overloads, fallbacks: a little after the main one
                okey = (entry.rel, other.name_line)
                self.bound_defs.add(okey)
                if okey not in self.out or self.out[okey].score < score - 0.01:
                    self.out[okey] = _def_candidate(entry, other, score - 0.01, source)

    def pred(self, entry: FileEntry, d: Definition, qualified: bool = False) -> _Pred | None:
        """The prediction record of a definition; `qualified`: reached as `module.name` (no shadowing)."""
        if entry.rel == self.cur or (d.name in self.buf.local and not qualified):
            return None
        key = (entry.rel, d.name_line)
        p = self.preds.get(key)
        if p is None:
            p = self.preds[key] = _Pred(entry, d)
        return p

    def uses_of(self, local: str) -> list[int]:
        return self.buf.uses(local)

    # -- entry point -----------------------------------------------------------------------------------------

    def run(self) -> list[Candidate]:
        fam = family(self.buf.language)
        if fam == "python":
            self._python()
        elif fam == "js":
            self._js()
        else:
            self._by_name_imports()
        self._unbound_names()
        self._predictions()
        return list(self.out.values())

    # -- Python ------------------------------------------------------------------------------------------------

    def _current_entry_for_imports(self) -> FileEntry:
        if self.cur_entry is not None and self.cur_entry.module is not None:
            return self.cur_entry
        fake = FileEntry("", self.cur or "", 0, 0, "python")
        if self.cur:
            fake.module, fake.is_pkg = python_module_of(self.cur, self.ws.package_dirs, self.ws.root)
        return fake

    def _python(self) -> None:
        ws, buf = self.ws, self.buf
        me = self._current_entry_for_imports()
        cl = buf.cursor_line
        for imp in buf.imports:
            if imp.star:
                mod = absolute_module(me, imp.module)
                if mod:
                    self.buffer_modules.add(mod)
                    e = ws.module_entry(mod, self.cur)
                    if e is not None:
                        self.buffer_files.add(e.rel)
                continue
            mod = absolute_module(me, imp.module)
            if mod is None:
                continue
            if ws.state != "ready":
                ws.ensure_module(mod, self.cur, "python")
                if imp.name is not None:
                    ws.ensure_module(f"{mod}.{imp.name}", self.cur, "python")
            self.buffer_keys.add((mod, imp.name))
            if imp.name is None:
                # `import a.b` binds `a`; `import a.b as c` binds c to a.b
                target = mod if imp.local != mod.split(".")[0] or "." not in mod else mod.split(".")[0]
                self.buffer_modules.add(mod)
                self._module_binding(imp.local, target)
                continue
            self.buffer_modules.add(mod)
            r = ws.resolve_python(mod, imp.name, self.cur)
            if isinstance(r, str):
                self._module_binding(imp.local, r)
                continue
            e = ws.module_entry(mod, self.cur)
            if e is not None:
                self.buffer_files.add(e.rel)
            if r is None:
                continue
            entry, d = r
            self.buffer_files.add(entry.rel)
            self.add(entry, d, usage_score(self.uses_of(imp.local), cl), "imports")
            if d.kind == "class":
                self._constructor(entry, d, usage_score(self.uses_of(imp.local), cl))

    def _module_binding(self, local: str, module: str) -> None:
        """`import pkg.mod as m` / `from pkg import mod`: the `m.name` uses, and m's members as predictions."""
        ws, cl = self.ws, self.buf.cursor_line
        entry = ws.module_entry(module, self.cur)
        if entry is not None:
            self.buffer_files.add(entry.rel)
            uses = self.uses_of(local)
            near = sum(1 for u in uses if abs(u - cl) <= 30)
            self.module_files[entry.rel] = max(
                self.module_files.get(entry.rel, 0.0), min(1.0, 0.5 + 0.1 * len(uses) + 0.2 * near)
            )
        for chain, lines in self.buf.chains(local).items():
            mod = module
            parts = chain.split(".")
            for k, part in enumerate(parts):
                sub = f"{mod}.{part}"
                if sub in ws.by_module and k + 1 < len(parts):
                    mod = sub
                    continue
                r = ws.resolve_python(mod, part, self.cur)
                if r is not None and not isinstance(r, str):
                    e, d = r
                    self.add(e, d, usage_score(lines, cl), "imports")
                    if d.kind == "class":
                        self._constructor(e, d, usage_score(lines, cl))
                elif isinstance(r, str):
                    me = ws.module_entry(r, self.cur)
                    if me is not None:
                        self.buffer_files.add(me.rel)
                break

    def _constructor(self, entry: FileEntry, cls: Definition, score: float) -> None:
        """The signature of a class's constructor says how to call it."""
        if score < 0.95:
            return
        for d in entry.defs:
            if (
                d.parent == cls.name
                and d.name in ("__init__", "constructor", "__new__")
                and cls.start <= d.start <= cls.end
            ):
                key = (entry.rel, d.name_line)
                if key not in self.out:
                    self.out[key] = _def_candidate(entry, d, score - 0.02, "imports")
                break

    # -- JavaScript / TypeScript -------------------------------------------------------------------------------

    def _js(self) -> None:
        ws, buf, cl = self.ws, self.buf, self.buf.cursor_line
        cur = self.cur or ""
        for imp in buf.imports:
            mod = js_resolve_spec(cur, imp.module)
            if mod is None:
                self._hinted(imp)  # a package or a path alias: match by name
                continue
            if ws.state != "ready":
                ws.ensure_module(mod, cur, "javascript")
            self.buffer_modules.add(mod)
            self.buffer_keys.add((mod, imp.name))
            entry = ws.module_entry_js(mod)
            if entry is not None:
                self.buffer_files.add(entry.rel)
            if imp.name is None:
                for chain, lines in buf.chains(imp.local).items():
                    r = ws.resolve_js(mod, chain.split(".")[0])
                    if r is not None:
                        self.add(r[0], r[1], usage_score(lines, cl), "imports")
                continue
            r = ws.resolve_js(mod, imp.name)
            if r is None:
                continue
            self.buffer_files.add(r[0].rel)
            score = usage_score(self.uses_of(imp.local), cl)
            self.add(r[0], r[1], score, "imports")
            if r[1].kind == "class":
                self._constructor(r[0], r[1], score)

    # -- other languages: names matched against the import path -------------------------------------------

    def _by_name_imports(self) -> None:
        for imp in self.buf.imports:
            self._hinted(imp)
        if self.cur and self.buf.language in ("go", "java"):
            # same package: the folder's other files see each other's names without imports
            for rel in self.ws.folders.get(self.cur.rpartition("/")[0], ()):
                entry = self.ws.files.get(rel)
                if rel != self.cur and entry is not None and entry.language == self.buf.language:
                    self.buffer_files.add(rel)

    def _hinted(self, imp: Import) -> None:
        cl = self.buf.cursor_line
        hint = [p for p in re.split(r"[/.:@\\-]+", imp.module) if p and p not in ("crate", "super", "self")]
        if imp.name and imp.name != "default":
            found = self._find_by_name(imp.name, hint)
            if found is not None:
                self.buffer_files.add(found[0].rel)
                self.add(found[0], found[1], usage_score(self.uses_of(imp.local), cl), "imports")
            return
        for chain, lines in self.buf.chains(imp.local).items():
            found = self._find_by_name(chain.split(".")[0], hint)
            if found is not None:
                self.buffer_files.add(found[0].rel)
                self.add(found[0], found[1], usage_score(lines, cl), "imports")

    def _find_by_name(self, name: str, hint: list[str]) -> tuple[FileEntry, Definition] | None:
        """The definition of `name` whose file path best matches the import path `hint`."""
        entries = self.ws.by_name.get(name)
        if not entries:
            return None
        best: tuple[float, FileEntry, Definition] | None = None
        for entry in entries[:200]:
            if entry.rel == self.cur:
                continue
            d = entry.top_defs().get(name) or next((x for x in entry.defs if x.name == name), None)
            if d is None:
                continue
            parts = entry.rel.replace(".", "/").split("/")
            score = sum(1.0 for h in hint if h in parts) + (0.5 if d.parent is None else 0.0)
            score += _proximity(self.cur, entry.rel) * 0.5
            if best is None or score > best[0]:
                best = (score, entry, d)
        return (best[1], best[2]) if best else None

    # -- names nothing binds ------------------------------------------------------------------------------------

    def _unbound_names(self) -> None:
        """Names used near the cursor (or being typed) that the buffer neither defines nor imports."""
        buf, cl = self.buf, self.buf.cursor_line
        bound = {imp.local for imp in buf.imports}
        lookups: dict[str, float] = {}
        for name, lines in buf.occ.items():
            if name in bound or name in buf.local or name in COMMON_WORDS or name in BUILTIN_NAMES or len(name) < 3:
                continue
            near = [abs(u - cl) for u in lines if -3 <= u - cl <= 2]
            if near:
                lookups[name] = 0.8 - 0.02 * min(near)
        if buf.typed and len(buf.typed) >= 2:
            for name in self._names_with_prefix(buf.typed):
                if name not in buf.local:
                    lookups[name] = max(lookups.get(name, 0.0), 0.85 if name != buf.typed else 0.9)
        for name, score in lookups.items():
            entries = self.ws.by_name.get(name)
            if not entries:
                continue
            # a name defined in many files says little: keep the nearest few
            ranked = sorted((e for e in entries if e.rel != self.cur), key=lambda e: -_proximity(self.cur, e.rel))[:3]
            spread = 1.0 / (1.0 + 0.15 * (len(entries) - 1))
            for entry in ranked:
                d = entry.top_defs().get(name) or next((x for x in entry.defs if x.name == name), None)
                if d is not None:
                    self.add(entry, d, score * (0.75 + 0.25 * spread), "lexical")

    def _names_with_prefix(self, typed: str, limit: int = 12) -> list[str]:
        names = self.ws.sorted_names()
        i = bisect.bisect_left(names, typed)
        out: list[str] = []
        while i < len(names) and names[i].startswith(typed) and len(out) < limit:
            out.append(names[i])
            i += 1
        return out

    # -- predictions ----------------------------------------------------------------------------------------------

    def _predictions(self) -> None:
        ws, buf = self.ws, self.buf
        # 1. members of the modules the buffer imports from
        for rel in self.buffer_files:
            entry = ws.files.get(rel)
            if entry is None or rel == self.cur:
                continue
            activity = self.module_files.get(rel)
            for d in list(entry.top_defs().values())[:300]:
                p = self.pred(entry, d, activity is not None)
                if p is not None:
                    if activity is not None:
                        p.f_qual = max(p.f_qual, activity)
                    else:
                        p.f_mod = 1.0
        # 2. co-imports: what files with imports like ours import
        self._co_imports()
        # 3. words near the cursor that appear in definition names
        self._lexical()
        # 4. names the buffer mentions (comments, strings, attributes) that the project defines
        cl = buf.cursor_line
        bound = {imp.local for imp in buf.imports}
        for name, lines in buf.occ.items():
            if name in bound or name in buf.local or name in COMMON_WORDS or len(name) < 3:
                continue
            entries = ws.by_name.get(name)
            if not entries or len(entries) > 8:
                continue
            dist = min(abs(u - cl) for u in lines)
            weight = min(1.0, 0.4 + 0.2 * len(lines)) * (1.0 if dist <= 30 else 0.7)
            for entry in entries:
                top = entry.top_defs().get(name)
                if top is not None:
                    p = self.pred(entry, top)
                    if p is not None:
                        p.f_ment = max(p.f_ment, weight)
        for name, chain in buf.attrs:
            attr = chain.split(".")[0]
            if attr in buf.local or len(attr) < 3 or name in bound:
                continue
            entries = ws.by_name.get(attr)
            if not entries or len(entries) > 4:
                continue
            for entry in entries:
                member = entry.top_defs().get(attr) or next((x for x in entry.defs if x.name == attr), None)
                if member is not None:
                    p = self.pred(entry, member)
                    if p is not None:
                        p.f_ment = max(p.f_ment, 0.3)
        # 5. what the project imports most (not counting this file's own imports)
        own = self._own_imports()
        for entry, d, count in ws.popular()[:60]:
            if count > 1 or (entry.rel, d.name) not in own:
                self.pred(entry, d)
        self._score_predictions()

    def _co_imports(self) -> None:
        ws = self.ws
        if not self.buffer_modules:
            return
        n_files = max(len(ws.files), 1)
        sim: dict[str, float] = {}
        for mod in self.buffer_modules:
            files = ws.importers.get(mod)
            if not files or len(files) > CO_MAX_IMPORTERS:
                continue  # a module everyone imports says little about this file
            w = math.log(1.0 + n_files / len(files))
            for rel in files:
                sim[rel] = sim.get(rel, 0.0) + w
        sim.pop(self.cur or "", None)
        if not sim:
            return
        top = heapq.nlargest(40, sim.items(), key=lambda kv: (kv[1], kv[0]))
        co: dict[tuple[str, str], float] = {}
        for rel, s in top:
            entry = ws.files.get(rel)
            if entry is None:
                continue
            for module, name in entry.import_keys:
                if name is None or (module, name) in self.buffer_keys:
                    continue
                co[(module, name)] = co.get((module, name), 0.0) + s
        if not co:
            return
        best = max(co.values())
        for key, s in heapq.nlargest(150, co.items(), key=lambda kv: (kv[1], kv[0])):
            loc = ws.resolve_location(key[0], key[1])
            if loc is None:
                continue
            p = self.pred(loc[0], loc[1])
            if p is not None:
                p.f_co = max(p.f_co, s / best)

    def _lexical(self) -> None:
        ws, q = self.ws, self.buf.query
        if not q:
            return
        acc: dict[str, float] = {}
        get = acc.get
        for tok, wq in heapq.nlargest(32, q.items(), key=lambda kv: (kv[1], kv[0])):
            names = ws.token_names.get(tok)
            if not names or len(names) > 400:
                continue  # a word in hundreds of names says little
            w = wq * ws.idf(tok)
            for name in names:
                acc[name] = get(name, 0.0) + w
        if not acc:
            return
        # longer names match more words by chance: normalise by their number of parts
        scores = {name: v / (0.5 + 0.5 * len(subtokens(name))) for name, v in acc.items()}
        best = max(scores.values())
        for name, s in heapq.nlargest(120, scores.items(), key=lambda kv: (kv[1], kv[0])):
            if name in self.buf.local:
                continue
            entries = ws.by_name.get(name, ())
            for entry in entries[:4]:
                d = entry.top_defs().get(name)
                if d is None:
                    continue
                p = self.pred(entry, d)
                if p is not None:
                    p.f_lex = max(p.f_lex, s / best)

    def _own_imports(self) -> set[tuple[str, str]]:
        """Where the indexed copy of the current file's imports lead: they must not count (its text is
        replaced by the buffer, which may have dropped or not yet written them)."""
        if self._own is None:
            self._own = set()
            if self.cur_entry is not None:
                self._own = set(self.cur_entry.pop_locs)
        return self._own

    def _score_predictions(self) -> None:
        if not self.preds:
            return
        pop = self.ws.popularity()
        own = self._own_imports()
        log_max_pop = math.log1p(max(self.ws.max_popularity(), 1))
        w = WEIGHTS
        w_qual, w_mod, w_co, w_lex, w_ment, w_pop, w_dir, w_kind = (
            w["qual"], w["mod"], w["co"], w["lex"], w["ment"], w["pop"], w["dir"], w["kind"]
        )  # fmt: skip
        scale = PRED_SCALE
        cur = self.cur
        bound = self.bound_defs
        scored: list[tuple[float, tuple[str, int]]] = []
        for key, p in self.preds.items():
            if key in bound:
                continue
            loc = (p.entry.rel, p.d.name)
            count = pop.get(loc, 0)
            if count and loc in own:
                count -= 1
            kind = p.d.kind
            raw = (
                w_qual * p.f_qual
                + w_mod * p.f_mod
                + w_co * p.f_co
                + w_lex * p.f_lex
                + w_ment * p.f_ment
                + (w_pop * math.log1p(count) / log_max_pop if count else 0.0)
                + w_dir * _proximity(cur, loc[0])
                + w_kind * (1.0 if kind == "class" or kind == "function" else 0.5 if p.d.parent is None else 0.0)
            )
            scored.append((min(PRED_MAX, raw * scale), key))
        for score, key in heapq.nlargest(MAX_PREDICTIONS, scored):
            p = self.preds[key]
            source = "imports" if p.f_mod or p.f_qual else "related" if p.f_co >= max(p.f_lex, p.f_ment) else "lexical"
            old = self.out.get(key)
            if old is None or old.score < score:
                self.out[key] = _def_candidate(p.entry, p.d, score, source)


def _proximity(cur: str | None, rel: str) -> float:
    """1 for the same folder, 0.5 for the same top folder, else 0."""
    if not cur:
        return 0.0
    a = cur.rpartition("/")[0]
    if rel.rpartition("/")[0] == a:
        return 1.0
    top = a.partition("/")[0]
    return 0.5 if top and rel.startswith(top) and rel[len(top) : len(top) + 1] == "/" else 0.0


# --------------------------------------------------------------------------------------------------------
# Open buffers and recent edits
# --------------------------------------------------------------------------------------------------------


def line_tokens(lines: list[str]) -> list[frozenset[str]]:
    """The identifiers of every line (cached by the caller per file version)."""
    empty: frozenset[str] = frozenset()
    return [frozenset(IDENT.findall(line)) if line.strip() else empty for line in lines]


def window_candidate(
    rel: str, toks: list[frozenset[str]], query: set[str], window: int = 16, base: float = 0.15
) -> Candidate | None:
    """The window of an open file that shares the most words with the code before the cursor (Jaccard)."""
    n = len(toks)
    if not n or not query:
        return None
    hits = [len(t & query) if t else 0 for t in toks]
    sizes = [len(t) for t in toks]
    w = min(window, n)
    cur_hits = sum(hits[:w])
    cur_size = sum(sizes[:w])
    best = (cur_hits / (len(query) + cur_size - cur_hits) if cur_size else 0.0, 0)
    for s in range(1, n - w + 1):
        cur_hits += hits[s + w - 1] - hits[s - 1]
        cur_size += sizes[s + w - 1] - sizes[s - 1]
        if cur_hits:
            sc = cur_hits / (len(query) + cur_size - cur_hits)
            if sc > best[0]:
                best = (sc, s)
    sim, start = best
    if sim <= 0.05:
        return None
    return Candidate(rel, start + 1, start + w, "open_file", "open_buffer", base + 0.4 * min(sim, 1.0))


def query_words(buf: Buffer, lines_before: int = 20) -> set[str]:
    cl = buf.cursor_line
    out: set[str] = set()
    for i in range(max(0, cl - lines_before), cl + 1):
        if i < len(buf.lines) and i not in buf.import_lines:
            out.update(t for t in IDENT.findall(buf.lines[i]) if t not in COMMON_WORDS)
    return out


# --------------------------------------------------------------------------------------------------------
# Packing
# --------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Packed:
    cand: Candidate
    start: int
    end: int
    lines: list[str]  # the snippet's lines


def pack(
    cands: Iterable[Candidate],
    budget: int,
    lines_of: Callable[[str], list[str] | None],
    grow_threshold: float = 0.95,
    grow_lines: int = 30,
) -> list[Packed]:
    """Best candidates first, each once, no overlapping lines, within `budget` characters (newlines count).

    Definitions enter with their signature; when budget is left the most relevant ones grow into their body.
    Returned in prompt order: rules first, then by decreasing score. Files are read only for what is kept.
    """
    ordered = sorted(cands, key=lambda c: (c.kind != "rules", -c.score, c.rel, c.start))
    taken: dict[str, list[tuple[int, int]]] = {}  # per file, the kept line spans in the order they were kept
    ordered_spans: dict[str, list[tuple[int, int]]] = {}  # the same spans sorted (they never overlap)
    out: list[Packed] = []
    used = 0
    cache: dict[str, list[str] | None] = {}

    def get_lines(rel: str) -> list[str] | None:
        if rel not in cache:
            cache[rel] = lines_of(rel)
        return cache[rel]

    for c in ordered:
        room = budget - used
        if room < 2:
            break
        if c.text is not None:
            # the index holds the header: no file read unless it is kept
            cost = len(c.text) + 1
            if cost > room:
                continue
            if _overlaps(ordered_spans.get(c.rel), c.start, c.end):
                continue
            taken.setdefault(c.rel, []).append((c.start, c.end))
            bisect.insort(ordered_spans.setdefault(c.rel, []), (c.start, c.end))
            out.append(Packed(c, c.start, c.end, c.text.split("\n")))
            used += cost
            continue
        lines = get_lines(c.rel)
        if not lines:
            continue
        s, e = max(1, c.start), min(len(lines), c.end)
        if s > e:
            continue
        s, e = _trim_overlap(taken.get(c.rel, []), s, e, c.name_line)
        if s > e:
            continue
        # rules and windows may be cut to fit; a definition's header is all or nothing
        cost = sum(len(x) + 1 for x in lines[s - 1 : e])
        if cost > room:
            if c.kind in ("rules", "open_file", "recent_edit", "retrieved") or e - s > 8:
                while e >= s and cost > room:
                    cost -= len(lines[e - 1]) + 1
                    e -= 1
                if e < s or (c.name_line and e < c.name_line):
                    continue
            else:
                continue
        taken.setdefault(c.rel, []).append((s, e))
        bisect.insort(ordered_spans.setdefault(c.rel, []), (s, e))
        out.append(Packed(c, s, e, lines[s - 1 : e]))
        used += cost
    # grow the most relevant definitions into their bodies while budget is left
    for p in out:
        c = p.cand
        if c.kind != "definition" or c.score < grow_threshold or used >= budget - 40 or c.full_end <= p.end:
            continue
        lines = get_lines(c.rel) or []
        if p.end > len(lines) or "\n".join(lines[p.start - 1 : p.end]) != "\n".join(p.lines):
            continue  # the file changed since it was indexed
        limit = min(c.full_end, len(lines), p.start + grow_lines)
        e = p.end
        spans = taken[c.rel]
        while e < limit:
            nxt = e + 1
            if any(a <= nxt <= b for a, b in spans if (a, b) != (p.start, p.end)):
                break
            cost = len(lines[nxt - 1]) + 1
            if used + cost > budget:
                break
            used += cost
            e = nxt
        if e > p.end:
            spans.remove((p.start, p.end))
            spans.append((p.start, e))
            ordered_spans[c.rel].remove((p.start, p.end))
            bisect.insort(ordered_spans[c.rel], (p.start, e))
            p.end = e
            p.lines = lines[p.start - 1 : e]
    return out


def _overlaps(spans: list[tuple[int, int]] | None, s: int, e: int) -> bool:
    """Does [s, e] overlap one of `spans` (sorted, none overlapping another)? Only the last span starting at or
    before `e` can."""
    if not spans:
        return False
    i = bisect.bisect_right(spans, (e, math.inf)) - 1
    return i >= 0 and spans[i][1] >= s


def _trim_overlap(spans: list[tuple[int, int]], s: int, e: int, keep: int) -> tuple[int, int]:
    """Cut [s, e] so it does not overlap `spans`, keeping line `keep` when given; (1, 0) when nothing is left."""
    for a, b in spans:
        if b < s or a > e:
            continue
        if a <= s and e <= b:
            return 1, 0
        if keep and a <= keep <= b:
            return 1, 0
        if a <= s:
            s = b + 1
        elif b >= e or (keep and keep < a):
            e = a - 1
        else:
            s = b + 1
    return s, e
