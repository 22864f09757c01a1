"""The Neovim plugin (editors/nvim) in a real headless Neovim 0.11 against hoody-lsp and the fake backend.

Neovim runs as `nvim --embed --headless`; the test speaks msgpack-RPC to it over its stdin/stdout (a minimal
msgpack codec below, so no Python client library is needed). Keys go through Neovim's own input path with
`nvim_input`, so mappings, insert-mode autocommands and the plugin's debounce all run as for a person typing.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.fakebackend import FakeBackend, Reply

pytestmark = pytest.mark.timeout(40)

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "editors" / "nvim"
DRIVERS = Path(__file__).resolve().parent / "nvim"


def _venv_tool(name: str) -> str:
    """A tool installed next to this interpreter (the venv's bin), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


# --- minimal msgpack (the subset Neovim's RPC uses) ------------------------------------------------------


class ExtType:
    """A msgpack ext value (Neovim sends buffer/window/tabpage handles as ext types 0/1/2)."""

    def __init__(self, code: int, data: bytes) -> None:
        self.code = code
        self.data = data

    @property
    def handle(self) -> int:
        value, _ = _unpack(self.data, 0)
        return int(value)


def _pack(obj: Any) -> bytes:
    if obj is None:
        return b"\xc0"
    if obj is True:
        return b"\xc3"
    if obj is False:
        return b"\xc2"
    if isinstance(obj, int):
        if 0 <= obj < 0x80:
            return struct.pack("B", obj)
        if -32 <= obj < 0:
            return struct.pack("b", obj)
        if obj >= 0:
            return b"\xcf" + struct.pack(">Q", obj)
        return b"\xd3" + struct.pack(">q", obj)
    if isinstance(obj, float):
        return b"\xcb" + struct.pack(">d", obj)
    if isinstance(obj, str):
        raw = obj.encode("utf-8")
        n = len(raw)
        if n < 32:
            return struct.pack("B", 0xA0 | n) + raw
        return b"\xdb" + struct.pack(">I", n) + raw
    if isinstance(obj, bytes):
        return b"\xc6" + struct.pack(">I", len(obj)) + obj
    if isinstance(obj, list | tuple):
        return b"\xdd" + struct.pack(">I", len(obj)) + b"".join(_pack(x) for x in obj)
    if isinstance(obj, dict):
        body = b"".join(_pack(k) + _pack(v) for k, v in obj.items())
        return b"\xdf" + struct.pack(">I", len(obj)) + body
    raise TypeError(f"cannot pack {type(obj).__name__}")


class _Incomplete(Exception):
    pass


def _need(buf: bytes, pos: int, n: int) -> None:
    if pos + n > len(buf):
        raise _Incomplete


def _unpack(buf: bytes, pos: int) -> tuple[Any, int]:
    """One value from buf at pos -> (value, next pos); raises _Incomplete when buf ends first."""
    _need(buf, pos, 1)
    b = buf[pos]
    pos += 1
    fixed = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
    if b <= 0x7F:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if 0xA0 <= b <= 0xBF:
        return _str(buf, pos, b & 0x1F)
    if 0x90 <= b <= 0x9F:
        return _array(buf, pos, b & 0x0F)
    if 0x80 <= b <= 0x8F:
        return _map(buf, pos, b & 0x0F)
    if b == 0xC0:
        return None, pos
    if b in (0xC2, 0xC3):
        return b == 0xC3, pos
    if b in fixed:
        size = struct.calcsize(fixed[b])
        _need(buf, pos, size)
        return struct.unpack_from(fixed[b], buf, pos)[0], pos + size
    if b in (0xCA, 0xCB):
        fmt = ">f" if b == 0xCA else ">d"
        size = struct.calcsize(fmt)
        _need(buf, pos, size)
        return struct.unpack_from(fmt, buf, pos)[0], pos + size
    lengths = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}
    if b in lengths:
        size = struct.calcsize(lengths[b])
        _need(buf, pos, size)
        n = struct.unpack_from(lengths[b], buf, pos)[0]
        pos += size
        if b >= 0xD9:
            return _str(buf, pos, n)
        _need(buf, pos, n)
        return bytes(buf[pos : pos + n]), pos + n
    if b in (0xDC, 0xDD, 0xDE, 0xDF):
        fmt = ">H" if b in (0xDC, 0xDE) else ">I"
        size = struct.calcsize(fmt)
        _need(buf, pos, size)
        n = struct.unpack_from(fmt, buf, pos)[0]
        pos += size
        return _array(buf, pos, n) if b in (0xDC, 0xDD) else _map(buf, pos, n)
    fixext = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
    if b in fixext or b in (0xC7, 0xC8, 0xC9):
        if b in fixext:
            n = fixext[b]
        else:
            fmt = {0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}[b]
            size = struct.calcsize(fmt)
            _need(buf, pos, size)
            n = struct.unpack_from(fmt, buf, pos)[0]
            pos += size
        _need(buf, pos, 1 + n)
        code = struct.unpack_from(">b", buf, pos)[0]
        return ExtType(code, bytes(buf[pos + 1 : pos + 1 + n])), pos + 1 + n
    raise ValueError(f"unsupported msgpack byte 0x{b:02x}")


