"""Composition root: builds the language server, owns its state, registers every handler.

State owned here (and only here): the resolved settings and their raw layers, the client's flags, the open
documents, the backend (built lazily, rebuilt when the settings that route requests change), the backend's
health, the context engine, the inline engine, and the running commands. Handlers (`handlers/`) stay thin:
they take a snapshot, call a service or the pure core, and convert to LSP types.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from hoody_lsp import __version__
from hoody_lsp.backends.base import Backend
from hoody_lsp.capabilities import ClientFlags
from hoody_lsp.documents import DocumentStore, Snapshot
from hoody_lsp.logs import register_secret
from hoody_lsp.services.health import BackendHealth, Level
from hoody_lsp.transport import Unreadable, answer_unreadable, parse_error_response, start_stdio

if TYPE_CHECKING:  # heavy modules load after the initialize answer (start-up is measured)
    from hoody_lsp.context import ContextEngine
    from hoody_lsp.services.inline import InlineEngine
    from hoody_lsp.settings import Settings

log = logging.getLogger(__name__)

_LEVELS = {
    "error": types.MessageType.Error,
    "warning": types.MessageType.Warning,
    "info": types.MessageType.Info,
}


class HoodyProtocol(LanguageServerProtocol):
    """pygls' protocol, with text synchronisation left to our own `DocumentStore`.

    pygls would keep a second copy of every document and apply each change to it before our handler runs (an
    exception there would skip ours); the overrides below only hand the notification to our handlers.
    `$/cancelRequest` is also reported to the server, because pygls does not cancel a running command.
    """

    _server: HoodyServer

    # Plain calls, not pygls' generator hand-off (a second future, a uuid and a callback per keystroke):
    # our handlers are synchronous; an exception still reaches pygls' handler-result check.
    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Any:
        return self._notify_feature(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        return self._notify_feature(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Any:
        return self._notify_feature(types.TEXT_DOCUMENT_DID_CLOSE, params)

    def _notify_feature(self, method: str, params: Any) -> Any:
        handler = self.fm.features.get(method)
        if handler is None:
            return None
        result = handler(params)
        if inspect.isawaitable(result):  # a coroutine handler runs as its own task, as pygls would run it
            return asyncio.ensure_future(result)
        return result

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "method" in data and ("id" in data or "jsonrpc" in data):  # a request or notification
            if data.get("jsonrpc") != "2.0" or not isinstance(data["method"], str):
                return answer_unreadable(self, data, JsonRpcInvalidRequest())
            data.setdefault("params", None)  # JSON-RPC lets `params` be omitted
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            return answer_unreadable(self, data, error)

    def handle_message(self, message: Any) -> None:
        if isinstance(message, Unreadable):
            return
        if not hasattr(message, "jsonrpc"):  # valid JSON, but no JSON-RPC message (a list, a number, ...)
            log.warning("ignoring a message that is not JSON-RPC: %.200r", message)
            return
        super().handle_message(message)

    def _execute_handler(self, msg_id: Any, handler: Any, callback: Any, args: Any = None, kwargs: Any = None
                         ) -> None:
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        # pygls keeps the future of every notification handled by a generator or a coroutine under a fresh
        # id and never drops it: one entry per keystroke. Forget it once it is done.
        if callback == self._check_handler_result:
            future = self._request_futures.get(msg_id)
            if future is not None:
                loop = asyncio.get_running_loop()

                def forget(_done: Any) -> None:
                    # later, not now: pygls may be iterating over its futures (shutdown cancels them all)
                    loop.call_soon(self._request_futures.pop, msg_id, None)

                future.add_done_callback(forget)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        super()._handle_cancel_notification(msg_id)
        self._server.request_cancelled(msg_id)


class HoodyServer(LanguageServer):
    """The server and its state. Settings, the context engine and the inline engine are built on first use,
    which is after the initialize answer: importing pydantic and the engines would otherwise delay it."""

    def __init__(self) -> None:
        super().__init__("hoody-lsp", __version__, protocol_cls=HoodyProtocol)
        self.flags = ClientFlags()
        self.documents = DocumentStore()
        self.init_layer: dict[str, Any] = {}
        self.config_layer: dict[str, Any] = {}
        self.workspace_roots: list[str] = []
        self._settings: Settings | None = None
        self._pending_warnings: list[str] = []
        self._told_warnings: set[str] = set()
        self._backend: Backend | None = None
        self.health = BackendHealth(self.notify)
        self.background: set[asyncio.Task[Any]] = set()
        self.cancel_listeners: dict[Any, list[Any]] = {}
        self.shutting_down = False
        self.watching_files = False
        # set once the editor's configuration has been read (requests wait for it, briefly)
        self.config_ready = asyncio.Event()
        # per document: callbacks told of every change (spans in code points of the text before it)
        self.change_listeners: dict[str, list[Callable[[Snapshot, list[tuple[int, int, int]]], None]]] = {}

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self.apply_settings()
        assert self._settings is not None
        return self._settings

    @cached_property
    def env_layer(self) -> dict[str, Any]:
        from hoody_lsp.settings import environment_layer

        return environment_layer(os.environ)

    @cached_property
    def context_engine(self) -> ContextEngine:
        from hoody_lsp.context import ContextEngine

        engine = ContextEngine(exclude=self.settings.context.exclude)
        for root in self.workspace_roots:
            engine.add_workspace(root)
        return engine

    @cached_property
    def inline(self) -> InlineEngine:
        from hoody_lsp.context import redact
        from hoody_lsp.services.inline import InlineEngine

        return InlineEngine(
            backend=self.backend,
            health=self.health,
            settings=lambda: self.settings,
            context=self._inline_context,
            allowed=self.path_allowed,
            redact=redact,
            # benchmarks compare with and without early answers; not a user setting
            early_answer=os.environ.get("HOODY_EARLY_ANSWER", "1") != "0",
        )

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(error, json.JSONDecodeError):
            # JSON-RPC 2.0: a body that is not JSON gets a Parse error with id null
            self.protocol._send_data(parse_error_response())
            return
        super().report_server_error(error, source)

    # -- settings and backend -------------------------------------------------------------------------

    def backend(self) -> Backend:
        if self._backend is None:
            from hoody_lsp.backends import make_backend

            self._backend = make_backend(self.settings)
        return self._backend

    @property
    def current_backend(self) -> Backend | None:
        """The backend if one has been built (never builds one)."""
        return self._backend

    def warm_up(self) -> None:
        """Load the HTTP stack now, off the event loop, rather than on the first keystroke."""
        import importlib

        async def load() -> None:
            try:
                await asyncio.to_thread(importlib.import_module, "httpx")
                await asyncio.to_thread(importlib.import_module, f"hoody_lsp.backends.{self.settings.backend}")
                self.backend()
            except Exception:
                log.exception("could not load the backend")

        self.spawn(load())

    def apply_settings(self) -> None:
        """Re-resolve every layer; rebuild the backend when where requests go has changed."""
        from hoody_lsp.settings import resolve

        settings, warnings = resolve(self.env_layer, self.init_layer, self.config_layer)
        register_secret(settings.key())
        previous, self._settings = self._settings, settings
        if previous is None:
            self._pending_warnings.extend(warnings)
            return
        routing_changed = settings.routing_fingerprint() != previous.routing_fingerprint()
        if "context_engine" in self.__dict__:
            self.context_engine.set_exclude(settings.context.exclude)
        if routing_changed:
            self.health.settings_changed()
            if "inline" in self.__dict__:
                self.inline.reset()
            old, self._backend = self._backend, None
            if old is not None:
                self.spawn(old.aclose())
        self._pending_warnings.extend(warnings)
        self.flush_warnings()

    def flush_warnings(self) -> None:
        for warning in self._pending_warnings:
            if warning not in self._told_warnings:
                self._told_warnings.add(warning)
                self.notify("warning", warning)
        self._pending_warnings = []

    # -- helpers for handlers -------------------------------------------------------------------------

    def notify(self, level: Level, text: str) -> None:
        log.info("message to the user (%s): %s", level, text)
        try:
            self.window_show_message(types.ShowMessageParams(type=_LEVELS[level], message=text))
        except Exception:  # no transport (tests, shutdown): the log has it
            log.debug("could not show message", exc_info=True)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    def snapshot(self, uri: str) -> Snapshot | None:
        return self.documents.get(uri)

    def document_changed(self, snap: Snapshot, spans: list[tuple[int, int, int]]) -> None:
        for callback in list(self.change_listeners.get(snap.uri, ())):
            callback(snap, spans)

    def path_allowed(self, path: str) -> bool:
        from hoody_lsp.context import is_secret_path

        if is_secret_path(path):
            return False
        return self.context_engine.is_allowed(path)

    def _inline_context(self, query: Any, budget: int) -> list[Any]:
        from hoody_lsp.handlers.common import gather_context

        return gather_context(self, query.path, query.text, query.offset, query.language, budget)

    def request_cancelled(self, msg_id: Any) -> None:
        for callback in self.cancel_listeners.pop(msg_id, []):
            callback()

    async def close_everything(self) -> None:
        """Shutdown: close every upstream stream and the HTTP client."""
        self.shutting_down = True
        if "inline" in self.__dict__:
            self.inline.close_all()
        from hoody_lsp.handlers.commands import cancel_all_commands

        await cancel_all_commands(self)
        for task in list(self.background):
            task.cancel()
        if self._backend is not None:
            await self._backend.aclose()
            self._backend = None


def create_server() -> HoodyServer:
    from hoody_lsp.handlers import actions, commands, context, documents, inline, lifecycle, status

    server = HoodyServer()
    for module in (lifecycle, documents, inline, actions, commands, context, status):
        module.register(server)
    return server


def serve(tcp: tuple[str, int] | None = None) -> int:
    # pygls logs every message and httpx every request at INFO; keep that chatter out unless debugging
    if logging.getLogger().level > logging.DEBUG:
        for name in ("pygls", "httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
    server = create_server()
    if tcp:
        server.start_tcp(*tcp)
    else:
        start_stdio(server)
    return 0


def layer_from(value: Any) -> dict[str, Any]:
    """A settings layer from whatever the client sent (dict, or None)."""
    if isinstance(value, Mapping):
        return dict(value)
    return {}
