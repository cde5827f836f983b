"""`gan-studio` command line: the app by default, and train / runs / sample / export / eval.

Each sub-command lives in gan_studio/commands/<name>.py with `add_parser(subparsers)` and
`run(args) -> int`. Bad input (GanStudioError) prints one line on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gan_studio import __version__
from gan_studio.errors import GanStudioError

COMMANDS = ["app", "train", "runs", "sample", "export", "eval", "screenshot", "data"]


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and a one-line message (its default, made explicit)."""

    def error(self, message: str):  # noqa: D401
        self.exit(2, f"gan-studio: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gan-studio", description="Train and explore VAEs, GANs and DCGANs.")
    parser.add_argument("--version", action="version", version=f"gan-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"gan_studio.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("gan_studio.commands"):
                continue  # command not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["app"]
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except GanStudioError as exc:
        one_line = " ".join(str(exc).splitlines())  # user text (a model name, a TOML key) may hold newlines
        print(f"gan-studio: error: {one_line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gan-studio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
