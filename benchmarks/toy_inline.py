"""A bare pygls + httpx inline-completion server: the reference the overhead benchmark measures us against.

It does the least a server can: prefix and suffix from pygls' own document, one streamed POST through httpx and
httpx-sse to the Hoody wire, the tokens joined into one item. No context, no rules, no clean-up, no failure
handling. It reads each stream to its end, so httpx keeps the connection for the next request (leaving at the
`done` event would close it, and every request would pay a new connection).

Run by benchmarks/bench_inline.py; HOODY_BASE_URL and HOODY_API_KEY say where to send.
"""

from __future__ import annotations

import json
import os

import httpx
from httpx_sse import aconnect_sse
from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("toy-inline", "0.0.1")
client = httpx.AsyncClient(timeout=10.0)
URL = os.environ["HOODY_BASE_URL"].rstrip("/") + "/v1/generate"
HEADERS = {"Authorization": f"Bearer {os.environ.get('HOODY_API_KEY', '')}"}


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: LanguageServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    pos = doc.position_codec.position_from_client_units(doc.lines, params.position)
    offset = sum(len(line) for line in doc.lines[: pos.line]) + pos.character
    body = {
        "task": "completion",
        "mode": "stream",
        "language": doc.language_id,
        "prefix": doc.source[:offset][-8000:],
        "suffix": doc.source[offset:][:2000],
    }
    text = []
    async with aconnect_sse(client, "POST", URL, json=body, headers=HEADERS) as events:
        async for event in events.aiter_sse():
            if event.event == "token":
                text.append(json.loads(event.data)["text"])
    here = types.Range(params.position, params.position)
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text="".join(text), range=here)])


if __name__ == "__main__":
    server.start_io()
