"""textDocument/codeAction end to end: what is offered where, with which kind and arguments, and no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.e2e.harness import editor_session
from tests.fakebackend import FakeBackend

SRC = (
    "import os\n"
    "\n"
    "\n"
    "def add(a, b):\n"
    "    # hoody: validate the arguments\n"
    "    # and raise TypeError\n"
    "    return a + b\n"
)
CUSTOM = [
    {"id": "explain", "title": "Hoody: Add comments", "directive": "Comment each line."},
    {"id": "header", "title": "Hoody: Add a license header", "directive": "Add an MIT header.",
     "kind": "source.header"},
]
COMMANDS = {"hoody.refactor", "hoody.directive", "hoody.fix", "hoody.document", "hoody.tests", "hoody.custom",
            "hoody.revert"}


def titles(actions: list[Any]) -> list[str]:
    return [a.title for a in actions]


def by_title(actions: list[Any]) -> dict[str, types.CodeAction]:
    return {a.title: a for a in actions if isinstance(a, types.CodeAction)}


async def test_capabilities_and_offers_for_a_selection(fake_backend: FakeBackend, tmp_path: Path) -> None:
    async with editor_session(fake_backend.url, tmp_path, init_options={"actions": {"custom": CUSTOM}}) as ed:
        caps = ed.server_capabilities  # type: ignore[attr-defined]
        assert caps.code_action_provider is not None
        kinds = set(caps.code_action_provider.code_action_kinds or [])
        assert {"quickfix", "refactor.rewrite", "source"} <= {str(getattr(k, "value", k)) for k in kinds}
        assert set(caps.execute_command_provider.commands) >= COMMANDS

        uri = ed.open("calc.py", SRC, write=True)
        rng = ed.range_of(uri, "import os\n")
        offered = by_title(await ed.code_actions(uri, rng))
        assert list(offered) == [
            "Hoody: Refactor selection…", "Hoody: Document", "Hoody: Add comments", "Hoody: Add a license header",
            "Hoody: Generate tests",
        ]
        expected = {
            "Hoody: Refactor selection…": ("hoody.refactor", "refactor.rewrite"),
            "Hoody: Document": ("hoody.document", "refactor.rewrite"),
            "Hoody: Add comments": ("hoody.custom", "refactor.rewrite"),
            "Hoody: Add a license header": ("hoody.custom", "source.header"),
            "Hoody: Generate tests": ("hoody.tests", "source"),
        }
        sent_range = ed.client.protocol._converter.unstructure(rng)
        for title, (command, kind) in expected.items():
            action = offered[title]
            assert action.kind == kind and action.command is not None
            assert action.command.command == command and action.command.title == title
            (argument,) = action.command.arguments or []
            assert argument["uri"] == uri and argument["range"] == sent_range and argument["version"] == 1
        assert offered["Hoody: Add comments"].command.arguments[0]["action"] == "explain"  # type: ignore[union-attr,index]

        # an empty selection: nothing to rewrite, but tests and source-kind user actions still apply
        cursor = ed.range(uri, 0, 0)
        assert titles(await ed.code_actions(uri, cursor)) == ["Hoody: Add a license header", "Hoody: Generate tests"]
    assert not fake_backend.requests  # offering actions never calls the backend


async def test_directive_fix_and_only(fake_backend: FakeBackend, tmp_path: Path) -> None:
    async with editor_session(fake_backend.url, tmp_path, kind="neovim") as ed:
        uri = ed.open("calc.py", SRC, write=True)
        # on the directive, on its continuation line, and on the line just below it
        for line in (4, 5, 6):
            at = types.Position(line, 2)
            offered = by_title(await ed.code_actions(uri, types.Range(at, at)))
            action = offered["Hoody: Run directive"]
            assert action.kind == "refactor.rewrite" and action.is_preferred
            assert action.command is not None and action.command.command == "hoody.directive"
        far = types.Position(0, 0)
        assert "Hoody: Run directive" not in titles(await ed.code_actions(uri, types.Range(far, far)))

        problems = [
            types.Diagnostic(range=ed.range_of(uri, "a + b"), message="unsupported operand\ntypes", code=7,
                             source="mypy", severity=types.DiagnosticSeverity.Error),
            types.Diagnostic(range=ed.range_of(uri, "add"), message="missing docstring", source="pylint"),
        ]
        offered = by_title(await ed.code_actions(uri, problems[0].range, problems[:1]))
        fix = offered["Hoody: Fix “unsupported operand types”"]
        assert fix.kind == "quickfix" and list(fix.diagnostics or []) == problems[:1]
        assert fix.command is not None
        (argument,) = fix.command.arguments or []
        assert argument["diagnostics"] == [ed.client.protocol._converter.unstructure(problems[0])]
        offered = by_title(await ed.code_actions(uri, ed.range(uri, 0, len(SRC)), problems))
        assert "Hoody: Fix 2 problems" in offered

        # the client asks only for quick fixes
        result = await ed.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=ed.range(uri, 0, len(SRC)),
                context=types.CodeActionContext(diagnostics=problems, only=[types.CodeActionKind.QuickFix]),
            )
        )
        assert titles(list(result or [])) == ["Hoody: Fix 2 problems"]
    assert not fake_backend.requests


async def test_nothing_is_offered_for_secret_files(fake_backend: FakeBackend, tmp_path: Path) -> None:
    async with editor_session(fake_backend.url, tmp_path) as ed:
        uri = ed.open(".env", "# hoody: add a key\nAPI_KEY=abc\n", language="dotenv")
        assert await ed.code_actions(uri, ed.range(uri, 0, 20)) == []
        result = await ed.execute("hoody.refactor", {"uri": uri, "range": ed.client.protocol._converter.unstructure(
            ed.range(uri, 0, 20))})
        assert result["applied"] is False and "excluded" in result["reason"]
        assert ed.text(uri) == "# hoody: add a key\nAPI_KEY=abc\n"
    assert not fake_backend.requests
