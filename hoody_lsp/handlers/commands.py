"""workspace/executeCommand for the hoody.* commands: the LSP side of `services/commands.py`.

Each command is registered with pygls (so `executeCommandProvider` lists them at initialize) and receives the
raw argument object. The work happens in `CommandRunner`; this module supplies its editor and progress over
LSP:

- edits go out as `workspace/applyEdit`: versioned `documentChanges` where the client supports them, else plain
  `changes`, sent only while the document is still at the version the edit was computed for; an edit to
  review first carries a change annotation with `needsConfirmation` where the client supports annotations;
  new files go through `CreateFile` where the client supports it;
- progress: the client's `workDoneToken` when it sent one, else a token created with
  `window/workDoneProgress/create` when the client supports that; begin (cancellable), reports, end;
- cancel: `$/cancelRequest` (pygls answers it but keeps the command running, so we listen through the server's
  `cancel_listeners`) and `window/workDoneProgress/cancel` (pygls cancels the token's future; we watch it).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import uuid
import weakref
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from hoody_lsp.documents import Snapshot
from hoody_lsp.handlers.common import gather_context, range_of, uri_to_path

if TYPE_CHECKING:  # the command machinery loads on first use, after the initialize answer
    from hoody_lsp.edits import Edit
    from hoody_lsp.server import HoodyServer
    from hoody_lsp.services.commands import CommandRunner, Control
    from hoody_lsp.services.health import Level
    from hoody_lsp.services.live import ApplyOutcome, ChangeListener

log = logging.getLogger(__name__)

CONFIG_WAIT_S = 2.0
STALE_GRACE_S = 0.1  # after a rejected edit, how long a late didChange may take to show it was a race
PROGRESS_CREATE_TIMEOUT_S = 2.0
ANNOTATION_ID = "hoody"

# The params of the executeCommand request being handled (pygls hands commands only the arguments; the
# client's `workDoneToken` is in the params).
_PARAMS: contextvars.ContextVar[types.ExecuteCommandParams | None] = contextvars.ContextVar(
    "hoody_execute_params", default=None
)
_RUNNERS: weakref.WeakKeyDictionary[Any, CommandRunner] = weakref.WeakKeyDictionary()


# SPEC's commands (the same as `actions.requests.COMMANDS`, which loads later; a test checks they are advertised)
COMMAND_NAMES = (
    "hoody.refactor", "hoody.directive", "hoody.fix", "hoody.document", "hoody.tests", "hoody.custom", "hoody.revert",
)


def runner_of(server: HoodyServer) -> CommandRunner | None:
    """The server's command runner, if a command has run (nothing to revert before that)."""
    return _RUNNERS.get(server)


def _runner(server: HoodyServer) -> CommandRunner:
    runner = _RUNNERS.get(server)
    if runner is not None:
        return runner
    from hoody_lsp.services.commands import CommandRunner, RunnerDeps

    runner = CommandRunner(
        RunnerDeps(
            backend=server.backend,
            health=server.health,
            settings=lambda: server.settings,
            context=lambda path, text, offset, language, budget: gather_context(
                server, path, text, offset, language, budget
            ),
            allowed=server.path_allowed,
            redact=_redact,
            uri_to_path=uri_to_path,
            path_to_uri=_path_to_uri,
            workspace_root=lambda path: _workspace_root(server, path),
        )
    )
    _RUNNERS[server] = runner
    return runner


def register(server: HoodyServer) -> None:
    _remember_params(server)
    for name in COMMAND_NAMES:
        server.command(name)(_handler(name))


def _handler(name: str) -> Callable[..., Any]:
    async def run(ls: HoodyServer, *args: Any) -> dict[str, Any]:
        from hoody_lsp.services.commands import Control

        runner = _runner(ls)
        await wait_for_configuration(ls)
        if not ls.flags.apply_edit:
            reason = "this editor cannot apply edits from the server (no workspace/applyEdit)"
            ls.notify("error", f"Hoody: {reason}.")
            return {"applied": False, "reason": reason}
        control = Control()
        control.task = asyncio.current_task()
        msg_id = ls.protocol.msg_id
        if msg_id is not None:
            ls.cancel_listeners.setdefault(msg_id, []).append(control.cancel)
        params = _PARAMS.get()
        token = params.work_done_token if params is not None else None
        progress = LspProgress(ls, control, token)
        try:
            return await runner.execute(name, args, LspEditor(ls), progress, control)
        finally:
            progress.close()
            if msg_id is not None:
                listeners = ls.cancel_listeners.get(msg_id)
                if listeners and control.cancel in listeners:
                    listeners.remove(control.cancel)
                if not listeners:
                    ls.cancel_listeners.pop(msg_id, None)

    run.__name__ = name.replace(".", "_")
    # pygls resolves a command's annotations to structure its arguments; ours are raw (`*args`) and the
    # server's type is only imported for type checking.
    run.__annotations__ = {}
    return run


