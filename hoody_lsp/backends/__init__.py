"""Backends: `make_backend(settings)` builds the one the settings name. The only package that talks HTTP.

Importing this package stays cheap (the server imports it at start-up): httpx and the wire modules load on
the first `make_backend` call. A backend never raises when built; a bad setting (no key, `http://` to a remote
host, no model for an OpenAI-compatible server) surfaces as the typed error of its first generation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoody_lsp.backends.base import Backend

if TYPE_CHECKING:
    from hoody_lsp.settings import Settings

__all__ = ["Backend", "make_backend"]


def make_backend(settings: Settings) -> Backend:
    """A new backend for `settings`; call `aclose()` on the old one when the settings change."""
    if settings.backend == "openai":
        from hoody_lsp.backends.openai import OpenAIBackend

        return OpenAIBackend(settings)
    from hoody_lsp.backends.hoody import HoodyBackend

    return HoodyBackend(settings)
