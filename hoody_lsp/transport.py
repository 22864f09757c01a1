"""The JSON-RPC edge: survive malformed input and answer it where the protocol allows.

pygls drops what it cannot read without a word: a body that is not JSON, a request whose params do not
structure, a header glued to the tail of a body whose Content-Length was too short. Each of these would leave
an editor waiting forever. Here:

- `ResyncingInput` wraps stdin so a header line with junk before `Content-Length:` still starts a message
  (a wrong Content-Length then costs at most one message, not the stream);
- `HoodyProtocol.structure_message` answers a request it cannot read with InvalidParams (its id is readable)
  instead of dropping it;
- `parse_error_response` answers a body that is not JSON with a Parse error and id null (JSON-RPC 2.0).
"""

from __future__ import annotations

from typing import Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import JsonRpcException

HEADER = b"Content-Length:"
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