async def wait_for_configuration(ls: HoodyServer) -> None:
    """The first request may race the configuration pull (`actions.*` may come from it): wait briefly."""
    if not ls.config_ready.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ls.config_ready.wait(), CONFIG_WAIT_S)


async def cancel_all_commands(server: HoodyServer) -> None:
    """Shutdown: cancel every running command; each puts back what it streamed in (bounded wait)."""
    runner = _RUNNERS.get(server)
    if runner is not None:
        await runner.cancel_all()


def _remember_params(server: HoodyServer) -> None:
    """Wrap pygls' executeCommand handler so a command can read its request's params (`workDoneToken`)."""
    features = server.protocol.fm.builtin_features
    original = features.get(types.WORKSPACE_EXECUTE_COMMAND)
    if original is None or getattr(original, "_hoody_wrapped", False):
        return

    def execute_command(params: types.ExecuteCommandParams) -> Generator[Any, Any, Any]:
        _PARAMS.set(params)  # the command's task is created right after, inheriting this context
        return (yield from original(params))

    execute_command._hoody_wrapped = True  # type: ignore[attr-defined]
    features[types.WORKSPACE_EXECUTE_COMMAND] = execute_command


def _redact(text: str) -> str:
    from hoody_lsp.context import redact

    return redact(text)


def _path_to_uri(path: str) -> str:
    from pathlib import Path

    return Path(path).as_uri()


def _workspace_root(ls: HoodyServer, path: str) -> str | None:
    """The deepest workspace folder holding `path`."""
    roots = list(ls.workspace_roots)
    inside = [r for r in roots if r and (path == r or path.startswith(r.rstrip(os.sep) + os.sep))]
    return max(inside, key=len) if inside else None


# ---------------------------------------------------------------------------------------------- the editor


