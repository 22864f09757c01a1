"""The fake backend itself: the API others code against (scripting, recording, disconnect detection)."""

from __future__ import annotations

import json
import socket
import time

from tests.fakebackend import FakeBackend, Reply


def _raw_post(fake: FakeBackend, path: str, body: dict[str, object]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", fake.port))
    data = json.dumps(body).encode()
    sock.sendall(
        b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (path.encode(), len(data), data)
    )
    return sock


def test_records_requests_and_detects_a_client_hang_up(fake_backend: FakeBackend) -> None:
    fake_backend.script(Reply(chunks=["a"] * 100, chunk_delay=0.05))
    sock = _raw_post(fake_backend, "/api/v1/exec/ai/generate", {"mode": "stream", "directive": "d"})
    assert fake_backend.wait_for_requests(1)
    req = fake_backend.requests[0]
    assert req.method == "POST" and req.json == {"mode": "stream", "directive": "d"}
    assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
    assert fake_backend.open_streams == 1
    t_close = time.monotonic()
    sock.close()
    assert fake_backend.wait_for_disconnect(req, 1.0)
    assert req.t_disconnected is not None and req.t_disconnected - t_close < 0.05
    assert not req.completed
    assert fake_backend.wait_idle()


def test_queue_then_responder_then_default(fake_backend: FakeBackend) -> None:
    import httpx

    fake_backend.script(Reply(text="first"))
    with httpx.Client() as client:

        def ask() -> str:
            reply = client.post(fake_backend.url + "/x", json={"mode": "complete", "directive": ""})
            return str(reply.json()["output"])

        assert ask() == "first"
        assert ask() == "pass"
        fake_backend.responder = lambda rec: Reply(text=rec.json["directive"] if rec.json else "")
        assert (
            client.post(fake_backend.url + "/x", json={"mode": "complete", "directive": "echo"}).json()["output"]
            == "echo"
        )
    assert all(r.completed for r in fake_backend.requests)
    assert all(r.t_disconnected is None for r in fake_backend.requests)
    assert len({r.connection for r in fake_backend.requests}) == 1, "keep-alive"


def test_openai_json_answer_and_error_shapes(fake_backend: FakeBackend) -> None:
    import httpx

    fake_backend.script(Reply(text="hi"), Reply(status=429, retry_after="3"))
    ok = httpx.post(fake_backend.url + "/v1/chat/completions", json={"stream": False})
    assert ok.json()["choices"][0]["message"]["content"] == "hi"
    limited = httpx.post(fake_backend.url + "/v1/chat/completions", json={"stream": False})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert "message" in limited.json()["error"]


def test_stop_is_quick_with_streams_open() -> None:
    fake = FakeBackend().start()
    fake.script(Reply(text="x", fault="stall_mid"))
    sock = _raw_post(fake, "/g", {"mode": "stream"})
    assert fake.wait_for_requests(1)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2.0
    sock.close()
