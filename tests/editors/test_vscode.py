"""The VS Code extension (editors/vscode) in a real VS Code against the real hoody-lsp and the fake backend.

The session fixture installs code-server 4.100.3 (scripts/setup_vscode.sh, cached after the first run) and
builds the .vsix (scripts/build_vsix.sh). The test installs the .vsix into a fresh code-server profile, starts
code-server with the fake backend's URL and a key in its environment and the venv's bin on PATH (so the
extension finds `hoody-lsp` there, as for a user who ran `pipx install hoody-lsp`), and drives the workbench
in headless Chromium with the keyboard:

1. typing a function header shows ghost text served by the fake backend, and Tab accepts it;
2. "Hoody: Set API Key" stores a key in the secret storage and the server uses it from then on;
3. "Hoody: Refactor Selection…" from the command palette, with an instruction typed in, rewrites the
   selection through the server's `hoody.refactor` command (workspace/applyEdit), while the status bar shows
   a generation in progress; the saved file holds the result.

Screenshots and the code-server log are kept in .artifacts/vscode/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.editors.vscode_drive import CodeServer, Workbench, base_env, browser_page, python_bin_dir
from tests.fakebackend import FakeBackend, RecordedRequest, Reply

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".artifacts" / "vscode"

ENV_KEY = "env-key-0123456789"
SECRET_KEY = "secret-key-from-the-palette-42"
INSTRUCTION = "sum the numbers with sum()"

SAMPLE = """\
def add(a, b):
    return a + b


total = 0
for x in [1, 2, 3]:
    total = total + x
