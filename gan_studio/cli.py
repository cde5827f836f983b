"""`gan-studio` command line: the app by default, and train / runs / sample / export / eval.

Each sub-command lives in gan_studio/commands/<name>.py with `add_parser(subparsers)` and
`run(args) -> int`. Bad input (GanStudioError) prints one line on stderr and exits 2. Flags must be
spelled in full (no argparse abbreviations: `--step` is not `--steps`); a misspelt flag or command
gets a "did you mean". Ctrl-C exits 130 and SIGTERM 143, each with one line (`train` first saves a
checkpoint; every other command only writes files whole, so a stop leaves nothing half-written).
Also runs as `python -m gan_studio`.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import importlib
import io
import os
import re
import signal
import sys
import threading

from gan_studio import __version__
from gan_studio.errors import (
    CheckpointError,
    ConfigError,
    GanStudioError,
    RunError,
    another_process_says_it,
    printable,
    shorten,
)
from gan_studio.files import DISK_FULL_ERRNOS

COMMANDS = ["app", "train", "runs", "sample", "export", "eval", "fork", "data", "screenshot"]


class Terminated(KeyboardInterrupt):
    """SIGTERM as an exception, so a command unwinds like on Ctrl-C (temporary files removed) and says so."""


# errors every process of a machine meets alike (the same command line, the same files): said by the first only;
# data errors have their own pointer from the others to the first's message
SAME_IN_EVERY_PROCESS = (ConfigError, RunError, CheckpointError)


def _raise_terminated(signum, frame):
    raise Terminated


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviations that exits with code 2, a one-line message and a "did you mean"."""

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False  # every parser and sub-parser: `--step` must not pass for `--steps`
        super().__init__(*args, **kwargs)

    argv: list[str] = []  # the words being parsed (set by _parse): for the hint on a name that starts with '-'

    def error(self, message: str):  # noqa: D401
        message = re.sub(r"^argument (--[\w-]+): must ", r"\1 must ", message)  # "--n must be at least 1, got 0"
        taken = [w for w in _Parser.argv if w.startswith("-") and len(w) > 1 and w != "--"
                 and w.split("=", 1)[0] not in self._option_string_actions]  # fmt: skip
        flag = re.match(r"argument (--[\w-]+): expected one argument$", message)
        if taken and flag:  # `--size -5x-5`: the value was read as a flag
            message += f" ('{taken[0]}' was read as a flag: give it as {flag.group(1)}={taken[0]})"
        elif taken and message.startswith("the following arguments are required"):  # `sample -dash`: a run's name
            message += (f" ('{taken[0]}' was read as a flag: give a name that starts with '-' after `--`, or as "
                        f"./{taken[0]})")  # fmt: skip
        choice = re.match(r"argument .*: invalid choice: '(.*)' \(choose from (.*)\)$", message)
        if choice:
            options = re.findall(r"'([^']*)'", choice.group(2)) or [c.strip() for c in choice.group(2).split(",")]
            message += did_you_mean(choice.group(1), options)
        self.exit(2, None if another_process_says_it() else f"gan-studio: error: {' '.join(message.splitlines())}\n")

    def option_strings(self) -> list[str]:
        return [option for action in self._actions for option in action.option_strings if option.startswith("--")]


def did_you_mean(word: str, options: list[str]) -> str:
    """'; did you mean --steps?' for the closest of `options` to `word` (dashes aside), or ''."""
    names = {option.lstrip("-"): option for option in options}
    close = difflib.get_close_matches(word.lstrip("-"), list(names), n=1, cutoff=0.7)
    return f"; did you mean {names[close[0]]}?" if close else ""


