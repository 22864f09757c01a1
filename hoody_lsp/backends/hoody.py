"""Hoody's code-generation API on the wire (the `hoody` backend): the request body and the streamed events.

`POST {baseUrl}{generatePath}` with `mode: "stream"`; events `token` {"text"}, `done` {id, finish_reason,
usage}, `error` {code, message}; unknown events are ignored; a stream without `done` or `error` is truncated.
A server that answers one JSON object instead (`output`) is read too. The schema is this project's reading of
Hoody's documentation (see hoody-api.md); a change to it touches this file only.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hoody_lsp import __version__
from hoody_lsp.backends.base import Finish, GenerateRequest
from hoody_lsp.backends.errors import ProtocolError
from hoody_lsp.backends.http import Call, HttpBackend, StreamState, parse_json_data, usage_from

if TYPE_CHECKING:
    from httpx_sse import ServerSentEvent


def request_body(request: GenerateRequest, model: str | None) -> dict[str, Any]:
    """The JSON body of a generate call (optional fields only when set)."""
    body: dict[str, Any] = {"directive": request.directive, "mode": "stream", "task": request.task}
    if request.language:
        body["language"] = request.language
    if request.framework:
        body["framework"] = request.framework
    if request.target_files:
        files = []
        for target in request.target_files:
            item: dict[str, Any] = {"path": target.path}
            if target.content is not None:
                item["content"] = target.content
            if target.range is not None:
                item["range"] = target.range
            files.append(item)
        body["target_files"] = files
    if request.context:
        body["context"] = [
            {
                "path": c.path,
                "content": c.content,
                "start_line": c.start_line,
                "end_line": c.end_line,
                "kind": c.kind,
            }
            for c in request.context
        ]
    if request.task == "completion" or request.prefix is not None:
        body["prefix"] = request.prefix or ""
    if request.task == "completion" or request.suffix is not None:
        body["suffix"] = request.suffix or ""
    if model:
        body["model"] = model
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop"] = list(request.stop)
    body["client"] = {"name": "hoody-lsp", "version": __version__}
    return body


class HoodyBackend(HttpBackend):
    name = "hoody"
    service = "Hoody"

    def prepare(self, request: GenerateRequest) -> Call:
        return Call(
            url=self.base_url + self.settings.generate_path,
            body=request_body(request, self.settings.model),
            what="a code-generation answer",
        )

    def on_event(self, event: ServerSentEvent, state: StreamState) -> tuple[str, Finish | None]:
        kind = event.event
        if kind == "token":
            data = parse_json_data(event, self.service)
            text = data.get("text") if isinstance(data, dict) else None
            if not isinstance(text, str):
                raise ProtocolError("Hoody sent a token event without text; try again.")
            return text, None
        if kind == "done":
            data = parse_json_data(event, self.service) if event.data.strip() else {}
            if not isinstance(data, dict):
                data = {}
            reason = data.get("finish_reason")
            gen_id = data.get("id")
            return "", Finish(
                reason=reason if isinstance(reason, str) and reason else "stop",
                usage=usage_from(data.get("usage")),
                id=gen_id if isinstance(gen_id, str) else None,
            )
        if kind == "error":
            message, code = _error_event(event.data)
            raise ProtocolError(
                f"Hoody stopped the generation: {message}{f' ({code})' if code else ''}. Try again.",
                code=code,
            )
        return "", None  # unknown events (and unnamed "message" events) are ignored

    def on_end(self, state: StreamState) -> Finish | None:
        return None  # no `done`, no `error`: truncated

    def on_json(self, body: Any, request: GenerateRequest) -> tuple[str, Finish]:
        if not isinstance(body, dict):
            raise ProtocolError("Hoody answered with JSON that is not a generation; check `generatePath`.")
        output = body.get("output")
        if not isinstance(output, str) or not output:
            files = body.get("files")
            chosen = _pick_file(files, request)
            if chosen is not None:
                output = chosen
        if not isinstance(output, str):
            if "error" in body:
                message, code = _error_event(body)
                raise ProtocolError(
                    f"Hoody stopped the generation: {message}{f' ({code})' if code else ''}. Try again.",
                    code=code,
                )
            raise ProtocolError("Hoody answered without any output; check `generatePath`.")
        reason = body.get("finish_reason")
        gen_id = body.get("id")
        return output, Finish(
            reason=reason if isinstance(reason, str) and reason else "stop",
            usage=usage_from(body.get("usage")),
            id=gen_id if isinstance(gen_id, str) else None,
        )


def _pick_file(files: Any, request: GenerateRequest) -> str | None:
    """For `task: generate` answers that carry `files` only: the target file's content, else the first."""
    if not isinstance(files, list):
        return None
    usable = [f for f in files if isinstance(f, dict) and isinstance(f.get("content"), str)]
    if not usable:
        return None
    wanted = {t.path for t in request.target_files}
    for item in usable:
        if item.get("path") in wanted:
            return str(item["content"])
    return str(usable[0]["content"])


def _error_event(data: Any) -> tuple[str, str | None]:
    """(message, code) of an `error` event's data (a JSON text) or of an error body (a dict)."""
    obj = data
    if isinstance(data, str):
        try:
            obj = json.loads(data)
        except ValueError:
            text = data.strip()
            return (text[:200] or "an error without details"), None
    if not isinstance(obj, dict):
        return "an error without details", None
    message = obj.get("message")
    if not isinstance(message, str) or not message.strip():
        message = obj.get("error") if isinstance(obj.get("error"), str) else None
    code = obj.get("code")
    return (
        (message.strip()[:300] if isinstance(message, str) and message.strip() else "an error without details"),
        str(code) if isinstance(code, (str, int)) else None,
    )
