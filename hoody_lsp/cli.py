"""Entry point: parse arguments, set up logging (stderr or a file, never stdout), run the server or a command.

    hoody-lsp [--stdio | --tcp HOST:PORT]    the language server
    hoody-lsp --version
    hoody-lsp check [--json]                 diagnose the backend settings (see check.py)
    hoody-lsp context ... --json | --stdio   the context the server would send (see context/service.py)

Heavy modules (pygls, httpx, the context engine) are imported only by the branch that needs them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from hoody_lsp import __version__
from hoody_lsp.logs import setup_logging

LOG_LEVELS = ("debug", "info", "warning", "error")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hoody-lsp", description="Hoody AI code generation as a language server."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--stdio", action="store_true", help="serve over stdio (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="serve over TCP (HOST defaults to 127.0.0.1)")
    parser.add_argument("--log-file", metavar="PATH", help="write logs to this file instead of stderr")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="default: info")
    sub = parser.add_subparsers(dest="command")

    check = sub.add_parser("check", help="make one tiny generation request and say what is wrong")
    check.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    check.add_argument("--log-level", choices=LOG_LEVELS, default="warning", dest="sub_log_level")

    ctx = sub.add_parser("context", help="the context the server would send for a cursor")
    ctx.add_argument("--stdio", action="store_true", help="serve JSON lines on stdin/stdout")
    ctx.add_argument("--workspace", metavar="DIR")
    ctx.add_argument("--file", metavar="PATH")
    ctx.add_argument("--line", type=int, help="1-based line")
    ctx.add_argument("--col", type=int, help="0-based column in code points")
    ctx.add_argument("--budget", type=int, default=None, help="characters of context (default 6000)")
    ctx.add_argument("--json", action="store_true", help="print JSON (the only output format)")
    ctx.add_argument("--log-level", choices=LOG_LEVELS, default="warning", dest="sub_log_level")
    return parser


def parse_tcp(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "", value
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help
        return int(exc.code or 0)

    if args.version:
        sys.stdout.write(f"hoody-lsp {__version__}\n")
        return 0

    if args.command == "check":
        setup_logging(args.sub_log_level, args.log_file)
        from hoody_lsp.check import run_check_cli

        return run_check_cli(as_json=args.json)

    if args.command == "context":
        setup_logging(args.sub_log_level, args.log_file)
        from hoody_lsp.context.service import run_context_cli

        return run_context_cli(args)

    setup_logging(args.log_level, args.log_file)
    tcp: tuple[str, int] | None = None
    if args.tcp:
        try:
            tcp = parse_tcp(args.tcp)
        except ValueError:
            parser.print_usage(sys.stderr)
            sys.stderr.write(f"hoody-lsp: --tcp wants HOST:PORT, got {args.tcp!r}\n")
            return 2
    from hoody_lsp.server import serve

    logging.getLogger("hoody_lsp").info("hoody-lsp %s starting (%s)", __version__, "tcp" if tcp else "stdio")
    return serve(tcp=tcp)


if __name__ == "__main__":
    raise SystemExit(main())
