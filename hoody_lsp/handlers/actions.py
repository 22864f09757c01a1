"""textDocument/codeAction: offers the hoody.* commands where they apply. Never calls the network.

Each action carries a `Command` whose one argument object lets the command rebuild everything:
`{uri, range, version, instruction?, diagnostics?, action?}` (the range and diagnostics as the client sent
them, in its position units). What is offered:

- a non-empty selection: Refactor selection…, Document, and each `actions.custom` action;
- a `hoody:` directive on the selected lines or the line just above or below: Run directive;
- diagnostics in the request's context: Fix … (the title names the first problem);
- a file on disk: Generate tests (the selection, or the whole module);
- a last generation that is still unchanged: Revert last generation.

`context.only` is honoured (an action without a kind is then left out). Nothing is offered for files that
are never sent (secret files, `context.exclude`), except the revert.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from hoody_lsp.handlers.commands import runner_of, wait_for_configuration
from hoody_lsp.handlers.common import offset_of, uri_to_path

if TYPE_CHECKING:
    from hoody_lsp.server import HoodyServer

log = logging.getLogger(__name__)

KINDS = [
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.Refactor,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Source,
]
MAX_DIRECTIVE_SCAN_LINES = 200  # a huge selection is not searched line by line for a directive


def register(server: HoodyServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=False),
    )
    async def code_action(ls: HoodyServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        await wait_for_configuration(ls)  # user actions may come from the configuration
        try:
            return offer(ls, params)
        except Exception:  # a bug must not become an error popup on every cursor move
            log.exception("code actions failed")
            return None


def _kind_allowed(kind: str | None, only: list[str] | None) -> bool:
    if not only:
        return True
    if kind is None:
        return False
    return any(kind == o or kind.startswith(o + ".") for o in only)


def offer(ls: HoodyServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    from hoody_lsp.actions.directives import find_directive
    from hoody_lsp.actions.requests import (
        COMMANDS,
        CUSTOM,
        DIRECTIVE,
        DOCUMENT,
        FIX,
        REFACTOR,
        REVERT,
        TESTS,
        fix_title,
    )
    from hoody_lsp.services.commands import ClientDiagnostic, diagnostic_info

    uri = params.text_document.uri
    snap = ls.snapshot(uri)
    if snap is None:
        return None
    converter = ls.protocol._converter
    rng = params.range
    base: dict[str, Any] = {"uri": uri, "range": converter.unstructure(rng), "version": snap.version}
    only = [str(k.value if isinstance(k, types.CodeActionKind) else k) for k in (params.context.only or [])]
    actions: list[types.CodeAction] = []

    def add(command: str, title: str, kind: str | None, extra: dict[str, Any] | None = None,
            diagnostics: list[types.Diagnostic] | None = None, preferred: bool = False) -> None:
        if not _kind_allowed(kind, only):
            return
        argument = {**base, **(extra or {})}
        actions.append(
            types.CodeAction(
                title=title,
                kind=kind,
                diagnostics=diagnostics or None,
                is_preferred=preferred or None,
                command=types.Command(title=title, command=command, arguments=[argument]),
            )
        )

    path = uri_to_path(uri)
    if ls.path_allowed(path):
        start, end = offset_of(snap, rng.start), offset_of(snap, rng.end)
        selected = snap.text[min(start, end) : max(start, end)]
        language = snap.language_id or "plaintext"

        diagnostics = list(params.context.diagnostics or [])
        if diagnostics:
            infos = [
                diagnostic_info(snap, ClientDiagnostic(
                    range=(d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character),
                    message=d.message,
                ))
                for d in diagnostics
            ]
            add(FIX, fix_title(infos), COMMANDS[FIX].kind,
                {"diagnostics": [converter.unstructure(d) for d in diagnostics]}, diagnostics=diagnostics)

        first, last = rng.start.line, rng.end.line
        if last > first and rng.end.character == 0:
            last -= 1  # a selection of whole lines ends at the start of the next one
        if last - first <= MAX_DIRECTIVE_SCAN_LINES:
            for line in [*range(first, last + 1), first - 1, last + 1]:
                if 0 <= line < snap.line_count and find_directive(snap.text, line, language) is not None:
                    add(DIRECTIVE, COMMANDS[DIRECTIVE].title, COMMANDS[DIRECTIVE].kind, preferred=True)
                    break

        if selected.strip():
            add(REFACTOR, COMMANDS[REFACTOR].title, COMMANDS[REFACTOR].kind)
            add(DOCUMENT, COMMANDS[DOCUMENT].title, COMMANDS[DOCUMENT].kind)
            for action in ls.settings.actions.custom:
                add(CUSTOM, action.title, action.kind, {"action": action.id})
        else:
            for action in ls.settings.actions.custom:
                if action.kind.startswith("source"):
                    add(CUSTOM, action.title, action.kind, {"action": action.id})

        if uri.startswith("file:"):
            add(TESTS, COMMANDS[TESTS].title, COMMANDS[TESTS].kind)

    runner = runner_of(ls)
    if runner is not None and runner.can_revert(uri):
        add(REVERT, COMMANDS[REVERT].title, COMMANDS[REVERT].kind)
    return actions
