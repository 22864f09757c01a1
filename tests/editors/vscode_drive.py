"""Run a real VS Code (code-server 4.100.3: VS Code 1.100.3 server, web workbench, Node extension host) with
the Hoody extension installed, and drive its workbench in headless Chromium through Playwright, with the
keyboard, as a person would.

`CodeServer` owns one run: a fresh profile (user data, extensions, HOME) under a scratch folder, the .vsix
installed into it, code-server started on a loopback port and, at the end, the whole process tree it
started (extension host, language server) killed by pid. `Workbench` wraps the page: open a file, read the
editor's text, wait for ghost text, run a command from the palette, answer an input box.

Chromium is Debian's (`executable_path`); Playwright never downloads a browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

# Settings of the fresh profile: quiet workbench, no hot exit (a reused file name would come back with the
# last run's unsaved text), no word-based suggestions competing with the ghost text for Tab/Enter.
BASE_USER_SETTINGS: dict[str, Any] = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.welcomePage.walkthroughs.openOnInstall": False,
    "security.workspace.trust.enabled": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "update.mode": "none",
    "files.hotExit": "off",
    "files.autoSave": "off",
    "editor.inlineSuggest.enabled": True,
    "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
    "editor.suggestOnTriggerCharacters": False,
    "editor.wordBasedSuggestions": "off",
    "editor.acceptSuggestionOnEnter": "off",
    "editor.autoIndent": "none",  # the test types indentation itself, the same with or without a Python extension
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "editor.minimap.enabled": False,
}

# The rendered lines of the first editor, in order (Monaco recycles line nodes: sort by their `top`), without
# ghost text (VS Code draws it inside the same line nodes).
_JS_EDITOR_TEXT = """() => {
  const lines = document.querySelector('.monaco-editor .view-lines');
  if (!lines) return '';
  return Array.from(lines.querySelectorAll('.view-line'))
    .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
    .map(e => {
      const c = e.cloneNode(true);
      c.querySelectorAll('[class*="ghost-text"]').forEach(g => g.remove());
      return c.textContent.replace(/\\u00a0/g, ' ');
    }).join('\\n');
}"""

# Ghost text: VS Code draws one span per token (whitespace-only spans included), further lines in a separate
# block: take the innermost ghost-text elements and join them by rendered row.
_JS_GHOST_TEXT = """() => {
  const all = Array.from(document.querySelectorAll('.monaco-editor [class*="ghost-text"]'));
  const leaves = all.filter(e => !e.querySelector('[class*="ghost-text"]'));
  if (!leaves.length) return null;
  const rows = new Map();
  for (const s of leaves) {
    const top = Math.round(s.getBoundingClientRect().top);
    rows.set(top, (rows.get(top) || '') + s.textContent);
  }
  const text = Array.from(rows.entries()).sort((a, b) => a[0] - b[0]).map(e => e[1])
    .join('\\n').replace(/\\u00a0/g, ' ');
  return text.trim() ? text : null;
}"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("Debian's chromium is missing: run scripts/setup_vscode.sh")
    return found


