"""Small conversions shared by handlers: URIs to paths, LSP positions to offsets, context to wire items."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast
from urllib.parse import unquote, urlsplit

from lsprotocol import types

from hoody_lsp.backends.base import ContextItem, ContextKind
from hoody_lsp.documents import Snapshot

if TYPE_CHECKING:
    from hoody_lsp.server import HoodyServer

log = logging.getLogger(__name__)


def uri_to_path(uri: str) -> str:
    """A file URI's filesystem path; any other URI (untitled:, ...) is returned as is."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return uri
    path = unquote(parts.path)
    if parts.netloc and parts.netloc != "localhost":
        path = f"//{parts.netloc}{path}"
    return path


def offset_of(snap: Snapshot, position: types.Position) -> int:
    return snap.offset_at(position.line, position.character)


def position_of(snap: Snapshot, offset: int) -> types.Position:
    line, character = snap.position_at(offset)
    return types.Position(line=line, character=character)


def range_of(snap: Snapshot, start: int, end: int) -> types.Range:
    return types.Range(start=position_of(snap, start), end=position_of(snap, end))


def gather_context(
    server: HoodyServer, path: str, text: str, offset: int, language: str | None, budget: int
) -> list[ContextItem]:
    """Cross-file context for a cursor, as wire items. Never fails the request: on a bug, no context."""
    try:
        snippets = server.context_engine.gather(
            path=path, text=text, offset=offset, language=language, budget_chars=budget
        )
    except Exception:
        log.exception("context gathering failed")
        return []
    return [
        ContextItem(
            path=s.rel, content=s.content, start_line=s.start_line, end_line=s.end_line,
            kind=cast(ContextKind, s.kind),
        )
        for s in snippets
    ]


def language_of(snap: Snapshot) -> str:
    return snap.language_id or "plaintext"
