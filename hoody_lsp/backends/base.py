"""The one backend interface: `generate(request)` -> an async iterator of text chunks, then `finish`.

Every backend (Hoody's code-generation API, any OpenAI-compatible server) implements `Backend`. The caller
iterates a `Generation`; closing it (`aclose()`, leaving `async with`) or cancelling the task that awaits it
closes the HTTP stream at once. Failures are raised as the typed errors of `errors.py`.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

Task = Literal["completion", "edit", "generate"]
ContextKind = Literal["definition", "open_file", "recent_edit", "retrieved", "diagnostic", "rules"]

INLINE_CAP_CHARS = 4_000
COMMAND_CAP_CHARS = 500_000


@dataclass(frozen=True, slots=True)
class ContextItem:
    """One piece of contextual code (lines are 1-based, inclusive)."""

    path: str
    content: str
    start_line: int
    end_line: int
    kind: ContextKind


@dataclass(frozen=True, slots=True)
class TargetFile:
    path: str
    content: str | None = None
    range: dict[str, Any] | None = None  # 0-based LSP range {"start": {...}, "end": {...}}


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    task: Task
    directive: str
    language: str | None = None
    framework: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    target_files: tuple[TargetFile, ...] = ()
    context: tuple[ContextItem, ...] = ()
    max_tokens: int | None = None
    temperature: float | None = None
    stop: tuple[str, ...] = ()
    # Caller's policy, not wire fields:
    deadline_s: float | None = None  # whole-call deadline (seconds from the call); None: only http.timeoutS
    cap_chars: int = COMMAND_CAP_CHARS  # the answer's cap
    cap_is_error: bool = True  # True: passing the cap raises TooLargeError; False: the text is cut, finish "length"
    retry: bool = False  # commands only: retry retryable statuses before anything streamed, within 30 s


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str  # "stop", "length", ...
    usage: Usage | None = None
    id: str | None = None


class Generation(AsyncIterator[str]):
    """Text chunks as they arrive. After the last chunk `finish` holds the finish information.

    Wraps an async generator that yields `str` chunks and finally one `Finish`.
    """

    def __init__(self, source: AsyncGenerator[str | Finish, None]) -> None:
        self._source = source
        self.finish: Finish | None = None
        self.chars = 0

    def __aiter__(self) -> Generation:
        return self

    async def __anext__(self) -> str:
        if self.finish is not None:
            raise StopAsyncIteration
        item = await self._source.__anext__()
        if isinstance(item, Finish):
            self.finish = item
            await self._source.aclose()
            raise StopAsyncIteration
        self.chars += len(item)
        return item

    async def aclose(self) -> None:
        await self._source.aclose()

    async def __aenter__(self) -> Generation:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def text(self) -> str:
        """Read everything; return the whole text (finish is then set)."""
        return "".join([chunk async for chunk in self])


class Backend(abc.ABC):
    """A code-generation service. The only place (with its siblings) that talks HTTP."""

    name: str

    @abc.abstractmethod
    def generate(self, request: GenerateRequest) -> Generation:
        """Start a generation. Errors surface when iterating (the first `__anext__` at the latest)."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close every open stream and the shared HTTP client."""

    @property
    def open_streams(self) -> int:
        """How many HTTP streams are open right now (for shutdown checks and benchmarks)."""
        return 0
