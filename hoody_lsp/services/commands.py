"""The hoody.* commands from argument object to answer: plan, generate, apply (live or at once), revert.

One `CommandRunner` per server. `execute(command, raw_arguments, editor, progress, control)`:

1. checks the argument object (`{uri, range?, version?, instruction?, diagnostics?, action?, target?}`; ranges
   in the client's position units) and the document it names;
2. plans: the region the generated code replaces (the selection, the directive's lines, the diagnostics'
   whole lines, ...) and the backend request (`actions/requests.py`), with cross-file context and the
   project's rules; secrets in what leaves the machine are redacted (and put back in the answer's lines that
   only echo them);
3. generates, reporting progress (characters so far) and answering a cancel at any time;
4. applies: with `actions.liveEdits`, the answer streams into the region (`services/live.py`); without, one
   minimal edit at the end, offered for review first where the client can (`needsConfirmation`); tests go to
   the test file, always as one edit;
5. answers `{"applied": true}` or `{"applied": false, "reason": ...}` and never raises for a backend failure.

Failures leave the document as the user had it (what was streamed in is taken out again) and show exactly one
message. A backend failure goes through `BackendHealth.failure` (its once-per-kind memory and 429 quiet time),
but a command is something the user asked for explicitly, so its failure is always told, even when an inline
failure of the same kind was already told. A cancel, or the user declining a previewed edit, shows nothing.
A stop because the user edited inside the streaming region, or because the client rejected an edit, keeps what
was generated so far and says so (one warning).

No pygls here: the editor side is `CommandEditor` and `Progress`, implemented by `handlers/commands.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any, Protocol

from hoody_lsp.actions.directives import (
    Directive,
    directive_span,
    find_directive,
    find_directives,
    strip_directive_echo,
)
from hoody_lsp.actions.output import detect_indent, extract_code, fit_to_target
from hoody_lsp.actions.region import complete_lines
from hoody_lsp.actions.requests import (
    COMMANDS,
    CUSTOM,
    DIRECTIVE,
    DOCUMENT,
    FIX,
    REFACTOR,
    REVERT,
    TESTS,
    DiagnosticInfo,
    build_command_request,
    fix_region,
    whole_lines,
)
from hoody_lsp.actions.testfiles import test_file_for
from hoody_lsp.backends.base import Backend, ContextItem, GenerateRequest, Generation
from hoody_lsp.backends.errors import BackendError
from hoody_lsp.documents import Snapshot, eol_of
from hoody_lsp.edits import Edit, minimal_edits, split_lines, strip_line_break
from hoody_lsp.services.health import BackendHealth, Level
from hoody_lsp.services.live import ApplyOutcome, Editor, Pacer, Shown, TrackedRegion, progressive_text

if TYPE_CHECKING:  # pydantic loads after the initialize answer (start-up is measured)
    from hoody_lsp.settings import CustomAction, Settings

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.25  # progress reports with the characters generated, at most this often
CANCELLED = "cancelled"
SHORT_TITLES = {
    REFACTOR: "Refactor selection",
    DIRECTIVE: "Run directive",
    FIX: "Fix",
    DOCUMENT: "Document",
    TESTS: "Generate tests",
    CUSTOM: "Custom action",
    REVERT: "Revert last generation",
}


# ---------------------------------------------------------------------------------------------- ports


class CommandEditor(Editor, Protocol):
    """The editor as commands see it: a live-edit `Editor` that can also write files that are not open."""

    async def apply_file(self, uri: str, base: str | None, edits: Sequence[Edit], *, label: str,
                         confirm: bool) -> ApplyOutcome:
        """Apply `edits` (code-point ranges of `base`) to a file that is not open: `base` is its text on
        disk, or None for a file to create."""
        ...

    def notify(self, level: Level, text: str) -> None: ...


class Progress(Protocol):
    async def begin(self, title: str, message: str) -> None: ...

    def report(self, message: str) -> None: ...

    def end(self, message: str) -> None: ...


REVERT_WAIT_S = 10.0


class Control:
    """One running command: how it is cancelled ($/cancelRequest, the progress token, shutdown)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.event = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None
        self.uri: str | None = None  # the document it works on, once its arguments are read

    @property
    def cancelled(self) -> bool:
        return self.reason is not None

    def cancel(self, reason: str = CANCELLED) -> None:
        if self.reason is None:
            self.reason = reason
            self.event.set()


# ---------------------------------------------------------------------------------------------- arguments


class CommandFailed(Exception):
    """A command cannot run or did not work: `reason` is the answer's, `message` (if any) tells the user."""

    def __init__(self, reason: str, *, message: str | None = None, level: Level = "warning") -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.level = level