class LspEditor:
    """The editor as `CommandRunner` sees it, over LSP."""

    def __init__(self, ls: HoodyServer) -> None:
        self.ls = ls

    def snapshot(self, uri: str) -> Snapshot | None:
        return self.ls.snapshot(uri)

    def notify(self, level: Level, text: str) -> None:
        self.ls.notify(level, text)

    def listen(self, uri: str, callback: ChangeListener) -> Callable[[], None]:
        listeners = self.ls.change_listeners.setdefault(uri, [])
        listeners.append(callback)

        def stop() -> None:
            current = self.ls.change_listeners.get(uri)
            if current is not None and callback in current:
                current.remove(callback)
                if not current:
                    self.ls.change_listeners.pop(uri, None)

        return stop

    def _annotations(self, label: str, confirm: bool) -> tuple[str | None, dict[str, types.ChangeAnnotation] | None]:
        if not (confirm and self.ls.flags.change_annotations and self.ls.flags.document_changes):
            return None, None
        annotation = types.ChangeAnnotation(
            label=label, needs_confirmation=True, description="Generated by Hoody: review before applying."
        )
        return ANNOTATION_ID, {ANNOTATION_ID: annotation}

    def _text_edits(self, snap: Snapshot, edits: Sequence[Edit], annotation: str | None
                    ) -> list[types.TextEdit | types.AnnotatedTextEdit]:
        out: list[types.TextEdit | types.AnnotatedTextEdit] = []
        for e in edits:
            rng = range_of(snap, e.start, e.end)
            if annotation is not None:
                out.append(types.AnnotatedTextEdit(range=rng, new_text=e.text, annotation_id=annotation))
            else:
                out.append(types.TextEdit(range=rng, new_text=e.text))
        return out

    async def apply(self, snap: Snapshot, edits: Sequence[Edit], *, label: str, confirm: bool) -> ApplyOutcome:
        from hoody_lsp.services.live import ApplyOutcome

        current = self.ls.snapshot(snap.uri)
        if current is None:
            return ApplyOutcome(False, reason="the document was closed")
        if current.version != snap.version or current.text != snap.text:
            return ApplyOutcome(False, stale=True, reason="the document changed")
        annotation, annotations = self._annotations(label, confirm)
        text_edits = self._text_edits(snap, edits, annotation)
        if self.ls.flags.document_changes:
            edit = types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(
                            uri=snap.uri, version=snap.version
                        ),
                        edits=text_edits,
                    )
                ],
                change_annotations=annotations,
            )
        else:
            edit = types.WorkspaceEdit(changes={snap.uri: text_edits})  # type: ignore[dict-item]
        result = await self._send(edit, label)
        if result.applied:
            return result
        stale = await self._changed_since(snap)
        return ApplyOutcome(False, stale=stale, reason=result.reason)

    async def apply_file(self, uri: str, base: str | None, edits: Sequence[Edit], *, label: str,
                         confirm: bool) -> ApplyOutcome:
        snap = Snapshot(uri, "", None, base or "", self.ls.documents.encoding)
        annotation, annotations = self._annotations(label, confirm)
        text_edits = self._text_edits(snap, edits, annotation)
        flags = self.ls.flags
        edit: types.WorkspaceEdit
        if base is None and flags.create_files:
            edit = types.WorkspaceEdit(
                document_changes=[
                    types.CreateFile(uri=uri, annotation_id=annotation),
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                        edits=text_edits,
                    ),
                ],
                change_annotations=annotations,
            )
        elif base is not None and flags.document_changes:
            edit = types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                        edits=text_edits,
                    )
                ],
                change_annotations=annotations,
            )
        else:
            edit = types.WorkspaceEdit(changes={uri: text_edits})  # type: ignore[dict-item]
        return await self._send(edit, label)

    async def _send(self, edit: types.WorkspaceEdit, label: str) -> ApplyOutcome:
        from hoody_lsp.services.live import ApplyOutcome

        try:
            result = await self.ls.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=label)
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("workspace/applyEdit failed: %s", exc)
            return ApplyOutcome(False, reason=f"the editor answered with an error ({exc})")
        if result is not None and result.applied:
            return ApplyOutcome(True)
        reason = (result.failure_reason if result is not None else None) or "the editor did not apply the edit"
        return ApplyOutcome(False, reason=reason)

    async def _changed_since(self, snap: Snapshot) -> bool:
        """Was a rejected edit outrun by the user's typing? A client may report that change just after its
        answer: give it a moment."""
        changed = asyncio.Event()

        def on_change(_snap: Snapshot, _spans: list[tuple[int, int, int]]) -> None:
            changed.set()

        def moved() -> bool:
            now = self.ls.snapshot(snap.uri)
            return now is not None and (now.version != snap.version or now.text != snap.text)

        if moved():
            return True
        stop = self.listen(snap.uri, on_change)
        try:
            await asyncio.wait_for(changed.wait(), STALE_GRACE_S)
        except TimeoutError:
            pass
        finally:
            stop()
        return moved()


# ---------------------------------------------------------------------------------------------- progress


class LspProgress:
    """Work-done progress for one command; the token's cancel cancels the command."""

    def __init__(self, ls: HoodyServer, control: Control, token: types.ProgressToken | None) -> None:
        self.ls = ls
        self.control = control
        self.token = token
        self._active = False

    async def begin(self, title: str, message: str) -> None:
        if self.token is None and self.ls.flags.work_done_progress:
            token = f"hoody-{uuid.uuid4().hex}"
            try:
                await asyncio.wait_for(self.ls.work_done_progress.create_async(token), PROGRESS_CREATE_TIMEOUT_S)
                self.token = token
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("no progress for this command: %s", exc)
        if self.token is None:
            return
        try:
            self.ls.work_done_progress.begin(
                self.token, types.WorkDoneProgressBegin(title=title, cancellable=True, message=message)
            )
        except Exception:
            log.debug("progress begin failed", exc_info=True)
            return
        self._active = True
        future = self.ls.work_done_progress.tokens.get(self.token)
        if future is not None:
            future.add_done_callback(self._on_token_done)

    def _on_token_done(self, future: Future[Any]) -> None:
        if future.cancelled():
            self.control.cancel()

    def report(self, message: str) -> None:
        if self._active and self.token is not None:
            try:
                self.ls.work_done_progress.report(
                    self.token, types.WorkDoneProgressReport(message=message, cancellable=True)
                )
            except Exception:
                log.debug("progress report failed", exc_info=True)

    def end(self, message: str) -> None:
        if self._active and self.token is not None:
            self._active = False
            try:
                self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            except Exception:
                log.debug("progress end failed", exc_info=True)

    def close(self) -> None:
        """Forget the token (pygls keeps every token it ever saw)."""
        if self.token is not None:
            self.ls.work_done_progress.tokens.pop(self.token, None)
