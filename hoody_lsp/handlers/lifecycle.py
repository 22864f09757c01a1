"""initialize / initialized / configuration / workspace folders / shutdown / exit, and the parent watchdog."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from hoody_lsp.capabilities import ClientFlags, negotiated_encoding
from hoody_lsp.handlers.common import uri_to_path
from hoody_lsp.server import layer_from

if TYPE_CHECKING:
    from hoody_lsp.server import HoodyServer

log = logging.getLogger(__name__)

PARENT_POLL_S = 1.0
RESCAN_S = 15.0
WATCH_ID = "hoody-watched-files"


def register(server: HoodyServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: HoodyServer, params: types.InitializeParams) -> None:
        ls.flags = ClientFlags.from_params(params)
        ls.documents.encoding = negotiated_encoding(params.capabilities)
        ls.init_layer = layer_from(params.initialization_options)
        # settings and the context engine are built after the answer (see HoodyServer)
        ls.workspace_roots = _workspace_roots(params)
        if not ls.flags.configuration:
            ls.config_ready.set()
        log.info("client %r, position encoding %s", ls.flags.name, ls.documents.encoding)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: HoodyServer, params: types.InitializedParams) -> None:
        if ls.process_id:
            ls.spawn(_watch_parent(ls, ls.process_id))
        ls.apply_settings()
        try:
            await _pull_configuration(ls)
        finally:
            ls.config_ready.set()
        ls.flush_warnings()
        ls.warm_up()
        if ls.flags.watched_files_dynamic:
            await _register_watchers(ls)
        ls.spawn(_index(ls))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: HoodyServer, params: types.DidChangeConfigurationParams) -> None:
        if ls.flags.configuration:
            await _pull_configuration(ls)
        else:
            settings = params.settings
            if isinstance(settings, dict):
                ls.config_layer = layer_from(settings.get("hoody", settings))
                ls.apply_settings()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(ls: HoodyServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for folder in params.event.removed:
            ls.context_engine.remove_workspace(uri_to_path(folder.uri))
        for folder in params.event.added:
            ls.context_engine.add_workspace(uri_to_path(folder.uri))
        if params.event.added:
            ls.spawn(_index(ls))

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: HoodyServer, params: Any = None) -> None:
        await ls.close_everything()

    @server.feature(types.EXIT)
    async def exit_(ls: HoodyServer, params: Any = None) -> None:
        loop = asyncio.get_running_loop()
        # exit may arrive while shutdown is still closing streams: let it finish, so the exit code says 0
        deadline = loop.time() + 2.0
        while ls.shutting_down and not ls.protocol._shutdown and loop.time() < deadline:
            await asyncio.sleep(0.01)
        # pygls exits through sys.exit once its writer is closed; make sure a stdin reader thread blocked on
        # a read cannot keep the process alive after that.
        loop.call_later(1.0, os._exit, 0 if ls.shutting_down else 1)


def _workspace_roots(params: types.InitializeParams) -> list[str]:
    if params.workspace_folders:
        return [uri_to_path(f.uri) for f in params.workspace_folders]
    if params.root_uri:
        return [uri_to_path(params.root_uri)]
    if params.root_path:
        return [params.root_path]
    return []


async def _pull_configuration(ls: HoodyServer) -> None:
    if not ls.flags.configuration:
        return
    try:
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="hoody")])
            ),
            timeout=5.0,
        )
    except Exception as exc:  # a client that cannot answer keeps the settings it gave at initialize
        log.warning("workspace/configuration failed: %r", exc)
        return
    ls.config_layer = layer_from(result[0] if result else None)
    ls.apply_settings()


async def _register_watchers(ls: HoodyServer) -> None:
    try:
        await ls.client_register_capability_async(
            types.RegistrationParams(
                registrations=[
                    types.Registration(
                        id=WATCH_ID,
                        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        register_options=types.DidChangeWatchedFilesRegistrationOptions(
                            watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
                        ),
                    )
                ]
            )
        )
        ls.watching_files = True
    except Exception as exc:
        log.warning("could not register file watchers: %r", exc)


async def _index(ls: HoodyServer) -> None:
    try:
        await ls.context_engine.build_index()
        while not getattr(ls, "watching_files", False):
            await asyncio.sleep(RESCAN_S)
            await ls.context_engine.rescan()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("workspace index failed; context falls back to open buffers")


async def _watch_parent(ls: HoodyServer, pid: int) -> None:
    """Exit when the editor that started us is gone (it may die without sending shutdown/exit)."""
    while True:
        await asyncio.sleep(PARENT_POLL_S)
        if not _alive(pid):
            log.warning("editor process %s is gone; exiting", pid)
            try:
                await asyncio.wait_for(ls.close_everything(), timeout=2.0)
            finally:
                sys.stderr.flush()
                os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
