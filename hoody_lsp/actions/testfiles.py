"""Where `hoody.tests` writes the tests of a module: the language's conventional test file.

`test_file_candidates` only computes paths (pure): the possible test files in order of preference, each with
the folder that must exist for it to be chosen. `choose_test_file` picks one through an `exists` callable, and
`test_file_for` does both with the real file system. Rules (first match wins):

- a file that already is a test file (`test_x.py`, `x_test.go`, `x.test.ts`, `XTest.java`, ...) is its own
  test file;
- an existing conventional test file wins over creating one (e.g. `foo.spec.ts` if it exists beside `foo.ts`);
- Python: `tests/test_<module>.py` in the nearest folder, from the module's own up to the workspace root, that
  holds a `tests/` folder; inside it the mirror of the module's package folders is used when it exists
  (`src/pkg/sub/m.py` -> `tests/pkg/sub/test_m.py`, else `tests/sub/test_m.py`, else `tests/test_m.py`). No
  `tests/` folder: `test_<module>.py` beside the module. Without a workspace root the search stops at the
  nearest folder with a project marker (`pyproject.toml`, `setup.py`, `setup.cfg`, `.git`), or at the
  module's own folder if there is none. `__init__.py` is named after its package;
- JavaScript/TypeScript: `<name>.test.<ext>` beside, or in a `__tests__/` folder beside it if there is one;
- Go: `<name>_test.go` beside;
- Rust: `tests/<name>.rs` at the crate root (the nearest folder with `Cargo.toml`, else the workspace root,
  else the module's folder). Unit tests can also live in the module itself, but a separate file keeps the
  generation from rewriting the module: integration tests through the crate's public API;
- Java/Kotlin: the `src/test/<lang>` mirror of `src/main/<lang>`, `<Name>Test.<ext>`; outside that layout,
  beside the module;
- anything else: `test_<name>.<ext>` beside the module.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

_PY_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
_JS_LANGUAGES = {"javascript", "typescript", "javascriptreact", "typescriptreact", "jsx", "tsx"}
_JS_EXTENSIONS = {".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".mts", ".cts"}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible test file: chosen if it exists, or (for a new file) if `requires` is None or exists."""

    path: str
    requires: str | None = None  # a folder (or file, e.g. Cargo.toml) that must exist to create `path` here
    new: bool = True  # False: only chosen when the file already exists

    __test__ = False  # not a pytest class


def _is_test_file(name: str, ext: str) -> bool:
    stem = name[: len(name) - len(ext)] if ext else name
    if ext == ".py":
        return stem.startswith("test_") or stem.endswith("_test")
    if ext == ".go":
        return stem.endswith("_test")
    if ext in _JS_EXTENSIONS:
        return stem.endswith((".test", ".spec"))
    if ext in {".java", ".kt"}:
        return stem.endswith(("Test", "Tests")) and stem not in {"Test", "Tests"}
    return stem.startswith("test_") or stem.endswith("_test")


def _ancestors(start: str, stop: str | None) -> list[str]:
    """`start` and its parents up to `stop` (inclusive); just `start` if `stop` is not above it."""
    chain = [start]
    if stop is None:
        return chain
    stop = os.path.normpath(stop)
    current = start
    while os.path.normpath(current) != stop:
        parent = os.path.dirname(current)
        if parent == current:
            return [start]  # `stop` is not an ancestor: look only beside the module
        chain.append(parent)
        current = parent
    return chain


def _parents(start: str) -> list[str]:
    """`start` and every folder above it."""
    chain = [start]
    while os.path.dirname(chain[-1]) != chain[-1]:
        chain.append(os.path.dirname(chain[-1]))
    return chain


def _python(directory: str, root: str | None, filename: str) -> list[Candidate]:
    candidates: list[Candidate] = []
    for base in _ancestors(directory, root):
        tests = os.path.join(base, "tests")
        relative = os.path.relpath(directory, base).split(os.sep) if base != directory else []
        if relative and relative[0] == "src":
            relative = relative[1:]
        # The deepest mirror of the module's package folders first, then shallower ones, then tests/ itself.
        mirrors = [os.path.join(tests, *relative[k:]) for k in range(len(relative))] + [tests]
        candidates.extend(Candidate(os.path.join(folder, filename), requires=folder) for folder in mirrors)
    return candidates


