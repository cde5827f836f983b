"""`gan-studio screenshot`: trains briefly offscreen and writes a PNG of the window and of each panel."""

from __future__ import annotations

import numpy as np
from PIL import Image

from gan_studio.cli import main

PANELS = ("setup", "run-controls", "plots", "samples", "runs")


def test_screenshot_trains_and_saves_the_window_and_every_panel(tmp_path, capsys):
    out = tmp_path / "shots"
    code = main(["screenshot", str(out), "--model", "gan", "--data", "ring8", "--steps", "12", "--size", "1280x800",
                 "--set", "g_hidden=16", "--set", "d_hidden=16", "--set", "log_every=2", "--set", "sample_every=4"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out.split()
    window = Image.open(out / "main-window.png")
    assert window.size == (1280, 800)
    for name in PANELS:
        picture = Image.open(out / f"panel-{name}.png")
        assert picture.width > 100 and picture.height > 60
    assert str(out / "main-window.png") in printed
    # the plots panel shows curves: many distinct colours, not an empty dark area
    plots = np.asarray(Image.open(out / "panel-plots.png").convert("RGB").resize((200, 150)))
    assert len(np.unique(plots.reshape(-1, 3), axis=0)) > 50
    assert not (tmp_path / "runs").exists()  # trained in a temporary workspace


def test_screenshot_rejects_bad_options_with_one_line(tmp_path, capsys):
    assert main(["screenshot", str(tmp_path / "o"), "--size", "huge"]) == 2
    assert "--size must look like 1440x900" in capsys.readouterr().err
    assert main(["screenshot", str(tmp_path / "o"), "--model", "gan", "--set", "nonsense=1"]) == 2
    assert "unknown setting(s) for gan: nonsense" in capsys.readouterr().err
    assert main(["screenshot", str(tmp_path / "o"), "--run", str(tmp_path / "no-such-run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-run" in err[0]