def _str(buf: bytes, pos: int, n: int) -> tuple[str, int]:
    _need(buf, pos, n)
    return bytes(buf[pos : pos + n]).decode("utf-8", "replace"), pos + n


def _array(buf: bytes, pos: int, n: int) -> tuple[list[Any], int]:
    out = []
    for _ in range(n):
        value, pos = _unpack(buf, pos)
        out.append(value)
    return out, pos


def _map(buf: bytes, pos: int, n: int) -> tuple[dict[Any, Any], int]:
    out = {}
    for _ in range(n):
        key, pos = _unpack(buf, pos)
        value, pos = _unpack(buf, pos)
        out[key] = value
    return out, pos


def test_msgpack_round_trip() -> None:
    value = {"a": [1, -1, -200, 300, 70000, 2**40, None, True, False, 1.5], "s": "x" * 40, "é": "ü"}
    packed = _pack(value)
    assert _unpack(packed, 0) == (value, len(packed))
    with pytest.raises(_Incomplete):
        _unpack(packed[:-1], 0)


# --- a Neovim session over msgpack-RPC ---------------------------------------------------------------------


class NvimError(Exception):
    pass


class Nvim:
    """`nvim --embed --headless` driven over its stdio RPC channel."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its own process group: closing kills the server it spawned too
        )
        self._buf = b""
        self._next_id = 0

    def request(self, method: str, *args: Any, timeout: float = 10.0) -> Any:
        assert self.proc.stdin is not None
        self._next_id += 1
        msgid = self._next_id
        self.proc.stdin.write(_pack([0, msgid, method, list(args)]))
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_message(deadline)
            if msg[0] == 1 and msg[1] == msgid:
                if msg[2] is not None:
                    raise NvimError(f"{method}: {msg[2]}")
                return msg[3]
            # notifications (and requests, which we never provoke) are ignored

    def _read_message(self, deadline: float) -> list[Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            if self._buf:
                try:
                    msg, pos = _unpack(self._buf, 0)
                except _Incomplete:
                    pass
                else:
                    self._buf = self._buf[pos:]
                    return list(msg)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from nvim")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise NvimError("nvim closed its RPC channel")
                self._buf += chunk

    def lua(self, code: str, *args: Any, timeout: float = 10.0) -> Any:
        """Runs Lua (`...` holds args) in Neovim and returns its result."""
        return self.request("nvim_exec_lua", code, list(args), timeout=timeout)

    def input(self, keys: str) -> None:
        """Types keys (Neovim key notation) through the input path, as a person would."""
        self.request("nvim_input", keys)

    def command(self, cmd: str) -> None:
        self.request("nvim_command", cmd)

    def wait_for(self, lua_expr: str, timeout: float = 10.0, *args: Any) -> Any:
        """Polls a Lua expression until it is truthy; returns its last value (falsy on timeout)."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.lua(f"return {lua_expr}", *args)
            if value:
                return value
            time.sleep(0.02)
        return value

    def lines(self) -> list[str]:
        return list(self.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))

    def mode(self) -> str:
        return str(self.request("nvim_get_mode")["mode"])

    def ghost(self) -> str | None:
        """The text of the plugin's ghost-text extmarks (inline virt_text + virt_lines), or None."""
        return self.lua(
            """
            local ns = require('hoody.inline').ns
            local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
            if #marks == 0 then return nil end
            local d = marks[1][4]
            local out = {}
            for _, chunk in ipairs(d.virt_text or {}) do out[#out + 1] = chunk[1] end
            for _, line in ipairs(d.virt_lines or {}) do
              local parts = {}
              for _, chunk in ipairs(line) do parts[#parts + 1] = chunk[1] end
              out[#out + 1] = '\\n' .. table.concat(parts)
            end
            return table.concat(out)
            """
        )

    def close(self) -> None:
        # the server runs in its own process group (Neovim detaches it): remember it to kill it for sure
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            children = []
        if self.proc.poll() is None:
            # stop the LSP client cleanly so the server exits with its editor
            with contextlib.suppress(NvimError, TimeoutError, OSError):
                self.lua(
                    "for _, c in ipairs(vim.lsp.get_clients()) do c:stop(true) end "
                    "vim.wait(2000, function() return #vim.lsp.get_clients() == 0 end, 20)",
                    timeout=5,
                )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
        self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture
