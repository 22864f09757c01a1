"""The JSON-RPC edge: survive malformed input and answer it where the protocol allows.

pygls drops what it cannot read without a word: a body that is not JSON, a request whose params do not
structure, a header glued to the tail of a body whose Content-Length was too short. Each of these would leave
an editor waiting forever. Here:

- `ResyncingInput` wraps stdin so a header line with junk before `Content-Length:` still starts a message
  (a wrong Content-Length then costs at most one message, not the stream);
- `HoodyProtocol.structure_message` answers a request it cannot read with InvalidParams (its id is readable)
  instead of dropping it;
- `parse_error_response` answers a body that is not JSON with a Parse error and id null (JSON-RPC 2.0).

`start_stdio` also reads stdin on the event loop: pygls hands every header line and body to a thread, a round
trip that cost more than the rest of an inline request's own work.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import JsonRpcException

log = logging.getLogger(__name__)

HEADER = b"Content-Length:"
DRAIN_S = 2.0
PARSE_ERROR = -32700


class ResyncingInput:
    """A binary stdin whose `readline` drops junk in front of a `Content-Length:` header."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def readline(self) -> bytes:
        line = self._raw.readline()
        at = line.find(HEADER)
        return line[at:] if at > 0 else line

    def read(self, n: int = -1) -> bytes:
        return self._raw.read(n)


class Unreadable:
    """Stands for a message that could not be read (already answered where possible)."""


UNREADABLE = Unreadable()


def answer_unreadable(protocol: Any, data: Any, error: JsonRpcException) -> Unreadable:
    """Answer a request whose params could not be read; notifications and responses get nothing."""
    if isinstance(data, dict) and "method" in data and data.get("id") is not None:
        msg_id = data["id"]
        if isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool):
            protocol._send_response(msg_id, None, error.to_response_error())
    return UNREADABLE


def parse_error_response() -> types.ResponseErrorMessage:
    return types.ResponseErrorMessage(
        id=None, error=types.ResponseError(code=PARSE_ERROR, message="Parse error: the message is not JSON")
    )


class PipeReader:
    """stdin read on the event loop (no thread hand-off per line), with the same resync as `ResyncingInput`."""

    LIMIT = 1 << 26  # a single line may not exceed this; the rest of such junk is skipped

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def readline(self) -> bytes:
        try:
            line = await self._reader.readline()
        except (ValueError, asyncio.LimitOverrunError):
            await self._reader.read(self.LIMIT)  # an endless line: drop it and look for the next header
            return b"junk\r\n"
        at = line.find(HEADER)
        return line[at:] if at > 0 else line

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._reader.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            return exc.partial


async def stdin_reader(executor: Any) -> Any:
    """The fastest reader stdin allows: an event-loop pipe reader, else pygls' thread reader (regular files)."""
    from pygls.io_ import StdinAsyncReader

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=PipeReader.LIMIT)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    except (ValueError, OSError):
        return StdinAsyncReader(ResyncingInput(sys.stdin.buffer), executor)  # type: ignore[arg-type]
    return PipeReader(reader)


def start_stdio(server: Any) -> None:
    """pygls' `start_io`, with `stdin_reader` instead of a thread round trip for every line and body."""
    from pygls.io_ import StdoutWriter, run_async

    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))

    async def main() -> None:
        reader = await stdin_reader(server.thread_pool)
        await run_async(
            stop_event=server._stop_event,
            reader=reader,
            protocol=server.protocol,
            logger=log,
            error_handler=server.report_server_error,
        )
        # stdin ended: answer what was already asked (a client may write its last requests and close)
        pending = [
            asyncio.wrap_future(f) if isinstance(f, concurrent.futures.Future) else f
            for f in list(server.protocol._request_futures.values())
            if not f.done()
        ]
        if pending:
            await asyncio.wait(pending, timeout=DRAIN_S)

    try:
        asyncio.run(main())
    except BrokenPipeError:
        log.error("the editor closed the connection; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
