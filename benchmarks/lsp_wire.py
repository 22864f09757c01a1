"""Minimal JSON-RPC over stdio for benchmarks: start the server, send, receive (no pytest machinery)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any


class Wire:
    def __init__(
        self, env: dict[str, str] | None = None, args: list[str] | None = None, command: list[str] | None = None
    ) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [*(command or [sys.executable, "-m", "hoody_lsp"]), *(args or [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
        self._id = 0

    def send(self, method: str, params: Any, *, request: bool = True) -> int | None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        msg_id = None
        if request:
            self._id += 1
            msg_id = msg["id"] = self._id
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return msg_id

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("server closed stdout")
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def request(self, method: str, params: Any) -> dict[str, Any]:
        msg_id = self.send(method, params)
        while True:
            msg = self.read()
            if msg.get("id") == msg_id and "method" not in msg:
                return msg
            if "method" in msg and "id" in msg:  # a request from the server: answer null
                self.reply(msg["id"], None)

    def reply(self, msg_id: Any, result: Any) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "result": result}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def initialize(self, root: str | None = None, caps: dict[str, Any] | None = None,
                   options: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.request("initialize", {
            "processId": os.getpid(),
            "rootUri": f"file://{root}" if root else None,
            "capabilities": caps or {"textDocument": {"inlineCompletion": {}}},
            "initializationOptions": options or {},
        })
        self.send("initialized", {}, request=False)
        return result

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.send("exit", None, request=False)
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()
