"""Conventional test-file paths, the file system replaced by a set of existing paths (and one real run)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import hoody_lsp.actions.testfiles as tf  # a module import: pytest must not collect `test_file_for`


def fs(*paths: str) -> Callable[[str], bool]:
    """An `exists` over a fake tree: the given paths and every folder above them."""
    existing: set[str] = set()
    for path in paths:
        path = os.path.normpath(path)
        existing.add(path)
        while os.path.dirname(path) != path:
            path = os.path.dirname(path)
            existing.add(path)
    return lambda path: os.path.normpath(path) in existing


@pytest.mark.parametrize(
    ("module", "root", "tree", "expected"),
    [
        # a tests/ folder at the workspace root
        ("/ws/pkg/mod.py", "/ws", ["/ws/tests/conftest.py"], "/ws/tests/test_mod.py"),
        # none: beside the module
        ("/ws/pkg/mod.py", "/ws", [], "/ws/pkg/test_mod.py"),
        # the nearest tests/ folder wins (a package's own tests/)
        ("/ws/pkg/mod.py", "/ws", ["/ws/tests/x", "/ws/pkg/tests/y"], "/ws/pkg/tests/test_mod.py"),
        # a mirror of the package folders inside tests/ is used when it exists; src/ is not mirrored
        ("/ws/src/pkg/sub/mod.py", "/ws", ["/ws/tests/pkg/sub/x"], "/ws/tests/pkg/sub/test_mod.py"),
        ("/ws/src/pkg/sub/mod.py", "/ws", ["/ws/tests/sub/x"], "/ws/tests/sub/test_mod.py"),
        ("/ws/src/pkg/sub/mod.py", "/ws", ["/ws/tests/unit/x"], "/ws/tests/test_mod.py"),
        # an existing test file anywhere among the candidates wins over a new one
        ("/ws/pkg/mod.py", "/ws", ["/ws/tests/x", "/ws/pkg/test_mod.py"], "/ws/pkg/test_mod.py"),
        # a tests/ folder above the workspace root is not looked at
        ("/ws/proj/mod.py", "/ws/proj", ["/ws/tests/x"], "/ws/proj/test_mod.py"),
        # __init__.py is named after its package
        ("/ws/pkg/__init__.py", "/ws", ["/ws/tests/x"], "/ws/tests/test_pkg.py"),
        # a test file is its own test file
        ("/ws/tests/test_mod.py", "/ws", [], "/ws/tests/test_mod.py"),
        # no workspace: up to the nearest project marker
        ("/p/pkg/mod.py", None, ["/p/pyproject.toml", "/p/tests/x"], "/p/tests/test_mod.py"),
        ("/p/pkg/mod.py", None, ["/p/tests/x"], "/p/pkg/test_mod.py"),
    ],
)
def test_python(module: str, root: str | None, tree: list[str], expected: str) -> None:
    assert tf.test_file_for(module, root, "python", exists=fs(*tree)) == expected


@pytest.mark.parametrize(
    ("module", "language_id", "tree", "expected"),
    [
        ("/ws/src/util.ts", "typescript", [], "/ws/src/util.test.ts"),
        ("/ws/src/App.tsx", "typescriptreact", [], "/ws/src/App.test.tsx"),
        ("/ws/src/util.js", "javascript", ["/ws/src/__tests__/a.test.js"], "/ws/src/__tests__/util.test.js"),
        ("/ws/src/util.ts", "typescript", ["/ws/src/util.spec.ts"], "/ws/src/util.spec.ts"),
        ("/ws/src/util.test.ts", "typescript", [], "/ws/src/util.test.ts"),
        ("/ws/pkg/server.go", "go", [], "/ws/pkg/server_test.go"),
        ("/ws/pkg/server_test.go", "go", [], "/ws/pkg/server_test.go"),
        # Rust: tests/<name>.rs at the crate root (the folder with Cargo.toml)
        ("/ws/crate/src/parser.rs", "rust", ["/ws/crate/Cargo.toml"], "/ws/crate/tests/parser.rs"),
        ("/ws/crate/src/parser/mod.rs", "rust", ["/ws/crate/Cargo.toml"], "/ws/crate/tests/parser.rs"),
        ("/ws/src/lib.rs", "rust", [], "/ws/tests/lib.rs"),
        # Java/Kotlin: the src/test mirror of src/main
        (
            "/ws/src/main/java/com/acme/Parser.java",
            "java",
            [],
            "/ws/src/test/java/com/acme/ParserTest.java",
        ),
        (
            "/ws/src/main/java/com/acme/Parser.java",
            "java",
            ["/ws/src/test/java/com/acme/ParserTests.java"],
            "/ws/src/test/java/com/acme/ParserTests.java",
        ),
        ("/ws/app/src/main/kotlin/a/B.kt", "kotlin", [], "/ws/app/src/test/kotlin/a/BTest.kt"),
        ("/ws/Parser.java", "java", [], "/ws/ParserTest.java"),
        ("/ws/ParserTest.java", "java", [], "/ws/ParserTest.java"),
        # anything else: test_<name>.<ext> beside
        ("/ws/lib/thing.rb", "ruby", [], "/ws/lib/test_thing.rb"),
        ("/ws/scripts/build.sh", "shellscript", [], "/ws/scripts/test_build.sh"),
    ],
)
def test_other_languages(module: str, language_id: str, tree: list[str], expected: str) -> None:
    assert tf.test_file_for(module, "/ws", language_id, exists=fs(*tree)) == expected


def test_candidates_are_pure_and_end_with_one_needing_nothing() -> None:
    candidates = tf.test_file_candidates("/ws/src/pkg/mod.py", "/ws", "python")
    assert candidates[-1] == tf.Candidate("/ws/src/pkg/test_mod.py")
    assert tf.Candidate("/ws/tests/test_mod.py", requires="/ws/tests") in candidates
    # Nearest folder first.
    paths = [c.path for c in candidates]
    assert paths.index("/ws/src/pkg/tests/test_mod.py") < paths.index("/ws/tests/test_mod.py")


def test_real_file_system(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("x = 1\n")
    module = str(tmp_path / "pkg" / "mod.py")
    assert tf.test_file_for(module, str(tmp_path), "python") == str(tmp_path / "pkg" / "test_mod.py")
    (tmp_path / "tests").mkdir()
    assert tf.test_file_for(module, str(tmp_path), "python") == str(tmp_path / "tests" / "test_mod.py")
