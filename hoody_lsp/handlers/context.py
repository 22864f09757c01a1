"""`hoody/context`: the context the server would send for a cursor, as the context service answers it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hoody_lsp.handlers.common import language_of, uri_to_path

if TYPE_CHECKING:
    from hoody_lsp.server import HoodyServer

log = logging.getLogger(__name__)

METHOD = "hoody/context"


def register(server: HoodyServer) -> None:
    @server.feature(METHOD)
    def context(ls: HoodyServer, params: Any) -> dict[str, Any]:
        try:
            uri = params.textDocument.uri
            line, character = params.position.line, params.position.character
        except AttributeError:
            return {"error": "expected {textDocument: {uri}, position: {line, character}, budgetChars?}"}
        snap = ls.snapshot(uri)
        if snap is None:
            return {"error": f"document not open: {uri}"}
        budget = getattr(params, "budgetChars", None)
        if not isinstance(budget, int) or budget < 0:
            budget = ls.settings.context.budget_chars
        path = uri_to_path(uri)
        if not ls.path_allowed(path):
            return {"snippets": []}
        snippets = ls.context_engine.gather(
            path=path, text=snap.text, offset=snap.offset_at(line, character),
            language=language_of(snap), budget_chars=budget,
        )
        return {
            "snippets": [
                {
                    "file": s.rel,
                    "start_line": s.start_line,
                    "end_line": s.end_line,
                    "kind": s.kind,
                    "source": s.source,
                    "score": round(s.score, 4),
                    "content": s.content,
                }
                for s in snippets
            ]
        }
