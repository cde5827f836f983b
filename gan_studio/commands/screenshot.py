"""`gan-studio screenshot OUT_DIR`: train briefly offscreen and save PNGs of the window and each panel.

Runs the real app without a screen (QT_QPA_PLATFORM=offscreen unless set): sets up a small run,
presses Start, waits for the training to finish, then saves main-window.png and panel-<name>.png
for every dock. `--run RUN` shows an existing run instead of training (for documentation
pictures of a fully trained model), with its folder as the workspace. Preferences are left
untouched, and a trained run goes to a temporary folder, not the user's workspace.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from gan_studio.commands.arguments import bounded_int, seconds
from gan_studio.errors import ConfigError, RunError

DEFAULT_SIZE = "1440x900"


def add_parser(sub) -> None:
    p = sub.add_parser("screenshot", help="save PNGs of the app's window and panels (trains briefly offscreen)",
                       description=__doc__)  # fmt: skip
    p.add_argument("out", metavar="OUT_DIR", help="folder for the PNG files (created if missing)")
    p.add_argument("--model", default="dcgan", help="model to train (default: dcgan)")
    p.add_argument("--data", default="shapes", help="dataset to train on (default: shapes)")
    p.add_argument(
        "--steps", type=bounded_int(1, 1_000_000), default=200, help="training steps before the pictures (default: 200)"
    )
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="another setting for the run, e.g. --set ngf=16 (repeatable)")  # fmt: skip
    p.add_argument("--run", metavar="RUN", help="show this existing run instead of training one")
    p.add_argument("--size", default=DEFAULT_SIZE, help=f"window size WIDTHxHEIGHT (default: {DEFAULT_SIZE})")
    p.add_argument("--timeout", type=seconds, default=900.0, help="give up training after this many seconds")
    p.set_defaults(handler=run)


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*([0-9]+)\s*[xX]\s*([0-9]+)\s*", text)
    if not match or not (400 <= int(match.group(1)) <= 8000 and 300 <= int(match.group(2)) <= 8000):
        raise ConfigError(f"--size must look like 1440x900 (400..8000 x 300..8000), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def parse_settings(items: list[str]) -> dict[str, str]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set needs NAME=VALUE, got {item!r}")
        values[name.strip().replace("-", "_")] = value.strip()
    return values


def check_settings(model: str, settings: dict[str, str]) -> None:
    """Every --set name must be a field of the model's config or of the TrainConfig."""
    from gan_studio.config import field_specs
    from gan_studio.engine.settings import TrainConfig
    from gan_studio.models import get_spec

    known = {s.name for s in field_specs(get_spec(model).config_cls)} | {s.name for s in field_specs(TrainConfig)}
    unknown = sorted(set(settings) - (known - {"data"}))  # the dataset is --data
    if unknown:
        raise ConfigError(f"unknown setting(s) for {model}: {', '.join(unknown)}")


def run(args) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    width, height = parse_size(args.size)
    settings = parse_settings(args.set)
    check_settings(args.model, settings)
    if args.steps < 1:
        raise ConfigError(f"--steps must be at least 1, got {args.steps}")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the output folder: {exc.strerror or exc}", out) from None
    from gan_studio.ui.screenshot import take_screenshots

    if args.run:  # the Runs panel lists the run's neighbours (nothing is written there)
        written = take_screenshots(out, Path(args.run).expanduser().absolute().parent, args, settings, (width, height))
    else:
        with tempfile.TemporaryDirectory(prefix="gan-studio-screenshot-") as workspace:
            written = take_screenshots(out, Path(workspace), args, settings, (width, height))
    for path in written:
        print(path)
    return 0
