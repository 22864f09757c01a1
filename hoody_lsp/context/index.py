"""The index of one workspace folder: its files, their definitions and imports, and the import statistics.

Built by a walk that honours the ignore rules (`ignore.py`) and the secret-file rules (`secrets.py`), never
leaves the folder through a symbolic link, stops at `max_files`, and skips the home folder and `/` entirely.
The walk is a generator of small steps: `build` runs it on the event loop in slices of a few milliseconds
(yielding between slices, so completions never wait long), `build_sync` runs it to the end (command line).
Kept current by `update_file`/`remove_path` (watched files, saves) and by `rescan` (stat only; re-reads
what changed).

File text is not kept (memory): definitions carry line numbers; `read_lines` re-reads the few files a
request needs, through a small cache keyed by (mtime, size), and re-indexes a file that changed behind
our back so line numbers always match the text.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import heapq
import logging
import math
import os
import stat
import sys
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from hoody_lsp.context.ignore import (
    MAX_FILE_BYTES,
    IgnoreRules,
    inside,
    looks_binary,
    looks_generated,
    skip_dir_name,
    skip_file_name,
)
from hoody_lsp.context.secrets import is_secret_path
from hoody_lsp.context.symbols import (
    TREE_SITTER_LANGUAGES,
    Definition,
    Import,
    extract,
    family,
    language_for_path,
)
from hoody_lsp.context.text import subtokens

log = logging.getLogger(__name__)

DEFAULT_MAX_FILES = 20_000
SLICE_S = 0.001  # longest stretch of work between two yields to the event loop
REFINE_MAX_BYTES = 32_000  # background refinement parses files up to this size (one parse = one step)
FREEZE_EVERY = 2000  # files between two gc.freeze() calls while building (see _steps)
RULES_FILES = ("AGENTS.md", "CLAUDE.md", ".hoody/instructions.md", ".github/copilot-instructions.md")
JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".d.ts")


@dataclass(slots=True, eq=False)
class FileEntry:
    path: str  # absolute (under the workspace folder as given, not resolved)
    rel: str  # workspace-relative, `/` separators
    size: int
    mtime_ns: int
    language: str | None
    defs: list[Definition] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    module: str | None = None  # Python: dotted module name; JS/TS: rel without extension
    is_pkg: bool = False
    import_keys: tuple[tuple[str, str | None], ...] = ()  # (absolute module, name) pairs this file imports
    top: dict[str, Definition] | None = None  # name -> top-level definition, built on first lookup
    pop_locs: tuple[tuple[str, str], ...] = ()  # where this file's imports resolved (for the popularity counts)
    exact: bool = True  # False: definitions from the quick scan, the grammar has not read this file yet

    def same_name(self, d: Definition) -> list[Definition]:
        """Other top-level definitions of the same name (overloads, conditional definitions)."""
        return [x for x in self.defs if x.parent is None and x.name == d.name and x is not d]

    def top_defs(self) -> dict[str, Definition]:
        if self.top is None:
            top: dict[str, Definition] = {}
            for d in self.defs:
                if d.parent is None:
                    top[d.name] = d  # the last one wins: overloads and fallbacks come before the real one
            self.top = top
        return self.top


def disabled_reason(root: str) -> str | None:
    """Why a folder must not be indexed (missing, `/`, the home folder), or None."""
    if not root or not os.path.isdir(root):
        return "missing"
    real = os.path.realpath(root)
    if real == os.path.realpath(os.sep) or os.path.dirname(real) == real:
        return "filesystem root"
    home = os.path.realpath(os.path.expanduser("~"))
    if real == home:
        return "home folder"
    return None


def python_module_of(rel: str, is_package_dir: dict[str, bool], root: str) -> tuple[str, bool]:
    """Dotted module name of a Python file and whether it is a package `__init__`."""
    d, _, fn = rel.rpartition("/")
    stem = fn.rsplit(".", 1)[0]
    is_pkg = stem == "__init__"
    parts = [] if is_pkg else [stem]
    while d:
        has_init = is_package_dir.get(d)
        if has_init is None:
            has_init = os.path.isfile(os.path.join(root, d, "__init__.py"))
            is_package_dir[d] = has_init
        if not has_init:
            break
        d, _, base = d.rpartition("/")
        parts.insert(0, base)
    if not parts:  # a top-level __init__.py (the workspace itself is a package)
        parts = [os.path.basename(root.rstrip(os.sep)) or "__init__"]
    return ".".join(parts), is_pkg


def absolute_module(entry: FileEntry, written: str) -> str | None:
    """`from ..x import y` written in `entry` -> the absolute dotted module (None when it climbs too far)."""
    if not written.startswith("."):
        return written
    level = len(written) - len(written.lstrip("."))
    rest = written[level:]
    if entry.module is None:
        return rest or None
    parts = entry.module.split(".")
    pkg = parts if entry.is_pkg else parts[:-1]
    if level - 1 > len(pkg):
        return None
    base = pkg[: len(pkg) - (level - 1)]
    if rest:
        base = [*base, rest]
    return ".".join(base) or None


def js_module_of(rel: str) -> str:
    """`src/a/index.ts` -> `src/a`; `src/a/b.ts` -> `src/a/b`."""
    for ext in (".d.ts", *JS_EXTENSIONS):
        if rel.endswith(ext):
            rel = rel[: -len(ext)]
            break
    if rel.endswith("/index"):
        rel = rel[: -len("/index")]
    elif rel == "index":
        rel = ""
    return rel


def js_resolve_spec(importer_rel: str, spec: str) -> str | None:
    """A relative specifier (`./x`, `../y/z.js`) -> the module key (rel without extension)."""
    if not spec.startswith("."):
        return None
    base = importer_rel.rpartition("/")[0]
    parts = [p for p in base.split("/") if p] if base else []
    for p in spec.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return js_module_of("/".join(parts))


class WorkspaceIndex:
    """Files, definitions and import statistics of one workspace folder."""

    def __init__(self, root: str, *, exclude: Sequence[str] = (), max_files: int = DEFAULT_MAX_FILES) -> None:
        self.root = os.path.abspath(root)
        self.real_root = os.path.realpath(self.root)
        self.rules = IgnoreRules(self.root, exclude)
        self.max_files = max_files
        self.files: dict[str, FileEntry] = {}
        self.folders: dict[str, set[str]] = {}  # folder rel -> rels of its files (Go/Java packages)
        self.by_name: dict[str, list[FileEntry]] = {}  # definition name -> files defining it (top or member)
        self.by_module: dict[str, list[FileEntry]] = {}  # python dotted / js module key -> files
        self.module_tail: dict[str, list[str]] = {}  # last dotted component -> modules
        self.importers: dict[str, set[str]] = {}  # absolute module -> rels of files importing from it
        self.key_count: Counter[tuple[str, str | None]] = Counter()  # (module, name) -> files importing it
        self.token_names: dict[str, list[str]] = {}  # sub-token -> defined names containing it
        self.package_dirs: dict[str, bool] = {}
        self.generation = 0  # bumped on every change; caches key on it
        self.state = "new"  # new | building | ready | disabled
        self.disabled = disabled_reason(self.root)
        self.truncated = False
        self.build_seconds: float | None = None
        self._busy = False  # a build or rescan is running (they never overlap)
        self._line_cache: OrderedDict[str, tuple[int, int, list[str]]] = OrderedDict()
        self._pop: dict[tuple[str, str], int] = {}  # (rel, name) of a definition -> files importing it
        self._popular: list[tuple[FileEntry, Definition, int]] | None = None
        self._resolve_cache: dict[tuple[str, str], tuple[FileEntry, Definition] | None] = {}
        self._resolve_gen = -1
        self._names_sorted: list[str] | None = None
        if self.disabled:
            self.state = "disabled"
            log.info("context: not indexing %s (%s)", self.root, self.disabled)

    # ----------------------------------------------------------------------------------------------------
    # paths
    # ----------------------------------------------------------------------------------------------------

    def rel_of(self, path: str) -> str | None:
        """Workspace-relative path of an absolute path under this folder (lexically), else None."""
        ap = os.path.abspath(path)
        if ap == self.root:
            return ""
        if inside(ap, self.root):
            return os.path.relpath(ap, self.root).replace(os.sep, "/")
        rp = os.path.realpath(ap)
        if inside(rp, self.real_root):
            return os.path.relpath(rp, self.real_root).replace(os.sep, "/")
        return None

    def is_private(self, rel: str, is_dir: bool = False) -> bool:
        """Ignored by the privacy rules (.gitignore, .hoodyignore, context.exclude) or a secret file."""
        if not is_dir and is_secret_path(rel):
            return True
        return self.rules.is_ignored(rel, is_dir)

    def leaves_workspace(self, abs_path: str) -> bool:
        """Does the path resolve (through links) outside this folder?"""
        return not inside(os.path.realpath(abs_path), self.real_root)

    # ----------------------------------------------------------------------------------------------------
    # building
    # ----------------------------------------------------------------------------------------------------

    def _walk(self) -> Iterator[tuple[str, str, os.stat_result]]:
        """(rel, abs, stat) of every indexable file, honouring every rule; yields None-free tuples only."""
        stack = [""]
        seen_dirs = {self.real_root}
        while stack:
            rel_dir = stack.pop()
            abs_dir = os.path.join(self.root, rel_dir) if rel_dir else self.root
            try:
                with os.scandir(abs_dir) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            names = {e.name for e in entries}
            self.package_dirs[rel_dir] = "__init__.py" in names
            if rel_dir and ("pyvenv.cfg" in names or "conda-meta" in names):
                continue  # a virtual environment under an ordinary name
            subdirs = []
            for e in entries:
                rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
                try:
                    is_link = e.is_symlink()
                    is_dir = e.is_dir(follow_symlinks=True)
                except OSError:
                    continue
                if is_dir:
                    if skip_dir_name(e.name):
                        continue
                    if is_link:
                        real = os.path.realpath(e.path)
                        if not inside(real, self.real_root) or real in seen_dirs:
                            continue  # never follow a link out of the workspace, nor around a loop
                        seen_dirs.add(real)
                    if self.rules.ignored_entry(rel, True):
                        continue
                    subdirs.append(rel)
                    continue
                if skip_file_name(e.name) or is_secret_path(rel):
                    continue
                if is_link:
                    real = os.path.realpath(e.path)
                    if not inside(real, self.real_root) or is_secret_path(real):
                        continue
                if self.rules.ignored_entry(rel, False):
                    continue
                try:
                    st = e.stat(follow_symlinks=True)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                yield rel, e.path, st
            stack.extend(reversed(subdirs))

    def _steps(self) -> Iterator[None]:
        """The whole build as small steps (one file each)."""
        t0 = time.perf_counter()
        if self.state != "ready":
            self.state = "building"
        seen: set[str] = set()
        fresh = 0
        for rel, abs_path, st in self._walk():
            if len(seen) >= self.max_files:
                if not self.truncated:
                    self.truncated = True
                    log.warning(
                        "context: %s has more than %d files; the index stops there (context.maxFiles)",
                        self.root,
                        self.max_files,
                    )
                break
            seen.add(rel)
            old = self.files.get(rel)
            if old is None or old.mtime_ns != st.st_mtime_ns or old.size != st.st_size:
                self._index_file(rel, abs_path, st, exact=False)  # quick pass; refined below
                fresh += 1
                if fresh % FREEZE_EVERY == 0:
                    _freeze()
            yield None
        removed = 0
        if not self.truncated:
            for rel in [r for r in self.files if r not in seen]:
                self._replace(rel, None)
                removed += 1
        if fresh or removed or self.state != "ready":
            self.state = "building"
            self.generation += 1
            yield from self._recompute_popularity()
            self._names_sorted = sorted(self.by_name)
        if fresh >= FREEZE_EVERY:
            _freeze()
        self.state = "ready"
        self.build_seconds = time.perf_counter() - t0
        self.generation += 1
        # the index is usable; now let the grammars read what the quick scan read (exact spans, members)
        for rel in [r for r, e in self.files.items() if not e.exact and e.size <= REFINE_MAX_BYTES]:
            entry = self.files.get(rel)
            if entry is None or entry.exact:
                continue
            try:
                st = os.stat(entry.path)
            except OSError:
                continue
            self._index_file(rel, entry.path, st, exact=True)
            yield None

    async def build(self, slice_s: float = SLICE_S) -> None:
        """Index the folder on the running event loop, yielding at least every `slice_s` seconds."""
        if self.disabled or self._busy:
            return
        self._busy = True
        try:
            deadline = time.perf_counter() + slice_s
            for _ in self._steps():
                if time.perf_counter() >= deadline:
                    await asyncio.sleep(0)
                    deadline = time.perf_counter() + slice_s
        finally:
            self._busy = False
        log.info(
            "context: indexed %s: %d files, %d names in %.2fs",
            self.root,
            len(self.files),
            len(self.by_name),
            self.build_seconds or 0.0,
        )

    def build_sync(self) -> None:
        if self.disabled or self._busy:
            return
        self._busy = True
        try:
            for _ in self._steps():
                pass
        finally:
            self._busy = False

    async def rescan(self, slice_s: float = SLICE_S) -> None:
        """Stat every file again; re-read only what changed; forget what is gone."""
        if self.disabled or self._busy:
            return
        self.rules.invalidate()
        await self.build(slice_s)

    # ----------------------------------------------------------------------------------------------------
    # one file
    # ----------------------------------------------------------------------------------------------------

    def _index_file(
        self, rel: str, abs_path: str, st: os.stat_result, text: str | None = None, exact: bool = True
    ) -> None:
        language = language_for_path(rel)
        entry = FileEntry(abs_path, rel, st.st_size, st.st_mtime_ns, language)
        entry.exact = exact or language not in TREE_SITTER_LANGUAGES
        if language is not None and text is None and st.st_size <= MAX_FILE_BYTES:
            text = _read_text(abs_path)
        if text is not None and language is not None and not looks_generated(text):
            syms = extract(text, language, exact)
            entry.defs, entry.imports = syms.defs, syms.imports
        if language == "python":
            entry.module, entry.is_pkg = python_module_of(rel, self.package_dirs, self.root)
        elif family(language) == "js":
            entry.module = js_module_of(rel)
        self._replace(rel, entry)

    def _replace(self, rel: str, entry: FileEntry | None) -> None:
        old = self.files.pop(rel, None)
        folder = rel.rpartition("/")[0]
        if old is not None:
            self._unlink(old)
            siblings = self.folders.get(folder)
            if siblings is not None:
                siblings.discard(rel)
                if not siblings:
                    del self.folders[folder]
        if entry is not None:
            self.files[rel] = entry
            self.folders.setdefault(folder, set()).add(rel)
            self._link(entry)
        self.generation += 1
        self._line_cache.pop(rel, None)

    def _link(self, entry: FileEntry) -> None:
        intern = sys.intern
        for d in entry.defs:
            if d.name.startswith("__") and d.name.endswith("__"):
                continue  # dunder methods: everywhere, never what a lookup means
            lst = self.by_name.get(d.name)
            if lst is None:
                self.by_name[d.name] = [entry]
                for t in subtokens(d.name):
                    self.token_names.setdefault(t, []).append(d.name)
                if self._names_sorted is not None and self.state == "ready":
                    bisect.insort(self._names_sorted, d.name)
            elif entry not in lst:
                lst.append(entry)
        if entry.module is not None:
            self.by_module.setdefault(entry.module, []).append(entry)
            tail = self._tail(entry)
            self.module_tail.setdefault(tail, []).append(entry.module)
        keys = []
        for imp in entry.imports:
            mod = self._import_module(entry, imp)
            if mod is None:
                continue
            keys.append((intern(mod), imp.name))
        entry.import_keys = tuple(dict.fromkeys(keys))
        for key in entry.import_keys:
            self.key_count[key] += 1
            self.importers.setdefault(key[0], set()).add(entry.rel)
        if self.state == "ready":
            self.generation += 1  # resolution may differ now
            self._count_imports(entry, +1)

    @staticmethod
    def _tail(entry: FileEntry) -> str:
        assert entry.module is not None
        return entry.module.rpartition(".")[2] if entry.language == "python" else entry.module.rpartition("/")[2]

    def _unlink(self, entry: FileEntry) -> None:
        if entry.pop_locs:
            self._count_imports(entry, -1)
        for d in entry.defs:
            lst = self.by_name.get(d.name)
            if lst is not None and entry in lst:
                lst.remove(entry)
                if not lst:
                    del self.by_name[d.name]
                    if self._names_sorted is not None:
                        i = bisect.bisect_left(self._names_sorted, d.name)
                        if i < len(self._names_sorted) and self._names_sorted[i] == d.name:
                            del self._names_sorted[i]
                    for t in subtokens(d.name):
                        names = self.token_names.get(t)
                        if names is not None and d.name in names:
                            names.remove(d.name)
                            if not names:
                                del self.token_names[t]
        if entry.module is not None:
            lst2 = self.by_module.get(entry.module)
            if lst2 is not None and entry in lst2:
                lst2.remove(entry)
                if not lst2:
                    del self.by_module[entry.module]
                    mods = self.module_tail.get(self._tail(entry))
                    if mods and entry.module in mods:
                        mods.remove(entry.module)
        for key in entry.import_keys:
            self.key_count[key] -= 1
            if self.key_count[key] <= 0:
                del self.key_count[key]
            s = self.importers.get(key[0])
            if s is not None:
                s.discard(entry.rel)
                if not s:
                    del self.importers[key[0]]

    def _import_module(self, entry: FileEntry, imp: Import) -> str | None:
        fam = family(entry.language)
        if fam == "python":
            return absolute_module(entry, imp.module)
        if fam == "js":
            return js_resolve_spec(entry.rel, imp.module) or imp.module
        return imp.module

    def update_file(self, path: str, text: str | None = None) -> bool:
        """(Re)index one file after it changed on disk; False when it is not ours to index."""
        if self.disabled:
            return False
        rel = self.rel_of(path)
        if rel is None or rel == "":
            return False
        base = rel.rpartition("/")[2]
        if base in (".gitignore", ".hoodyignore"):
            self.rules.invalidate()
            return True
        if self.is_private(rel) or self.leaves_workspace(path) or skip_file_name(base):
            self._replace(rel, None) if rel in self.files else None
            return False
        if any(skip_dir_name(p) for p in rel.split("/")[:-1]):
            return False
        try:
            st = os.stat(path)
        except OSError:
            self.remove_path(path)
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        if rel not in self.files and len(self.files) >= self.max_files:
            return False
        if base == "__init__.py":
            self.package_dirs[rel.rpartition("/")[0]] = True
        self._index_file(rel, path, st, text)
        return True

    def ensure_module(self, module: str, near: str | None, language: str | None) -> None:
        """Before the walk is done: index the file an import names, if it exists (a few stats)."""
        if self.state == "ready" or self.disabled or module in self.by_module:
            return
        cands: list[str] = []
        if family(language) == "js":
            cands = [module + ext for ext in JS_EXTENSIONS] + [f"{module}/index{ext}" for ext in JS_EXTENSIONS]
        elif language == "python":
            bases = ["", "src"]
            if near:
                parts = near.split("/")[:-1]
                bases += ["/".join(parts[:k]) for k in range(len(parts), 0, -1)]
            path = module.replace(".", "/")
            for base in dict.fromkeys(bases):
                prefix = f"{base}/{path}" if base else path
                cands += [prefix + ".py", prefix + "/__init__.py"]
        for rel in cands:
            abs_path = os.path.join(self.root, rel)
            if rel not in self.files and os.path.isfile(abs_path):
                # the package folders above it decide its module name
                folder = os.path.dirname(rel)
                while folder:
                    init = os.path.join(folder, "__init__.py")
                    if init.replace(os.sep, "/") not in self.files and os.path.isfile(os.path.join(self.root, init)):
                        self.update_file(os.path.join(self.root, init))
                    folder = os.path.dirname(folder)
                self.update_file(abs_path)
                if module in self.by_module:
                    return

    def remove_path(self, path: str) -> None:
        """A file or a whole folder is gone."""
        rel = self.rel_of(path)
        if rel is None:
            return
        if rel in self.files:
            self._replace(rel, None)
            return
        prefix = rel + "/" if rel else ""
        for r in [r for r in self.files if r.startswith(prefix)]:
            self._replace(r, None)

    # ----------------------------------------------------------------------------------------------------
    # reading
    # ----------------------------------------------------------------------------------------------------

    def read_lines(self, rel: str) -> list[str] | None:
        """The current lines of an indexed file (re-indexed first when it changed on disk)."""
        entry = self.files.get(rel)
        if entry is None:
            return None
        try:
            st = os.stat(entry.path)
        except OSError:
            self._replace(rel, None)
            return None
        cached = self._line_cache.get(rel)
        if cached is not None and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
            self._line_cache.move_to_end(rel)
            return cached[2]
        if os.path.islink(entry.path) and self.leaves_workspace(entry.path):
            return None  # a link swapped in after indexing
        text = _read_text(entry.path)
        if text is None:
            return None
        if st.st_mtime_ns != entry.mtime_ns or st.st_size != entry.size:
            self._index_file(rel, entry.path, st, text)
        lines = text.split("\n")
        self._line_cache[rel] = (st.st_mtime_ns, st.st_size, lines)
        if len(self._line_cache) > 256:
            self._line_cache.popitem(last=False)
        return lines

    # ----------------------------------------------------------------------------------------------------
    # resolution
    # ----------------------------------------------------------------------------------------------------

    def module_entry(self, module: str, near: str | None = None) -> FileEntry | None:
        """The file of a module (the one closest to `near` when several folders hold the same name)."""
        cands = self.by_module.get(module)
        if not cands:
            tail = module.rpartition(".")[2]
            mods = [m for m in self.module_tail.get(tail, ()) if m.endswith("." + module)]
            if not mods:
                return None
            cands = self.by_module.get(min(mods, key=len))
            if not cands:
                return None
        if len(cands) == 1:
            return cands[0]
        # sources before stubs, then the copy nearest to the importer, then a stable order
        return min(cands, key=lambda c: (c.rel.endswith(".pyi"), -_common_dirs(c.rel, near) if near else 0, c.rel))

    def resolve_python(
        self, module: str, name: str, near: str | None = None, depth: int = 0
    ) -> tuple[FileEntry, Definition] | str | None:
        """A name imported from a module -> (file, definition), a module name (str), or None.

        Follows re-exports (`from .core import X` in a package `__init__`) and star imports.
        """
        if depth > 6:
            return None
        entry = self.module_entry(module, near)
        if entry is None:
            sub = f"{module}.{name}"
            return sub if sub in self.by_module else None
        d = entry.top_defs().get(name)
        if d is not None:
            return entry, d
        sub = f"{module}.{name}"
        if sub in self.by_module:
            return sub
        for imp in entry.imports:
            if imp.star or imp.local != name:
                continue
            mod = absolute_module(entry, imp.module)
            if mod is None:
                continue
            if imp.name is None:
                return mod if mod in self.by_module else None
            return self.resolve_python(mod, imp.name, entry.rel, depth + 1)
        for imp in entry.imports:
            if imp.star:
                mod = absolute_module(entry, imp.module)
                if mod:
                    r = self.resolve_python(mod, name, entry.rel, depth + 1)
                    if r is not None and not isinstance(r, str):
                        return r
        return None

    def resolve_js(self, module: str, name: str, depth: int = 0) -> tuple[FileEntry, Definition] | None:
        """A name imported from a JS/TS module key -> (file, definition), following re-exports."""
        if depth > 6:
            return None
        entry = self.module_entry_js(module)
        if entry is None:
            return None
        if name == "default":
            d = next((d for d in entry.defs if d.parent is None and d.kind in ("function", "class")), None)
            return (entry, d) if d is not None else None
        d = entry.top_defs().get(name)
        if d is not None:
            return entry, d
        for imp in entry.imports:
            if imp.local == name and imp.name:
                mod = js_resolve_spec(entry.rel, imp.module)
                if mod is not None:
                    return self.resolve_js(mod, imp.name, depth + 1)
        for imp in entry.imports:
            if imp.star:
                mod = js_resolve_spec(entry.rel, imp.module)
                if mod is not None:
                    r = self.resolve_js(mod, name, depth + 1)
                    if r is not None:
                        return r
        return None

    def module_entry_js(self, module: str) -> FileEntry | None:
        cands = self.by_module.get(module)
        if not cands:
            return None
        # prefer sources over declaration files
        return min(cands, key=lambda c: (c.rel.endswith(".d.ts"), len(c.rel)))

    def resolve_location(self, module: str, name: str) -> tuple[FileEntry, Definition] | None:
        """Where an imported (module, name) is defined; cached until the index changes."""
        if self._resolve_gen != self.generation:
            self._resolve_cache.clear()
            self._resolve_gen = self.generation
        key = (module, name)
        if key in self._resolve_cache:
            return self._resolve_cache[key]
        r: tuple[FileEntry, Definition] | None = None
        entries = self.by_module.get(module)
        if entries and family(entries[0].language) == "js":
            r = self.resolve_js(module, name)
        elif entries or module.rpartition(".")[2] in self.module_tail:
            rp = self.resolve_python(module, name)
            r = None if rp is None or isinstance(rp, str) else rp
        self._resolve_cache[key] = r
        return r

    def _count_imports(self, entry: FileEntry, sign: int) -> None:
        """Add (or take back) one file's imports to the per-definition popularity counts."""
        if sign > 0:
            locs = []
            for module, name in entry.import_keys:
                if name is None:
                    continue
                r = self.resolve_location(module, name)
                if r is not None:
                    locs.append((r[0].rel, r[1].name))
            entry.pop_locs = tuple(locs)
        for loc in entry.pop_locs:
            n = self._pop.get(loc, 0) + sign
            if n > 0:
                self._pop[loc] = n
            else:
                self._pop.pop(loc, None)
        if sign < 0:
            entry.pop_locs = ()
        self._popular = None

    def _recompute_popularity(self) -> Iterator[None]:
        self._pop = {}
        for entry in list(self.files.values()):
            entry.pop_locs = ()
            if entry.import_keys:
                self._count_imports(entry, +1)
                yield None
        self._popular = None

    def popularity(self) -> dict[tuple[str, str], int]:
        """(rel, name) of a definition -> how many files import it (through re-exports too)."""
        return self._pop

    def max_popularity(self) -> int:
        top = self.popular()
        return top[0][2] if top else 0

    def popular(self) -> list[tuple[FileEntry, Definition, int]]:
        """The most imported definitions, most first."""
        if self._popular is None:
            top = heapq.nlargest(100, self._pop.items(), key=lambda kv: kv[1])
            out = []
            for (rel, name), count in top:
                entry = self.files.get(rel)
                d = entry.top_defs().get(name) if entry is not None else None
                if entry is not None and d is not None:
                    out.append((entry, d, count))
            self._popular = out
        return self._popular

    def sorted_names(self) -> list[str]:
        """Every defined name, sorted (for completing a typed prefix)."""
        if self._names_sorted is None:
            self._names_sorted = sorted(self.by_name)
        return self._names_sorted

    def idf(self, token: str) -> float:
        """Inverse document frequency of a sub-token among the defined names."""
        names = self.token_names.get(token)
        df = len(names) if names else 0
        n = max(len(self.by_name), 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def rules_files(self, rel_dir: str = "") -> list[str]:
        """Project instruction files that apply to a folder: the workspace's, then nearer folders'."""
        out = []
        dirs = [""]
        if rel_dir:
            parts = rel_dir.split("/")
            dirs += ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for d in dirs:
            names = RULES_FILES if d == "" else ("AGENTS.md", "CLAUDE.md")
            for name in names:
                rel = f"{d}/{name}" if d else name
                path = os.path.join(self.root, rel)
                if os.path.isfile(path) and not self.is_private(rel) and not self.leaves_workspace(path):
                    out.append(rel)
        return out


def _common_dirs(a: str, b: str) -> int:
    """How many leading folders two relative paths share."""
    n = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1], strict=False):
        if x != y:
            break
        n += 1
    return n


def _freeze() -> None:
    """Move the (long-lived) index objects out of the collector's way.

    A large index holds hundreds of thousands of objects; every full collection would walk them all and
    stall the event loop for tens of milliseconds. Young garbage is collected first so nothing cyclic is
    frozen; frozen objects are still freed by reference counting when the index drops them.
    """
    gc.collect(1)
    gc.freeze()


def _read_text(path: str) -> str | None:
    """A file's text (UTF-8, invalid bytes replaced), None for binary, oversized or unreadable files."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES or looks_binary(data[:8192]):
        return None
    return data.decode("utf-8", errors="replace")


def read_text_safely(path: str) -> str | None:
    """Public reader for files outside any index (secret files are never read)."""
    if is_secret_path(path):
        return None
    return _read_text(path)