def test_file_candidates(module_path: str, workspace_root: str | None, language_id: str) -> list[Candidate]:
    """The possible test files of `module_path`, best first (pure; see the module docstring). The last one
    needs no folder: a choice always exists."""
    module_path = os.path.normpath(module_path)
    directory, name = os.path.split(module_path)
    stem, ext = os.path.splitext(name)
    language = language_id.lower()
    root = os.path.normpath(workspace_root) if workspace_root else None
    if _is_test_file(name, ext):
        return [Candidate(module_path)]

    if language == "python" or ext == ".py":
        if stem == "__init__":
            stem = os.path.basename(directory) or "init"
        filename = f"test_{stem}.py"
        return [*_python(directory, root, filename), Candidate(os.path.join(directory, filename))]

    if language in _JS_LANGUAGES or ext in _JS_EXTENSIONS:
        ext = ext or ".js"
        tests_dir = os.path.join(directory, "__tests__")
        return [
            Candidate(os.path.join(directory, f"{stem}.spec{ext}"), new=False),
            Candidate(os.path.join(tests_dir, f"{stem}.spec{ext}"), new=False),
            Candidate(os.path.join(tests_dir, f"{stem}.test{ext}"), requires=tests_dir),
            Candidate(os.path.join(directory, f"{stem}.test{ext}")),
        ]

    if language == "go" or ext == ".go":
        return [Candidate(os.path.join(directory, f"{stem}_test.go"))]

    if language == "rust" or ext == ".rs":
        if stem == "mod":
            stem = os.path.basename(directory) or stem
        filename = f"{stem}.rs"
        chain = _ancestors(directory, root) if root else _parents(directory)
        candidates = [
            Candidate(os.path.join(base, "tests", filename), requires=os.path.join(base, "Cargo.toml"))
            for base in chain
        ]
        crate = root or (os.path.dirname(directory) if os.path.basename(directory) == "src" else directory)
        return [*candidates, Candidate(os.path.join(crate, "tests", filename))]

    if language in {"java", "kotlin"} or ext in {".java", ".kt"}:
        ext = ext or (".java" if language == "java" else ".kt")
        tests = [os.path.join(directory, f"{stem}Tests{ext}")]
        target = os.path.join(directory, f"{stem}Test{ext}")
        parts = directory.split(os.sep)
        for lang_dir in ("java", "kotlin"):
            for i in range(len(parts) - 2, -1, -1):
                if parts[i : i + 3] == ["src", "main", lang_dir]:
                    mirrored = os.sep.join([*parts[:i], "src", "test", lang_dir, *parts[i + 3 :]])
                    tests.insert(0, os.path.join(mirrored, f"{stem}Tests{ext}"))
                    target = os.path.join(mirrored, f"{stem}Test{ext}")
                    break
        return [*(Candidate(path, new=False) for path in tests), Candidate(target)]

    return [Candidate(os.path.join(directory, f"test_{stem}{ext}"))]


test_file_candidates.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def choose_test_file(candidates: list[Candidate], exists: Callable[[str], bool]) -> str:
    """The first candidate that exists; else the first new one whose `requires` exists (or needs none)."""
    for candidate in candidates:
        if exists(candidate.path):
            return candidate.path
    for candidate in candidates:
        if candidate.new and (candidate.requires is None or exists(candidate.requires)):
            return candidate.path
    return candidates[-1].path


def test_file_for(
    module_path: str,
    workspace_root: str | None,
    language_id: str,
    *,
    exists: Callable[[str], bool] = os.path.exists,
) -> str:
    """The test file for `module_path` (it may not exist yet), checking the file system through `exists`."""
    if workspace_root is None and (language_id.lower() == "python" or module_path.endswith(".py")):
        workspace_root = _project_root(os.path.dirname(os.path.normpath(module_path)), exists)
    return choose_test_file(test_file_candidates(module_path, workspace_root, language_id), exists)


test_file_for.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _project_root(directory: str, exists: Callable[[str], bool]) -> str:
    """The nearest folder at or above `directory` with a Python project marker, else `directory`."""
    current = directory
    while True:
        if any(exists(os.path.join(current, marker)) for marker in _PY_MARKERS):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return directory
        current = parent