def nvim_workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    (ws / "app.py").write_text("import os\n\n\ndef add(a, b):\n    return a + b\n")
    return ws


@pytest.fixture
def nvim_env(tmp_path: Path, fake_backend: FakeBackend) -> dict[str, str]:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOODY_", "NVIM", "VIM", "MYVIMRC"))}
    for var in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        path = home / var.lower()
        path.mkdir(parents=True)
        env[var] = str(path)
    env.update(
        HOODY_BASE_URL=fake_backend.url,
        HOODY_API_KEY="test-key",
        HOODY_BACKEND="hoody",
        # the server's own directory first, so `hoody-lsp` and `python` are the venv's
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


NvimFactory = Callable[..., Nvim]


def _lsp_log(env: dict[str, str]) -> str:
    """The end of Neovim's LSP log (the server's stderr lands there): for failure messages."""
    log = Path(env["XDG_STATE_HOME"]) / "nvim" / "lsp.log"
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no lsp.log)"


@pytest.fixture
def nvim_start(nvim_env: dict[str, str], nvim_workspace: Path) -> Iterator[NvimFactory]:
    """Starts Neovim with the plugin set up by tests/editors/nvim/init.lua and opens a file."""
    sessions: list[Nvim] = []

    def start(
        file: str = "app.py",
        settings: dict[str, Any] | None = None,
        init_options: dict[str, Any] | None = None,
        server: bool = True,
        **inline: Any,
    ) -> Nvim:
        """server=False: the plugin without starting hoody-lsp (for its pure helpers)."""
        setup: dict[str, Any] = {
            "cmd": [_venv_tool("hoody-lsp")],
            "settings": settings if settings is not None else {"inlineCompletion": {"debounceMs": 0}},
            "inline": {"debounce_ms": 30, **inline},
            "enable": server,
        }
        if init_options is not None:
            setup["init_options"] = init_options
        env = {**nvim_env, "HOODY_NVIM_TEST_SETUP": json.dumps(setup)}
        argv = [_venv_tool("nvim"), "--embed", "--headless", "-i", "NONE", "-n"]
        argv += ["-u", str(DRIVERS / "init.lua"), "--cmd", f"set rtp^={PLUGIN_DIR}"]
        nvim = Nvim(argv, env, nvim_workspace)
        sessions.append(nvim)
        nvim.command(f"edit {nvim_workspace / file}")
        if server:
            attached = nvim.wait_for(
                "(function() local c = require('hoody').get_client(0) return c ~= nil and c.initialized end)()",
                timeout=15,
            )
            assert attached, "the hoody client did not attach; lsp.log:\n" + _lsp_log(nvim_env)
        return nvim

    yield start
    for nvim in sessions:
        nvim.close()


