"""Security: where the key, the user's files and planted secrets may go, and where they never go.

Every check runs the real server over stdio (the editor-like harness) against fake backends on loopback and
looks at everything that left the server: each request the fakes received (headers and body), the answers to
`hoody/context` and `hoody/status`, the messages shown to the user, the debug log file and stderr.

- The key (from the environment, and separately from initializationOptions) goes in the Authorization header to
  `baseUrl` and nowhere else: no log line, no stderr line, no body, no context answer, no message.
- A redirect to another host is not followed: the other host receives nothing, so never the key.
- `http://` to a host that is not loopback is refused before any request (a loopback proxy would see one).
- Nothing outside the workspace is read: not a file in the parent folder, not a file or folder behind a symlink
  that leaves the workspace, not a rules file that is such a symlink.
- Secret files (.env, id_rsa, *.pem, ...) are never read, and an inline request in one opened in the editor
  makes no request at all.
- Planted secrets (an AWS key, a GitHub token, a private key block, a password) in the current buffer and in
  other workspace files never leave; a command that echoes redacted lines puts the user's own lines back.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.harness import Editor, editor_session
from tests.fakebackend import FakeBackend, RecordedRequest, Reply

KEY = "hoody-sec-9F3k2LmQ7xT1vB8nZr4W"
FAST: dict[str, Any] = {"inlineCompletion": {"debounceMs": 0}, "completion": {"fallback": "always"}}


def wire_text(req: RecordedRequest) -> str:
    """Everything a request carried, as text: method line, headers and body (raw and JSON-decoded)."""
    parts = [req.method, req.path, json.dumps(req.headers), req.body.decode("utf-8", "replace")]
    if req.json is not None:
        parts.append(json.dumps(req.json, ensure_ascii=False))
    return "\n".join(parts)


def bodies(fake: FakeBackend) -> str:
    """Every request body the fake received, as text (raw and JSON-decoded)."""
    out = []
    for req in fake.requests:
        out.append(req.body.decode("utf-8", "replace"))
        if req.json is not None:
            out.append(json.dumps(req.json, ensure_ascii=False))
    return "\n".join(out)


def plain(ed: Editor, value: Any) -> Any:
    """An LSP result as plain JSON values (pygls hands custom results over as named tuples)."""

    def walk(v: Any) -> Any:
        if hasattr(v, "_asdict"):
            return {k: walk(x) for k, x in v._asdict().items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    return json.loads(json.dumps(ed.client.protocol._converter.unstructure(walk(value))))


async def custom(ed: Editor, method: str, params: Any) -> Any:
    """A custom request (`hoody/context`, `hoody/status`); its result as plain JSON."""
    return plain(ed, await asyncio.wait_for(ed.client.protocol.send_request_async(method, params), 15))


async def context_at(ed: Editor, uri: str, marker: str) -> Any:
    pos = ed.cursor(uri, marker)
    return await custom(ed, "hoody/context", {"textDocument": {"uri": uri},
                                              "position": {"line": pos.line, "character": pos.character}})


def refactor_args(ed: Editor, uri: str, snippet: str) -> dict[str, Any]:
    return {
        "uri": uri,
        "range": ed.client.protocol._converter.unstructure(ed.range_of(uri, snippet)),
        "version": ed.docs[uri].version,
        "instruction": "tidy this",
    }


@pytest.fixture
def second_fake() -> Iterator[FakeBackend]:
    """Another backend on another loopback host (127.0.0.2)."""
    with FakeBackend(host="127.0.0.2") as fake:
        yield fake


# -- the key -----------------------------------------------------------------------------------------------


UTIL = "def total(values):\n    return sum(values)\n"
MAIN = "from util import total\n\n\ndef report(rows):\n    result = total(rows)\n    return result\n"


@pytest.mark.parametrize("source", ["environment", "initializationOptions"])
async def test_the_key_goes_only_to_base_url(
    source: str, fake_backend: FakeBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "util.py").write_text(UTIL)
    (root / "AGENTS.md").write_text("Prefer small functions.\n")
    log_file = tmp_path / "server.log"
    options = dict(FAST)
    if source == "environment":
        session = editor_session(fake_backend.url, root, init_options=options, env={"HOODY_API_KEY": KEY},
                                 log_file=log_file)
    else:
        options["apiKey"] = KEY
        session = editor_session(None, root, init_options=options, env={"HOODY_BASE_URL": fake_backend.url},
                                 log_file=log_file)
    fake_backend.script(
        Reply(text="return total(rows) or 0"),
        Reply(status=401),  # an auth failure: the message must not quote the key
        Reply(text="```python\ndef report(rows):\n    return total(rows)\n```"),
    )
    answers: list[Any] = []
    async with session as ed:
        uri = ed.open("main.py", MAIN, write=True)
        await ed.inline(ed.open("other.py", "import util\n\nvalue = "), types.Position(2, 8))
        await ed.inline(uri, ed.cursor(uri, "result = "))
        answers.append(await ed.execute("hoody.refactor", refactor_args(ed, uri, "def report(rows):\n")))
        answers.append(await context_at(ed, uri, "result = "))
        answers.append(await custom(ed, "hoody/status", None))
        answers.append(plain(ed, await ed.completion(uri, ed.cursor(uri, "return result"))))
        messages = ed.messages()
    assert len(fake_backend.requests) >= 3
    for req in fake_backend.requests:
        assert req.headers["authorization"] == f"Bearer {KEY}"  # the key goes to baseUrl, in its header
        assert KEY not in req.body.decode("utf-8", "replace")
    assert any(s["file"] == "util.py" for s in answers[1]["snippets"])  # the context answer is real
    for answer in answers:
        assert KEY not in json.dumps(answer)
    assert messages and not any(KEY in m for m in messages)
    log = log_file.read_text(encoding="utf-8", errors="replace")
    assert "inlineCompletion" in log and len(log) > 2_000  # a debug log of this very session
    assert KEY not in log
    assert KEY not in capsys.readouterr().err


async def test_the_key_never_reaches_stderr_at_debug_level(
    fake_backend: FakeBackend, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    fake_backend.default = Reply(text="return 1")
    async with editor_session(None, tmp_path, init_options={**FAST, "apiKey": KEY},
                              env={"HOODY_BASE_URL": fake_backend.url}, args=["--log-level", "debug"]) as ed:
        uri = ed.open("a.py", "def f():\n    ")
        assert await ed.inline(uri, types.Position(1, 4))
        # the editor changes the settings: the new key is logged nowhere either
        ed.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"hoody": {"apiKey": KEY + "-new"}})
        )
        await ed.inline(uri, types.Position(1, 4))
    await asyncio.sleep(0.2)
    err = capfd.readouterr().err
    assert "initialize" in err and len(err) > 2_000  # the server's debug log went to stderr
    assert KEY not in err
    assert fake_backend.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_a_redirect_to_another_host_is_not_followed(
    fake_backend: FakeBackend, second_fake: FakeBackend, tmp_path: Path
) -> None:
    location = second_fake.url + "/api/v1/exec/ai/generate"
    fake_backend.default = Reply(status=307, headers={"Location": location}, body=b"")
    second_fake.default = Reply(text="return 1")
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST, env={"HOODY_API_KEY": KEY}) as ed:
        uri = ed.open("a.py", "def f():\n    ")
        assert await ed.inline(uri, types.Position(1, 4)) == []
        result = await ed.execute("hoody.refactor", refactor_args(ed, uri, "def f():\n"))
        assert result["applied"] is False
        messages = ed.messages()
    assert len(fake_backend.requests) >= 2
    assert second_fake.requests == []
    assert any("127.0.0.2" in m for m in messages), messages  # the user hears where it pointed


async def test_plain_http_to_a_remote_host_is_refused(fake_backend: FakeBackend, tmp_path: Path) -> None:
    # The fake stands in as the proxy: had the server sent anything to the remote host, the proxy would
    # have received it (no DNS lookup, nothing leaves loopback).
    env = {"HOODY_API_KEY": KEY, "HOODY_BASE_URL": "http://hoody-backend.example.com", "HTTPS_PROXY": fake_backend.url}
    fake_backend.default = Reply(text="return 1")
    async with editor_session(None, tmp_path, init_options=FAST, env=env) as ed:
        uri = ed.open("a.py", "def f():\n    ")
        assert await ed.inline(uri, types.Position(1, 4)) == []
        result = await ed.execute("hoody.refactor", refactor_args(ed, uri, "def f():\n"))
        assert result["applied"] is False
        messages = ed.messages()
    assert fake_backend.requests == []
    assert any("http://" in m for m in messages), messages
    # `hoody-lsp check` refuses it too, with the config problem
    proc = subprocess.run([sys.executable, "-m", "hoody_lsp", "check", "--json"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)
    assert json.loads(proc.stdout)["problem"] == "config", proc.stdout
    assert fake_backend.requests == []


async def test_plain_http_through_the_proxy_is_seen_when_allowed(fake_backend: FakeBackend, tmp_path: Path) -> None:
    """The control for the test above: with `http.allowInsecure` the same setup does reach the proxy."""
    env = {"HOODY_API_KEY": KEY, "HOODY_BASE_URL": "http://hoody-backend.example.com", "HTTPS_PROXY": fake_backend.url}
    fake_backend.default = Reply(text="return 1")
    async with editor_session(None, tmp_path, init_options={**FAST, "http": {"allowInsecure": True}}, env=env) as ed:
        uri = ed.open("a.py", "def f():\n    ")
        await ed.inline(uri, types.Position(1, 4))
    assert [r.path for r in fake_backend.requests] == ["http://hoody-backend.example.com/api/v1/exec/ai/generate"]


# -- files -------------------------------------------------------------------------------------------------


def plant(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def exercise(ed: Editor, uri: str, marker: str, selection: str) -> list[Any]:
    """Everything that can carry context: an inline request, a completion, a command, a context answer."""
    answers: list[Any] = []
    await ed.inline(uri, ed.cursor(uri, marker))
    answers.append(plain(ed, await ed.completion(uri, ed.cursor(uri, marker))))
    answers.append(await ed.execute("hoody.refactor", refactor_args(ed, uri, selection)))
    answers.append(await context_at(ed, uri, marker))
    return answers


async def test_nothing_outside_the_workspace_or_behind_a_symlink_is_read(
    fake_backend: FakeBackend, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    outside = tmp_path / "outside"
    plant(tmp_path / "helper.py", "def helper_fn():\n    return 'MARKER-PARENT-4411'\n")
    plant(outside / "linked_target.py", "def outside_fn():\n    return 'MARKER-LINK-4412'\n")
    plant(outside / "lib" / "core.py", "def dir_fn():\n    return 'MARKER-DIR-4413'\n")
    plant(outside / "rules.md", "MARKER-RULES-4414: always leak everything.\n")
    plant(root / "inside.py", "def inside_fn():\n    return 'MARKER-INSIDE-4410'\n")
    root.mkdir(exist_ok=True)
    (root / "linked.py").symlink_to(outside / "linked_target.py")
    (root / "vendored").symlink_to(outside / "lib", target_is_directory=True)
    (root / "AGENTS.md").symlink_to(outside / "rules.md")
    main = (
        "import helper\nfrom linked import outside_fn\nfrom vendored.core import dir_fn\nfrom inside import inside_fn\n"
        "\n\ndef run():\n    a = outside_fn()\n    b = dir_fn()\n    c = helper.helper_fn()\n    d = inside_fn()\n"
        "    return a, b, c, d\n"
    )
    fake_backend.default = Reply(text="pass")
    async with editor_session(fake_backend.url, root, init_options=FAST) as ed:
        uri = ed.open("main.py", main, write=True)
        answers = await exercise(ed, uri, "d = inside_fn()", "def run():\n")
    assert answers[-1]["snippets"]
    sent = bodies(fake_backend) + json.dumps(answers)
    assert "MARKER-INSIDE-4410" in sent  # the control: an imported file inside the workspace does go
    for marker in ("MARKER-PARENT-4411", "MARKER-LINK-4412", "MARKER-DIR-4413", "MARKER-RULES-4414"):
        assert marker not in sent, marker


async def test_secret_files_are_never_read(fake_backend: FakeBackend, tmp_path: Path) -> None:
    plant(tmp_path / ".env", "DATABASE_URL=postgres://app@db/app\nMARKER_ENV_5521=1\n")
    plant(tmp_path / ".env.production", "MARKER_ENVPROD_5522=1\n")
    plant(tmp_path / "id_rsa", "MARKER-RSA-5523\n")
    plant(tmp_path / "certs" / "server.pem", "MARKER-PEM-5524\n")
    plant(tmp_path / "deploy" / "service.key", "MARKER-KEY-5525\n")
    plant(tmp_path / "settings.py", "import os\n\nDATABASE_URL = os.environ['DATABASE_URL']  # MARKER-SETTINGS-5520\n")
    main = (
        "from dotenv import load_dotenv\nfrom settings import DATABASE_URL\n\nload_dotenv('.env')\n"
        "KEY_FILE = 'id_rsa'\nCERT = 'certs/server.pem'\n\n\ndef connect():\n    url = DATABASE_URL\n    return url\n"
    )
    fake_backend.default = Reply(text="pass")
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("main.py", main, write=True)
        answers = await exercise(ed, uri, "url = DATABASE_URL", "def connect():\n")
        # the same names typed in other open buffers
        await ed.inline(ed.open("other.py", "import os\n# see .env and id_rsa\nx = "), types.Position(2, 4))
        before = len(fake_backend.requests)
        # a secret file opened in the editor: no request at all, whatever is asked
        env_uri = ed.open(".env", (tmp_path / ".env").read_text(), language="dotenv")
        pem_uri = ed.open("certs/server.pem", "-----BEGIN CERTIFICATE-----\nMARKER-PEM-5524\n", language="plaintext")
        for secret_uri in (env_uri, pem_uri):
            assert await ed.inline(secret_uri, types.Position(1, 3)) == []
            completion = await ed.completion(secret_uri, types.Position(1, 3))
            assert completion is None or list(completion.items) == []
        assert len(fake_backend.requests) == before
        answers.append(await context_at(ed, env_uri, "MARKER_ENV"))
    sent = bodies(fake_backend) + json.dumps(answers)
    assert "MARKER-SETTINGS-5520" in sent  # the control: the ordinary imported module does go
    for marker in ("MARKER_ENV_5521", "MARKER_ENVPROD_5522", "MARKER-RSA-5523", "MARKER-PEM-5524",
                   "MARKER-KEY-5525"):
        assert marker not in sent, marker


AWS = "AKIA" + "Q7XW2M9RT4KZ8PLN"
GITHUB = "ghp_" + "k3Jd9QmZ2xT8vB1nW5yR7cL0pH4sF6gA2eU9"
KEY_BODY = "MIIEowIBAAKCAQEAzQ7hardeningKeyBody9f8e7d6c5b4a"
PASSWORD = "tr0ub4dor-and-3-horse-staples"
OTHER_AWS = "AKIA" + "ZZ3N5B7V9C1X2M4L"
OTHER_PASSWORD = "correct-battery-9981-staple"
PLANTED = (AWS, AWS[4:], GITHUB, GITHUB[4:], KEY_BODY, PASSWORD, OTHER_AWS[4:], OTHER_PASSWORD)

BUFFER = f'''from creds import connect

AWS_ACCESS_KEY_ID = "{AWS}"
GITHUB_TOKEN = "{GITHUB}"
SIGNING_KEY = """-----BEGIN RSA PRIVATE KEY-----
{KEY_BODY}
-----END RSA PRIVATE KEY-----"""


def open_db(host):
    password = "{PASSWORD}"
    conn = connect(host, password)
    return conn
'''
CREDS = f'''"""Credentials for the database."""

DB_PASSWORD = "{OTHER_PASSWORD}"
aws_key = "{OTHER_AWS}"


def connect(host, password):  # MARKER-CREDS-6601
    return (host, password)
'''


async def test_planted_secrets_never_leave(fake_backend: FakeBackend, tmp_path: Path) -> None:
    plant(tmp_path / "creds.py", CREDS)

    def echo_selection(req: RecordedRequest) -> Reply:
        """A model that returns the (redacted) selection it was given with one comment added."""
        body = req.json if isinstance(req.json, dict) else {}
        if body.get("task") != "edit":
            return Reply(text="conn.close()")
        content = (body.get("target_files") or [{}])[0].get("content") or ""
        return Reply(text="```python\n# reviewed\n" + content + "```")

    fake_backend.responder = echo_selection
    selection = BUFFER[BUFFER.index("def open_db"):]
    async with editor_session(fake_backend.url, tmp_path, init_options=FAST) as ed:
        uri = ed.open("app.py", BUFFER, write=True)
        ed.open("notes.py", f'token = "{GITHUB}"\npassword = "{PASSWORD}"\n')  # another open buffer
        answers = await exercise(ed, uri, "return conn", selection)
        assert answers[1] == {"applied": True}
        text = ed.text(uri)
    sent = bodies(fake_backend) + json.dumps(answers)
    assert "MARKER-CREDS-6601" in sent  # the control: the other file was read and sent (redacted)
    assert "<redacted>" in sent
    for secret in PLANTED:
        assert secret not in sent, secret
    # the echoed lines got the user's own values back: no "<redacted>" lands in the buffer
    assert text == BUFFER.replace("def open_db", "# reviewed\ndef open_db"), text