"""
LOOP = "total = 0\nfor x in [1, 2, 3]:\n    total = total + x"
REFACTORED = "total = sum([1, 2, 3])  # refactored by hoody"
GHOST = "return a * b  # ghost from hoody"


@dataclass(frozen=True)
class VsCodeSetup:
    code_server_dir: Path
    vsix: Path


def _script(name: str) -> Path:
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / name)], capture_output=True, text=True, timeout=900, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"scripts/{name} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def vscode_setup() -> VsCodeSetup:
    """code-server installed (once per machine) and the extension packaged (once per change)."""
    return VsCodeSetup(code_server_dir=_script("setup_vscode.sh"), vsix=_script("build_vsix.sh"))


@pytest.fixture
def artifacts() -> Iterator[Path]:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    yield ARTIFACTS


def _responder(request: RecordedRequest) -> Reply:
    body = request.json or {}
    if body.get("task") == "edit":
        # slow enough that the status bar can be seen working
        return Reply(
            text=REFACTORED, chunks=[REFACTORED[i : i + 3] for i in range(0, len(REFACTORED), 3)], chunk_delay=0.08
        )
    return Reply(text=GHOST)


def _rejecting(request: RecordedRequest) -> Reply:
    if (request.json or {}).get("task") == "edit":
        return Reply(status=401, body=b'{"error": {"code": "unauthorized", "message": "invalid API key"}}')
    return Reply(text=GHOST)


def _bearer(request: RecordedRequest) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ").strip()


@pytest.mark.timeout(900)  # the first run on a fresh machine installs code-server (a few minutes, once)
def test_vscode_extension_end_to_end(
    vscode_setup: VsCodeSetup, artifacts: Path, tmp_path: Path, fake_backend: FakeBackend
) -> None:
    fake_backend.responder = _responder
    workspace = tmp_path / "ws"
    (workspace / ".vscode").mkdir(parents=True)
    sample = workspace / "sample.py"
    sample.write_text(SAMPLE)
    # A workspace must not redirect code and key: were this honoured, nothing would reach the fake backend.
    (workspace / ".vscode" / "settings.json").write_text(
        json.dumps({"hoody.baseUrl": "http://127.0.0.1:9/elsewhere", "hoody.http.allowInsecure": True})
    )
    old_server = tmp_path / "old-server" / "hoody-lsp"
    old_server.parent.mkdir()
    old_server.write_text("#!/bin/sh\necho 'hoody-lsp 0.0.9'\n")
    old_server.chmod(0o755)

    env = base_env(extra_path=python_bin_dir())
    env["HOODY_BASE_URL"] = fake_backend.url
    env["HOODY_API_KEY"] = ENV_KEY
    timings: dict[str, float] = {}
    t0 = time.monotonic()

    def mark(name: str) -> None:
        timings[name] = round(time.monotonic() - t0, 2)

    server = CodeServer(vscode_setup.code_server_dir, vscode_setup.vsix, tmp_path / "run", workspace, env)
    tree: list[str] = []
    try:
        server.prepare()
        server.start()
        mark("code_server_up")
        with browser_page() as page:
            wb = Workbench(page, artifacts)
            try:
                wb.open_folder(server.url, workspace)
                mark("workbench")
                wb.open_file("sample.py")
                mark("editor_open")
                # the extension found hoody-lsp on PATH, checked `--version` and the client is running
                wb.wait_for(lambda: "ready" in (wb.status_item("Hoody") or ""), 45, "the Hoody status item")
                mark("server_ready")
                tree = [" ".join(p.cmdline()) for p in server.tree() if _alive(p)]

                # 1) ghost text while typing; Tab accepts it
                page.keyboard.press("Control+End")
                page.keyboard.press("Enter")
                page.keyboard.type("def mul(a, b):")
                page.keyboard.press("Enter")
                page.keyboard.type("    ")
                ghost = wb.wait_for(wb.ghost_text, 20, "ghost text")
                mark("ghost_text")
                wb.shot("1-ghost-text")
                assert "return a * b" in ghost
                page.keyboard.press("Tab")
                wb.wait_for(lambda: "# ghost from hoody" in wb.editor_text(), 10, "the accepted suggestion")
                wb.shot("2-accepted")
                completions = [r for r in fake_backend.requests if (r.json or {}).get("task") == "completion"]
                assert completions, "no completion request reached the backend"
                assert all(_bearer(r) == ENV_KEY for r in completions)
                assert "def mul(a, b):" in completions[-1].json["prefix"]

                # 2) a key set from the palette goes to the secret storage and from there to the server
                wb.run_command("Hoody: Set API Key")
                wb.answer_input("Set API Key", SECRET_KEY)
                wb.wait_for(lambda: wb.toast_with("API key saved"), 10, "the key saved")
                for settings_file in server.data.rglob("*.json"):
                    assert SECRET_KEY not in settings_file.read_text(errors="replace"), settings_file

                # 3) refactor the loop through the palette, with an instruction
                wb.focus_editor()
                _select_lines(wb, first=_line_of(wb.editor_text(), "total = 0"), count=3)
                before = len(fake_backend.requests)
                wb.run_command("Hoody: Refactor Selection…")
                wb.answer_input("Refactor Selection", INSTRUCTION)
                # the status bar shows the generation while it runs
                wb.wait_for(lambda: "generating" in (wb.status_item("Hoody") or ""), 10, "busy status")
                wb.shot("3-refactoring")
                wb.wait_for(lambda: REFACTORED in wb.editor_text(), 30, "the refactored code in the editor")
                mark("refactor_applied")
                wb.wait_for(lambda: "ready" in (wb.status_item("Hoody") or ""), 15, "the status back to ready")
                page.keyboard.press("Control+S")
                wb.wait_for(lambda: REFACTORED in sample.read_text(), 10, "the saved file")
                wb.shot("4-refactored-saved")
                mark("saved")
                saved = sample.read_text()
                edits = [r for r in fake_backend.requests[before:] if (r.json or {}).get("task") == "edit"]

                # 4) a failing backend: the document stays as it was, the status bar keeps the problem
                fake_backend.responder = _rejecting
                _select_lines(wb, first=_line_of(wb.editor_text(), "total = sum"), count=1)
                wb.run_command("Hoody: Refactor Selection…")
                wb.answer_input("Refactor Selection", "make it shorter")
                wb.wait_for(lambda: "problem" in (wb.status_item("Hoody") or ""), 20, "the problem in the status bar")
                # the command's own progress toast closes; what stays is what the user is told
                wb.wait_for(lambda: not wb.toast_with("refactoring"), 10, "the progress toast to close")
                problem_toasts = [t for t in wb.toasts() if "API key saved" not in t]
                wb.shot("5-backend-problem")
                mark("problem_shown")
                assert wb.editor_text().count(REFACTORED) == 1

                # 5) clearing the key withdraws it: the server is back on the environment's key
                wb.run_command("Hoody: Clear API Key")
                wb.wait_for(lambda: wb.toast_with("API key removed"), 10, "the key removed")
                wb.wait_for(lambda: "ready" in (wb.status_item("Hoody") or ""), 30, "the restarted server")
                wb.focus_editor()
                before_clear = len(fake_backend.requests)
                page.keyboard.press("Control+End")
                page.keyboard.press("Enter")
                page.keyboard.type("def div(a, b):")
                page.keyboard.press("Enter")
                page.keyboard.type("    ")
                wb.wait_for(wb.ghost_text, 20, "ghost text after clearing the key")
                page.keyboard.press("Escape")
                after_clear = [
                    r for r in fake_backend.requests[before_clear:] if (r.json or {}).get("task") == "completion"
                ]
                mark("key_cleared")

                # 6) a too old server (set in the machine settings): the user is told how to upgrade
                (server.data / "Machine" / "settings.json").write_text(
                    json.dumps({"hoody.serverPath": str(old_server)})
                )
                too_old = wb.wait_for(lambda: wb.toast_with("too old"), 30, "the too-old message")
                wb.wait_for(lambda: "unavailable" in (wb.status_item("Hoody") or ""), 10, "the status unavailable")
                wb.shot("7-server-too-old")
                mark("too_old_shown")
            except BaseException:
                wb.shot("error")
                raise
    finally:
        leftovers = server.stop()
        if server.log_path.exists():
            shutil.copy(server.log_path, artifacts / "code-server.log")
        _copy_ext_logs(server.data, artifacts)
        (artifacts / "timings.json").write_text(json.dumps(timings, indent=1))

    logs = [server.log_path, *server.data.rglob("*.log")]
    assert len(logs) > 1, "the extension's log was not written"
    for log in logs:
        text = log.read_text(errors="replace")
        assert SECRET_KEY not in text and ENV_KEY not in text, f"an API key reached {log}"
    assert any("hoody-lsp" in cmd or "hoody_lsp" in cmd for cmd in tree), f"no language server ran: {tree}"
    assert leftovers == [], f"processes left running: {leftovers}"

    assert len(edits) == 1, [r.json for r in fake_backend.requests[before:]]
    edit = edits[0]
    assert _bearer(edit) == SECRET_KEY, "the key set from the palette did not reach the server"
    assert INSTRUCTION in json.dumps(edit.json)
    assert "for x in [1, 2, 3]:" in json.dumps(edit.json), "the selection was not sent"
    # the selection is replaced; the rest of the file (and the accepted suggestion) stays
    assert REFACTORED in saved
    assert "for x in" not in saved
    assert "def add(a, b):\n    return a + b\n" in saved
    assert "def mul(a, b):\n    return a * b  # ghost from hoody" in saved

    # told once: the server's own message (it names the rejected key), not repeated by the extension
    assert len(problem_toasts) == 1, problem_toasts
    assert "401" in problem_toasts[0] or "rejected" in problem_toasts[0], problem_toasts
    assert after_clear, "no completion request after the key was cleared"
    assert all(_bearer(r) == ENV_KEY for r in after_clear), [_bearer(r) for r in after_clear]
    assert "0.0.9" in too_old and "pipx upgrade hoody-lsp" in too_old, too_old


def _alive(p: object) -> bool:
    try:
        return bool(p.is_running())  # type: ignore[attr-defined]
    except Exception:
        return False


def _line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.split("\n")):
        if line.startswith(needle):
            return i
    raise AssertionError(f"{needle!r} not in the editor:\n{text}")


def _select_lines(wb: Workbench, first: int, count: int) -> None:
    """Select `count` whole lines from 0-based line `first`, with the keyboard."""
    keys = wb.page.keyboard
    keys.press("Control+Home")
    for _ in range(first):
        keys.press("ArrowDown")
    keys.press("Home")
    for _ in range(count - 1):
        keys.press("Shift+ArrowDown")
    keys.press("Shift+End")


def _copy_ext_logs(data: Path, dest: Path) -> None:
    """The extension's output channel (VS Code writes it under the profile's logs)."""
    for log in data.glob("logs/**/*Hoody*.log"):
        shutil.copy(log, dest / log.name)
