"""`hoody/status`: what the server holds right now (for diagnostics, soak tests and benchmarks).

Answers {"version", "documents", "tasks", "openStreams", "inlineStreams", "rssMb", "backend", "baseUrl"};
never the key.
"""

from __future__ import annotations

import asyncio
import resource
import sys
from typing import TYPE_CHECKING, Any

from hoody_lsp import __version__

if TYPE_CHECKING:
    from hoody_lsp.server import HoodyServer

METHOD = "hoody/status"


def rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def register(server: HoodyServer) -> None:
    @server.feature(METHOD)
    def status(ls: HoodyServer, params: Any = None) -> dict[str, Any]:
        backend = ls.current_backend
        return {
            "version": __version__,
            "documents": len(ls.documents.uris()),
            # this request's own task is not counted
            "tasks": len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()]),
            "openStreams": backend.open_streams if backend is not None else 0,
            "inlineStreams": ls.inline.running_streams,
            "rssMb": round(rss_mb(), 1),
            "backend": ls.settings.backend,
            "baseUrl": ls.settings.effective_base_url,
        }
