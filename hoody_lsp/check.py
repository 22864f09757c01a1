"""`hoody-lsp check`: resolve settings (defaults + environment), make one tiny generation, say what is wrong.

Output: one plain-words line per finding, or with `--json` one object alone on stdout:
`{"ok", "backend", "baseUrl", "model", "problem", "message", "latencyMs"}` where `problem` is null or one of
no_key, auth, not_found, unreachable, tls, rate_limited, timeout, protocol, config. Exit 0 when generation
works, 1 when a problem was found (argparse answers usage errors with 2). The API key is never printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from hoody_lsp.backends import make_backend
from hoody_lsp.backends.base import GenerateRequest, TargetFile
from hoody_lsp.backends.errors import BackendError
from hoody_lsp.logs import register_secret, scrub
from hoody_lsp.settings import Settings, environment_layer, resolve

CHECK_DEADLINE_S = 15.0

# Small and harmless: a few tokens of an obvious completion.
CHECK_REQUEST = GenerateRequest(
    task="completion",
    directive="Complete the return statement.",
    language="python",
    prefix="def add(a, b):\n    return ",
    suffix="\n",
    target_files=(TargetFile(path="check.py"),),
    max_tokens=16,
    temperature=0.0,
    deadline_s=CHECK_DEADLINE_S,
    cap_chars=2000,
    cap_is_error=False,
    retry=False,
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    backend: str
    base_url: str
    model: str | None
    problem: str | None
    message: str
    latency_ms: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "backend": self.backend,
            "baseUrl": self.base_url,
            "model": self.model,
            "problem": self.problem,
            "message": self.message,
            "latencyMs": self.latency_ms,
        }


def settings_from_environment() -> tuple[Settings, list[str]]:
    return resolve(environment_layer(os.environ))


async def run_check(settings: Settings | None = None) -> CheckResult:
    """Make one tiny streamed generation with `settings` (default: from the environment) and classify it."""
    if settings is None:
        settings, _ = settings_from_environment()
    register_secret(settings.key())

    def result(problem: str | None, message: str, latency_ms: float | None = None) -> CheckResult:
        return CheckResult(
            ok=problem is None,
            backend=settings.backend,
            base_url=settings.effective_base_url,
            model=settings.effective_model,
            problem=problem,
            message=scrub(message),
            latency_ms=latency_ms,
        )

    backend = make_backend(settings)
    started = time.monotonic()
    try:
        async with backend.generate(CHECK_REQUEST) as generation:
            text = await generation.text()
    except BackendError as exc:
        return result(exc.problem, exc.message)
    except Exception as exc:  # a bug must still end in one readable line, not a traceback
        return result("protocol", f"Unexpected failure ({type(exc).__name__}: {exc}).")
    finally:
        await backend.aclose()
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    shown = text.strip().splitlines()[0][:60] if text.strip() else ""
    answer = f" (answered {shown!r})" if shown else " (with an empty answer)"
    return result(None, f"Generation works: a test request took {latency_ms:.0f} ms{answer}.", latency_ms)


def _plain(result: CheckResult, warnings: list[str]) -> str:
    model = result.model or "the server's default"
    lines = [f"Backend: {result.backend} at {result.base_url} (model: {model})"]
    lines += [f"Warning: {scrub(w)}" for w in warnings]
    if result.ok:
        lines.append(f"OK: {result.message}")
    else:
        lines.append(f"Problem ({result.problem}): {result.message}")
    return "\n".join(lines) + "\n"


def run_check_cli(as_json: bool) -> int:
    """The `check` command: print the result; 0 when generation works, 1 when a problem was found."""
    settings, warnings = settings_from_environment()
    register_secret(settings.key())
    result = asyncio.run(run_check(settings))
    if as_json:
        for warning in warnings:
            sys.stderr.write(f"hoody-lsp check: {scrub(warning)}\n")
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    else:
        sys.stdout.write(_plain(result, warnings))
    sys.stdout.flush()
    return 0 if result.ok else 1
