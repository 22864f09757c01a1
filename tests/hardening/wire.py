"""A raw JSON-RPC client over the server's real stdio, for hardening tests and the soak benchmark.

Unlike the pytest-lsp harness it speaks bytes: it can send broken frames, params of the wrong type and requests
the editor-like client would refuse to build, and it counts every answer. Server-to-client requests are answered
the way a plain editor would (`workspace/configuration` with the given settings, registrations accepted,
`workspace/applyEdit` refused: commands are not what these tests drive through this client).

    async with RawServer.session(root, env={...}, encoding="utf-8") as srv:
        answer = await srv.request("hoody/status", None)

`SyncServer` runs one `RawServer` on a private event loop in a thread, for callers that are not async (hypothesis
test bodies).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")

ENV_DROP = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


class ServerGone(Exception):
    """The server's stdout closed."""


def frame(message: Any) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process' environment without any HOODY_* setting or proxy, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOODY_") and k not in ENV_DROP}
    env.update(extra or {})
    return env


def capabilities(encoding: str, *, inline: bool = True, configuration: bool = True) -> dict[str, Any]:
    caps: dict[str, Any] = {
        "general": {"positionEncodings": [encoding]},
        "workspace": {"configuration": configuration, "applyEdit": True, "workspaceEdit": {"documentChanges": True}},
        "window": {"workDoneProgress": True},
        "textDocument": {"synchronization": {"dynamicRegistration": False}},
    }
    if inline:
        caps["textDocument"]["inlineCompletion"] = {}
    return caps