# --- tests -------------------------------------------------------------------------------------------------


def _messages(nvim: Nvim) -> list[dict[str, Any]]:
    return list(nvim.lua("return _G.hoody_test_messages"))


def _open_line_and_type(nvim: Nvim, text: str) -> None:
    """A new line at the end of the file (no indent), then `text` typed in insert mode."""
    nvim.input("G")
    nvim.input("o" + text)


def test_client_declares_inline_completion_and_server_offers_it(nvim_start: NvimFactory) -> None:
    nvim = nvim_start()
    state = nvim.lua(
        """
        local c = require('hoody').get_client(0)
        return {
          declared = vim.tbl_get(c.capabilities, 'textDocument', 'inlineCompletion') ~= nil,
          offered = c:supports_method('textDocument/inlineCompletion'),
          server = c.server_info and c.server_info.name,
          encoding = c.offset_encoding,
          root = c.root_dir,
          accept_map = vim.fn.maparg('<Tab>', 'i', false, true).desc,
        }
        """
    )
    assert state["declared"] is True
    assert state["offered"] is True
    assert state["server"] == "hoody-lsp"
    assert state["encoding"] == "utf-8"
    assert Path(state["root"]).name == "ws"  # pyproject.toml marks the root
    assert state["accept_map"] == "hoody: accept"


