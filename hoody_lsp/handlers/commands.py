"""workspace/executeCommand for the hoody.* commands (being built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hoody_lsp.server import HoodyServer


def register(server: HoodyServer) -> None:
    return None


async def cancel_all_commands(server: HoodyServer) -> None:
    return None
