"""Text synchronisation: didOpen/didChange/didClose/didSave and watched files keep our documents current."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from hoody_lsp.handlers.common import uri_to_path

if TYPE_CHECKING:
    from hoody_lsp.server import HoodyServer

log = logging.getLogger(__name__)


def register(server: HoodyServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: HoodyServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        snap = ls.documents.open(doc.uri, doc.language_id, doc.version, doc.text)
        ls.context_engine.open_document(uri_to_path(doc.uri), snap.text, doc.language_id)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: HoodyServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        changes: list[tuple[tuple[int, int, int, int] | None, str]] = []
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                r = change.range
                changes.append(((r.start.line, r.start.character, r.end.line, r.end.character), change.text))
            else:
                changes.append((None, change.text))
        result = ls.documents.change(uri, params.text_document.version, changes)
        if result is None:
            log.warning("didChange for a document that is not open: %s", uri)
            return
        snap, spans = result
        ls.document_changed(snap, spans)
        first = min((s for s, _, _ in spans), default=0)
        last = max((s + n for s, _, n in spans), default=0)
        start_line = snap.text.count("\n", 0, first)
        end_line = snap.text.count("\n", 0, min(last, len(snap.text)))
        ls.context_engine.change_document(uri_to_path(uri), snap.text, (start_line, end_line))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: HoodyServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.documents.close(uri)
        ls.inline.forget(uri)
        ls.context_engine.close_document(uri_to_path(uri))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: HoodyServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.context_engine.file_changed(uri_to_path(params.text_document.uri))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched(ls: HoodyServer, params: types.DidChangeWatchedFilesParams) -> None:
        for event in params.changes:
            path = uri_to_path(event.uri)
            if event.type == types.FileChangeType.Deleted:
                ls.context_engine.file_deleted(path)
            else:
                ls.context_engine.file_changed(path)
