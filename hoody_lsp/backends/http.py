"""The HTTP machinery both backends share: URL and key policy, one pooled client, statuses and transport
errors mapped to the error tree, retries for commands, the whole-call deadline, the answer's cap, and
open-stream tracking.

A concrete backend (hoody.py, openai.py) only says what to POST (`prepare`) and how to read one SSE event or
one JSON answer (`on_event`, `on_end`, `on_json`). Everything that decides where code and the key go lives
here, in one place:

- `http://` is refused unless the host is loopback or `http.allowInsecure` is set.
- Redirects are never followed: a 3xx becomes NotFoundError naming where it pointed, so the key is never
  sent to a host the user did not configure.
- No key: NoKeyError before any network call, except for an `openai` backend on a loopback URL (local
  servers such as Ollama or llama.cpp take no key; then no Authorization header is sent at all).
- The proxy (`http.proxy`) is not used for loopback hosts nor for hosts listed in NO_PROXY.

Timeouts: connect 5 s (less if the deadline is nearer); `http.timeoutS` is the longest silence between
bytes (keep-alive comments are bytes); `request.deadline_s` bounds the whole call. The deadline is checked
around each wait for bytes, never across a `yield`, so a cancellation it causes can only land inside this
module.
"""

from __future__ import annotations

import abc
import asyncio
import email.utils
import json
import logging
import os
import socket
import ssl
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from hoody_lsp import __version__
from hoody_lsp.backends.base import Backend, Finish, GenerateRequest, Generation, Usage
from hoody_lsp.backends.errors import (
    RETRYABLE_STATUSES,
    AuthError,
    BackendError,
    ConfigError,
    GenerationCancelled,
    GenerationTimeout,
    NetworkError,
    NoKeyError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    TlsError,
    TooLargeError,
)
from hoody_lsp.backends.sse import EventTooLarge, aiter_sse
from hoody_lsp.settings import Settings, is_loopback

if TYPE_CHECKING:  # httpx loads on the first generation, not when the server starts
    import httpx
    from httpx_sse import ServerSentEvent

log = logging.getLogger("hoody_lsp.backends")

CONNECT_TIMEOUT_S = 5.0
RETRY_BUDGET_S = 30.0  # all retries of one command fit in this, counted from the first attempt
RETRY_AFTER_MAX_S = 30.0
RETRY_AFTER_DEFAULT_S = 5.0
MAX_ATTEMPTS = 6
ERROR_BODY_BYTES = 64 * 1024
DRAIN_S = 1.0  # after the final event, how long the rest of a response may take to keep its connection
DRAIN_BYTES = 16 * 1024
# The drain starts this long after the final event: the answer it ended goes out first (the drain is a few
# hundred microseconds of httpcore work that would otherwise run between the final event and the answer).
DRAIN_AFTER_S = 0.005
USER_AGENT = f"hoody-lsp/{__version__}"
KEY_HINT = "set HOODY_API_KEY in the environment or the `apiKey` setting"


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request a backend wants made."""

    url: str
    body: dict[str, Any]
    what: str = "a generation"  # for messages: "an answer from <what>"


@dataclass(slots=True)
class StreamState:
    """Scratch space for a backend while it reads one stream."""

    finish_reason: str | None = None
    usage: Usage | None = None
    id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _abandon(sending: asyncio.Future[httpx.Response]) -> None:
    """Let a send nobody waits for finish, then close its response; give up on it after ABANDON_S."""

    async def finish() -> None:
        try:
            async with asyncio.timeout(ABANDON_S):
                response = await sending
        except BaseException:
            sending.cancel()
            return
        await response.aclose()

    task = asyncio.ensure_future(finish())
    _ABANDONED.add(task)
    task.add_done_callback(_ABANDONED.discard)


_ABANDONED: set[asyncio.Task[None]] = set()
ABANDON_S = 10.0


async def _close(response: httpx.Response) -> None:
    """Close a response even when the task closing it is cancelled again meanwhile: the close runs as its
    own task, so a second cancel cannot cut it short and leave the connection open."""
    closing = asyncio.ensure_future(response.aclose())
    try:
        await asyncio.shield(closing)
    except asyncio.CancelledError:
        await asyncio.wait([closing], timeout=1.0)
        raise


class _Disconnected(NetworkError):
    """The server closed the connection before any answer (often a stale keep-alive connection)."""


def display_url(url: str) -> str:
    """A URL for messages: no user-info, no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def host_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


