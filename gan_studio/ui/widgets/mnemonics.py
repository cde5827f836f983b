"""Keyboard mnemonics (Alt+letter, the underlined letter) for menu items made from names: dock titles, recipes.

`add_mnemonics` gives each action of a menu without one the first letter not yet taken in that menu,
preferring the first letter of a word ("Run &controls" when R is taken), as the hand-written items have.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QAction


def mnemonic_of(text: str) -> str:
    """The letter after a lone "&" in a menu text, lower case ('' when there is none)."""
    found = re.search(r"(?<!&)&([^&\s])", text.replace("&&", ""))
    return found.group(1).lower() if found else ""


def with_mnemonic(name: str, taken: set[str]) -> str:
    """`name` as a menu text ("&" doubled) with a mnemonic on a free letter (added to `taken`), if one is left."""
    starts = [match.start() for match in re.finditer(r"(?<![A-Za-z0-9])[A-Za-z0-9]", name)]
    for index in (*starts, *range(len(name))):
        letter = name[index].lower()
        if letter.isalnum() and letter not in taken:
            taken.add(letter)
            return f"{name[:index].replace('&', '&&')}&{name[index:].replace('&', '&&')}"
    return name.replace("&", "&&")


def add_mnemonics(actions: list[QAction]) -> None:
    """Give the actions of one menu that have no mnemonic one each (separators and items with one are kept)."""
    taken = {mnemonic_of(action.text()) for action in actions} - {""}
    for action in actions:
        if not action.isSeparator() and action.text() and not mnemonic_of(action.text()):
            action.setText(with_mnemonic(action.text(), taken))
