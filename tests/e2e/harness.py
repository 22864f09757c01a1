"""An editor-like LSP client for end-to-end tests: real stdio to `python -m hoody_lsp`, pytest-lsp underneath.

`Editor` keeps its own copy of every document (an independent reference model: its own line splitting and
position encoding, not the server's), sends incremental didChange like a real editor, and applies
`workspace/applyEdit` itself, then reports the change back with a bumped version, as VS Code and Neovim do.
Like VS Code it rejects a versioned edit made for an older version of a document.

    async with editor_session(fake, kind="vscode", tmp_path=...) as ed:
        uri = ed.open("a.py", "def f():\\n    ")
        items = await ed.inline(uri, 1, 4)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, make_test_lsp_client

Kind = Literal["vscode", "neovim"]
AnyTextEdit = types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit
_BREAK = re.compile(r"\r\n|\r|\n")


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _BREAK.finditer(text)]


def to_offset(text: str, line: int, character: int, encoding: str) -> int:
    starts = _line_starts(text)
    if line >= len(starts):
        return len(text)
    start = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    content = text[start:end].rstrip("\r\n")
    col = 0
    for i, ch in enumerate(content):
        n = _units(ch, encoding)
        if col + n > character:
            return start + i
        col += n
    return start + len(content)


def to_position(text: str, offset: int, encoding: str) -> types.Position:
    starts = _line_starts(text)
    line = max(i for i, s in enumerate(starts) if s <= offset)
    return types.Position(line=line, character=_units(text[starts[line] : offset], encoding))


@dataclass
class Doc:
    uri: str
    language: str
    version: int
    text: str


@dataclass
class Editor:
    client: LanguageClient
    kind: Kind
    root: Path
    encoding: str
    docs: dict[str, Doc] = field(default_factory=dict)
    applied: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)
    rejected: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)
    reject_next: int = 0
    apply_delay: float = 0.0
    history: list[tuple[str, str]] = field(default_factory=list)  # (uri, text) after each applied edit
    # > 0: didChange notifications are held this long and sent in order (Neovim debounces them), so the
    # answer to an applyEdit reaches the server before the change it made
    change_delay: float = 0.0
    _held: list[types.DidChangeTextDocumentParams] = field(default_factory=list)

    # -- documents -----------------------------------------------------------------------------------

    def uri(self, rel: str) -> str:
        return (self.root / rel).as_uri()

    def open(self, rel: str, text: str, language: str = "python", *, write: bool = False) -> str:
        path = self.root / rel
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
        uri = path.as_uri() if not rel.startswith("untitled:") else rel
        self.docs[uri] = Doc(uri, language, 1, text)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
            )
        )
        return uri

    def text(self, uri: str) -> str:
        return self.docs[uri].text

    def pos(self, uri: str, offset: int) -> types.Position:
        return to_position(self.docs[uri].text, offset, self.encoding)

    def cursor(self, uri: str, marker: str) -> types.Position:
        """The position just after the first occurrence of `marker`."""
        text = self.docs[uri].text
        at = text.index(marker) + len(marker)
        return self.pos(uri, at)

    def range(self, uri: str, start: int, end: int) -> types.Range:
        """The client range of code-point offsets `start`..`end`."""
        return types.Range(start=self.pos(uri, start), end=self.pos(uri, end))

    def range_of(self, uri: str, snippet: str) -> types.Range:
        """The client range of the first occurrence of `snippet`."""
        at = self.docs[uri].text.index(snippet)
        return self.range(uri, at, at + len(snippet))

    async def wait_for(self, predicate: Any, timeout: float = 5.0, what: str = "condition") -> None:
        """Poll `predicate()` until true (fails the test after `timeout` seconds)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.005)

    def edit(self, uri: str, start: int, end: int, new_text: str) -> None:
        """The user edits the buffer (offsets in code points): an incremental didChange."""
        doc = self.docs[uri]
        rng = types.Range(start=self.pos(uri, start), end=self.pos(uri, end))
        doc.text = doc.text[:start] + new_text + doc.text[end:]
        doc.version += 1
        self._did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[types.TextDocumentContentChangePartial(range=rng, text=new_text)],
            )
        )

    def type(self, uri: str, text: str, at: int | None = None) -> int:
        """Type `text` at offset `at` (default: end of document); returns the offset after it."""
        doc = self.docs[uri]
        at = len(doc.text) if at is None else at
        self.edit(uri, at, at, text)
        return at + len(text)

    def _did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        if self.change_delay <= 0:
            self.client.text_document_did_change(params)
            return
        self._held.append(params)
        if len(self._held) == 1:
            asyncio.get_running_loop().call_later(self.change_delay, self._flush_changes)

    def _flush_changes(self) -> None:
        held, self._held = self._held, []
        for params in held:
            self.client.text_document_did_change(params)

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        self.docs.pop(uri, None)

    # -- requests ------------------------------------------------------------------------------------

    async def inline(
        self, uri: str, position: types.Position, *, invoked: bool = True
    ) -> list[types.InlineCompletionItem]:
        kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=position,
                context=types.InlineCompletionContext(trigger_kind=kind),
            )
        )
        if result is None:
            return []
        return list(result.items if isinstance(result, types.InlineCompletionList) else result)

    def inline_request(
        self, uri: str, position: types.Position, *, invoked: bool = False
    ) -> tuple[str, asyncio.Future[Any]]:
        """Send an inline request without awaiting it: (message id, future of the raw result)."""
        import uuid

        kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
        msg_id = str(uuid.uuid4())
        future = self.client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=position,
                context=types.InlineCompletionContext(trigger_kind=kind),
            ),
            msg_id=msg_id,
        )
        return msg_id, asyncio.wrap_future(future)

    def cancel(self, msg_id: str) -> None:
        """Send `$/cancelRequest` for a request sent earlier."""
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    @staticmethod
    def items_of(result: Any) -> list[types.InlineCompletionItem]:
        if result is None:
            return []
        return list(result.items if isinstance(result, types.InlineCompletionList) else result)

    async def completion(self, uri: str, position: types.Position) -> types.CompletionList | None:
        result = await self.client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=position,
                context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
            )
        )
        if result is None or isinstance(result, types.CompletionList):
            return result
        return types.CompletionList(is_incomplete=False, items=list(result))

    async def code_actions(
        self, uri: str, rng: types.Range, diagnostics: list[types.Diagnostic] | None = None
    ) -> list[types.CodeAction | types.Command]:
        result = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=rng,
                context=types.CodeActionContext(diagnostics=diagnostics or []),
            )
        )
        return list(result or [])

    async def execute(self, command: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=list(arguments))
        )

    def execute_request(
        self, command: str, *arguments: Any, work_done_token: str | None = None
    ) -> tuple[str, Any]:
        """Send workspace/executeCommand without awaiting it: (its request id, the pending future)."""
        msg_id = f"exec-{uuid.uuid4().hex[:12]}"
        if work_done_token is not None:
            self.client.progress_reports.setdefault(work_done_token, [])  # a client-made token is known
        future = asyncio.ensure_future(self.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command=command, arguments=list(arguments), work_done_token=work_done_token),
            msg_id=msg_id,
        ))
        return msg_id, future

    def cancel_request(self, msg_id: str) -> None:
        """$/cancelRequest, as an editor sends it when the user cancels."""
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    def cancel_progress(self, token: str | int) -> None:
        """window/workDoneProgress/cancel: the user pressed Cancel on a progress notification."""
        self.client.protocol.notify(
            types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
        )

    async def wait_requests(self, fake: Any, n: int, timeout: float = 5.0) -> None:
        """Wait (without blocking the loop) until the fake backend has received `n` requests."""
        await self.wait_for(lambda: len(fake.requests) >= n, timeout, f"{n} backend request(s)")

    async def wait_disconnect(self, request: Any, timeout: float = 2.0) -> None:
        """Wait (without blocking the loop) until the server hung up on a streaming reply."""
        await self.wait_for(lambda: request.t_disconnected is not None, timeout, "the server to hang up")

    def progress(self) -> dict[str | int, list[Any]]:
        """Every work-done progress the server reported: token -> [begin, report..., end]."""
        return dict(self.client.progress_reports)

    def messages(self) -> list[str]:
        return [m.message for m in self.client.messages]

    # -- applyEdit, like a real editor ---------------------------------------------------------------

    def _apply_text_edits(self, uri: str, edits: Sequence[AnyTextEdit]) -> None:
        doc = self.docs[uri]
        text = doc.text
        spans = [
            (to_offset(text, e.range.start.line, e.range.start.character, self.encoding),
             to_offset(text, e.range.end.line, e.range.end.character, self.encoding),
             e.snippet.value if isinstance(e, types.SnippetTextEdit) else e.new_text)
            for e in edits
        ]
        for start, end, new in sorted(spans, key=lambda s: (s[0], s[1]), reverse=True):
            text = text[:start] + new + text[end:]
        old_text = doc.text
        doc.text = text
        doc.version += 1
        # report back as a full-text change (what matters is the text and the new version)
        del old_text
        self._did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    async def on_apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        if self.apply_delay:
            await asyncio.sleep(self.apply_delay)
        if self.reject_next > 0:
            self.reject_next -= 1
            self.rejected.append(params)
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="rejected by the test")
        edit = params.edit
        if edit.document_changes:
            # check every version first (all or nothing, like VS Code)
            created = {c.uri for c in edit.document_changes if isinstance(c, types.CreateFile)}
            for change in edit.document_changes:
                if isinstance(change, types.TextDocumentEdit):
                    doc = self.docs.get(change.text_document.uri)
                    version = change.text_document.version
                    if doc is None and version is None and (
                        change.text_document.uri in created or Path(_path_of(change.text_document.uri)).exists()
                    ):
                        continue  # a file not open (or created by this edit): the editor opens it
                    if doc is None or (version is not None and version != doc.version):
                        self.rejected.append(params)
                        return types.ApplyWorkspaceEditResult(
                            applied=False, failure_reason="document version changed"
                        )
            for change in edit.document_changes:
                if isinstance(change, types.CreateFile):
                    path = Path(_path_of(change.uri))
                    if not path.exists() or (change.options and change.options.overwrite):
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text("", encoding="utf-8")
                    self.docs.setdefault(change.uri, Doc(change.uri, "python", 0, path.read_text()))
                    self.open_created(change.uri)
                elif isinstance(change, types.TextDocumentEdit):
                    self._ensure_open(change.text_document.uri)
                    self._apply_text_edits(change.text_document.uri, list(change.edits))
        elif edit.changes:
            for uri, edits in edit.changes.items():
                self._ensure_open(uri)
                self._apply_text_edits(uri, list(edits))
        self.applied.append(params)
        touched = [c.text_document.uri for c in edit.document_changes or [] if isinstance(c, types.TextDocumentEdit)]
        self.history.extend((uri, self.docs[uri].text) for uri in [*touched, *(edit.changes or {})])
        return types.ApplyWorkspaceEditResult(applied=True)

    def _ensure_open(self, uri: str) -> None:
        """An edit to a document that is not open: open it from disk (empty if it does not exist)."""
        if uri not in self.docs:
            path = Path(_path_of(uri))
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            self.docs[uri] = Doc(uri, "python", 0, text)
            self.open_created(uri)

    def open_created(self, uri: str) -> None:
        doc = self.docs[uri]
        doc.version = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id=doc.language, version=1, text=doc.text)
            )
        )


