"""The context engine: workspace indexes, open documents and recent edits, and `gather` for a cursor.

The server owns one `ContextEngine`. It feeds it workspace folders, document events and file events, runs
`build_index` as a background task after `initialized` and `rescan` now and then, and calls `gather` (sync,
fast) for every completion. Nothing here blocks the event loop for long: indexing yields every few ms.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from hoody_lsp.context.ignore import inside
from hoody_lsp.context.index import DEFAULT_MAX_FILES, WorkspaceIndex, read_text_safely
from hoody_lsp.context.retrieval import (
    Buffer,
    Candidate,
    Packed,
    Retriever,
    analyze,
    line_tokens,
    pack,
    query_words,
    window_candidate,
)
from hoody_lsp.context.secrets import is_secret_path, redact
from hoody_lsp.context.symbols import BufferScans, normalize_language

log = logging.getLogger(__name__)


@lru_cache(maxsize=1024)  # snippets can be thousands of characters: keep the memory this holds small
def _redact(text: str) -> str:
    """`redact`, remembered: the same headers go out again and again."""
    return redact(text)


@lru_cache(maxsize=4096)
def _paths_of(root: str | None, cand_rel: str) -> tuple[str, str]:
    """(absolute path, workspace-relative path) of a candidate's file, as snippets name it."""
    if cand_rel.startswith("\x00rules:"):
        path = cand_rel[7:]
        return path, (os.path.relpath(path, root).replace(os.sep, "/") if root is not None else path)
    in_workspace = not (os.path.isabs(cand_rel) or "://" in cand_rel or cand_rel.startswith("untitled:"))
    if root is not None and in_workspace:
        return os.path.join(root, cand_rel), cand_rel
    return cand_rel, cand_rel


RULES_SHARE = 0.3  # instruction files take at most this share of the budget
MAX_OPEN_WINDOWS = 8  # open documents compared with the cursor, most recently used first
RECENT_EDITS = 24


@dataclass(frozen=True, slots=True)
class Snippet:
    """One piece of context for a prompt (lines 1-based, inclusive; content already redacted)."""

    path: str  # absolute path (or the URI string for untitled buffers)
    rel: str  # workspace-relative path when inside a workspace, else path
    start_line: int
    end_line: int
    kind: str  # definition | open_file | recent_edit | retrieved | rules
    source: str  # imports | lexical | related | open_buffer | recent | rules
    score: float
    content: str


@dataclass(slots=True)
class _Doc:
    text: str
    language: str | None
    dirty: bool  # its text differs from what the index holds for it
    used: float  # last open/change, for choosing which open documents to look at
    in_index: bool = False  # the index holds this buffer's text instead of the disk copy
    _lines: list[str] | None = None
    _lines_of: str | None = None

    def lines(self) -> list[str]:
        if self._lines is None or self._lines_of is not self.text:
            self._lines, self._lines_of = self.text.split("\n"), self.text
        return self._lines


