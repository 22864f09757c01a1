"""The one exception tree of every backend call, with words a user can act on.

    BackendError                      kind           check problem
    ├── ConfigError                   config         config      (bad URL, http:// to a remote host, no model)
    │   └── NoKeyError                no_key         no_key
    ├── AuthError                     auth           auth        (401/403: key missing, invalid or expired)
    ├── NotFoundError                 not_found      not_found   (404: wrong baseUrl or path)
    ├── RateLimitedError              rate_limited   rate_limited (429, with retry_after seconds)
    ├── ServerError                   server         protocol    (5xx, 408, 425: the service failed)
    ├── NetworkError                  unreachable    unreachable (refused, DNS, reset)
    ├── TlsError                      tls            tls
    ├── GenerationTimeout             timeout        timeout     (no bytes within http.timeoutS, or the deadline)
    ├── ProtocolError                 protocol       protocol    (not JSON/SSE, malformed data, truncated, error event)
    ├── TooLargeError                 too_large      protocol    (the answer passed its cap)
    └── GenerationCancelled           cancelled      -           (closed by us; never shown to the user)

Handlers are the only place that turns one of these into "no result" plus at most one message per `kind`.
`asyncio.CancelledError` is never converted into one of these: it always propagates.
"""

from __future__ import annotations

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class BackendError(Exception):
    kind: str = "error"
    problem: str = "protocol"
    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigError(BackendError):
    kind = "config"
    problem = "config"


class NoKeyError(ConfigError):
    kind = "no_key"
    problem = "no_key"


class AuthError(BackendError):
    kind = "auth"
    problem = "auth"


class NotFoundError(BackendError):
    kind = "not_found"
    problem = "not_found"


class RateLimitedError(BackendError):
    kind = "rate_limited"
    problem = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429,
                 code: str | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class ServerError(BackendError):
    kind = "server"
    problem = "protocol"
    retryable = True


class NetworkError(BackendError):
    kind = "unreachable"
    problem = "unreachable"
    retryable = True


class TlsError(BackendError):
    kind = "tls"
    problem = "tls"


class GenerationTimeout(BackendError):
    kind = "timeout"
    problem = "timeout"
    retryable = True


class ProtocolError(BackendError):
    kind = "protocol"
    problem = "protocol"


class TooLargeError(BackendError):
    kind = "too_large"
    problem = "protocol"


class GenerationCancelled(BackendError):
    kind = "cancelled"
    problem = "protocol"