def test_ghost_text_appears_and_tab_accepts_it(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    fake_backend.default = Reply(text="mul(3, 4)")
    nvim = nvim_start()
    _open_line_and_type(nvim, "total = ")
    assert nvim.wait_for("require('hoody.inline').current()", timeout=10) == "mul(3, 4)"
    assert nvim.ghost() == "mul(3, 4)"  # drawn as an extmark in the plugin's namespace
    assert nvim.lines()[-1] == "total = "  # ghost text is not buffer text
    assert fake_backend.requests, "the server never called the backend"

    nvim.input("<Tab>")
    assert nvim.wait_for("vim.api.nvim_get_current_line() == 'total = mul(3, 4)'", timeout=5)
    assert nvim.mode() == "i"
    assert nvim.lua("return vim.api.nvim_win_get_cursor(0)")[1] == len("total = mul(3, 4)")
    nvim.input("<Esc>")
    assert nvim.wait_for("vim.api.nvim_get_mode().mode == 'n'", timeout=5)
    assert nvim.lines()[-1] == "total = mul(3, 4)"


def test_multiline_ghost_text_uses_virtual_lines(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    fake_backend.default = Reply(text="value = a * b\n    return value\n")
    nvim = nvim_start()
    nvim.input("G")
    nvim.input("odef mul(a, b):<CR>    ")
    ghost = nvim.wait_for("require('hoody.inline').current()", timeout=10)
    assert ghost is not None and ghost.rstrip("\n") == "value = a * b\n    return value"
    virt_lines = nvim.lua(
        "local m = vim.api.nvim_buf_get_extmarks(0, require('hoody.inline').ns, 0, -1, { details = true })[1]"
        " return { inline = m[4].virt_text_pos, lines = #(m[4].virt_lines or {}) }"
    )
    assert virt_lines == {"inline": "inline", "lines": len(ghost.split("\n")) - 1}
    assert nvim.ghost() == ghost
    nvim.input("<Tab>")
    assert nvim.wait_for("vim.api.nvim_get_current_line() ~= '    '", timeout=5)
    assert "\n".join(nvim.lines()).endswith("def mul(a, b):\n    " + ghost)


def test_typing_the_ghost_text_keeps_it(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    fake_backend.default = Reply(text="mul(3, 4)")
    nvim = nvim_start()
    _open_line_and_type(nvim, "total = ")
    assert nvim.wait_for("require('hoody.inline').current()", timeout=10) == "mul(3, 4)"
    nvim.input("mu")
    assert nvim.wait_for("require('hoody.inline').current() == 'l(3, 4)'", timeout=5)
    nvim.input("<Tab>")
    assert nvim.wait_for("vim.api.nvim_get_current_line() == 'total = mul(3, 4)'", timeout=5)


def test_each_new_request_cancels_the_one_in_flight(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    fake_backend.default = Reply(text="value", first_delay=2.0)  # slow: requests stay in flight
    nvim = nvim_start()
    nvim.lua(
        """
        _G.inline_events = { pending = 0, cancel = 0 }
        vim.api.nvim_create_autocmd('LspRequest', { callback = function(ev)
          local r = ev.data.request
          if r.method == 'textDocument/inlineCompletion' and _G.inline_events[r.type] then
            _G.inline_events[r.type] = _G.inline_events[r.type] + 1
          end
        end })
        """
    )
    _open_line_and_type(nvim, "x = ")
    for key in "abc":
        assert nvim.wait_for("_G.inline_events.pending > _G.inline_events.cancel", timeout=5), (
            "no request went out after typing"
        )
        nvim.input(key)
        time.sleep(0.15)  # longer than the plugin's 30 ms debounce
    assert nvim.wait_for("_G.inline_events.pending >= 4", timeout=5)
    state = nvim.lua(
        """
        local c = require('hoody').get_client(0)
        local in_flight = 0
        for _, r in pairs(c.requests) do
          if r.method == 'textDocument/inlineCompletion' and r.type == 'pending' then in_flight = in_flight + 1 end
        end
        return { events = _G.inline_events, in_flight = in_flight }
        """
    )
    assert state["in_flight"] <= 1
    assert state["events"]["cancel"] >= state["events"]["pending"] - 1


def test_tab_inserts_a_tab_when_no_suggestion_is_shown(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    fake_backend.default = Reply(text="")  # the server then answers no items
    nvim = nvim_start()
    nvim.command("setlocal noexpandtab softtabstop=0")
    _open_line_and_type(nvim, "x =")
    assert fake_backend.wait_for_requests(1, timeout=10)
    time.sleep(0.3)  # let the empty answer arrive: nothing may be drawn
    assert nvim.ghost() is None
    nvim.input("<Tab>1<Esc>")
    assert nvim.wait_for("vim.api.nvim_get_mode().mode == 'n'", timeout=5)
    assert nvim.lines()[-1] == "x =\t1"


def test_tab_falls_through_to_the_users_own_mapping(
    nvim_start: NvimFactory, fake_backend: FakeBackend, nvim_workspace: Path
) -> None:
    fake_backend.default = Reply(text="")
    nvim = nvim_start()
    # a mapping the user had before hoody attached to the next buffer
    nvim.command("inoremap <expr> <Tab> '[tab]'")
    (nvim_workspace / "other.py").write_text("x = 1\n")
    nvim.command(f"edit {nvim_workspace / 'other.py'}")
    assert nvim.wait_for("vim.b.hoody_inline_attached == true", timeout=10)
    _open_line_and_type(nvim, "y =")
    assert fake_backend.wait_for_requests(1, timeout=10)
    time.sleep(0.3)
    assert nvim.ghost() is None
    nvim.input("<Tab><Esc>")
    assert nvim.wait_for("vim.api.nvim_get_mode().mode == 'n'", timeout=5)
    assert nvim.lines()[-1] == "y =[tab]"


def test_leaving_insert_mode_dismisses(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    fake_backend.default = Reply(text="mul(3, 4)")
    nvim = nvim_start()
    _open_line_and_type(nvim, "total = ")
    assert nvim.wait_for("require('hoody.inline').current()", timeout=10)
    nvim.input("<Esc>")
    assert nvim.wait_for("vim.api.nvim_get_mode().mode == 'n'", timeout=5)
    assert nvim.ghost() is None
    assert nvim.lines()[-1] == "total = "  # only what was typed, never the ghost


def test_moving_away_dismisses(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    fake_backend.script(Reply(text="mul(3, 4)"))
    fake_backend.default = Reply(text="")  # whatever is asked after the move: nothing to show
    nvim = nvim_start()
    _open_line_and_type(nvim, "total = ")
    assert nvim.wait_for("require('hoody.inline').current()", timeout=10)
    nvim.input("<Up>")
    assert nvim.wait_for("require('hoody.inline').current() == nil", timeout=5)
    time.sleep(0.3)
    assert nvim.ghost() is None
    assert nvim.mode() == "i"


def test_item_range_before_the_cursor_replaces_the_typed_word(nvim_start: NvimFactory) -> None:
    """Ranges come in the client's encoding: here utf-16, on a line with a two-byte character first."""
    nvim = nvim_start(server=False)
    nvim.lua("vim.api.nvim_buf_set_lines(0, -1, -1, false, { 'é = pri' })")
    nvim.input("G")
    nvim.input("A")
    assert nvim.wait_for("vim.api.nvim_get_mode().mode == 'i'", timeout=5)
    result = nvim.lua(
        """
        local inline = require('hoody.inline')
        local fake_client = { id = 0, offset_encoding = 'utf-16' }
        local row = vim.api.nvim_win_get_cursor(0)[1] - 1
        local item = { insertText = 'print(x)',
          range = { start = { line = row, character = 4 }, ['end'] = { line = row, character = 7 } } }
        local s = inline._build(0, fake_client, { items = { item } })
        return { ghost = s.ghost, scol = s.scol, col = s.col }
        """
    )
    assert result == {"ghost": "nt(x)", "scol": 5, "col": 8}  # 'é' is 2 bytes, 1 utf-16 unit


def test_settings_reach_the_server_through_the_hoody_section(
    nvim_start: NvimFactory, fake_backend: FakeBackend
) -> None:
    """initializationOptions say one model, the `hoody` section another: the section is read and wins."""
    fake_backend.default = Reply(text="mul(3, 4)")
    nvim = nvim_start(
        init_options={"model": "from-init-options", "inlineCompletion": {"debounceMs": 0}},
        settings={"model": "from-hoody-section", "inlineCompletion": {"debounceMs": 0}},
    )
    _open_line_and_type(nvim, "total = ")
    assert nvim.wait_for("require('hoody.inline').current()", timeout=10) == "mul(3, 4)"
    assert fake_backend.requests[-1].json is not None
    assert fake_backend.requests[-1].json.get("model") == "from-hoody-section"


def test_refactor_visual_selection_applies_the_edit(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    new = "def add(a: int, b: int) -> int:\n    return a + b"
    fake_backend.default = Reply(text=new + "\n")
    nvim = nvim_start()
    assert nvim.lines()[3:5] == ["def add(a, b):", "    return a + b"]
    nvim.input("4GVj:HoodyRefactor make it better<CR>")
    assert nvim.wait_for("vim.api.nvim_buf_get_lines(0, 3, 4, false)[1] ~= 'def add(a, b):'", timeout=15)
    assert nvim.lines() == ["import os", "", "", *new.split("\n")]
    body = fake_backend.requests[-1].body.decode()
    assert "make it better" in body
    assert not [m for m in _messages(nvim) if m["level"] >= 3 and m["msg"].startswith("hoody:")]


def test_refactor_charwise_selection_replaces_only_the_selection(
    nvim_start: NvimFactory, fake_backend: FakeBackend
) -> None:
    fake_backend.default = Reply(text="b + a")
    nvim = nvim_start()
    nvim.input("5G0fav4l:HoodyRefactor swap the operands<CR>")  # selects `a + b`
    assert nvim.wait_for("vim.api.nvim_buf_get_lines(0, 4, 5, false)[1] == '    return b + a'", timeout=15), (
        nvim.lines(),
        _messages(nvim),
    )
    assert nvim.lines()[:4] == ["import os", "", "", "def add(a, b):"]
    sent = fake_backend.requests[-1].body.decode()
    assert "swap the operands" in sent


def test_refactor_failure_shows_the_reason(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    fake_backend.default = Reply(status=401, body=b'{"error": "bad key", "code": "INVALID_TOKEN"}')
    nvim = nvim_start()
    before = nvim.lines()
    nvim.input("4GVj:HoodyRefactor make it better<CR>")
    assert nvim.wait_for(
        "#vim.tbl_filter(function(m) return m.msg:find('^hoody: ') and m.level >= vim.log.levels.WARN end,"
        " _G.hoody_test_messages) > 0",
        timeout=15,
    ), _messages(nvim)
    assert nvim.lines() == before
    time.sleep(0.5)  # the command's answer arrives after the server's message: it must not add a second one
    told = nvim.lua(
        "return #vim.tbl_filter(function(m) return m.msg:find('^hoody: ') and m.level >= vim.log.levels.WARN end,"
        " _G.hoody_test_messages)"
    )
    assert told == 1, _messages(nvim)


def test_revert_puts_back_what_the_refactor_replaced(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    fake_backend.default = Reply(text="def add(a, b):\n    return b + a\n")
    nvim = nvim_start()
    before = nvim.lines()
    nvim.input("4GVj:HoodyRefactor swap<CR>")
    assert nvim.wait_for("vim.api.nvim_buf_get_lines(0, 4, 5, false)[1] == '    return b + a'", timeout=15)
    nvim.input(":HoodyRevert<CR>")
    assert nvim.wait_for("vim.api.nvim_buf_get_lines(0, 4, 5, false)[1] == '    return a + b'", timeout=15)
    assert nvim.lines() == before


def test_charwise_selection_range_is_in_the_client_encoding(nvim_start: NvimFactory) -> None:
    nvim = nvim_start(server=False)
    nvim.lua("vim.api.nvim_buf_set_lines(0, 0, 1, false, { 'x = \"héllo\" + y' })")
    nvim.input("gg0fhve<Esc>")  # selects héllo
    assert nvim.wait_for("vim.api.nvim_get_mode().mode == 'n'", timeout=5)
    ranges = nvim.lua(
        """
        local hoody = require('hoody')
        local opts = { range = 2, line1 = 1, line2 = 1 }
        return { hoody.command_range(0, opts, 'utf-8'), hoody.command_range(0, opts, 'utf-16') }
        """
    )
    assert ranges[0] == {"start": {"line": 0, "character": 5}, "end": {"line": 0, "character": 11}}
    assert ranges[1] == {"start": {"line": 0, "character": 5}, "end": {"line": 0, "character": 10}}


def test_checkhealth_reports_server_version_and_backend(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    from hoody_lsp import __version__

    nvim = nvim_start()
    nvim.command("checkhealth hoody")
    text = "\n".join(nvim.lines())
    assert f"hoody-lsp {__version__}" in text
    assert "backend reachable" in text
    assert fake_backend.requests, "check made no request"
    assert "ERROR" not in text


def test_checkhealth_names_the_backend_problem(nvim_start: NvimFactory, fake_backend: FakeBackend) -> None:
    nvim = nvim_start()
    fake_backend.default = Reply(status=401, body=b'{"error": "bad key", "code": "INVALID_TOKEN"}')
    nvim.command("checkhealth hoody")
    text = "\n".join(nvim.lines())
    assert "backend problem (auth)" in text