class ContextEngine:
    """Everything the server needs to build cross-file context."""

    def __init__(self, *, exclude: Sequence[str] = (), max_files: int = DEFAULT_MAX_FILES) -> None:
        self._exclude = list(exclude)
        self._max_files = max_files
        self._indexes: dict[str, WorkspaceIndex] = {}
        self._docs: dict[str, _Doc] = {}
        self._recent: deque[tuple[str, int, int]] = deque(maxlen=RECENT_EDITS)  # path, 0-based span
        self._analysis: tuple[tuple[str, int, int, str | None, int], Buffer] | None = None
        self._scans = BufferScans()  # the symbols of the buffers being edited, reused across keystrokes
        self._rules_cache: dict[str, tuple[int, int, list[str]]] = {}
        self._tokens: OrderedDict[str, tuple[int, list[frozenset[str]]]] = OrderedDict()
        self._allowed: dict[str, bool] = {}  # is_allowed answers, until the rules change

    # ----------------------------------------------------------------------------------------------------
    # workspaces
    # ----------------------------------------------------------------------------------------------------

    def set_exclude(self, globs: Sequence[str]) -> None:
        """New `context.exclude` globs: files they match leave the index at once."""
        self._exclude = [g for g in globs if isinstance(g, str)]
        self._allowed.clear()
        for idx in self._indexes.values():
            idx.rules.set_exclude(self._exclude)
            # only the new globs can drop files (a later rescan brings back what they no longer exclude)
            for rel in [r for r in idx.files if idx.rules.excluded(r)]:
                idx.remove_path(os.path.join(idx.root, rel))

    def add_workspace(self, root: str) -> None:
        """Register a folder (cheap; the walk happens in `build_index`)."""
        root = os.path.abspath(root)
        self._allowed.clear()
        if root not in self._indexes:
            self._indexes[root] = WorkspaceIndex(root, exclude=self._exclude, max_files=self._max_files)

    def remove_workspace(self, root: str) -> None:
        self._allowed.clear()
        self._indexes.pop(os.path.abspath(root), None)

    def workspaces(self) -> list[WorkspaceIndex]:
        return list(self._indexes.values())

    def index_of(self, root: str) -> WorkspaceIndex | None:
        return self._indexes.get(os.path.abspath(root))

    async def build_index(self) -> None:
        """Index every registered folder not indexed yet (cancellable; yields to the loop every few ms)."""
        for idx in list(self._indexes.values()):
            if idx.state in ("new", "building"):  # "building": an earlier build was cancelled
                await idx.build()

    def build_index_sync(self) -> None:
        for idx in list(self._indexes.values()):
            if idx.state in ("new", "building"):
                idx.build_sync()

    async def rescan(self) -> None:
        """Cheap stat-based refresh of every folder (for clients that cannot watch files)."""
        self._allowed.clear()
        for idx in list(self._indexes.values()):
            if idx.state == "ready":
                await idx.rescan()
            elif idx.state in ("new", "building"):
                await idx.build()

    def _index_for(self, path: str) -> WorkspaceIndex | None:
        if "://" in path or path.startswith("untitled:"):
            return None
        ap = os.path.abspath(path)
        best: WorkspaceIndex | None = None
        for root, idx in self._indexes.items():
            if inside(ap, root) and (best is None or len(root) > len(best.root)):
                best = idx
        return best

    def workspace_for(self, path: str) -> str | None:
        idx = self._index_for(path)
        return idx.root if idx is not None else None

    # ----------------------------------------------------------------------------------------------------
    # file and document events
    # ----------------------------------------------------------------------------------------------------

    def file_changed(self, path: str) -> None:
        """Created or changed on disk (watched files, didSave)."""
        idx = self._index_for(path)
        if idx is None or idx.state in ("disabled", "new"):
            return
        if os.path.basename(path) in (".gitignore", ".hoodyignore"):
            self._allowed.clear()
        doc = self._docs.get(path)
        idx.update_file(path, text=doc.text if doc is not None else None)
        if doc is not None:
            doc.dirty = False

    def file_deleted(self, path: str) -> None:
        idx = self._index_for(path)
        if idx is not None:
            idx.remove_path(path)

    def open_document(self, path: str, text: str, language: str | None) -> None:
        self._docs[path] = _Doc(text, normalize_language(language, path), True, time.monotonic())

    def change_document(self, path: str, text: str, edited_lines: tuple[int, int] | None = None) -> None:
        doc = self._docs.get(path)
        if doc is None:
            self._docs[path] = doc = _Doc(text, normalize_language(None, path), True, time.monotonic())
        doc.text, doc.dirty, doc.used = text, True, time.monotonic()
        if edited_lines is not None:
            a, b = sorted((max(0, edited_lines[0]), max(0, edited_lines[1])))
            if (
                self._recent
                and self._recent[-1][0] == path
                and a <= self._recent[-1][2] + 3
                and b >= self._recent[-1][1] - 3
            ):
                _, pa, pb = self._recent.pop()
                a, b = min(a, pa), max(b, pb)
            else:
                # the same region edited earlier: keep only the latest mention
                for k, (p, pa, pb) in enumerate(self._recent):
                    if p == path and a <= pb + 3 and b >= pa - 3:
                        del self._recent[k]
                        a, b = min(a, pa), max(b, pb)
                        break
            self._recent.append((path, a, b))

    def close_document(self, path: str) -> None:
        doc = self._docs.pop(path, None)
        if doc is not None and doc.in_index:
            idx = self._index_for(path)
            if idx is not None and idx.state != "disabled":
                idx.update_file(path)  # back to the disk copy

    # ----------------------------------------------------------------------------------------------------
    # privacy
    # ----------------------------------------------------------------------------------------------------

    def is_allowed(self, path: str) -> bool:
        """False for secret files and for paths the ignore rules or `context.exclude` exclude."""
        cached = self._allowed.get(path)
        if cached is None:
            cached = self._is_allowed(path)
            if len(self._allowed) > 4096:
                self._allowed.clear()
            self._allowed[path] = cached
        return cached

    def _is_allowed(self, path: str) -> bool:
        if "://" in path or path.startswith("untitled:"):
            return not is_secret_path(path.split("?", 1)[0])
        if is_secret_path(path):
            return False
        idx = self._index_for(path)
        if idx is None:
            return not is_secret_path(os.path.realpath(path))
        rel = idx.rel_of(path)
        if rel is None or rel == "":
            return True
        if idx.is_private(rel):
            return False
        real = os.path.realpath(path)
        if is_secret_path(real):
            return False
        return inside(real, idx.real_root)

    # ----------------------------------------------------------------------------------------------------
    # gathering
    # ----------------------------------------------------------------------------------------------------

    def _buffer(self, path: str, text: str, offset: int, language: str | None) -> Buffer:
        key = (path, len(text), hash(text), language, offset)
        if self._analysis is not None and self._analysis[0] == key:
            return self._analysis[1]
        buf = analyze(text, offset, language, path, self._scans)
        self._analysis = (key, buf)
        return buf

    def _sync_open_documents(self, idx: WorkspaceIndex, current: str) -> None:
        """Re-index open documents whose text changed (their unsaved text is what counts)."""
        for path, doc in self._docs.items():
            if doc.dirty and path != current and self._index_for(path) is idx and idx.state != "disabled":
                if self.is_allowed(path):
                    idx.update_file(path, text=doc.text)
                    doc.in_index = True
                doc.dirty = False

    def gather(
        self,
        *,
        path: str,
        text: str,
        offset: int,
        language: str | None,
        budget_chars: int,
        open_files: Sequence[str] = (),
    ) -> list[Snippet]:
        """Context for a cursor at `offset` in `text` (the current content of `path`), ranked and packed.

        `open_files` adds files (absolute or workspace-relative) to treat as open for this call only.
        Never returns the current file's cursor region; every content is redacted.
        """
        if budget_chars <= 0:
            return []
        idx = self._index_for(path)
        cur_rel = idx.rel_of(path) if idx is not None else None
        if idx is not None:
            self._sync_open_documents(idx, path)
        buf = self._buffer(path, text, offset, language)
        cands: list[Candidate] = []
        rules_budget = int(budget_chars * RULES_SHARE)
        if idx is not None and idx.state != "disabled":
            cands += self._rules(idx, cur_rel or "", rules_budget)
            # before the index is complete, open documents and the imported files (read on demand) still count
            cands += Retriever(idx, buf, cur_rel).run()
        cands += self._windows(idx, path, cur_rel, buf, open_files)
        cands += self._recent_edits(idx, path, buf)

        def lines_of(rel: str) -> list[str] | None:
            return self._lines_of(idx, rel, path, cur_rel, text)

        packed = pack(cands, budget_chars, lines_of)
        return [self._snippet(idx, p) for p in packed]

    def _lines_of(
        self, idx: WorkspaceIndex | None, rel: str, cur_path: str, cur_rel: str | None, cur_text: str
    ) -> list[str] | None:
        if rel.startswith("\x00rules:"):
            cached = self._rules_cache.get(rel[7:])
            return cached[2] if cached else None
        if rel in (cur_rel, cur_path):
            return cur_text.split("\n")
        abs_path = os.path.join(idx.root, rel) if idx is not None and not os.path.isabs(rel) else rel
        doc = self._docs.get(abs_path)
        if doc is not None:
            return doc.lines() if self.is_allowed(abs_path) else None
        if idx is None:
            return None
        if rel in idx.files:
            return idx.read_lines(rel)  # indexed files passed the rules when indexed
        if not self.is_allowed(abs_path) or idx.leaves_workspace(abs_path):
            return None
        # an open tab the index does not hold (the service's per-request open files)
        text = read_text_safely(abs_path)
        return text.split("\n") if text is not None else None

    def _snippet(self, idx: WorkspaceIndex | None, p: Packed) -> Snippet:
        c = p.cand
        path, rel = _paths_of(idx.root if idx is not None else None, c.rel)
        return Snippet(path, rel, p.start, p.end, c.kind, c.source, round(c.score, 4), _redact("\n".join(p.lines)))

    def _rules(self, idx: WorkspaceIndex, cur_rel: str, budget: int) -> list[Candidate]:
        out = []
        for rel in idx.rules_files(cur_rel.rpartition("/")[0]):
            abs_path = os.path.join(idx.root, rel)
            try:
                st = os.stat(abs_path)
            except OSError:
                continue
            cached = self._rules_cache.get(abs_path)
            if cached is None or cached[0] != st.st_mtime_ns or cached[1] != st.st_size:
                text = read_text_safely(abs_path)
                if text is None:
                    continue
                lines = text.rstrip("\n").split("\n")
                self._rules_cache[abs_path] = cached = (st.st_mtime_ns, st.st_size, lines)
            lines = cached[2]
            end, used = 0, 0
            while end < len(lines) and used + len(lines[end]) + 1 <= budget:
                used += len(lines[end]) + 1
                end += 1
            budget -= used
            if end:
                out.append(Candidate("\x00rules:" + abs_path, 1, end, "rules", "rules", 1.0))
        return out

    def _windows(
        self,
        idx: WorkspaceIndex | None,
        path: str,
        cur_rel: str | None,
        buf: Buffer,
        open_files: Sequence[str],
    ) -> list[Candidate]:
        words = query_words(buf)
        if not words:
            return []
        paths: list[str] = [p for p, _ in sorted(self._docs.items(), key=lambda kv: -kv[1].used) if p != path]
        for f in open_files:
            ap = os.path.join(idx.root, f) if idx is not None and not os.path.isabs(f) else f
            if ap != path and ap not in paths:
                paths.append(ap)
        out = []
        for ap in paths[:MAX_OPEN_WINDOWS]:
            if not self.is_allowed(ap):
                continue
            rel = idx.rel_of(ap) if idx is not None and "://" not in ap else None
            key = rel if rel else ap
            if key == cur_rel:
                continue
            lines = self._lines_of(idx, key, path, cur_rel, buf.text)
            if not lines:
                continue
            c = window_candidate(key, self._line_tokens(key, lines), words)
            if c is not None:
                out.append(c)
        return out

    def _line_tokens(self, key: str, lines: list[str]) -> list[frozenset[str]]:
        """Per-line identifiers of a file version, cached (open files are compared on every request)."""
        version = hash("\n".join(lines))
        cached = self._tokens.get(key)
        if cached is not None and cached[0] == version:
            self._tokens.move_to_end(key)
            return cached[1]
        toks = line_tokens(lines)
        self._tokens[key] = (version, toks)
        if len(self._tokens) > 32:
            self._tokens.popitem(last=False)
        return toks

    def _recent_edits(self, idx: WorkspaceIndex | None, path: str, buf: Buffer) -> list[Candidate]:
        out = []
        for rank, (p, a, b) in enumerate(reversed(self._recent)):
            if p == path and abs(a - buf.cursor_line) < 60:
                continue  # in the current file only far from the cursor: the prompt has the text around it
            if not self.is_allowed(p):
                continue
            rel = idx.rel_of(p) if idx is not None and "://" not in p else None
            key = rel if rel else p
            b = min(b, a + 20)
            out.append(Candidate(key, max(1, a + 1 - 2), b + 1 + 2, "recent_edit", "recent", 0.55 - 0.03 * rank))
        return out
