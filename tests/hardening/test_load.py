"""Load: many documents at once, each answer landing where it belongs.

- 20 documents ask for inline completions at the same moment; the fake answers each with text derived from that
  request's own prefix (the function name it finds there), slowly enough that all 20 streams overlap. Every
  document gets its own suggestion.
- 5 `hoody.refactor` commands stream into 5 documents at once, live edits on (VS Code-like and Neovim-like
  clients); the editor-like client applies every `workspace/applyEdit` itself. Every document ends with its own
  rewrite and nothing from another.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Editor, Kind, editor_session
from tests.fakebackend import FakeBackend, RecordedRequest, Reply

DOCS = 20
COMMANDS = 5
DELAY = 0.4
NAME = re.compile(r"def (handler_\d\d)\(")


def completion_from_prefix(req: RecordedRequest) -> Reply:
    body = req.json if isinstance(req.json, dict) else {}
    found = NAME.findall(body.get("prefix") or "")
    name = found[-1] if found else "unknown"
    return Reply(text=f"return {name}_result", first_delay=DELAY, chunk_delay=0.01)


async def test_twenty_documents_complete_at_once(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.responder = completion_from_prefix
    async with editor_session(fake_backend.url, tmp_path, init_options={"inlineCompletion": {"debounceMs": 0}}) as ed:
        uris = [ed.open(f"mod_{i:02d}.py", f"def handler_{i:02d}(event):\n    ") for i in range(DOCS)]
        t0 = time.monotonic()
        pending = [ed.inline_request(uri, ed.pos(uri, len(ed.text(uri))), invoked=True)[1] for uri in uris]
        results = await asyncio.wait_for(asyncio.gather(*pending), 30)
        elapsed = time.monotonic() - t0
    for i, result in enumerate(results):
        items = Editor.items_of(result)
        assert [item.insert_text for item in items] == [f"return handler_{i:02d}_result"], (i, items)
    assert len(fake_backend.requests) == DOCS
    # the streams overlapped: 20 answers of DELAY s each took far less than 20 * DELAY
    assert elapsed < DOCS * DELAY / 3, f"{DOCS} completions took {elapsed:.2f} s"
    received = sorted(r.t_received for r in fake_backend.requests)
    overlapping = sum(t < received[0] + DELAY for t in received)
    assert overlapping >= DOCS // 2, f"only {overlapping} requests went out before the first answer came"


REGION_TEMPLATE = "def add_{n}(a,b):\n  return a+b\n"


def rewrite_from_target(req: RecordedRequest) -> Reply:
    """Rewrite the selected region; the new text names the function found in it, one line per chunk."""
    body = req.json if isinstance(req.json, dict) else {}
    content = (body.get("target_files") or [{}])[0].get("content") or ""
    found = re.search(r"def (add_\d+)\(", content)
    name = found.group(1) if found else "unknown"
    return Reply(chunks=[line + "\n" for line in _rewrite(name)], first_delay=0.1, chunk_delay=0.08)


def _rewrite(name: str) -> list[str]:
    return [
        f"def {name}(a: int, b: int) -> int:",
        f'    """Add two numbers ({name})."""',
        "    total = a",
        "    total += b",
        f"    # checked by {name}",
        "    return total",
    ]


@pytest.mark.parametrize("kind", ["vscode", "neovim"])
async def test_five_commands_stream_into_their_own_documents(
    kind: Kind, fake_backend: FakeBackend, tmp_path: Path
) -> None:
    fake_backend.responder = rewrite_from_target
    head, tail = "import os\n\n\n", "\n\nvalue = 1\n"
    async with editor_session(fake_backend.url, tmp_path, kind=kind) as ed:
        uris = [ed.open(f"calc_{n}.py", head + REGION_TEMPLATE.format(n=n) + tail) for n in range(COMMANDS)]
        futures = []
        for n, uri in enumerate(uris):
            arguments: dict[str, Any] = {
                "uri": uri,
                "range": ed.client.protocol._converter.unstructure(ed.range_of(uri, REGION_TEMPLATE.format(n=n))),
                "version": ed.docs[uri].version,
                "instruction": "add type hints",
            }
            futures.append(ed.execute_request("hoody.refactor", arguments)[1])
        results = await asyncio.wait_for(asyncio.gather(*futures), 60)
        assert results == [{"applied": True}] * COMMANDS, results
        for n, uri in enumerate(uris):
            expected = head + "".join(line + "\n" for line in _rewrite(f"add_{n}")) + tail
            assert ed.text(uri) == expected, (n, ed.text(uri))
        # live: several edits per document, interleaved across documents, none carrying another's text
        per_doc = {uri: [text for u, text in ed.history if u == uri] for uri in uris}
        assert all(len(texts) >= 2 for texts in per_doc.values()), {u: len(t) for u, t in per_doc.items()}
        for n, uri in enumerate(uris):
            others = [f"add_{m}" for m in range(COMMANDS) if m != n]
            assert not any(o + "(" in text or f"({o})" in text for text in per_doc[uri] for o in others)
        order = [u for u, _ in ed.history]
        first_done = min(len(order) - order[::-1].index(u) - 1 for u in uris)
        assert len(set(order[: first_done + 1])) == COMMANDS, "the commands did not stream at the same time"
    assert len(fake_backend.requests) == COMMANDS
