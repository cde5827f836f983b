"""Checks the CLI tests share (helpers, no tests here): bad input ends in one line and exit code 2."""

from __future__ import annotations


def one_line_error(capsys, code: int) -> str:
    """The single stderr line of a refused command (exit 2, no traceback); returns it."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("gan-studio: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]
