"""The server process: CLI flags, stdio/TCP, clean shutdown, exiting with its editor, logs without the key."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from lsprotocol import types

from hoody_lsp import __version__
from tests.e2e.harness import editor_session, server_env
from tests.fakebackend import FakeBackend, Reply

SERVER = [sys.executable, "-m", "hoody_lsp"]


def frame(msg: dict[str, object]) -> bytes:
    body = json.dumps(msg).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frames(data: bytes) -> list[dict[str, object]]:
    """Parse stdout strictly as LSP frames: any stray byte fails."""
    frames = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"not an LSP header: {data[:80]!r}"
        length = None
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            assert name.strip().lower() in (b"content-length", b"content-type"), f"stray output: {line!r}"
            if name.strip().lower() == b"content-length":
                length = int(value)
        assert length is not None
        frames.append(json.loads(rest[:length]))
        data = rest[length:]
    return frames


def test_version() -> None:
    out = subprocess.run([*SERVER, "--version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert out.stdout == f"hoody-lsp {__version__}\n"


def test_usage_error_exits_2() -> None:
    out = subprocess.run([*SERVER, "--no-such-flag"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    out = subprocess.run([*SERVER, "--tcp", "nope:port"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2


def test_stdout_holds_only_protocol_and_logs_go_to_the_file(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    key = "sk-stdio-only-9f8e7d6c"
    msgs = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": os.getpid(), "rootUri": tmp_path.as_uri(), "capabilities": {},
                    "initializationOptions": {"apiKey": key}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None},
    ]
    proc = subprocess.run(
        [*SERVER, "--log-file", str(log), "--log-level", "debug"],
        input=b"".join(frame(m) for m in msgs),
        capture_output=True,
        timeout=60,
        env=server_env(None),
    )
    assert proc.returncode == 0, proc.stderr
    frames = read_frames(proc.stdout)
    ids = [f.get("id") for f in frames if "id" in f and "method" not in f]
    assert ids[:2] == [1, 2]
    assert proc.stderr == b""  # with --log-file, nothing on stderr either
    text = log.read_text()
    assert "initialize" in text  # pygls' own dump of the request is there...
    assert key not in text  # ...without the key


def test_tcp_transport(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*SERVER, "--tcp", f"127.0.0.1:{port}"], env=server_env(None),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "server never listened"
                time.sleep(0.05)
        with conn:
            conn.sendall(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                "params": {"processId": None, "rootUri": None, "capabilities": {}}}))
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                assert chunk
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(head.split(b":")[1].split(b"\r\n")[0])
            while len(body) < length:
                chunk = conn.recv(65536)
                assert chunk
                body += chunk
            (result,) = read_frames(head + b"\r\n\r\n" + body[:length])
            assert result["id"] == 1
            assert result["result"]["serverInfo"]["name"] == "hoody-lsp"  # type: ignore[index]
        assert proc.stdout is not None
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_exits_when_the_editor_process_is_gone(tmp_path: Path) -> None:
    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=server_env(None))
    assert proc.stdin is not None
    proc.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                            "params": {"processId": editor.pid, "rootUri": None, "capabilities": {}}}))
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    proc.stdin.flush()
    time.sleep(1.0)
    assert proc.poll() is None
    editor.kill()
    editor.wait()
    try:
        # stdin stays open: only the watchdog can end the server
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_shutdown_closes_open_streams(fake_backend: FakeBackend, tmp_path: Path) -> None:
    fake_backend.default = Reply(text="x" * 200, chunks=["x"] * 200, chunk_delay=0.1)
    async with editor_session(fake_backend.url, tmp_path, init_options={"inlineCompletion": {"debounceMs": 0}}) as ed:
        uri = ed.open("a.py", "def f():\n    ")
        _, pending = ed.inline_request(uri, types.Position(1, 4), invoked=True)
        deadline = time.monotonic() + 5
        while fake_backend.open_streams == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert fake_backend.open_streams == 1
        t0 = time.monotonic()
        await ed.client.shutdown_async(None)
        (req,) = fake_backend.requests
        assert req.t_disconnected is not None or await asyncio.to_thread(fake_backend.wait_for_disconnect, req, 1.0)
        assert req.t_disconnected is not None and req.t_disconnected - t0 < 1.0
        ed.client.exit(None)
        pending.cancel()
        await asyncio.sleep(0.2)
        ed.client.capabilities = None  # the session is already shut down


async def test_key_from_initialization_options_and_environment_never_logged(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    for how in ("env", "init"):
        log = tmp_path / f"{how}.log"
        key = f"sk-{how}-7c1d2e3f4a5b"
        env = {"HOODY_API_KEY": key} if how == "env" else {}
        options = {"apiKey": key, "inlineCompletion": {"debounceMs": 0}} if how == "init" else {
            "inlineCompletion": {"debounceMs": 0}}
        fake_backend.default = Reply(status=401)
        async with editor_session(None, tmp_path, env={"HOODY_BASE_URL": fake_backend.url, **env},
                                  init_options=options, log_file=log) as ed:
            uri = ed.open("a.py", "x = ")
            await ed.inline(uri, types.Position(0, 4))
            await asyncio.sleep(0.2)
            assert all(key not in m for m in ed.messages())
        assert fake_backend.requests[-1].headers["authorization"] == f"Bearer {key}"
        text = log.read_text()
        assert "401" in text or "rejected" in text
        assert key not in text
