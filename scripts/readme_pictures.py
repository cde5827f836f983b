"""Take the README's pictures from the app in a real X window (run it under Xvfb), and the training animation.

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/readme_pictures.py \
        --default-run RUN --points-run RUN2D [--out resources/screenshots]

RUN is a run of the default recipe (DCGAN on shapes), RUN2D a conditional GAN on ring8 with a 2D
latent space (so the 2D view has every layer). Each picture is grabbed from the X server
(QScreen.grabWindow), i.e. what a person sees; nothing is drawn offscreen. Writes:
main-window.png, explorer.png, explorer-live2d.png (explorer-live2d-mesh.png with --mesh-run), and training.gif (the run's fixed-noise grids
from noise to shapes, with their steps).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gan_studio.explore.saving import save_gif  # noqa: E402
from gan_studio.state.run_state import RunState  # noqa: E402
from gan_studio.store.pictures import read_picture  # noqa: E402


def pump(seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def grab(window, path: Path, widget=None) -> None:
    """The pixels the X server shows for the window (or one widget of it)."""
    screen = window.screen()
    target = widget or window
    corner = target.mapToGlobal(target.rect().topLeft())
    pixmap = screen.grabWindow(0, corner.x(), corner.y(), target.width(), target.height())
    if not pixmap.save(str(path), "PNG"):
        raise SystemExit(f"cannot write {path}")
    print(f"wrote {path}")


def click_tab(window, title: str) -> None:
    from PySide6.QtWidgets import QTabBar

    for bar in window.findChildren(QTabBar):
        for index in range(bar.count()):
            if bar.tabText(index) == title and bar.isVisible():
                bar.setCurrentIndex(index)
                pump(0.5)
                return


def training_gif(run: Path, out: Path, every: int, last: int, scale: int = 2) -> None:
    """The run's grids up to step `last`, every `every` steps, with the step written under each."""
    steps = [(s, p) for s, p in RunState.load(run).samples if s <= last and s % every == 0]
    font = ImageFont.load_default(size=14)
    frames = []
    for step, path in steps:
        picture = read_picture(path)
        image = Image.fromarray(picture).convert("RGB")
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
        canvas = Image.new("RGB", (image.width, image.height + 24), (27, 29, 34))
        canvas.paste(image, (0, 0))
        ImageDraw.Draw(canvas).text((8, image.height + 4), f"step {step:,}", fill=(220, 224, 232), font=font)
        frames.append(np.asarray(canvas))
    frames += [frames[-1]] * 6  # rest on the last grid
    save_gif(frames, out, fps=4, bounce=False)
    print(f"wrote {out} ({len(steps)} grids)")


def grab_plane(window, explorer, run: Path, frame: int, path: Path) -> None:
    """The live 2D view of a run of 2D points at one of its saved frames (the explorer dock, undocked)."""
    window.open_run(run)
    pump(1.0)
    live = explorer.live_tab
    deadline = time.monotonic() + 60
    while (live.frame is None or len(live.saved) <= frame) and time.monotonic() < deadline:
        pump(0.2)
    live.slider.setValue(min(frame, len(live.saved) - 1))
    pump(2.0)
    grab(window.docks["Explorer"], path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default-run", required=True, type=Path)
    parser.add_argument("--points-run", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "screenshots")
    parser.add_argument("--live2d-frame", type=int, default=0, help="saved frame of the points run to show [0]")
    parser.add_argument(
        "--mesh-run",
        type=Path,
        default=None,
        help="an unconditional GAN on 2D points with a 2D latent space: its z-grid mesh and D = 1/2 contour",
    )
    parser.add_argument("--mesh-frame", type=int, default=1, help="saved frame of the mesh run to show [1]")
    parser.add_argument("--gif-every", type=int, default=100)
    parser.add_argument("--gif-last", type=int, default=2000)
    args = parser.parse_args()
    if os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb" or not os.environ.get("DISPLAY"):
        raise SystemExit("run this under an X server (e.g. xvfb-run), not offscreen")
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    args.out.mkdir(parents=True, exist_ok=True)

    from gan_studio.ui.app import create_app
    from gan_studio.ui.main_window import MainWindow

    create_app()
    window = MainWindow(workspace=args.default_run.parent, persist=False)
    window.show()
    pump(2.0)
    window.open_run(args.default_run)
    pump(2.0)
    click_tab(window, "Plots")
    pump(1.0)
    grab(window, args.out / "main-window.png")
    click_tab(window, "Explorer")
    explorer = window.optional_panels["ExplorerPanel"]
    deadline = time.monotonic() + 60
    while explorer.main_view.picture is None and time.monotonic() < deadline:
        pump(0.2)
    explorer.latent_tab.sliders.slider(2).setValue(180)
    pump(1.5)
    grab(window, args.out / "explorer.png", window.docks["Explorer"])
    dock = window.docks["Explorer"]
    dock.setFloating(True)  # a large view of the plane, as a person would undock it
    dock.move(0, 0)
    dock.resize(1180, 760)
    grab_plane(window, explorer, args.points_run, args.live2d_frame, args.out / "explorer-live2d.png")
    if args.mesh_run is not None:
        grab_plane(window, explorer, args.mesh_run, args.mesh_frame, args.out / "explorer-live2d-mesh.png")
    window.close()
    training_gif(args.default_run, args.out / "training.gif", args.gif_every, args.gif_last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
