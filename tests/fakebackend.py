"""A fake Hoody / OpenAI-compatible backend: a real HTTP/1.1 server on loopback that can script every failure.

It runs asyncio streams on its own event loop in a daemon thread, so sync tests, async tests, editor tests and
benchmarks can all use it. Keep-alive and chunked transfer encoding are real, and a client hanging up while
a reply is still in flight is detected at once (a per-connection reader sees EOF), which is what the
cancellation tests measure.

    fake = FakeBackend().start()          # or `with FakeBackend() as fake:`; fake.url == "http://127.0.0.1:PORT"
    fake.script(Reply(text="x = 1"), Reply(status=429, retry_after="1"))
    fake.requests[0].json["directive"]

The `wait_*` methods block the calling thread: from async tests call them through `asyncio.to_thread`, or the
event loop they block may be the one that has to close the stream they wait for.

Routing: a POST whose path ends in `/chat/completions` or `/completions` speaks the OpenAI wire format; every
other POST speaks Hoody's (see /work/shared/hoody-api.md). Both stream SSE when asked to (`"mode": "stream"` /
`"stream": true`) and answer JSON otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from types import TracebackType
from typing import Any

FAULTS = (
    "reset_mid",  # send part of the stream, then abort the TCP connection (RST)
    "stall_mid",  # send part, then go silent until the client disconnects
    "malformed",  # a `data:` line that is not JSON
    "html",  # 200 text/html page instead of SSE/JSON
    "no_done",  # the stream ends cleanly without `done` / `[DONE]`
    "error_event",  # hoody `event: error` mid-stream; openai a data chunk {"error": {...}}
    "oversized",  # an endless stream of chunks until the client hangs up
    "keepalive",  # `:keepalive` comments and `id:` lines between tokens; still a success
)

_MAX_HEAD = 1 << 20
_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    b"<body><h1>Proxy authentication</h1><p>Please sign in to continue.</p></body></html>\n"
)


@dataclass
class Reply:
    """What the fake answers to one request."""

    text: str = ""
    chunks: list[str] | None = None  # explicit chunking (default: text split into ~4-char chunks)
    status: int = 200
    headers_delay: float = 0.0  # seconds before the status line and headers are sent
    first_delay: float = 0.0  # seconds after the headers, before the first chunk
    chunk_delay: float = 0.0  # seconds between chunks
    fault: str | None = None  # one of FAULTS
    retry_after: str | None = None  # Retry-After header value ("2" or an HTTP date)
    headers: dict[str, str] | None = None
    body: bytes | None = None  # raw body override (sent with status/headers)
    finish_reason: str = "stop"

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; one of {FAULTS}")

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return [self.text[i : i + 4] for i in range(0, len(self.text), 4)]


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any
    t_received: float  # time.monotonic()
    t_disconnected: float | None = None  # the client hung up while the reply was in flight
    completed: bool = False  # the whole reply was sent
    t_finished: float | None = None  # time.monotonic() when the reply's last byte was written
    t_arrived: float = 0.0  # time.monotonic() when the request's first bytes were read
    connection: int = 0  # serial number of the TCP connection it came on (keep-alive reuse shows here)
    _disconnected: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def own_time(self) -> float | None:
        """Seconds the fake spent on this request, from its first bytes read to its reply's last byte written."""
        return None if self.t_finished is None else self.t_finished - (self.t_arrived or self.t_received)

    @property
    def wire(self) -> str:
        """ "openai" for the OpenAI paths, else "hoody"."""
        return "openai" if self.path.split("?")[0].endswith("/completions") else "hoody"

    @property
    def streaming(self) -> bool:
        body = self.json if isinstance(self.json, dict) else {}
        if self.wire == "openai":
            return bool(body.get("stream"))
        return body.get("mode", "stream") == "stream"


class _Gone(Exception):
    """The client hung up (or we aborted the connection): stop serving this connection."""


