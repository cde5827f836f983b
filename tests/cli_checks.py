"""Checks the CLI tests share (helpers, no tests here): bad input ends in one line and exit code 2."""

from __future__ import annotations


def one_line_error(capsys, code: int, expected: int = 2) -> str:
    """The single stderr line of a refused command (exit 2, or `expected`: 1 for a full disk; no traceback)."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == expected, captured.err
    assert len(lines) == 1 and lines[0].startswith("gan-studio: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]
