"""textDocument/inlineCompletion, and textDocument/completion items per `completion.fallback`.

Both answer through the same `InlineEngine`; a failing backend gives an empty answer, never an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from hoody_lsp.documents import Snapshot
from hoody_lsp.handlers.common import language_of, offset_of, range_of, uri_to_path

if TYPE_CHECKING:
    from hoody_lsp.server import HoodyServer
    from hoody_lsp.services.inline import Suggestion

log = logging.getLogger(__name__)

CONFIG_WAIT_S = 2.0
INDENT_WINDOW = 2_500  # characters each side of the cursor that show the file's indentation
COMPLETION_TRIGGERS = [".", "(", "[", "{", ",", "=", ":", " "]


def register(server: HoodyServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: HoodyServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        suggestion, snap = await _suggest(ls, params.text_document.uri, params.position, invoked)
        if suggestion is None or snap is None:
            return types.InlineCompletionList(items=[])
        item = types.InlineCompletionItem(
            insert_text=suggestion.text, range=range_of(snap, suggestion.start, suggestion.end)
        )
        return types.InlineCompletionList(items=[item])

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=COMPLETION_TRIGGERS, resolve_provider=False),
    )
    async def completion(ls: HoodyServer, params: types.CompletionParams) -> types.CompletionList | None:
        mode = ls.settings.completion.fallback
        if mode == "never" or (mode == "auto" and ls.flags.inline_completion):
            return None
        invoked = params.context is None or params.context.trigger_kind == types.CompletionTriggerKind.Invoked
        suggestion, snap = await _suggest(ls, params.text_document.uri, params.position, invoked)
        if suggestion is None or snap is None:
            return types.CompletionList(is_incomplete=True, items=[])
        # the item replaces the whole word typed so far, so clients that filter by word keep it
        start = min(_word_start(snap.text, suggestion.end), suggestion.start)
        new_text = snap.text[start : suggestion.start] + suggestion.text
        label = next((line.strip() for line in new_text.splitlines() if line.strip()), new_text)
        item = types.CompletionItem(
            label=label[:80],
            kind=types.CompletionItemKind.Snippet,
            detail="Hoody",
            documentation=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value=f"```{snap.language_id}\n{new_text}\n```"
            ),
            text_edit=types.TextEdit(range=range_of(snap, start, suggestion.end), new_text=new_text),
            insert_text_format=types.InsertTextFormat.PlainText,
            filter_text=new_text,
            sort_text="0000",
            preselect=True,
        )
        return types.CompletionList(is_incomplete=True, items=[item])


def _word_start(text: str, offset: int) -> int:
    start = offset
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return start


async def _suggest(
    ls: HoodyServer,
    uri: str,
    position: types.Position,
    invoked: bool,
) -> tuple[Suggestion | None, Snapshot | None]:
    if not ls.config_ready.is_set():  # the first request may race the configuration pull
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ls.config_ready.wait(), CONFIG_WAIT_S)
    snap = ls.snapshot(uri)
    if snap is None:
        return None, None
    from hoody_lsp.completion import detect_indent
    from hoody_lsp.services.inline import InlineQuery

    offset = offset_of(snap, position)
    query = InlineQuery(
        uri=uri,
        path=uri_to_path(uri),
        language=language_of(snap),
        text=snap.text,
        offset=offset,
        invoked=invoked,
        # the style around the cursor is the file's style; scanning a window keeps big files cheap
        indent=detect_indent(snap.text[max(0, offset - INDENT_WINDOW) : offset + INDENT_WINDOW]),
        eol=snap.eol,
    )
    try:
        return await ls.inline.complete(query), snap
    except Exception:  # never an error for a suggestion: the log has it, the user sees nothing
        log.exception("inline completion failed")
        return None, None