ClientRange = tuple[int, int, int, int]  # start line, start character, end line, end character (client units)


@dataclass(frozen=True, slots=True)
class ClientDiagnostic:
    range: ClientRange
    message: str
    code: str | int | None = None
    source: str | None = None
    severity: int | None = None


@dataclass(frozen=True, slots=True)
class CommandArgs:
    uri: str
    range: ClientRange | None = None
    version: int | None = None
    instruction: str | None = None
    diagnostics: tuple[ClientDiagnostic, ...] = ()
    action: str | None = None
    target: str | None = None


def _position(value: Any, what: str) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise CommandFailed(f"`{what}` must be a position {{line, character}}")
    line, character = value.get("line"), value.get("character")
    if not (isinstance(line, int) and isinstance(character, int)) or isinstance(line, bool) or line < 0 \
            or character < 0:
        raise CommandFailed(f"`{what}` must be a position with non-negative integer line and character")
    return line, character


def _range(value: Any, what: str = "range") -> ClientRange:
    if not isinstance(value, dict):
        raise CommandFailed(f"`{what}` must be a range {{start, end}}")
    start = _position(value.get("start"), f"{what}.start")
    end = _position(value.get("end"), f"{what}.end")
    if end < start:
        start, end = end, start
    return (*start, *end)


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CommandFailed(f"`{key}` must be a string")
    return value


def parse_args(raw: Sequence[Any]) -> CommandArgs:
    """The command's one argument object, checked. Raises `CommandFailed` naming what is wrong."""
    if len(raw) != 1 or not isinstance(raw[0], dict):
        raise CommandFailed(
            "expected one argument object {uri, range, version?, instruction?, diagnostics?, action?, target?}"
        )
    obj: dict[str, Any] = raw[0]
    uri = obj.get("uri")
    if not isinstance(uri, str) or not uri:
        raise CommandFailed("`uri` is missing")
    rng = _range(obj["range"]) if obj.get("range") is not None else None
    version = obj.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise CommandFailed("`version` must be an integer")
    diagnostics: list[ClientDiagnostic] = []
    raw_diagnostics = obj.get("diagnostics") or []
    if not isinstance(raw_diagnostics, list):
        raise CommandFailed("`diagnostics` must be a list of diagnostics")
    for i, item in enumerate(raw_diagnostics):
        if not isinstance(item, dict) or not isinstance(item.get("message"), str):
            raise CommandFailed(f"`diagnostics[{i}]` must be a diagnostic {{range, message, ...}}")
        code = item.get("code")
        severity = item.get("severity")
        source = item.get("source")
        diagnostics.append(ClientDiagnostic(
            range=_range(item.get("range"), f"diagnostics[{i}].range"),
            message=item["message"],
            code=code if isinstance(code, str | int) and not isinstance(code, bool) else None,
            source=source if isinstance(source, str) else None,
            severity=severity if isinstance(severity, int) and not isinstance(severity, bool) else None,
        ))
    return CommandArgs(
        uri=uri,
        range=rng,
        version=version,
        instruction=_optional_str(obj, "instruction"),
        diagnostics=tuple(diagnostics),
        action=_optional_str(obj, "action"),
        target=_optional_str(obj, "target"),
    )


def diagnostic_info(snap: Snapshot, diagnostic: ClientDiagnostic) -> DiagnosticInfo:
    """A client diagnostic with code-point columns of `snap`'s text."""
    l0, c0, l1, c1 = diagnostic.range
    start, end = snap.offset_at(l0, c0), snap.offset_at(l1, c1)
    (sl, sc), (el, ec) = snap.code_point_position(start), snap.code_point_position(end)
    return DiagnosticInfo(
        message=diagnostic.message, code=diagnostic.code, source=diagnostic.source,
        start_line=sl, start_col=sc, end_line=el, end_col=ec, severity=diagnostic.severity,
    )


# ---------------------------------------------------------------------------------------------- plans


@dataclass(slots=True)
class Plan:
    command: str
    title: str  # short, for messages and progress ("Refactor selection")
    request: GenerateRequest
    uri: str  # the document written to
    language: str
    # a region of the open document `uri` ...
    snap: Snapshot | None = None
    start: int = 0
    end: int = 0
    fit: Callable[[str, bool], str | None] | None = None  # answer (partial?) -> the region's new text
    # ... or a test file (open or not)
    test_path: str | None = None
    test_base: str | None = None  # its current text (None: to create)
    eol: str = "\n"