class RawServer:
    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self._next_id = 0
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.notifications: deque[dict[str, Any]] = deque(maxlen=2000)
        self.notification_count = 0
        self.stray: list[dict[str, Any]] = []  # answers to ids nobody waits for (id null, unknown ids)
        self.configuration: dict[str, Any] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr_file: IO[bytes] | None = None
        self.stderr_path: Path | None = None
        self.closed = asyncio.Event()

    # -- process --------------------------------------------------------------------------------------

    async def start(self, env: dict[str, str] | None = None, args: list[str] | None = None,
                    stderr_path: Path | None = None) -> None:
        if stderr_path is not None:
            self.stderr_path = stderr_path
            self._stderr_file = open(stderr_path, "wb")  # noqa: SIM115 (closed in close())
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hoody_lsp", *(args or []),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr_file if self._stderr_file is not None else asyncio.subprocess.DEVNULL,
            env=server_env(env),
            limit=64 * 1024 * 1024,
        )
        self._reader = asyncio.create_task(self._read_loop())

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and not self.closed.is_set()

    async def close(self, timeout: float = 5.0) -> int | None:
        """shutdown + exit, then wait for the process; killed at once if it did not answer shutdown."""
        proc = self.proc
        if proc is None:
            return None
        answered = False
        if self.alive:
            try:
                await self.request("shutdown", None, timeout=timeout)
                answered = True
                self.notify("exit", None)
            except Exception:
                pass
        try:
            await asyncio.wait_for(proc.wait(), timeout if answered else 0.1)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._stderr_file is not None:
            self._stderr_file.close()
        return proc.returncode

    @classmethod
    @contextlib.asynccontextmanager
    async def session(
        cls,
        root: Path | None,
        *,
        env: dict[str, str] | None = None,
        encoding: str = "utf-16",
        options: dict[str, Any] | None = None,
        configuration: dict[str, Any] | None = None,
        inline: bool = True,
        args: list[str] | None = None,
        stderr_path: Path | None = None,
        close_timeout: float = 5.0,
    ) -> AsyncIterator[RawServer]:
        srv = cls()
        srv.configuration = configuration
        await srv.start(env=env, args=args, stderr_path=stderr_path)
        try:
            await srv.initialize(root, encoding=encoding, options=options, inline=inline)
            yield srv
        finally:
            await srv.close(close_timeout)

    # -- wire -----------------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(data)

    def send(self, message: dict[str, Any]) -> None:
        self.write(frame(message))

    def notify(self, method: str, params: Any) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def send_request(self, method: str, params: Any, msg_id: Any = None) -> tuple[Any, asyncio.Future[dict[str, Any]]]:
        """Send a request; (its id, a future of the whole answer message)."""
        if msg_id is None:
            self._next_id += 1
            msg_id = self._next_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        # `params: null` rather than no member: pygls cannot read a custom request without one (see test_malformed)
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id, future

    def expect(self, msg_id: Any) -> asyncio.Future[dict[str, Any]]:
        """A future for the answer to a request this test wrote by hand (raw bytes)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        return future

    async def request(self, method: str, params: Any, timeout: float = 10.0) -> dict[str, Any]:
        """Send a request and wait for its whole answer message ({"result": ...} or {"error": ...})."""
        msg_id, future = self.send_request(method, params)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self._pending.pop(msg_id, None)
            raise TimeoutError(f"no answer to {method} (id {msg_id}) within {timeout} s") from None

    async def result(self, method: str, params: Any, timeout: float = 10.0) -> Any:
        answer = await self.request(method, params, timeout)
        if "error" in answer:
            raise AssertionError(f"{method} answered an error: {answer['error']}")
        return answer.get("result")

    def cancel(self, msg_id: Any) -> None:
        self.notify("$/cancelRequest", {"id": msg_id})

    async def _read_loop(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        try:
            while True:
                length = -1
                while True:
                    line = await out.readline()
                    if not line:
                        raise ServerGone
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length < 0:
                    continue
                self._dispatch(json.loads(await out.readexactly(length)))
        except (ServerGone, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ServerGone("the server closed its stdout"))
            self._pending.clear()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if "method" in msg and "id" in msg:
            result = self._answer_server(msg["method"], msg.get("params"))
            self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        elif "method" in msg:
            self.notification_count += 1
            self.notifications.append(msg)
        else:
            future = self._pending.pop(msg.get("id"), None)
            if future is None:
                self.stray.append(msg)
            elif not future.done():
                future.set_result(msg)

    def _answer_server(self, method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            items = params.get("items", []) if isinstance(params, dict) else []
            return [self.configuration for _ in items]
        if method == "workspace/applyEdit":
            return {"applied": False, "failureReason": "this client does not apply edits"}
        return None

    def messages(self) -> list[str]:
        """window/showMessage texts seen so far (the last 2000 notifications)."""
        return [n["params"]["message"] for n in self.notifications if n.get("method") == "window/showMessage"]

    # -- LSP helpers ----------------------------------------------------------------------------------

    async def initialize(self, root: Path | None, *, encoding: str = "utf-16", options: dict[str, Any] | None = None,
                         inline: bool = True) -> dict[str, Any]:
        params: dict[str, Any] = {
            "processId": os.getpid(),
            "rootUri": root.as_uri() if root else None,
            "capabilities": capabilities(encoding, inline=inline, configuration=self.configuration is not None),
            "initializationOptions": options or {},
            "clientInfo": {"name": "hardening-wire"},
        }
        if root is not None:
            params["workspaceFolders"] = [{"uri": root.as_uri(), "name": root.name}]
        result = await self.result("initialize", params, timeout=30.0)
        self.notify("initialized", {})
        return result

    def did_open(self, uri: str, text: str, language: str = "python", version: int = 1) -> None:
        self.notify("textDocument/didOpen", {
            "textDocument": {"uri": uri, "languageId": language, "version": version, "text": text}
        })

    def did_change(self, uri: str, version: int, changes: list[dict[str, Any]]) -> None:
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version}, "contentChanges": changes
        })

    def did_close(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    @staticmethod
    def inline_params(uri: str, line: int, character: int, invoked: bool = True) -> dict[str, Any]:
        return {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 1 if invoked else 2},
        }

    async def status(self) -> dict[str, Any]:
        return await self.result("hoody/status", None)


class SyncServer:
    """A `RawServer` on its own event loop in a daemon thread; every call blocks until done."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="raw-lsp-client", daemon=True)
        self._thread.start()
        self.server = RawServer()
        self._session: contextlib.AbstractAsyncContextManager[RawServer] | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the client's loop (writes must happen there)."""

        async def go() -> Any:
            return fn(*args)

        return self.run(go())

    def open(self, root: Path | None, **kwargs: Any) -> RawServer:
        self._session = RawServer.session(root, **kwargs)
        self.server = self.run(self._session.__aenter__(), timeout=60.0)
        return self.server

    def close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                self.run(self._session.__aexit__(None, None, None), timeout=30.0)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()