class _Conn:
    """One client connection: a pump task reads everything the client sends, so EOF is seen at once."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, serial: int) -> None:
        self.serial = serial
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()
        self.more = asyncio.Event()
        self.gone = asyncio.Event()
        self.current: RecordedRequest | None = None
        self.t_data = 0.0
        self.pump = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                if not self.buf:
                    self.t_data = time.monotonic()  # the first bytes of what may be the next request
                self.buf += data
                self.more.set()
        except (ConnectionError, OSError):
            pass
        finally:
            self.hang_up()

    def hang_up(self) -> None:
        if not self.gone.is_set():
            self.gone.set()
            self.more.set()
            rec = self.current
            if rec is not None and not rec.completed and rec.t_disconnected is None:
                rec.t_disconnected = time.monotonic()
                rec._disconnected.set()

    def looks_like_http(self) -> bool:
        """False for bytes no HTTP request starts with (a TLS ClientHello starts with 0x16)."""
        return not self.buf or 65 <= self.buf[0] <= 90

    async def read_until(self, marker: bytes) -> bytes | None:
        while True:
            if not self.looks_like_http():
                return bytes(self.buf)
            idx = self.buf.find(marker)
            if idx >= 0:
                out = bytes(self.buf[: idx + len(marker)])
                del self.buf[: idx + len(marker)]
                return out
            if self.gone.is_set() or len(self.buf) > _MAX_HEAD:
                return None
            self.more.clear()
            await self.more.wait()

    async def read_exactly(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if self.gone.is_set():
                return None
            self.more.clear()
            await self.more.wait()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def send(self, data: bytes, final: bool = False) -> None:
        """Write bytes. `final`: they end the reply; a hang-up from now on is not a mid-reply disconnect."""
        if self.gone.is_set() or self.writer.is_closing():
            raise _Gone
        try:
            self.writer.write(data)
        except (ConnectionError, OSError, RuntimeError) as exc:
            raise _Gone from exc
        if final and self.current is not None:
            self.current.completed = True
            self.current.t_finished = time.monotonic()
            self.current = None
        transport = self.writer.transport
        if transport.get_write_buffer_size() > 65536:
            # the client is not reading: wait for it, or for it to hang up
            drain = asyncio.ensure_future(self.writer.drain())
            gone = asyncio.ensure_future(self.gone.wait())
            await asyncio.wait({drain, gone}, return_when=asyncio.FIRST_COMPLETED)
            gone.cancel()
            if not drain.done():
                drain.cancel()
                raise _Gone
            if drain.exception() is not None:
                raise _Gone
        else:
            await asyncio.sleep(0)  # let the pump and other connections run

    async def chunk(self, data: bytes) -> None:
        if data:
            await self.send(b"%x\r\n%s\r\n" % (len(data), data))

    async def pause(self, seconds: float) -> None:
        if self.gone.is_set():
            raise _Gone
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.gone.wait(), timeout=seconds)
        if self.gone.is_set():
            raise _Gone

    async def until_gone(self) -> None:
        await self.gone.wait()
        raise _Gone

    def reset(self) -> None:
        """Abort with a TCP RST, as a crashing proxy would (the server hung up: not a client disconnect)."""
        self.current = None
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


class FakeBackend:
    """The fake server. Not started until `start()`; a context manager that starts and stops it."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.default = Reply(text="pass")
        self.responder: Callable[[RecordedRequest], Reply] | None = None
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._open = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._conns: set[_Conn] = set()
        self._gen_id = 0
        self._conn_serial = 0

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> FakeBackend:
        if self._loop is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-backend", daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), loop)
        future.result(timeout=10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, 0, limit=_MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not loop.is_running():
            loop.close()
        self._loop = None
        self._thread = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.writer.transport.abort()
            conn.hang_up()  # every waiting handler wakes and ends by itself
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=1.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    def __enter__(self) -> FakeBackend:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("FakeBackend is not started")
        return f"http://{self.host}:{self.port}"

    # -- scripting and inspection -------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies: each incoming request pops the next one."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def open_streams(self) -> int:
        """Replies currently in flight (from the request until the reply ends or the client hangs up)."""
        return self._open

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.requests) >= n, timeout=timeout)

    def wait_for_disconnect(self, req: RecordedRequest, timeout: float = 1.0) -> bool:
        return req._disconnected.wait(timeout)

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait until no reply is in flight."""
        end = time.monotonic() + timeout
        while self._open and time.monotonic() < end:
            time.sleep(0.005)
        return self._open == 0

    def _next_reply(self, rec: RecordedRequest) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(rec)
        return self.default

    # -- HTTP -----------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conn_serial += 1
        conn = _Conn(reader, writer, self._conn_serial)
        self._conns.add(conn)
        try:
            while True:
                rec = await self._read_request(conn)
                if rec is None:
                    break
                if not await self._serve(conn, rec):
                    break
        except (_Gone, asyncio.CancelledError):
            pass  # the handler task ends here either way; nothing awaits it
        except Exception:  # a bug in the fake must not kill its loop
            import traceback

            traceback.print_exc()
        finally:
            self._conns.discard(conn)
            conn.pump.cancel()
            with contextlib.suppress(Exception):
                writer.close()

    async def _read_request(self, conn: _Conn) -> RecordedRequest | None:
        head = await conn.read_until(b"\r\n\r\n")
        if head is None:
            return None
        t_arrived = conn.t_data
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            # not HTTP (for instance a TLS handshake): answer like a plain HTTP server would, then hang up
            with contextlib.suppress(_Gone):
                await conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return None
        method, path = parts[0], parts[1]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            pieces = []
            while True:
                size_line = await conn.read_until(b"\r\n")
                if size_line is None:
                    return None
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                data = await conn.read_exactly(size + 2)
                if data is None:
                    return None
                if size == 0:
                    break
                pieces.append(data[:-2])
            body = b"".join(pieces)
        elif headers.get("content-length"):
            data = await conn.read_exactly(int(headers["content-length"]))
            if data is None:
                return None
            body = data
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        rec = RecordedRequest(
            method, path, headers, body, parsed, time.monotonic(), connection=conn.serial, t_arrived=t_arrived
        )
        with self._arrived:
            self.requests.append(rec)
            self._arrived.notify_all()
        return rec

    async def _serve(self, conn: _Conn, rec: RecordedRequest) -> bool:
        """Answer one request; True to keep the connection for the next one."""
        self._open += 1
        conn.current = rec
        try:
            if conn.gone.is_set():
                conn.hang_up()
                return False
            try:
                reply = self._next_reply(rec)
            except Exception as exc:  # a broken responder: say so instead of hanging
                reply = Reply(
                    status=500,
                    body=f"responder failed: {exc!r}".encode(),
                    headers={"Content-Type": "text/plain"},
                )
            keep = await self._answer(conn, rec, reply)
            rec.completed = True
            wants_close = rec.headers.get("connection", "").lower() == "close"
            return keep and not wants_close and not conn.gone.is_set()
        except _Gone:
            conn.hang_up()
            return False
        finally:
            conn.current = None
            self._open -= 1

    async def _answer(self, conn: _Conn, rec: RecordedRequest, reply: Reply) -> bool:
        await conn.pause(reply.headers_delay)
        if rec.method != "POST" and reply.body is None and reply.status == 200:
            await self._send_simple(
                conn,
                404,
                {"Content-Type": "application/json"},
                json.dumps({"error": "Not Found", "statusCode": 404}).encode(),
            )
            return True
        if reply.body is not None:
            headers = {"Content-Type": "application/json", **(reply.headers or {})}
            self._add_retry_after(headers, reply)
            await self._send_simple(conn, reply.status, headers, reply.body)
            return True
        if reply.status != 200:
            headers = {"Content-Type": "application/json", **(reply.headers or {})}
            self._add_retry_after(headers, reply)
            await self._send_simple(conn, reply.status, headers, self._error_body(rec, reply.status))
            return True
        if reply.fault == "html":
            headers = {"Content-Type": "text/html; charset=utf-8", **(reply.headers or {})}
            await self._send_simple(conn, 200, headers, _HTML_PAGE)
            return True
        if rec.streaming:
            return await self._stream_sse(conn, rec, reply)
        return await self._send_json(conn, rec, reply)

    @staticmethod
    def _add_retry_after(headers: dict[str, str], reply: Reply) -> None:
        if reply.retry_after is not None:
            headers["Retry-After"] = reply.retry_after

    async def _send_head(self, conn: _Conn, status: int, headers: dict[str, str]) -> None:
        await conn.send(self._head(status, headers))

    @staticmethod
    def _head(status: int, headers: dict[str, str]) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        lines = [f"HTTP/1.1 {status} {reason}", f"Date: {formatdate(usegmt=True)}", "Server: fake-backend"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send_simple(self, conn: _Conn, status: int, headers: dict[str, str], body: bytes) -> None:
        headers = {**headers, "Content-Length": str(len(body))}
        await conn.send(self._head(status, headers) + body, final=True)

    def _error_body(self, rec: RecordedRequest, status: int) -> bytes:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        if rec.wire == "openai":
            kinds = {
                401: "invalid_api_key",
                403: "permission_denied",
                404: "not_found",
                429: "rate_limit_exceeded",
            }
            payload: dict[str, Any] = {
                "error": {
                    "message": f"{phrase} (fake backend)",
                    "type": "invalid_request_error" if status < 500 else "server_error",
                    "code": kinds.get(status, str(status)),
                }
            }
        elif status in (401, 403):
            payload = {
                "error": "Invalid token" if status == 401 else "Forbidden",
                "code": "INVALID_TOKEN" if status == 401 else "FORBIDDEN",
                "timestamp": "2026-01-01T00:00:00Z",
                "details": {},
            }
        else:
            payload = {"statusCode": status, "error": phrase, "message": f"{phrase} (fake backend)"}
        return json.dumps(payload).encode()

    # -- SSE ----------------------------------------------------------------------------------------

    def _next_id(self) -> str:
        self._gen_id += 1
        return f"gen_{self._gen_id}"

    def _events(self, rec: RecordedRequest, reply: Reply) -> tuple[list[bytes], bytes, bytes, bytes]:
        """(token events, done event(s), malformed event, error event) for the request's wire format."""
        pieces = reply.pieces()
        usage_in = len(rec.body) // 4
        gen_id = self._next_id()
        if rec.wire == "openai":
            chat = rec.path.split("?")[0].endswith("/chat/completions")

            def chunk(text: str | None, finish: str | None) -> bytes:
                choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
                if chat:
                    choice["delta"] = {"content": text} if text is not None else {}
                else:
                    choice["text"] = text or ""
                obj = {
                    "id": gen_id,
                    "object": "chat.completion.chunk" if chat else "text_completion",
                    "model": "fake",
                    "choices": [choice],
                }
                return b"data: " + json.dumps(obj).encode() + b"\n\n"

            tokens = [chunk(p, None) for p in pieces]
            done = chunk(None, reply.finish_reason) + b"data: [DONE]\n\n"
            malformed = b'data: {"choices": [{"delta": {"content": "oops"\n\n'
            error = (
                b"data: "
                + json.dumps(
                    {
                        "error": {
                            "message": "The model failed (fake backend)",
                            "type": "server_error",
                            "code": "internal",
                        }
                    }
                ).encode()
                + b"\n\n"
            )
            return tokens, done, malformed, error
        tokens = [b"event: token\ndata: " + json.dumps({"text": p}).encode() + b"\n\n" for p in pieces]
        done = (
            b"event: done\ndata: "
            + json.dumps(
                {
                    "id": gen_id,
                    "finish_reason": reply.finish_reason,
                    "usage": {"input_tokens": usage_in, "output_tokens": len(pieces)},
                }
            ).encode()
            + b"\n\n"
        )
        malformed = b'event: token\ndata: {"text": oops\n\n'
        error = (
            b"event: error\ndata: "
            + json.dumps({"code": "GENERATION_FAILED", "message": "The model failed (fake backend)"}).encode()
            + b"\n\n"
        )
        return tokens, done, malformed, error

    async def _stream_sse(self, conn: _Conn, rec: RecordedRequest, reply: Reply) -> bool:
        headers = {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "Transfer-Encoding": "chunked",
            **(reply.headers or {}),
        }
        tokens, done, malformed, error = self._events(rec, reply)
        await self._send_head(conn, 200, headers)
        await conn.pause(reply.first_delay)
        fault = reply.fault
        half = max(1, len(tokens) // 2) if tokens else 0

        if fault == "oversized":
            cycle = tokens or self._events(rec, Reply(text="x" * 64))[0]
            i = 0
            while True:
                if i:
                    await conn.pause(reply.chunk_delay)
                await conn.chunk(cycle[i % len(cycle)])
                i += 1

        for i, token in enumerate(tokens):
            if i and fault == "keepalive":
                # a comment halfway through each pause: the silence between bytes is half the delay
                await conn.pause(reply.chunk_delay / 2)
                await conn.chunk(b":keepalive\n\n")
                await conn.pause(reply.chunk_delay / 2)
            elif i:
                await conn.pause(reply.chunk_delay)
            if fault in ("reset_mid", "stall_mid") and i == half:
                break
            if fault == "keepalive":
                await conn.chunk(b":keepalive\n\n")
                await conn.chunk(b"id: %d\n" % (i + 1))
            await conn.chunk(token)
            if fault == "malformed":
                await conn.chunk(malformed)
            if fault == "error_event":
                await conn.chunk(error)
                await conn.send(b"0\r\n\r\n", final=True)
                return True
        if fault == "reset_mid":
            conn.reset()
            raise _Gone
        if fault == "stall_mid":
            await conn.until_gone()
        if fault == "error_event":  # no tokens at all
            await conn.chunk(error)
        elif fault == "keepalive":
            await conn.chunk(b":keepalive\n\n")
            await conn.chunk(done)
        elif fault == "no_done":
            pass
        else:
            if fault == "malformed" and not tokens:
                await conn.chunk(malformed)
            await conn.chunk(done)
        await conn.send(b"0\r\n\r\n", final=True)
        return True

    # -- JSON (non-streamed) ------------------------------------------------------------------------

    def _json_answer(self, rec: RecordedRequest, text: str, reply: Reply) -> dict[str, Any]:
        gen_id = self._next_id()
        usage = {"input_tokens": len(rec.body) // 4, "output_tokens": len(reply.pieces())}
        if rec.wire == "openai":
            chat = rec.path.split("?")[0].endswith("/chat/completions")
            choice: dict[str, Any] = {"index": 0, "finish_reason": reply.finish_reason}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            return {
                "id": gen_id,
                "object": "chat.completion" if chat else "text_completion",
                "model": "fake",
                "choices": [choice],
                "usage": {
                    "prompt_tokens": usage["input_tokens"],
                    "completion_tokens": usage["output_tokens"],
                },
            }
        return {
            "id": gen_id,
            "output": text,
            "files": [],
            "finish_reason": reply.finish_reason,
            "usage": usage,
        }

    async def _send_json(self, conn: _Conn, rec: RecordedRequest, reply: Reply) -> bool:
        fault = reply.fault
        text = "".join(reply.pieces())
        headers = {"Content-Type": "application/json", **(reply.headers or {})}
        if fault == "oversized":
            headers["Transfer-Encoding"] = "chunked"
            await self._send_head(conn, 200, headers)
            await conn.pause(reply.first_delay)
            key = b'"output"' if rec.wire == "hoody" else b'"choices": [{"message": {"content"'
            await conn.chunk(b"{" + key + b': "')
            while True:
                await conn.chunk(b"x" * 4096)
                await conn.pause(reply.chunk_delay)
        if fault == "malformed":
            body = b'{"output": "unterminated' if rec.wire == "hoody" else b'{"choices": [{"message": '
        elif fault == "error_event":
            if rec.wire == "openai":
                body = json.dumps(
                    {
                        "error": {
                            "message": "The model failed (fake backend)",
                            "type": "server_error",
                            "code": "internal",
                        }
                    }
                ).encode()
            else:
                body = json.dumps(
                    {
                        "error": "The model failed (fake backend)",
                        "code": "GENERATION_FAILED",
                        "timestamp": "2026-01-01T00:00:00Z",
                        "details": {},
                    }
                ).encode()
        else:
            body = json.dumps(self._json_answer(rec, text, reply)).encode()
        headers["Content-Length"] = str(len(body))
        await self._send_head(conn, 200, headers)
        await conn.pause(reply.first_delay)
        if fault in ("reset_mid", "stall_mid", "no_done"):
            await conn.send(body[: len(body) // 2])
            if fault == "reset_mid":
                conn.reset()
                raise _Gone
            if fault == "stall_mid":
                await conn.until_gone()
            conn.current = None  # no_done: a clean close before the whole body (the server hung up)
            conn.writer.close()
            raise _Gone
        await conn.send(body, final=True)
        return True


def http_date(seconds_from_now: float) -> str:
    """An HTTP date `seconds_from_now` in the future, for Retry-After."""
    return formatdate(time.time() + seconds_from_now, usegmt=True)
