"""`motion-mamba` command line. Each module in this package adds one subcommand through `register(subparsers)`,
so commands are added without touching a central list; heavy imports stay inside each command's `run`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


class CLIError(Exception):
    """A user-facing failure: printed as one line, exit status 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="motion-mamba", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"motion-mamba {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CLIError, FileNotFoundError, ValueError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"motion-mamba {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
