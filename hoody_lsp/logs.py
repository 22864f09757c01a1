"""Logging to stderr or a file (never stdout, the protocol channel), with secrets scrubbed from every record.

`SecretFilter` is installed on the root handlers: any registered secret (the API key, from whatever layer it
came) and any `apiKey`/`Authorization` value is replaced before a record is formatted, which also covers
pygls' own INFO log of the whole `initialize` request.
"""

from __future__ import annotations

import logging
import re
import sys
import threading

_SECRETS: set[str] = set()
_LOCK = threading.Lock()
_PATTERNS = (
    # "apiKey": "..."  /  'apiKey': '...'  /  apiKey=...
    re.compile(r"""(?i)((?:["']?api_?key["']?|["']?hoody\.apiKey["']?)\s*[:=]\s*)(["'])(?:(?!\2).)*\2"""),
    re.compile(r"""(?i)(authorization["']?\s*[:=]\s*["']?bearer\s+)[^\s"',}]+"""),
)
REDACTED = "<redacted>"


def register_secret(secret: str | None) -> None:
    """Remember a secret so no log line ever shows it."""
    if secret and len(secret) >= 4:
        with _LOCK:
            _SECRETS.add(secret)


def scrub(text: str) -> str:
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(2)}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break logging
            message = str(record.msg)
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # render the traceback now so it can be scrubbed too
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub(formatted)
            record.exc_info = None
            record.msg = f"{record.msg}\n{record.exc_text}"
            record.exc_text = None
        return True


def setup_logging(level: str = "info", log_file: str | None = None) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