def parse_retry_after(value: str | None, now: float | None = None) -> float:
    """Retry-After as seconds (a number or an HTTP date), clamped to 0..30; 5 s when absent or unreadable."""
    if not value:
        return RETRY_AFTER_DEFAULT_S
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return RETRY_AFTER_DEFAULT_S
        if when is None:
            return RETRY_AFTER_DEFAULT_S
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return RETRY_AFTER_DEFAULT_S
    return max(0.0, min(RETRY_AFTER_MAX_S, seconds))


def _no_proxy_matches(host: str, env: dict[str, str] | os._Environ[str]) -> bool:
    raw = env.get("NO_PROXY") or env.get("no_proxy") or ""
    host = host.lower()
    for item in raw.split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item == "*":
            return True
        item = item.split(":")[0].lstrip(".").removeprefix("*.")
        if host == item or host.endswith("." + item):
            return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in seen:
        seen.append(node)
        node = node.__cause__ or node.__context__
    return seen


def _is_tls(exc: BaseException) -> bool:
    return any(isinstance(e, ssl.SSLError) or "[SSL" in str(e) for e in _chain(exc))


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _error_details(raw: bytes) -> tuple[str | None, str | None]:
    """(message, code) from either documented error body, or from an OpenAI-style {"error": {...}}."""
    body = _json_or_none(raw)
    if not isinstance(body, dict):
        return None, None
    err = body.get("error")
    if isinstance(err, dict):  # OpenAI style
        message = err.get("message")
        code = err.get("code") or err.get("type")
    else:
        message = body.get("message") or (err if isinstance(err, str) else None)
        code = body.get("code")
    message = message.strip() if isinstance(message, str) and message.strip() else None
    code = str(code) if isinstance(code, (str, int)) and str(code) else None
    if message and len(message) > 300:
        message = message[:297] + "..."
    return message, code


