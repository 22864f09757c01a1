"""What the server remembers about the backend's failures, and the one message per kind the user hears.

- After a 429, no inline request goes out until `Retry-After` has passed.
- After an auth, not-found or configuration failure, inline requests stop until the settings change.
- The user hears of a failing backend once per kind of failure, until a request succeeds again.

No asyncio timers, no pygls: the caller passes a `notify(level, text)` callable and the clock is injectable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from hoody_lsp.backends.errors import BackendError, RateLimitedError

log = logging.getLogger(__name__)

Level = Literal["error", "warning", "info"]
Notify = Callable[[Level, str], None]

# kinds that will fail again until the user changes something
_BLOCKING = frozenset({"auth", "not_found", "config", "no_key"})
_WARNING_KINDS = frozenset({"rate_limited", "timeout", "unreachable", "server"})


class BackendHealth:
    def __init__(self, notify: Notify, clock: Callable[[], float] = time.monotonic) -> None:
        self._notify = notify
        self._clock = clock
        self._told: set[str] = set()
        self._blocked: BackendError | None = None
        self._quiet_until = 0.0

    def inline_gate(self) -> str | None:
        """Why an inline request must not go out now, or None."""
        if self._blocked is not None:
            return self._blocked.kind
        if self._clock() < self._quiet_until:
            return "rate_limited"
        return None

    @property
    def retry_after_s(self) -> float:
        return max(0.0, self._quiet_until - self._clock())

    def failure(self, error: BackendError) -> None:
        log.warning("backend failure (%s): %s", error.kind, error.message)
        if error.kind == "cancelled":
            return
        if isinstance(error, RateLimitedError):
            self._quiet_until = max(self._quiet_until, self._clock() + error.retry_after)
        if error.kind in _BLOCKING:
            self._blocked = error
        if error.kind in self._told:
            return
        self._told.add(error.kind)
        level: Level = "warning" if error.kind in _WARNING_KINDS else "error"
        self._notify(level, f"Hoody: {error.message}")

    def told(self, kind: str) -> bool:
        """Whether the user already heard of this kind of failure (since the last success)."""
        return kind in self._told

    def success(self) -> None:
        self._told.clear()

    def settings_changed(self) -> None:
        """New settings may fix what was wrong: try again, and tell again if it still fails."""
        self._blocked = None
        self._quiet_until = 0.0
        self._told.clear()
