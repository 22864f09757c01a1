"""Any OpenAI-compatible server on the wire (the `openai` backend): chat messages built from a request, the
streamed chunks, and the optional fill-in-the-middle `/completions` path.

`POST {baseUrl}/chat/completions` with `stream: true`; chunks carry `choices[0].delta.content` and the stream
ends with `data: [DONE]`. With `openai.fim: true`, inline completion uses `POST {baseUrl}/completions` with
`prompt` (the prefix) and `suffix`; chunks carry `choices[0].text`. Errors are `{"error": {...}}`, also as a
data chunk mid-stream. A plain JSON answer (no streaming) is read too.

How a request becomes messages (the server has no notion of tasks):
- system: reply with code only, no prose, no Markdown fences, keep the surrounding style;
- context items: labelled code blocks (`rules` items as project instructions);
- completion: the file with a cursor marker at the cursor, asking for the text that belongs there only;
- edit: `prefix`/`suffix` (when given) as the code around, `target_files[0].content` as the code to rewrite,
  the directive as the instruction; the answer replaces that code;
- generate: the directive and the target file path (its current content when given); the answer is the
  whole file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hoody_lsp.backends.base import ContextItem, Finish, GenerateRequest
from hoody_lsp.backends.errors import ConfigError, ProtocolError
from hoody_lsp.backends.http import Call, HttpBackend, StreamState, host_of, parse_json_data, usage_from
from hoody_lsp.settings import is_loopback

if TYPE_CHECKING:
    from httpx_sse import ServerSentEvent

CURSOR = "<|CURSOR|>"
MAX_STOP = 4  # OpenAI's limit on stop sequences; many compatible servers reject more

SYSTEM_PROMPT = (
    "You are a code generation engine inside a code editor. Reply with code only: no explanations, no "
    "Markdown code fences, no text before or after the code. Match the language, indentation, naming and "
    "style of the surrounding code."
)

_KIND_LABEL = {
    "definition": "a definition used here",
    "open_file": "an open file",
    "recent_edit": "a recent edit",
    "retrieved": "related code",
    "diagnostic": "diagnostics",
}


def fence(content: str, language: str | None = None) -> str:
    """`content` in a Markdown code block whose fence no backtick run inside it can close."""
    longest = run = 0
    for ch in content:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    body = content if content.endswith("\n") or not content else content + "\n"
    return f"{ticks}{language or ''}\n{body}{ticks}"


def _context_block(item: ContextItem) -> str:
    if item.kind == "rules":
        return f"Project instructions from `{item.path}` (follow them):\n{item.content.strip()}"
    label = _KIND_LABEL.get(item.kind, "context")
    lines = f"lines {item.start_line}-{item.end_line}" if item.end_line >= item.start_line > 0 else ""
    where = f"`{item.path}`" + (f", {lines}" if lines else "")
    return f"From {where} ({label}):\n{fence(item.content)}"


def _target(request: GenerateRequest) -> tuple[str | None, str | None]:
    """(path, content) of the first target file."""
    if not request.target_files:
        return None, None
    target = request.target_files[0]
    return target.path, target.content


def build_messages(request: GenerateRequest) -> list[dict[str, str]]:
    """Chat messages for `request` (see the module docstring)."""
    parts: list[str] = []
    if request.context:
        parts.append("Context from the workspace:\n\n" + "\n\n".join(_context_block(c) for c in request.context))
    lang = request.language or ""
    about = f" ({lang})" if lang else ""
    path, content = _target(request)
    where = f" in `{path}`" if path else ""
    directive = request.directive.strip()

    if request.task == "completion":
        ask = (
            f"Complete the code at the {CURSOR} marker{where}{about}. Reply with only the text to insert at "
            f"the marker: do not repeat any code before or after it, and stop where the existing code after "
            f"the marker continues."
        )
        if directive:
            ask += f"\nWhat to write: {directive}"
        parts.append(ask)
        parts.append(fence(f"{request.prefix or ''}{CURSOR}{request.suffix or ''}", lang))
    elif request.task == "edit":
        if request.prefix:
            parts.append(f"The code before the part to rewrite{where}:\n{fence(request.prefix, lang)}")
        if request.suffix:
            parts.append(f"The code after it:\n{fence(request.suffix, lang)}")
        parts.append(
            f"Rewrite the following code{where}{about} as instructed. Reply with the complete replacement "
            f"for exactly this code, nothing else.\nInstruction: {directive}"
        )
        parts.append(fence(content if content is not None else "", lang))
    else:
        target = f"`{path}`" if path else "the new file"
        ask = f"Instruction: {directive}\nWrite the complete contents of {target}{about}."
        if content:
            ask += " It exists already; reply with the whole new file, keeping what should stay:"
            parts.append(ask)
            parts.append(fence(content, lang))
        else:
            parts.append(ask)
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


class OpenAIBackend(HttpBackend):
    name = "openai"
    service = "The OpenAI-compatible server"

    def needs_key(self) -> bool:
        # Local servers (Ollama, llama.cpp, vLLM on this machine) take no key.
        return not is_loopback(urlsplit(self.base_url).hostname)

    def _model(self) -> str:
        model = self.settings.effective_model
        if not model:
            raise ConfigError(
                f"Set `model` (or HOODY_MODEL): the OpenAI-compatible server at {host_of(self.base_url)} "
                "needs a model id, for example `qwen2.5-coder:7b` on Ollama."
            )
        return model

    def prepare(self, request: GenerateRequest) -> Call:
        model = self._model()
        body: dict[str, Any] = {"model": model}
        if self.settings.openai.fim and request.task == "completion":
            url = self.base_url + "/completions"
            body["prompt"] = request.prefix or ""
            body["suffix"] = request.suffix or ""
        else:
            url = self.base_url + "/chat/completions"
            body["messages"] = build_messages(request)
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.stop:
            body["stop"] = list(request.stop[:MAX_STOP])
        body["stream"] = True
        return Call(url=url, body=body, what="a completion answer")

    def on_event(self, event: ServerSentEvent, state: StreamState) -> tuple[str, Finish | None]:
        data = event.data.strip()
        if data == "[DONE]":
            return "", Finish(reason=state.finish_reason or "stop", usage=state.usage, id=state.id)
        if not data:
            return "", None
        obj = parse_json_data(event, self.service)
        if not isinstance(obj, dict):
            raise ProtocolError(f"{self.service} sent a stream chunk that is not an object.")
        if "error" in obj or event.event == "error":
            raise _error(obj, self.service)
        if isinstance(obj.get("id"), str):
            state.id = obj["id"]
        usage = obj.get("usage")
        if isinstance(usage, dict):
            state.usage = usage_from(usage, "prompt_tokens", "completion_tokens")
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices:
            return "", None  # usage-only and other chunks without choices
        choice = choices[0]
        if not isinstance(choice, dict):
            raise ProtocolError(f"{self.service} sent a malformed stream chunk.")
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            state.finish_reason = reason
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
        return (text if isinstance(text, str) else ""), None

    def on_end(self, state: StreamState) -> Finish | None:
        # Some servers end with a finish_reason but no `[DONE]`: that answer is complete.
        if state.finish_reason:
            return Finish(reason=state.finish_reason, usage=state.usage, id=state.id)
        return None

    def on_json(self, body: Any, request: GenerateRequest) -> tuple[str, Finish]:
        if not isinstance(body, dict):
            raise ProtocolError(f"{self.service} answered with JSON that is not a completion.")
        if "error" in body:
            raise _error(body, self.service)
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ProtocolError(f"{self.service} answered without choices; check `baseUrl`.")
        choice = choices[0]
        message = choice.get("message")
        text = message.get("content") if isinstance(message, dict) else choice.get("text")
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise ProtocolError(f"{self.service} answered with content that is not text.")
        reason = choice.get("finish_reason")
        gen_id = body.get("id")
        return text, Finish(
            reason=reason if isinstance(reason, str) and reason else "stop",
            usage=usage_from(body.get("usage"), "prompt_tokens", "completion_tokens"),
            id=gen_id if isinstance(gen_id, str) else None,
        )


def _error(obj: dict[str, Any], service: str) -> ProtocolError:
    err = obj.get("error")
    message: Any = None
    code: Any = None
    if isinstance(err, dict):
        message, code = err.get("message"), err.get("code") or err.get("type")
    elif isinstance(err, str):
        message = err
    text = message.strip()[:300] if isinstance(message, str) and message.strip() else "an error without details"
    code_text = str(code) if isinstance(code, (str, int)) else None
    return ProtocolError(
        f"{service} stopped the generation: {text}{f' ({code_text})' if code_text else ''}. Try again.",
        code=code_text,
    )