class CodeServer:
    """One code-server run with a fresh profile; a context manager that kills everything it started."""

    def __init__(
        self,
        code_server_dir: Path,
        vsix: Path,
        run_dir: Path,
        workspace: Path,
        env: Mapping[str, str],
        user_settings: Mapping[str, Any] | None = None,
        machine_settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.entry = code_server_dir / "node_modules" / "code-server" / "out" / "node" / "entry.js"
        self.vsix = vsix
        self.run_dir = run_dir
        self.workspace = workspace
        self.home = run_dir / "home"
        self.data = run_dir / "data"
        self.extensions = run_dir / "extensions"
        self.log_path = run_dir / "code-server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.user_settings = {**BASE_USER_SETTINGS, **(user_settings or {})}
        self.machine_settings = dict(machine_settings or {})
        self.env = {
            **env,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            # like `code .` from a terminal: the extension host keeps this environment (PATH included)
            # instead of one resolved from a login shell, where Debian's /etc/profile resets PATH
            "VSCODE_CLI": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    def _cmd(self, *args: str) -> list[str]:
        return [
            "node",
            str(self.entry),
            "--user-data-dir",
            str(self.data),
            "--extensions-dir",
            str(self.extensions),
            *args,
        ]

    def prepare(self) -> None:
        for d in (self.home, self.data / "User", self.data / "Machine", self.extensions):
            d.mkdir(parents=True, exist_ok=True)
        (self.data / "User" / "settings.json").write_text(json.dumps(self.user_settings, indent=1))
        # code-server's workbench is "remote": machine-scoped settings live in the remote (Machine) file
        (self.data / "Machine" / "settings.json").write_text(json.dumps(self.machine_settings, indent=1))
        out = subprocess.run(
            self._cmd("--install-extension", str(self.vsix), "--force"),
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"installing {self.vsix.name} failed: {out.stdout!r} {out.stderr!r}")

    def start(self) -> None:
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self._cmd(
                "--bind-addr",
                f"127.0.0.1:{self.port}",
                "--auth",
                "none",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override",
                str(self.workspace),
            ),
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"code-server exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("code-server did not answer /healthz within 60 s")

    def tree(self) -> list[psutil.Process]:
        """code-server and every process below it (extension hosts, language servers, ...)."""
        if self.proc is None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> list[str]:
        """Kill the tree we started (by pid, children first); returns the command lines still alive after."""
        procs = self.tree()
        for p in reversed(procs):
            with contextlib.suppress(psutil.NoSuchProcess):
                p.terminate()
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        _, alive = psutil.wait_procs(alive, timeout=5)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
        left = []
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                left.append(" ".join(p.cmdline()))
        return left

    def __enter__(self) -> CodeServer:
        self.prepare()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Workbench:
    """The VS Code web workbench in a Playwright page, driven by keyboard."""

    def __init__(self, page: Page, shots: Path | None) -> None:
        self.page = page
        self.shots = shots

    def shot(self, name: str) -> None:
        if self.shots is not None:
            self.shots.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):
                self.page.screenshot(path=str(self.shots / f"{name}.png"))

    def open_folder(self, url: str, folder: Path) -> None:
        self.page.goto(f"{url}/?folder={folder}", wait_until="domcontentloaded")
        self.page.wait_for_selector(".monaco-workbench", timeout=60_000)
        # the explorer shows the folder once the remote connection works
        self.page.wait_for_selector(".explorer-folders-view, .explorer-viewlet", timeout=30_000)

    def open_file(self, name: str) -> None:
        """Open a file of the workspace's top folder from the Explorer (no file search service needed)."""
        row = f".explorer-folders-view .monaco-list-row[aria-label*='{name}']"
        self.page.wait_for_selector(row, timeout=30_000)
        self.page.keyboard.press("Control+Shift+E")  # focus the Explorer tree
        self.page.wait_for_selector(
            ".explorer-folders-view .monaco-list.focused, .explorer-folders-view :focus", timeout=10_000
        )
        self.page.keyboard.press("Home")
        for _ in range(50):  # walk down to the file: no mouse
            if self.page.locator(f"{row}.focused").count():
                break
            self.page.keyboard.press("ArrowDown")
        self.page.wait_for_selector(f"{row}.focused", timeout=5_000)
        self.page.keyboard.press("Enter")
        self.page.wait_for_selector(f".tabs-container .tab.active[aria-label*='{name}']", timeout=20_000)
        self.page.wait_for_selector(".monaco-editor .view-lines", timeout=20_000)
        self.focus_editor()

    def quick_open(self, name: str) -> None:
        self.page.keyboard.press("Control+P")
        self.page.wait_for_selector(".quick-input-widget input", state="visible", timeout=10_000)
        self.page.keyboard.type(name)
        self.page.wait_for_selector(
            f".quick-input-list .monaco-list-row[aria-label*='{name}']", state="visible", timeout=10_000
        )
        self.page.keyboard.press("Enter")

    def focus_editor(self) -> None:
        """Give the editor the keyboard focus (Ctrl+1: first editor group), cursor where it was."""
        self.page.keyboard.press("Control+1")
        self.page.wait_for_selector(".monaco-editor.focused", timeout=10_000)

    def editor_text(self) -> str:
        text: str = self.page.evaluate(_JS_EDITOR_TEXT) or ""
        return text

    def ghost_text(self) -> str | None:
        value: str | None = self.page.evaluate(_JS_GHOST_TEXT)
        return value

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str, step_ms: int = 100) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            self.page.wait_for_timeout(step_ms)

    def status_item(self, label_part: str) -> str | None:
        """aria-label of the status bar item whose label contains `label_part`, if shown."""
        value: str | None = self.page.evaluate(
            """(part) => {
              const el = Array.from(document.querySelectorAll('.statusbar-item, .statusbar-item a'))
                .find(e => (e.getAttribute('aria-label') || '').includes(part));
              return el ? el.getAttribute('aria-label') : null;
            }""",
            label_part,
        )
        return value

    def toasts(self) -> list[str]:
        """The texts of the notification toasts on screen."""
        texts: list[str] = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('.notifications-toasts .notification-toast'))
                 .filter(t => t.offsetParent !== null)
                 .map(t => (t.querySelector('.notification-list-item-message') || t).textContent || '')"""
        )
        return texts

    def toast_with(self, text: str) -> str | None:
        return next((t for t in self.toasts() if text in t), None)

    def run_command(self, title: str) -> None:
        """F1 (falling back to Ctrl+Shift+P), type the title, Enter on the matching entry."""
        self.page.keyboard.press("F1")
        try:
            self.page.wait_for_selector(".quick-input-widget input", state="visible", timeout=5_000)
        except Exception:
            self.page.keyboard.press("Control+Shift+P")
            self.page.wait_for_selector(".quick-input-widget input", state="visible", timeout=10_000)
        self.page.keyboard.type(title)
        row = self.page.locator(".quick-input-list .monaco-list-row", has_text=title).first
        row.wait_for(state="visible", timeout=10_000)
        # the matching entry must be the focused one before Enter
        self.wait_for(
            lambda: (
                title in (self.page.locator(".quick-input-list .monaco-list-row.focused").first.text_content() or "")
            ),
            10,
            f"'{title}' focused in the command palette",
        )
        self.page.keyboard.press("Enter")

    def answer_input(self, title_part: str, text: str) -> None:
        """Type into the input box whose title contains `title_part`, and press Enter."""
        self.wait_for(
            lambda: (
                title_part in (self.page.locator(".quick-input-widget .quick-input-title").text_content() or "")
                and self.page.locator(".quick-input-widget input").is_visible()
            ),
            15,
            f"the input box '{title_part}'",
        )
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")
        self.page.wait_for_selector(".quick-input-widget", state="hidden", timeout=10_000)


@contextlib.contextmanager
def browser_page(viewport: tuple[int, int] = (1280, 800)) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            yield page
        finally:
            browser.close()


def _launch(pw: Playwright) -> Browser:
    return pw.chromium.launch(
        executable_path=chromium_path(),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    )


def python_bin_dir() -> Path:
    """The folder of the running interpreter's scripts (the venv's bin, where hoody-lsp lives)."""
    import sys

    return Path(sys.executable).parent


def base_env(extra_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if extra_path is not None:
        env["PATH"] = f"{extra_path}{os.pathsep}{env.get('PATH', '')}"
    # the server must see only what the test gives it
    for name in ("HOODY_BACKEND", "HOODY_API_KEY", "HOODY_BASE_URL", "HOODY_MODEL", "HTTPS_PROXY", "https_proxy"):
        env.pop(name, None)
    return env