class HttpBackend(Backend):
    """A backend that POSTs JSON and reads SSE (or one JSON answer). Subclasses give the wire details."""

    name = "http"
    service = "the server"  # for messages

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None
        self._streams: set[httpx.Response] = set()
        self._draining: dict[httpx.Response, asyncio.Task[None]] = {}
        self._closed = False

    # -- what subclasses provide ------------------------------------------------------------------------

    @abc.abstractmethod
    def prepare(self, request: GenerateRequest) -> Call:
        """The URL and JSON body for `request` (raise ConfigError for what cannot be sent)."""

    @abc.abstractmethod
    def on_event(self, event: ServerSentEvent, state: StreamState) -> tuple[str, Finish | None]:
        """One SSE event -> (text, finish or None). Raise ProtocolError for a bad or error event."""

    @abc.abstractmethod
    def on_end(self, state: StreamState) -> Finish | None:
        """The stream ended without a finish event: a Finish if that is still a success, else None."""

    @abc.abstractmethod
    def on_json(self, body: Any, request: GenerateRequest) -> tuple[str, Finish]:
        """A whole (non-streamed) JSON answer -> (text, finish)."""

    def needs_key(self) -> bool:
        return True

    # -- the Backend interface --------------------------------------------------------------------------

    def generate(self, request: GenerateRequest) -> Generation:
        return Generation(self._run(request))

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    async def aclose(self) -> None:
        self._closed = True
        streams = list(self._streams)
        self._streams.clear()
        for response in streams:
            try:
                await response.aclose()
            except Exception:  # closing what is already broken must not stop closing the rest
                log.debug("closing a stream failed", exc_info=True)
        for task in list(self._draining.values()):
            task.cancel()
        if self._draining:
            await asyncio.gather(*self._draining.values(), return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- policy ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.settings.effective_base_url

    def headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream, application/json",
            "User-Agent": USER_AGENT,
            "Cache-Control": "no-store",
        }
        key = self.settings.key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def check_policy(self) -> None:
        """Everything that must hold before a byte leaves: raises ConfigError / NoKeyError."""
        parts = urlsplit(self.base_url)
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host:
            raise ConfigError(f"The backend URL {display_url(self.base_url)!r} is not an http(s) URL; fix `baseUrl`.")
        if parts.scheme == "http" and not is_loopback(host) and not self.settings.http.allow_insecure:
            raise ConfigError(
                f"Refusing to send code and your API key over plain http:// to {host}. Use an https:// "
                "`baseUrl`, or set `http.allowInsecure` to true if you trust that network."
            )
        key = self.settings.key()
        if not key:
            if self.needs_key():
                raise NoKeyError(f"No API key: {KEY_HINT}.")
            return
        if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
            raise ConfigError(
                "The API key contains spaces or characters an API key cannot have; check HOODY_API_KEY or "
                "the `apiKey` setting."
            )

    def _client_for_use(self) -> httpx.AsyncClient:
        import httpx

        if self._client is not None:
            return self._client
        http = self.settings.http
        verify: ssl.SSLContext | bool = True
        if http.ca_bundle:
            path = os.path.expanduser(http.ca_bundle)
            try:
                if os.path.isdir(path):
                    verify = ssl.create_default_context(capath=path)
                else:
                    verify = ssl.create_default_context(cafile=path)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"Cannot use the CA bundle {http.ca_bundle!r} (`http.caBundle` / SSL_CERT_FILE): "
                    f"{exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}."
                ) from None
        host = urlsplit(self.base_url).hostname or ""
        proxy = http.proxy
        if proxy and (is_loopback(host) or _no_proxy_matches(host, os.environ)):
            proxy = None
        try:
            self._client = httpx.AsyncClient(
                verify=verify,
                proxy=proxy,
                trust_env=False,  # proxy and CA come from settings (which read the environment)
                follow_redirects=False,
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=8, keepalive_expiry=15.0),
                timeout=httpx.Timeout(http.timeout_s, connect=CONNECT_TIMEOUT_S),
                headers={"User-Agent": USER_AGENT},
            )
        except (ValueError, TypeError, httpx.InvalidURL) as exc:
            raise ConfigError(f"The proxy URL in `http.proxy` / HTTPS_PROXY is not usable: {exc}.") from None
        return self._client

    # -- one generation ---------------------------------------------------------------------------------

    async def _run(self, request: GenerateRequest) -> AsyncGenerator[str | Finish, None]:
        import httpx

        if self._closed:
            raise GenerationCancelled("The backend was closed.")
        self.check_policy()
        call = self.prepare(request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + request.deadline_s if request.deadline_s is not None else None
        response = await self._open(call, request, started, deadline)
        t_headers = loop.time()
        chars = 0
        try:
            async for text, finish in self._read(response, call, request, deadline):
                if text:
                    room = request.cap_chars - chars
                    if len(text) > room:
                        if request.cap_is_error:
                            raise TooLargeError(
                                f"The answer passed {request.cap_chars:,} characters, the most this request "
                                "accepts, and was dropped. Try a smaller selection or a narrower instruction."
                            )
                        if room > 0:
                            yield text[:room]
                        yield Finish("length")
                        return
                    chars += len(text)
                    yield text
                if finish is not None:
                    log.debug(
                        "%s: %d chars, headers %.0f ms, total %.0f ms, finish %s",
                        self.name,
                        chars,
                        (t_headers - started) * 1000,
                        (loop.time() - started) * 1000,
                        finish.reason,
                    )
                    yield finish
                    return
        except BackendError:
            raise
        except TimeoutError:
            raise self._deadline_error(request) from None
        except httpx.HTTPError as exc:
            self._raise_transport(exc, call, request, deadline, during_body=True)
        except Exception as exc:
            if self._closed:
                raise GenerationCancelled("The backend was closed.") from None
            raise ProtocolError(
                f"{self.service} sent an answer hoody-lsp could not read ({type(exc).__name__})."
            ) from exc
        finally:
            self._streams.discard(response)
            if response not in self._draining:
                await _close(response)

    def _drain_later(self, response: httpx.Response, chunks: AsyncGenerator[bytes, None]) -> None:
        """Read what little follows the final event (the chunked terminator) in the background, so the
        connection goes back to the pool for the next request instead of being closed; the caller gets its
        finish at once."""
        self._streams.discard(response)
        task = asyncio.get_running_loop().create_task(self._drain(response, chunks))
        self._draining[response] = task

    async def _drain(self, response: httpx.Response, chunks: AsyncGenerator[bytes, None]) -> None:
        try:
            await asyncio.sleep(DRAIN_AFTER_S)
            async with asyncio.timeout(DRAIN_S):
                left = DRAIN_BYTES
                async for piece in chunks:
                    left -= len(piece)
                    if left < 0:
                        break  # more than a terminator: not worth keeping this connection
        except (Exception, asyncio.CancelledError):
            pass  # a connection that does not end cleanly is simply closed
        finally:
            self._draining.pop(response, None)
            try:
                await chunks.aclose()
            finally:
                await response.aclose()

    async def _open(
        self, call: Call, request: GenerateRequest, started: float, deadline: float | None
    ) -> httpx.Response:
        """Send the request; return a 2xx response whose body is still unread. Retries live here."""
        loop = asyncio.get_running_loop()
        attempt = 0
        reconnected = False
        while True:
            attempt += 1
            try:
                return await self._attempt(call, request, deadline)
            except BackendError as exc:
                if isinstance(exc, _Disconnected) and not reconnected:
                    # A pooled connection the server had already closed: one immediate fresh try, for
                    # every request (nothing was answered, nothing waits).
                    reconnected = True
                    continue
                # SPEC's retryable statuses, and a connection dropped before any answer; a refused connection
                # or an unknown host will not heal in seconds, so the user hears of it at once
                retryable = exc.status in RETRYABLE_STATUSES or type(exc) is _Disconnected
                if not request.retry or not retryable or attempt >= MAX_ATTEMPTS:
                    raise
                backoff = min(8.0, 0.5 * 2 ** (attempt - 1))
                delay = exc.retry_after if isinstance(exc, RateLimitedError) else backoff
                now = loop.time()
                if now + delay - started > RETRY_BUDGET_S or (deadline is not None and now + delay >= deadline):
                    raise
                log.info("%s: %s; retrying in %.1f s", self.name, exc.kind, delay)
                await asyncio.sleep(delay)

    async def _attempt(self, call: Call, request: GenerateRequest, deadline: float | None) -> httpx.Response:
        import httpx

        client = self._client_for_use()
        loop = asyncio.get_running_loop()
        connect = CONNECT_TIMEOUT_S
        if deadline is not None:
            connect = max(0.001, min(connect, deadline - loop.time()))
        timeout = httpx.Timeout(self.settings.http.timeout_s, connect=connect, pool=connect)
        content = json.dumps(call.body, ensure_ascii=False).encode("utf-8")
        # The send runs as its own task: cancelling it while httpcore sets up a connection or waits for the
        # answer's head can leave the pool slot taken for good (encode/httpcore#1093, seen here on both sides
        # of the request going out), and 16 such slots stop every later request. A caller that leaves lets
        # the send finish on its own (up to ABANDON_S) and its response is closed as soon as its head arrives.
        http_request = client.build_request("POST", call.url, content=content, headers=self.headers(), timeout=timeout)
        sending = asyncio.ensure_future(client.send(http_request, stream=True))
        try:
            async with asyncio.timeout_at(deadline):
                response = await asyncio.shield(sending)
        except TimeoutError:
            _abandon(sending)
            raise self._deadline_error(request) from None
        except asyncio.CancelledError:
            _abandon(sending)
            raise
        except httpx.HTTPError as exc:
            self._raise_transport(exc, call, request, deadline, during_body=False)
        if self._closed:
            await response.aclose()
            raise GenerationCancelled("The backend was closed.")
        self._streams.add(response)
        if 200 <= response.status_code < 300:
            return response
        try:
            raw = b""
            try:
                async with asyncio.timeout_at(deadline):
                    async for piece in response.aiter_bytes():
                        raw += piece
                        if len(raw) >= ERROR_BODY_BYTES:
                            break
            except (httpx.HTTPError, TimeoutError):
                pass  # the status says enough
        finally:
            self._streams.discard(response)
            await response.aclose()
        raise self._status_error(response, raw, call)

    # -- reading the answer -----------------------------------------------------------------------------

    async def _timed_bytes(self, response: httpx.Response, deadline: float | None) -> AsyncGenerator[bytes, None]:
        chunks = response.aiter_bytes()
        try:
            while True:
                async with asyncio.timeout_at(deadline):
                    try:
                        chunk = await anext(chunks)
                    except StopAsyncIteration:
                        return
                yield chunk
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]  # httpx types it as an AsyncIterator

    async def _read(
        self, response: httpx.Response, call: Call, request: GenerateRequest, deadline: float | None
    ) -> AsyncGenerator[tuple[str, Finish | None], None]:
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        max_event = request.cap_chars * 8 + 65536
        if ctype == "text/event-stream":
            state = StreamState()
            raw_chunks = self._timed_bytes(response, deadline)
            events = aiter_sse(raw_chunks, max_event_bytes=max_event)
            handed_off = False
            try:
                async for event in events:
                    text, finish = self.on_event(event, state)
                    if finish is not None:
                        await events.aclose()
                        self._drain_later(response, raw_chunks)
                        handed_off = True
                    yield text, finish
                    if finish is not None:
                        return
            except EventTooLarge:
                raise TooLargeError(
                    f"{self.service} sent one event larger than {max_event:,} bytes; the answer was dropped."
                ) from None
            finally:
                if not handed_off:
                    await events.aclose()
                    await raw_chunks.aclose()
            finish = self.on_end(state)
            if finish is None:
                raise ProtocolError(
                    f"{self.service} stopped sending before the answer was complete (the stream ended "
                    "without its final event). Try again."
                )
            yield "", finish
            return
        if ctype == "application/json" or ctype.endswith("+json"):
            raw = bytearray()
            async for piece in self._timed_bytes(response, deadline):
                raw += piece
                if len(raw) > max_event:
                    raise TooLargeError(f"{self.service} sent an answer over {max_event:,} bytes; it was dropped.")
            body = _json_or_none(bytes(raw))
            if body is None:
                raise ProtocolError(
                    f"{self.service} answered with JSON hoody-lsp could not read; check `baseUrl` "
                    "(is it the right kind of server?)."
                )
            text, finish = self.on_json(body, request)
            yield text, finish
            return
        if ctype in ("text/html", "application/xhtml+xml"):
            raise ProtocolError(
                f"{display_url(call.url)} answered with an HTML page instead of {call.what}: a proxy, "
                "captive portal or login page is in the way, or `baseUrl` points at a website."
            )
        raise ProtocolError(
            f"{display_url(call.url)} answered with content of type {ctype or 'unknown'!r} instead of "
            f"{call.what}; check `baseUrl`."
        )

    # -- errors -------------------------------------------------------------------------------------------

    def _deadline_error(self, request: GenerateRequest) -> GenerationTimeout:
        return GenerationTimeout(
            f"{self.service} did not answer within {request.deadline_s:g} s."
            if request.deadline_s is not None
            else f"{self.service} did not answer in time."
        )

    def _status_error(self, response: httpx.Response, raw: bytes, call: Call) -> BackendError:
        status = response.status_code
        message, code = _error_details(raw)
        key = self.settings.key()
        if key and message and key in message:  # a server echoing the key must not put it on screen
            message = message.replace(key, "<redacted>")
        said = f" ({message})" if message else ""
        where = display_url(call.url)
        if status in (401, 403):
            code_txt = f" {code}" if code in ("MISSING_TOKEN", "INVALID_TOKEN", "TOKEN_EXPIRED") else ""
            if code == "TOKEN_EXPIRED":
                what = "Your API key has expired"
            elif code == "MISSING_TOKEN":
                what = "The API key was not received"
            elif status == 403:
                what = "The API key is not allowed to use this service"
            else:
                what = "The API key was rejected"
            return AuthError(
                f"{what} ({status}{code_txt}) by {host_of(call.url)}: {KEY_HINT} to a valid key.",
                status=status,
                code=code,
            )
        if status == 404:
            hint = "check `baseUrl` and `generatePath`" if self.name == "hoody" else "check `baseUrl` and `model`"
            return NotFoundError(f"Not found: {where}{said}; {hint}.", status=status, code=code)
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            target = display_url(str(response.url.join(location))) if location else "another address"
            return NotFoundError(
                f"{where} redirects to {target}; hoody-lsp does not follow redirects (they could carry your "
                "key elsewhere). Set `baseUrl` to the final address.",
                status=status,
            )
        if status == 429:
            wait = parse_retry_after(response.headers.get("retry-after"))
            return RateLimitedError(
                f"Rate limited by {host_of(call.url)}{said}: try again in {wait:.0f} s.",
                retry_after=wait,
                code=code,
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            reason = f" {response.reason_phrase}" if response.reason_phrase else ""
            told = f": {message}" if message else ""
            return ServerError(
                f"{self.service} failed ({status}{reason}){told}. Try again later.",
                status=status,
                code=code,
            )
        return ProtocolError(f"{self.service} refused the request ({status}){said}.", status=status, code=code)

    def _raise_transport(
        self,
        exc: httpx.HTTPError,
        call: Call,
        request: GenerateRequest,
        deadline: float | None,
        *,
        during_body: bool,
    ) -> NoReturn:
        import httpx

        host = host_of(call.url)
        if self._closed:
            raise GenerationCancelled("The backend was closed.") from None
        if isinstance(exc, httpx.ConnectTimeout):
            if deadline is not None and asyncio.get_running_loop().time() >= deadline - 0.005:
                raise self._deadline_error(request) from None
            if _is_tls(exc):
                raise TlsError(f"The TLS handshake with {host} timed out; check `baseUrl` and `http.proxy`.")
            raise NetworkError(
                f"Cannot reach {host}: no connection within {CONNECT_TIMEOUT_S:g} s. Check `baseUrl`, your "
                "network and `http.proxy`."
            ) from None
        if isinstance(exc, httpx.PoolTimeout):
            raise GenerationTimeout(
                f"Too many requests to {host} are still open; this one could not start. Try again."
            ) from None
        if isinstance(exc, httpx.TimeoutException):
            raise GenerationTimeout(
                f"{self.service} sent nothing for {self.settings.http.timeout_s:g} s (`http.timeoutS`)."
            ) from None
        if isinstance(exc, httpx.ProxyError):
            raise NetworkError(f"The proxy refused the connection to {host} ({exc}); check `http.proxy`.")
        if _is_tls(exc):
            reason = next((str(e) for e in _chain(exc) if isinstance(e, ssl.SSLError)), str(exc))
            hint = (
                "the server does not speak https on that port; check `baseUrl`"
                if "WRONG_VERSION_NUMBER" in reason or "wrong version number" in reason
                else "check `http.caBundle` (or SSL_CERT_FILE) and `http.proxy`"
            )
            raise TlsError(f"Secure connection to {host} failed ({reason}): {hint}.") from None
        if isinstance(exc, httpx.ConnectError):
            if any(isinstance(e, socket.gaierror) for e in _chain(exc)):
                raise NetworkError(f"Cannot resolve the host name {host}; check `baseUrl` and your network.")
            if any(isinstance(e, ConnectionRefusedError) for e in _chain(exc)) or "refused" in str(exc):
                raise NetworkError(
                    f"Cannot connect to {host}: connection refused. Is the server running? Check `baseUrl`."
                )
            raise NetworkError(f"Cannot connect to {host} ({exc or type(exc).__name__}); check `baseUrl`.")
        if isinstance(exc, httpx.RemoteProtocolError):
            if not during_body and "without sending" in str(exc):
                raise _Disconnected(f"{host} closed the connection without answering. Try again.")
            if during_body:
                raise NetworkError(f"The connection to {host} broke in the middle of the answer. Try again.")
            raise ProtocolError(f"{host} did not answer in HTTP; check `baseUrl`.")
        if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.NetworkError)):
            if during_body:
                raise NetworkError(f"The connection to {host} was reset in the middle of the answer. Try again.")
            raise _Disconnected(f"The connection to {host} was reset before an answer. Try again.")
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            raise ConfigError(f"The URL {display_url(call.url)} is not usable ({exc}); fix `baseUrl`.")
        if isinstance(exc, httpx.DecodingError):
            raise ProtocolError(f"{self.service} sent a body that could not be decoded ({exc}).")
        raise NetworkError(f"The request to {host} failed ({type(exc).__name__}). Try again.")


def usage_from(obj: Any, input_key: str = "input_tokens", output_key: str = "output_tokens") -> Usage | None:
    if not isinstance(obj, dict):
        return None
    inp, out = obj.get(input_key), obj.get(output_key)
    return Usage(
        input_tokens=inp if isinstance(inp, int) else None,
        output_tokens=out if isinstance(out, int) else None,
    )


def parse_json_data(event: ServerSentEvent, service: str) -> Any:
    try:
        return json.loads(event.data)
    except ValueError:
        raise ProtocolError(
            f"{service} sent a malformed stream event (its data is not JSON). Try again; if it keeps "
            "happening, check `baseUrl`."
        ) from None