def build_parser(commands: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser, with the sub-commands `commands` (all when None). Each command's module is
    imported to add its flags, and some import torch and ONNX Runtime: `gan-studio runs` builds only its own
    (about 0.5 s, where all of them took 3-5 s, and wrote ONNX Runtime's telemetry id into ~/.cache)."""
    parser = _Parser(prog="gan-studio", description="Train and explore VAEs, GANs and DCGANs.")
    parser.add_argument("--version", action="version", version=f"gan-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS if commands is None else commands:
        try:
            module = importlib.import_module(f"gan_studio.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("gan_studio.commands"):
                continue  # command not built yet
            raise
        module.add_parser(sub)
    return parser


def commands_named(argv: list[str]) -> list[str] | None:
    """The sub-commands the parser needs for `argv`: the one it names first, none for --version, else all (the
    overall --help lists them, and a misspelt one gets a "did you mean")."""
    if argv and argv[0] in COMMANDS:
        return [argv[0]]
    return [] if argv == ["--version"] else None


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """parse_args, with a "did you mean" for each unknown flag (against the chosen command's flags)."""
    _Parser.argv = list(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = getattr(args, "command", None)
        sub = _subparsers(parser).get(command) if command else None
        options = (sub or parser).option_strings()
        hints = []
        for word in unknown:
            if word.startswith("-"):
                hint = did_you_mean(word.split("=", 1)[0], options)
                if hint:
                    hints.append(f"{word.split('=', 1)[0]}: {hint[2:]}")
        where = f"gan-studio {command}" if command else "gan-studio"
        message = f"unrecognized arguments: {' '.join(unknown)}"
        (sub or parser).error(message + (f" ({'; '.join(hints)})" if hints else f" (see `{where} --help`)"))
    return args


def _empty_argument(sub: argparse.ArgumentParser | None, args: argparse.Namespace) -> str | None:
    """The flag (or argument) given as an empty or blank text: as a path it would mean the current folder."""
    for action in sub._actions if sub is not None else ():
        if isinstance(action, argparse._SubParsersAction):  # `data clear DATA`: the chosen action's own arguments
            found = _empty_argument(action.choices.get(getattr(args, action.dest, None)), args)
            if found:
                return found
            continue
        value = getattr(args, action.dest, None)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and not v.strip() for v in values):
            return action.option_strings[-1] if action.option_strings else (action.metavar or action.dest).upper()
    return None


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, _Parser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # stdout is not a file (a test's capture): nothing will flush into the pipe


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (see the README: 0 done, 2 bad input, 130 interrupted, 141 output closed)."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # started with that stream closed (`>&-`): its output goes nowhere
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 - for the rest of the process
    try:
        code = _run_command(argv)
        sys.stdout.flush()  # here, not at exit: a closed pipe is then caught below
        return code
    except BrokenPipeError:  # `gan-studio data info | head`: the reader has all it wants
        _silence_stdout()
        return 128 + signal.SIGPIPE  # as a tool killed by SIGPIPE
    except OSError as exc:
        if exc.errno not in DISK_FULL_ERRNOS:
            raise
        _silence_stdout()  # `gan-studio runs > /dev/full`, or a file on a disk that filled
        print(f"gan-studio: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 1


def _run_command(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["app"]
    try:
        parser = build_parser(commands_named(argv))  # (imports the command: torch, for some, takes seconds)
        args = _parse(parser, argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:  # Ctrl-C while the command was still loading: nothing was done
        print(f"gan-studio: {argv[0] if argv[0] in COMMANDS else 'gan-studio'} stopped by Ctrl-C", file=sys.stderr)
        return 130
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    empty = _empty_argument(_subparsers(parser).get(args.command), args)
    if empty:
        if not another_process_says_it():
            print(f"gan-studio: error: {empty} is empty: give a value, or leave it out "
                  f"(see `gan-studio {args.command} --help`)", file=sys.stderr)  # fmt: skip
        return 2
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return int(args.handler(args) or 0)
    except GanStudioError as exc:
        one_line = printable(" ".join(str(exc).splitlines()))  # user text (names, keys) may hold control codes
        if not (isinstance(exc, SAME_IN_EVERY_PROCESS) and another_process_says_it()):  # one machine, one file system
            print(f"gan-studio: error: {one_line}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        if exc.errno not in BAD_PATH_ERRNOS:
            raise
        # a path given that no file system takes (a name over 255 bytes, a loop of links): whichever check met it
        print(f"gan-studio: error: {bad_path_message(exc)}", file=sys.stderr)
        return 2
    except Terminated:
        print(f"gan-studio: {_action(args)} stopped by SIGTERM", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"gan-studio: {_action(args)} stopped by Ctrl-C", file=sys.stderr)  # as SIGTERM's line says it
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


BAD_PATH_ERRNOS = (errno.ENAMETOOLONG, errno.ELOOP)


def bad_path_message(exc: OSError) -> str:
    """'the path /tmp/aaa… (305 characters) cannot be used: File name too long (a name in it has 300 bytes;
    file systems take at most 255 a name)'."""
    name = exc.filename if isinstance(exc.filename, str) else ""
    longest = max((len(part.encode("utf-8", "surrogateescape")) for part in name.split(os.sep)), default=0)
    size = f" (a name in it has {longest:,} bytes; file systems take at most 255 a name)" if longest > 255 else ""
    return f"the path {printable(shorten(name, 120)) or '?'} cannot be used: {exc.strerror or exc}{size}"


def _action(args) -> str:
    """What was stopped, as typed: 'train', 'data prepare' (a command with actions names its action)."""
    action = getattr(args, "action", None)
    return f"{args.command} {action}" if isinstance(action, str) and action else args.command


if __name__ == "__main__":
    sys.exit(main())