def restore_secrets(output: str, original: str, redacted: str) -> str:
    """Lines of `output` that only echo a line whose secret was redacted get the original line back (with
    the output's indentation), so a rewrite does not replace the user's secret with a placeholder."""
    if original == redacted:
        return output
    pairs: dict[str, str] = {}
    for o, r in zip(split_lines(original), split_lines(redacted), strict=False):
        if o != r:
            pairs[strip_line_break(r).strip()] = strip_line_break(o).strip()
    if not pairs:
        return output
    lines = split_lines(output)
    out = []
    for line in lines:
        body = strip_line_break(line)
        key = body.strip()
        if key in pairs:
            indent = body[: len(body) - len(body.lstrip(" \t"))]
            line = indent + pairs[key] + line[len(body):]
        out.append(line)
    return "".join(out)


def _blocks(lines: list[str]) -> list[list[str]]:
    """Top-level blocks: a new one starts at an unindented line after a blank line."""
    blocks: list[list[str]] = []
    blank_before = True
    for line in lines:
        starts = bool(line.strip()) and not line[:1].isspace() and blank_before
        if starts or not blocks:
            blocks.append([])
        blocks[-1].append(line)
        blank_before = not line.strip()
    for block in blocks:
        while block and not block[-1].strip():
            block.pop()
    return [block for block in blocks if any(line.strip() for line in block)]


_NOT_HEADERS = ("@", "#[", "#", "//", "/*", "*", "--")


def merge_tests(existing: str, generated: str, eol: str) -> str:
    """The new content of an existing test file.

    When the model kept every existing line (it only added), its version is taken as is (new imports land at
    the top). Otherwise nothing the user wrote is touched: the model's top-level blocks that are new (their
    first code line, e.g. `def test_x():`, is not in the file yet) are appended at the end.
    """
    old = [strip_line_break(line) for line in split_lines(existing)]
    new = [strip_line_break(line) for line in split_lines(generated)]
    if not any(line.strip() for line in old):
        return eol.join(new) + eol
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    if all(tag in ("equal", "insert") for tag, *_ in matcher.get_opcodes()):
        return eol.join(new) + eol
    known = {line.strip() for line in old if line.strip()}
    added: list[list[str]] = []
    for block in _blocks(new):
        header = next((line for line in block if line.strip() and not line.lstrip().startswith(_NOT_HEADERS)),
                      None)
        if header is None or header.strip() in known:
            continue  # only comments, or a block the file already has (the user's version stays)
        added.append(block)
    if not added:
        return existing
    base = existing if existing.endswith(("\n", "\r")) else existing + eol
    if old[-1].strip():
        base += eol  # a blank line between the existing tests and the new ones
    return base + (eol * 2).join(eol.join(block) for block in added) + eol


def _label(title: str) -> str:
    """A title as the editor shows it (undo history, progress): "Hoody: ..." once."""
    return title if title.lower().startswith("hoody") else f"Hoody: {title}"


def _lines(n: str) -> int:
    return len(split_lines(n))


def _summary(original: str, new: str) -> str:
    a, b = _lines(original), _lines(new)
    if not original:
        return f"Inserted {b} line{'s' * (b != 1)}."
    return f"Replaced {a} line{'s' * (a != 1)} with {b} line{'s' * (b != 1)}."


# ---------------------------------------------------------------------------------------------- answer


class _Answer:
    """The generation, read in the background: text so far, done, error."""

    def __init__(self, generation: Generation) -> None:
        self.parts: list[str] = []
        self.chars = 0
        self.breaks = 0  # line breaks so far: the display only changes when a line is complete
        self.done = False
        self.error: BaseException | None = None
        self.event = asyncio.Event()
        self.first_at: float | None = None
        self.task = asyncio.create_task(self._read(generation))

    @property
    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    async def _read(self, generation: Generation) -> None:
        try:
            async with generation:
                async for chunk in generation:
                    if self.first_at is None:
                        self.first_at = time.monotonic()
                    self.parts.append(chunk)
                    self.chars += len(chunk)
                    self.breaks += chunk.count("\n") + chunk.count("\r")
                    self.event.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is the command's to report
            self.error = exc
        finally:
            self.done = True
            self.event.set()

    async def close(self) -> None:
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


# ---------------------------------------------------------------------------------------------- the runner


@dataclass
class _Outcome:
    applied: bool
    reason: str = ""
    progress_end: str = ""
    message: str | None = None
    level: Level = "warning"

    def answer(self) -> dict[str, Any]:
        return {"applied": True} if self.applied else {"applied": False, "reason": self.reason}


