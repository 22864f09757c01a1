"""Inline completion's pure core: shaping what is sent (prompt) and cleaning what comes back (postprocess).

No I/O, no pygls, no asyncio: strings and code-point offsets in, strings out.
"""

from hoody_lsp.completion.postprocess import (
    INLINE_CAP_CHARS,
    MAX_LINES,
    CursorContext,
    advance,
    clean,
    extend_word_range,
)
from hoody_lsp.completion.prompt import (
    detect_indent,
    in_middle_of_word,
    multiline_mode,
    should_request,
    window,
)
from hoody_lsp.completion.text import split_cursor, to_eol

__all__ = [
    "INLINE_CAP_CHARS",
    "MAX_LINES",
    "CursorContext",
    "advance",
    "clean",
    "detect_indent",
    "extend_word_range",
    "in_middle_of_word",
    "multiline_mode",
    "should_request",
    "split_cursor",
    "to_eol",
    "window",
]
