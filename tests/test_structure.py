"""The spine stays as the README's Development section describes it: a small trainer without family
branches, one atomic write, and modules whose first line says what they are for."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gan_studio"


def test_trainer_stays_small_and_free_of_model_family_branches():
    source = (PACKAGE / "engine" / "trainer.py").read_text()
    assert len(source.splitlines()) <= 450
    assert not re.search(r"family\s*(==|!=|in)\s", source), "what differs per family belongs in engine/recipes.py"


def test_every_module_says_what_it_is_for_in_its_first_line():
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        doc = ast.get_docstring(tree)
        if path.name != "__init__.py" and not (doc and doc.strip()):
            missing.append(str(path.relative_to(PACKAGE)))
    assert missing == []


def test_one_atomic_write_for_run_files():
    """Only files.atomic_write renames a finished file into place in the run store; the dataset cache and
    downloads stage whole folders, which is theirs to do."""
    renames = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if re.search(r"os\.replace\(|\.rename\(", path.read_text()):
            renames.append(str(path.relative_to(PACKAGE)))
    assert set(renames) <= {"files.py", "data/cache.py", "data/download.py"}, renames


def test_every_picture_and_file_the_readme_links_exists():
    readme = PACKAGE.parent / "README.md"
    links = re.findall(r"\]\(([^)#\s]+)\)", readme.read_text())
    local = [link for link in links if "://" not in link]
    assert local, "the README links its pictures"
    assert [link for link in local if not (PACKAGE.parent / link).exists()] == []