@dataclass
class RunnerDeps:
    backend: Callable[[], Backend]
    health: BackendHealth
    settings: Callable[[], Settings]
    context: Callable[[str, str, int, str | None, int], list[ContextItem]]  # path, text, offset, language, budget
    allowed: Callable[[str], bool]
    redact: Callable[[str], str]
    uri_to_path: Callable[[str], str]
    path_to_uri: Callable[[str], str]
    workspace_root: Callable[[str], str | None]
    read_file: Callable[[str], str | None] = field(default=lambda path: _read_file(path))


def _read_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


class CommandRunner:
    def __init__(self, deps: RunnerDeps) -> None:
        self.deps = deps
        self.running: set[Control] = set()
        self._reverts: dict[str, TrackedRegion] = {}
        self.stats: dict[str, Any] = {}  # for tests and benchmarks: the last run's numbers

    # -- public -------------------------------------------------------------------------------------------

    def can_revert(self, uri: str) -> bool:
        entry = self._reverts.get(uri)
        return entry is not None and entry.intact()

    async def cancel_all(self, reason: str = "the server is shutting down", timeout: float = 3.0) -> None:
        controls = list(self.running)
        for control in controls:
            control.cancel(reason)
        tasks = [c.task for c in controls if c.task is not None and not c.task.done()]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()

    async def execute(self, command: str, raw: Sequence[Any], editor: CommandEditor, progress: Progress,
                      control: Control) -> dict[str, Any]:
        """Run `command`; the answer object. Never raises (a bug is logged and answered as a failure)."""
        self.running.add(control)
        title = SHORT_TITLES.get(command, command)
        if raw and isinstance(raw[0], dict) and isinstance(raw[0].get("uri"), str):
            control.uri = raw[0]["uri"]
        try:
            if command == REVERT:
                outcome = await self._revert(raw, editor, control)
            else:
                outcome = await self._execute(command, raw, editor, progress, control)
        except CommandFailed as failed:
            outcome = _Outcome(False, failed.reason, message=failed.message, level=failed.level)
        except Exception:
            log.exception("command %s failed", command)
            outcome = _Outcome(False, "internal error (see the server log)",
                               message=f"{_label(title)} failed with an internal error; see the server log.",
                               level="error")
        finally:
            self.running.discard(control)
        if outcome.message:
            editor.notify(outcome.level, outcome.message)
        log.info("%s: %s", command, outcome.answer())
        return outcome.answer()

    # -- revert -------------------------------------------------------------------------------------------

    async def _revert(self, raw: Sequence[Any], editor: CommandEditor, control: Control) -> _Outcome:
        args = parse_args(raw)
        # a command still finishing on this document (its edit may already show) is what to revert: wait
        others = [c.task for c in self.running if c is not control and c.uri == args.uri and c.task is not None]
        if others:
            await asyncio.wait(others, timeout=REVERT_WAIT_S)
        entry = self._reverts.get(args.uri)
        if editor.snapshot(args.uri) is None:
            raise CommandFailed("the document is not open", message="Hoody: open the document first.")
        if entry is None:
            raise CommandFailed("there is no generation to revert in this document",
                                message="Hoody: there is no generation to revert in this document.")
        if not entry.intact():
            self._forget_revert(args.uri)
            raise CommandFailed(
                "the generated code was changed since; use the editor's undo",
                message="Hoody: the generated code was changed since it was written; use the editor's undo.",
            )
        shown, why = await entry.show(entry.original, label="Hoody: revert last generation")
        self._forget_revert(args.uri)
        if shown is not Shown.OK:
            raise CommandFailed(f"not reverted: {why}", message=f"Hoody: could not revert ({why}).")
        return _Outcome(True)

    def _remember_revert(self, uri: str, region: TrackedRegion) -> None:
        self._forget_revert(uri)
        self._reverts[uri] = region

    def _forget_revert(self, uri: str) -> None:
        old = self._reverts.pop(uri, None)
        if old is not None:
            old.close()

    # -- planning -----------------------------------------------------------------------------------------

    async def _execute(self, command: str, raw: Sequence[Any], editor: CommandEditor, progress: Progress,
                       control: Control) -> _Outcome:
        if command not in COMMANDS:
            raise CommandFailed(f"unknown command {command!r}")
        args = parse_args(raw)
        snap = editor.snapshot(args.uri)
        if snap is None:
            raise CommandFailed("the document is not open", message="Hoody: open the document first.")
        if args.version is not None and snap.version is not None and args.version != snap.version:
            raise CommandFailed(
                f"the document changed since the action was offered (version {args.version}, now "
                f"{snap.version}); run it again",
                message="Hoody: the document changed since the action was offered; run it again.",
            )
        path = self.deps.uri_to_path(args.uri)
        if not self.deps.allowed(path):
            raise CommandFailed(
                "this file is excluded from what Hoody may send (a secret file or `context.exclude`)",
                message="Hoody: this file is never sent (a secret file or `context.exclude`).",
            )
        plan = self._plan(command, args, snap, path, editor)
        return await self._run(plan, editor, progress, control)

    def _region(self, args: CommandArgs, snap: Snapshot) -> tuple[int, int]:
        if args.range is None:
            raise CommandFailed("`range` is missing")
        l0, c0, l1, c1 = args.range
        start, end = snap.offset_at(l0, c0), snap.offset_at(l1, c1)
        return min(start, end), max(start, end)

    def _plan(self, command: str, args: CommandArgs, snap: Snapshot, path: str, editor: CommandEditor) -> Plan:
        settings = self.deps.settings()
        language = snap.language_id or "plaintext"
        text = snap.text
        title = SHORT_TITLES[command]
        directive: Directive | None = None
        diagnostics: list[DiagnosticInfo] = []
        custom: CustomAction | None = None
        test_path: str | None = None
        test_base: str | None = None

        if command == CUSTOM:
            custom = next((a for a in settings.actions.custom if a.id == args.action), None)
            if custom is None:
                raise CommandFailed(
                    f"no action {args.action!r} in `actions.custom`",
                    message=f"Hoody: there is no custom action {args.action!r} in the `actions.custom` setting.",
                )
            title = custom.title

        if command == DIRECTIVE:
            directive = self._find_directive(args, snap, language)
            if directive is not None:
                start, end = directive_span(text, directive)
            elif args.instruction and args.instruction.strip():
                start, end = self._region(args, snap)
            else:
                raise CommandFailed("no `hoody:` directive comment at this range",
                                    message="Hoody: there is no `hoody:` directive comment here.")
        elif command == FIX:
            diagnostics = [diagnostic_info(snap, d) for d in args.diagnostics]
            if args.range is not None:
                start, end = self._region(args, snap)
            elif diagnostics:
                first = diagnostics[0]
                start = end = snap.offset_at(first.start_line, 0) + first.start_col
            else:
                raise CommandFailed("`range` or `diagnostics` is needed")
            start, end = fix_region(text, start, end, diagnostics)
        elif command == TESTS:
            start, end = self._region(args, snap) if args.range is not None else (0, 0)
            test_path = self._test_path(args, path, language)
            if not self.deps.allowed(test_path):
                raise CommandFailed("the test file is excluded from what Hoody may read and write",
                                    message=f"Hoody: the test file {test_path} is excluded (`context.exclude`).")
            test_snap = editor.snapshot(self.deps.path_to_uri(test_path))
            test_base = test_snap.text if test_snap is not None else self._disk_text(test_path)
        elif command == DOCUMENT:
            start, end = whole_lines(text, *self._region(args, snap))
        else:  # REFACTOR, CUSTOM
            start, end = self._region(args, snap)
            if start == end:
                if custom is not None and custom.kind.startswith("source"):
                    start, end = 0, len(text)
                else:
                    start, end = whole_lines(text, start, end)
            if not text[start:end].strip():
                raise CommandFailed("the selection is empty", message="Hoody: select the code to change first.")

        budget = settings.context.budget_chars
        context = self.deps.context(path, text, start, language, budget) if budget > 0 else []
        request = build_command_request(
            command,
            instruction=args.instruction,
            language=language,
            path=path,
            text=text,
            start=start,
            end=end,
            context=context,
            diagnostics=diagnostics,
            directive=directive,
            custom_directive=custom.directive if custom is not None else None,
            test_path=test_path,
            test_existing=test_base,
        )
        request = self._redacted(request)
        eol = eol_of(text)
        plan = Plan(command=command, title=title, request=request, uri=args.uri, language=language, eol=eol)
        if command == TESTS:
            assert test_path is not None
            plan.uri = self.deps.path_to_uri(test_path)
            plan.test_path = test_path
            plan.test_base = test_base
            if test_base:
                plan.eol = eol_of(test_base)
            return plan
        plan.snap, plan.start, plan.end = snap, start, end
        plan.fit = self._fitter(text, start, end, language, directive is not None)
        return plan

    def _find_directive(self, args: CommandArgs, snap: Snapshot, language: str) -> Directive | None:
        if args.range is None:
            found = find_directives(snap.text, language)
            return found[0] if found else None
        first, last = args.range[0], args.range[2]
        if last > first and args.range[3] == 0:
            last -= 1  # a selection of whole lines ends at the start of the next one
        for line in [*range(first, last + 1), first - 1, last + 1]:
            if 0 <= line < snap.line_count:
                directive = find_directive(snap.text, line, language)
                if directive is not None:
                    return directive
        return None

    def _test_path(self, args: CommandArgs, path: str, language: str) -> str:
        if not os.path.isabs(path):
            raise CommandFailed("tests can only be written for a file on disk",
                                message="Hoody: save the file first; tests go to a file beside it.")
        root = self.deps.workspace_root(path)
        if args.target:
            target = args.target
            if target.startswith("file:"):
                target = self.deps.uri_to_path(target)
            if not os.path.isabs(target):
                target = os.path.join(root or os.path.dirname(path), target)
            return os.path.normpath(target)
        return test_file_for(path, root, language)

    def _disk_text(self, path: str) -> str | None:
        return self.deps.read_file(path) if os.path.exists(path) else None

    def _redacted(self, request: GenerateRequest) -> GenerateRequest:
        redact = self.deps.redact
        return dataclasses.replace(
            request,
            directive=redact(request.directive),
            target_files=tuple(
                dataclasses.replace(t, content=redact(t.content) if t.content is not None else None)
                for t in request.target_files
            ),
            context=tuple(dataclasses.replace(c, content=redact(c.content)) for c in request.context),
        )

    def _fitter(self, text: str, start: int, end: int, language: str, directive: bool
                ) -> Callable[[str, bool], str | None]:
        before, after, original = text[:start], text[end:], text[start:end]
        indent = detect_indent(text)
        eol = eol_of(text)
        redacted = self.deps.redact(original)

        def fit(answer: str, partial: bool) -> str | None:
            source = complete_lines(answer) if partial else answer
            code = extract_code(source, language=language, partial=partial)
            if directive:
                code = strip_directive_echo(code, language)
            if not code.strip():
                return None
            fitted = fit_to_target(code, original=original, before=before, after=after, indent=indent, eol=eol)
            return restore_secrets(fitted, original, redacted)

        return fit

    # -- running ------------------------------------------------------------------------------------------

    async def _run(self, plan: Plan, editor: CommandEditor, progress: Progress, control: Control) -> _Outcome:
        # Follow the region from now on: the user may type while progress is being set up.
        region = None
        if plan.snap is not None:
            region = TrackedRegion(editor, plan.uri, plan.snap.text, plan.start,
                                   plan.snap.text[plan.start : plan.end])
        await progress.begin(_label(plan.title), "Asking the model…")
        self.stats = {"command": plan.command, "applies": 0, "started": time.monotonic()}
        outcome: _Outcome | None = None
        try:
            try:
                generation = self.deps.backend().generate(plan.request)
            except BackendError as exc:
                outcome = self._backend_failure(plan, exc)
                return outcome
            answer = _Answer(generation)
            try:
                if region is None:
                    outcome = await self._tests(plan, answer, editor, progress, control)
                elif self.deps.settings().actions.live_edits:
                    outcome = await self._live(plan, answer, region, progress, control)
                else:
                    outcome = await self._whole(plan, answer, region, progress, control)
            finally:
                await answer.close()
                self.stats["first_chunk_at"] = answer.first_at
                self.stats["chars"] = answer.chars
            return outcome
        finally:
            if region is not None and self._reverts.get(plan.uri) is not region:
                region.close()
            if outcome is None:  # cancelled from outside (shutdown took too long)
                outcome = _Outcome(False, "stopped", progress_end="Stopped.")
            progress.end(outcome.progress_end or (f"Done. {outcome.reason}" if outcome.applied else
                                                  f"Not applied: {outcome.reason}."))

    def _backend_failure(self, plan: Plan, exc: BackendError, *, restored: bool = True) -> _Outcome:
        """Record the failure (health) and make sure the user hears of it exactly once."""
        if exc.kind == "cancelled":
            return _Outcome(False, CANCELLED, progress_end="Cancelled.")
        health = self.deps.health
        # The health memory stays quiet for a kind it already told; a command always tells (see module doc).
        already_told = health.told(exc.kind)
        health.failure(exc)
        level: Level = "warning" if exc.retryable else "error"
        state = "Your code is unchanged." if restored else "Your code could not be fully restored."
        return _Outcome(
            False,
            exc.message,
            progress_end=f"Failed: {exc.message} {state}",
            message=f"Hoody: {exc.message}" if already_told else None,
            level=level,
        )

    def _failure_outcome(self, plan: Plan, error: BaseException | None, *, restored: bool = True) -> _Outcome:
        if isinstance(error, BackendError):
            return self._backend_failure(plan, error, restored=restored)
        log.error("%s: generation failed", plan.command, exc_info=error)
        return _Outcome(False, "internal error (see the server log)", progress_end="Failed (internal error).",
                        message=f"{_label(plan.title)} failed with an internal error; see the server log.",
                        level="error")

    def _empty_answer(self, plan: Plan) -> _Outcome:
        return _Outcome(False, "the model answered without code", progress_end="The model answered without code.",
                        message=f"{_label(plan.title)}: the model answered without code; try again or rephrase.")

    async def _wait(self, answer: _Answer, control: Control, progress: Progress, timeout: float | None,
                    *extra: asyncio.Event) -> None:
        """Until the answer moves, a cancel, one of `extra`, or `timeout`."""
        events = [answer.event, control.event, *extra]
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    def _progress(self, progress: Progress, answer: _Answer, state: dict[str, float]) -> None:
        now = time.monotonic()
        if answer.chars and now - state.get("at", 0.0) >= PROGRESS_EVERY_S and answer.chars != state.get("chars"):
            state["at"] = now
            state["chars"] = answer.chars
            progress.report(f"{answer.chars} characters generated")

    async def _collect(self, answer: _Answer, control: Control, progress: Progress) -> None:
        """Wait for the whole answer, reporting progress; returns early on a cancel."""
        state: dict[str, float] = {}
        while not answer.done and not control.cancelled:
            answer.event.clear()
            self._progress(progress, answer, state)
            await self._wait(answer, control, progress, PROGRESS_EVERY_S)

    # -- live ---------------------------------------------------------------------------------------------

    async def _live(self, plan: Plan, answer: _Answer, region: TrackedRegion, progress: Progress,
                    control: Control) -> _Outcome:
        assert plan.fit is not None
        original = region.original
        label = _label(plan.title)
        pacer = Pacer()
        state: dict[str, float] = {}
        shown_breaks = -1  # `answer.breaks` when the display was last computed
        while True:
            # Clear the wake-up events first, then look at the state: nothing can slip in between.
            answer.event.clear()
            region.changed.clear()
            if control.cancelled:
                await answer.close()
                restored = await region.restore(label=label)
                return self._cancelled(control, restored)
            if region.broken:
                await answer.close()
                return self._stopped(plan, "you edited the code being generated", region)
            if answer.done:
                if answer.error is not None:
                    restored = await region.restore(label=label)
                    return self._failure_outcome(plan, answer.error, restored=restored)
                final = plan.fit(answer.text, False)
                if final is None:
                    await region.restore(label=label)
                    return self._empty_answer(plan)
                shown, why = await region.show(final, label=label)
                self.stats["applies"] = region.applies
                if shown is Shown.OK:
                    self.deps.health.success()
                    return self._done(plan, region, original, final)
                return self._stopped(plan, why, region)

            self._progress(progress, answer, state)
            wait = pacer.wait_s(answer.chars)
            if wait > 0 or answer.breaks == shown_breaks:
                # nothing new to show yet, or too soon after the last edit
                await self._wait(answer, control, progress, wait or PROGRESS_EVERY_S, region.changed)
                continue
            shown_breaks = answer.breaks
            partial = plan.fit(answer.text, True)
            display = progressive_text(original, partial, plan.eol) if partial else original
            if display == region.current:
                continue
            shown, why = await region.show(display, label=label)
            pacer.sent(answer.chars)
            self.stats["applies"] = region.applies
            self.stats.setdefault("first_apply_at", time.monotonic())
            if shown is not Shown.OK:
                await answer.close()
                return self._stopped(plan, why, region)

    def _done(self, plan: Plan, region: TrackedRegion, original: str, final: str) -> _Outcome:
        if final == original:
            return _Outcome(False, "the model suggested no change", progress_end="No change.",
                            message=f"{_label(plan.title)}: the model suggested no change.", level="info")
        self._remember_revert(plan.uri, region)
        return _Outcome(True, progress_end=_summary(original, final))

    def _cancelled(self, control: Control, restored: bool) -> _Outcome:
        reason = control.reason or CANCELLED
        end = "Cancelled; your code is as it was." if restored else "Cancelled."
        if reason != CANCELLED:  # shutdown
            return _Outcome(False, reason, progress_end=f"Stopped: {reason}.")
        return _Outcome(False, CANCELLED, progress_end=end)

    def _stopped(self, plan: Plan, why: str, region: TrackedRegion) -> _Outcome:
        """The live edit stopped early (the user edited inside, the client rejected an edit): keep what is
        there; it can still be reverted when the region is intact."""
        kept = region.current != region.original
        if kept and region.intact():
            self._remember_revert(plan.uri, region)
        what = "kept what was generated so far" if kept else "nothing was changed"
        return _Outcome(False, f"stopped: {why}; {what}", progress_end=f"Stopped: {why}; {what}.",
                        message=f"{_label(plan.title)} stopped: {why}; {what}.")

    # -- one edit at the end ------------------------------------------------------------------------------

    async def _whole(self, plan: Plan, answer: _Answer, region: TrackedRegion, progress: Progress,
                     control: Control) -> _Outcome:
        assert plan.fit is not None
        original = region.original
        await self._collect(answer, control, progress)
        if control.cancelled:
            return self._cancelled(control, True)
        if answer.error is not None:
            return self._failure_outcome(plan, answer.error)
        final = plan.fit(answer.text, False)
        if final is None:
            return self._empty_answer(plan)
        if region.broken or not region.intact():
            return _Outcome(
                False, "the code changed while it was being generated; nothing was applied",
                progress_end="The code changed meanwhile; nothing was applied.",
                message=f"{_label(plan.title)}: the code changed while it was being generated; "
                        "nothing was applied. Run it again.",
            )
        self.deps.health.success()
        shown, why = await region.show(final, label=_label(plan.title), confirm=True)
        self.stats["applies"] = region.applies
        if shown is Shown.OK:
            return self._done(plan, region, original, final)
        if shown is Shown.REJECTED:
            # most often the user declined the preview: their choice, no message
            return _Outcome(False, f"not applied: {why}", progress_end=f"Not applied: {why}.")
        return _Outcome(False, f"not applied: {why}", progress_end=f"Not applied: {why}.",
                        message=f"{_label(plan.title)}: not applied ({why}). Run it again.")

    # -- tests --------------------------------------------------------------------------------------------

    async def _tests(self, plan: Plan, answer: _Answer, editor: CommandEditor, progress: Progress,
                     control: Control) -> _Outcome:
        assert plan.test_path is not None
        await self._collect(answer, control, progress)
        if control.cancelled:
            return self._cancelled(control, True)
        if answer.error is not None:
            return self._failure_outcome(plan, answer.error)
        code = extract_code(answer.text, language=plan.language)
        if not code.strip():
            return self._empty_answer(plan)
        self.deps.health.success()
        label = _label(plan.title)
        name = os.path.basename(plan.test_path)
        open_snap = editor.snapshot(plan.uri)
        if open_snap is not None:
            base: str | None = open_snap.text
            eol = eol_of(base) if base else plan.eol
        else:
            base = self._disk_text(plan.test_path)
            eol = eol_of(base) if base else plan.eol
        new_text = merge_tests(base or "", code.replace("\r\n", "\n").replace("\n", eol), eol)
        if base is not None and new_text == base:
            return _Outcome(False, "the model added no tests", progress_end="No new tests.",
                            message=f"Hoody: the model added no tests to {name}.")
        edits = minimal_edits(base or "", new_text)
        first, last = edits[0].start, edits[-1].end
        old_part = (base or "")[first:last]
        new_part = new_text[first : last + len(new_text) - len(base or "")]
        if open_snap is not None:
            region = TrackedRegion(editor, plan.uri, open_snap.text, first, old_part)
            shown, why = await region.show(new_part, label=label, confirm=True)
            if shown is Shown.OK:
                self._remember_revert(plan.uri, region)
                return _Outcome(True, progress_end=f"Wrote tests to {name}.")
            region.close()
            return self._not_written(plan, shown, why)
        outcome = await editor.apply_file(plan.uri, base, edits, label=label, confirm=True)
        if not outcome.applied:
            return self._not_written(plan, Shown.REJECTED, outcome.reason or "the editor did not apply the edit")
        # The client opens the file it wrote: follow the new part there, for hoody.revert.
        now = editor.snapshot(plan.uri)
        if now is not None and now.text[first : first + len(new_part)] == new_part:
            self._remember_revert(
                plan.uri, TrackedRegion(editor, plan.uri, now.text, first, old_part, current=new_part)
            )
        return _Outcome(True, progress_end=f"Wrote tests to {name}.")

    def _not_written(self, plan: Plan, shown: Shown, why: str) -> _Outcome:
        if shown is Shown.REJECTED:
            return _Outcome(False, f"not applied: {why}", progress_end=f"Not applied: {why}.")
        return _Outcome(False, f"not applied: {why}", progress_end=f"Not applied: {why}.",
                        message=f"Hoody: tests not written ({why}). Run it again.")

