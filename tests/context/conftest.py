"""Helpers for the context tests: real files in temporary workspaces."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hoody_lsp.context import ContextEngine


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create `files` (relative path -> text or bytes) under `root`."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def make_workspace(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """A workspace folder holding the given files (a fresh folder per call)."""
    counter = [0]

    def make(files: dict[str, str | bytes]) -> Path:
        counter[0] += 1
        root = tmp_path / f"ws{counter[0]}"
        root.mkdir()
        return write_tree(root, files)

    return make


def built_engine(root: Path, **kwargs: object) -> ContextEngine:
    engine = ContextEngine(**kwargs)  # type: ignore[arg-type]
    engine.add_workspace(str(root))
    engine.build_index_sync()
    return engine


def cursor(text: str, marker: str = "‸") -> tuple[str, int]:
    """Text with a cursor marker -> (text without it, offset)."""
    offset = text.index(marker)
    return text[:offset] + text[offset + len(marker) :], offset


def indexed(engine: ContextEngine) -> set[str]:
    return {rel for idx in engine.workspaces() for rel in idx.files}


def rels(snippets: list) -> list[str]:
    return [s.rel for s in snippets]


def abspath(root: Path, rel: str) -> str:
    return os.path.join(str(root), rel)