def _path_of(uri: str) -> str:
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(uri).path)


def capabilities(kind: Kind) -> types.ClientCapabilities:
    if kind == "vscode":
        caps = pytest_lsp.client_capabilities("visual_studio_code")
        assert caps.text_document is not None
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities(
            dynamic_registration=False
        )
        return caps
    caps = pytest_lsp.client_capabilities("neovim")
    return caps


def server_env(fake_url: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOODY_")}
    env.pop("HTTPS_PROXY", None)
    env.pop("https_proxy", None)
    if fake_url:
        env["HOODY_BASE_URL"] = fake_url
        env["HOODY_API_KEY"] = "test-key-0123456789"
    env.update(extra or {})
    return env


@contextlib.asynccontextmanager
async def editor_session(
    fake_url: str | None,
    root: Path,
    *,
    kind: Kind = "vscode",
    init_options: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    log_file: Path | None = None,
    args: list[str] | None = None,
) -> AsyncIterator[Editor]:
    client = make_test_lsp_client()
    _fix_code_action_union(client)
    encoding = "utf-16" if kind == "vscode" else "utf-8"
    editor = Editor(client=client, kind=kind, root=root, encoding=encoding)
    if configuration is not None:
        client.set_configuration(configuration, section="hoody")

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    async def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return await editor.on_apply_edit(params)

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        return None

    # HOODY_LSP_TEST_CMD runs the suite against another server command (e.g. an installed binary)
    base = os.environ.get("HOODY_LSP_TEST_CMD", "").split() or [sys.executable, "-m", "hoody_lsp"]
    cmd = [*base, *(args or [])]
    if log_file is not None:
        cmd += ["--log-file", str(log_file), "--log-level", "debug"]
    await client.start_io(*cmd, env=server_env(fake_url, env))
    try:
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities(kind),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
                initialization_options=init_options,
                client_info=types.ClientInfo(name="Visual Studio Code" if kind == "vscode" else "Neovim"),
            )
        )
        editor.server_capabilities = result.capabilities  # type: ignore[attr-defined]
        yield editor
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), timeout=10)
        with contextlib.suppress(Exception):
            await client.stop()


def _fix_code_action_union(client: LanguageClient) -> None:
    """lsprotocol 2025.0.0 client-side: a CodeAction carrying a `command` is structured as a Command."""
    from typing import Union

    conv = client.protocol._converter

    def command_or_code_action(obj: Any, _: Any) -> Any:
        if isinstance(obj.get("command"), str):
            return conv.structure(obj, types.Command)
        return conv.structure(obj, types.CodeAction)

    conv.register_structure_hook(Union[types.Command, types.CodeAction], command_or_code_action)  # noqa: UP007
