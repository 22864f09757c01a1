"""`hoody-lsp context`: the context the server would send for a cursor, as one JSON answer or as a JSON-lines
service (`--stdio`: one request object per input line, one answer object per output line, in order).

Requests and answers follow SPEC.md ("Context service"); answers carry each snippet's `content` too.
A failing request answers `{"error": "..."}` and the service keeps going.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable
from typing import IO, Any

from hoody_lsp.context.engine import ContextEngine, Snippet
from hoody_lsp.context.index import read_text_safely
from hoody_lsp.context.text import offset_of

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 6000


class RequestError(Exception):
    """A request the service cannot answer (its message goes back to the caller)."""


class ContextService:
    """Answers `initialize` and `context` requests with one engine shared by every workspace."""

    def __init__(self, engine: ContextEngine | None = None) -> None:
        self.engine = engine or ContextEngine()

    def handle(self, msg: Any) -> dict[str, Any]:
        try:
            if not isinstance(msg, dict):
                raise RequestError("a request is a JSON object")
            method = msg.get("method", "context")
            if method == "initialize":
                self._workspace(msg.get("workspace"))
                return {"ok": True}
            if method == "context":
                return {"snippets": [snippet_json(s) for s in self.context(msg)]}
            if method in ("shutdown", "exit"):
                return {"ok": True}
            raise RequestError(f"unknown method {method!r}")
        except RequestError as exc:
            return {"error": str(exc)}
        except Exception as exc:  # the service answers every line, whatever happens
            log.exception("context request failed")
            return {"error": f"internal error: {type(exc).__name__}: {exc}"}

    def _workspace(self, workspace: Any) -> str:
        if not isinstance(workspace, str) or not workspace:
            raise RequestError("`workspace` must be a folder path")
        root = os.path.abspath(os.path.expanduser(workspace))
        if not os.path.isdir(root):
            raise RequestError(f"workspace not found: {workspace}")
        idx = self.engine.index_of(root)
        if idx is None:
            self.engine.add_workspace(root)
            idx = self.engine.index_of(root)
        if idx is not None and idx.state == "new":
            idx.build_sync()
        return root

    def context(self, msg: dict[str, Any]) -> list[Snippet]:
        file = msg.get("file")
        if not isinstance(file, str) or not file:
            raise RequestError("`file` is required")
        workspace = msg.get("workspace")
        if workspace is None and os.path.isabs(file):
            workspace = self.engine.workspace_for(file) or os.path.dirname(file)
        root = self._workspace(workspace)
        path = file if os.path.isabs(file) else os.path.join(root, file)
        path = os.path.normpath(path)
        if not self.engine.is_allowed(path):
            raise RequestError(f"{file} is excluded from context (a secret or ignored file)")
        budget = _int(msg.get("budget_chars", DEFAULT_BUDGET), "budget_chars", minimum=0)
        prefix, suffix = msg.get("prefix"), msg.get("suffix")
        if prefix is not None or suffix is not None:
            if not isinstance(prefix or "", str) or not isinstance(suffix or "", str):
                raise RequestError("`prefix` and `suffix` must be strings")
            text = (prefix or "") + (suffix or "")
            offset = len(prefix or "")
        else:
            line = _int(msg.get("line"), "line", minimum=1)
            col = _int(msg.get("col", 0), "col", minimum=0)
            disk = read_text_safely(path)
            if disk is None:
                raise RequestError(f"cannot read {file}")
            text = disk
            offset = offset_of(text, line - 1, col)
        language = msg.get("language")
        extra: list[str] = []
        for key in ("recent_files", "open_files"):
            value = msg.get(key) or []
            if not isinstance(value, list):
                raise RequestError(f"`{key}` must be a list of paths")
            extra += [v for v in value if isinstance(v, str) and v not in extra]
        return self.engine.gather(
            path=path,
            text=text,
            offset=offset,
            language=language if isinstance(language, str) else None,
            budget_chars=budget,
            open_files=extra,
        )


def snippet_json(s: Snippet) -> dict[str, Any]:
    return {
        "file": s.rel,
        "start_line": s.start_line,
        "end_line": s.end_line,
        "kind": s.kind,
        "source": s.source,
        "score": s.score,
        "content": s.content,
    }


def _int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise RequestError(f"`{name}` must be an integer")
    if value < minimum:
        raise RequestError(f"`{name}` must be >= {minimum}")
    return int(value)


def serve_jsonl(lines: Iterable[str], out: IO[str], service: ContextService | None = None) -> int:
    """The JSON-lines loop: answer every non-blank input line, in order, flushing each answer."""
    service = service or ContextService()
    for line in lines:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError as exc:
            answer: dict[str, Any] = {"error": f"invalid JSON: {exc}"}
        else:
            answer = service.handle(msg)
        out.write(json.dumps(answer, ensure_ascii=False) + "\n")
        out.flush()
        if isinstance(msg, dict) and msg.get("method") == "exit":
            break
    return 0


def run_context_cli(args: argparse.Namespace) -> int:
    """`hoody-lsp context ...`: exit 0 with the answer, 1 with `{"error": ...}`, 2 for a usage error."""
    if getattr(args, "stdio", False):
        return serve_jsonl(sys.stdin, sys.stdout)
    missing = [f"--{n}" for n in ("workspace", "file", "line", "col") if getattr(args, n, None) is None]
    if missing:
        sys.stderr.write(f"hoody-lsp context: missing {' '.join(missing)} (or use --stdio)\n")
        return 2
    service = ContextService()
    req: dict[str, Any] = {
        "method": "context",
        "workspace": args.workspace,
        "file": args.file,
        "line": args.line,
        "col": args.col,
        "budget_chars": DEFAULT_BUDGET if args.budget is None else args.budget,
    }
    answer = service.handle(req)
    sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=None) + "\n")
    sys.stdout.flush()
    return 1 if "error" in answer else 0
