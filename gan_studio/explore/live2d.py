"""The live 2D view of models trained on 2D points (the GAN Lab idea, Kahng et al. 2018), without Qt.

One frame holds the real points, points generated from a fixed set of z (so they move smoothly
from checkpoint to checkpoint), with their class for conditional models, and for GANs:
- the discriminator's D(x) over the plane (`heatmap`, values in [0, 1] for the colour scale
  COLOUR_SCALE; `field_range` is the frame's own min and max for the legend) and its D = 1/2
  contour as polylines (`contour`, marching squares);
- G's gradient at each generated point (`gradients`): minus the gradient of the model's own G
  loss (non-saturating or saturating) with respect to the point, the direction G's next update
  moves it; `arrows(frame)` scales them into segments for drawing;
- for a latent space of 1 or 2 dimensions, the generator's image of a regular z grid (`mesh`,
  GAN Lab's manifold view); VAEs get their decoder's image of the grid over (z1, z2).

API for the app (the UI thread only draws):

    live_frame(source, real, y, extent=...) -> Live2DFrame        # the source's current weights
    refs = checkpoint_frames(RUN)                                  # [CheckpointRef(step, path)], oldest first
    checkpoint_frame(RUN, refs[i], real, y, extent=...) -> Live2DFrame   # one saved checkpoint
    tween(frame_a, frame_b, t) -> Live2DFrame                      # in-between frame for slow motion
    arrows(frame) -> (N, 2, 2) segments;  arrow_heads(segments, extent) -> (2N, 2, 2) barbs at their tips
    outside(points, extent) -> (N,) bool: the points a plane of `extent` does not show
    contour_lines(field, extent, level) -> polylines

Pass the same `extent` (e.g. plane_extent(real)) to every frame of a playback so the view stays put.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from gan_studio.data import TOY_NAMES
from gan_studio.engine.steps import generator_loss, generator_objective
from gan_studio.errors import CheckpointError, ConfigError, RunError
from gan_studio.models.base import one_hot
from gan_studio.store.checkpoint import load_checkpoint, numbered_checkpoints
from gan_studio.store.loaded import load_run
from gan_studio.store.rundir import RunDir

GENERATED_POINTS = 1000
HEATMAP_RESOLUTION = 96
MESH_LINES = 13  # latent grid lines per axis
MESH_RANGE = 2.5  # latent grid spans [-2.5, 2.5] on the first two dimensions
COLOUR_SCALE = (0.0, 1.0)  # the heatmap's colour scale: D(x) from "surely generated" to "surely real"
CONTOUR_LEVEL = 0.5  # D = 1/2: where D cannot tell real from generated
ARROW_FRACTION = 0.06  # the longest gradient arrows (95th percentile) span this fraction of the plane
ARROW_HEAD = 0.4  # an arrowhead's barbs are this fraction of its arrow's length...
ARROW_HEAD_MAX = 0.015  # ...and at most this fraction of the plane's width
ARROW_HEAD_DEGREES = 28.0  # the angle between each barb and the arrow
Generate = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


@dataclass
class Live2DFrame:
    """Everything the 2D view draws at one training step."""

    step: int
    generated: np.ndarray  # (N, 2)
    extent: tuple[float, float, float, float]  # x min, x max, y min, y max
    real: np.ndarray | None = None  # (M, 2)
    heatmap: np.ndarray | None = None  # (rows = y, cols = x) D(x) in [0, 1]; row 0 at y min
    mesh: np.ndarray | None = None  # (lines, points, 2) image of the latent grid, rows then columns
    caption: str = ""
    generated_labels: np.ndarray | None = None  # (N,) class index of each generated point (conditional models)
    field_range: tuple[float, float] | None = None  # min and max of the heatmap, for the legend
    contour: list[np.ndarray] = field(default_factory=list)  # D = 1/2 polylines, each (K, 2), plane coordinates
    gradients: np.ndarray | None = None  # (N, 2) -d(G loss)/dx at each generated point


def plane_extent(points: np.ndarray, margin: float = 0.15) -> tuple[float, float, float, float]:
    """A square region around the bulk of `points` (0.5-99.5 percentiles plus a margin)."""
    finite = points[np.isfinite(points).all(axis=1)] if len(points) else points
    if len(finite) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo = np.percentile(finite, 0.5, axis=0)
    hi = np.percentile(finite, 99.5, axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2 * (1 + 2 * margin), 1e-3)
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def fixed_inputs(n: int, latent_dim: int, num_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """The same z (and labels cycling over the classes) for every frame."""
    z = np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)
    if not num_classes:
        return z, None
    y = np.eye(num_classes, dtype=np.float32)[np.arange(n) % num_classes]
    return z, y


@torch.no_grad()
def discriminator_map(gan, extent, resolution: int = HEATMAP_RESOLUTION, y: np.ndarray | None = None) -> np.ndarray:
    """D(x) = sigmoid(logit) over a resolution x resolution grid of the plane (rows follow y).

    Conditional models: D(x | y) for the one-hot (or weighted) condition `y`, or the mean over the
    classes when `y` is None.
    """
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)  # rows follow y
    grid = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32))
    device = next(gan.parameters()).device
    pack = int(getattr(gan.config, "pack", 1))
    x = grid.repeat_interleave(pack, dim=0).to(device)  # D judges packs: give it copies of each point
    was_training = gan.training
    gan.eval()
    try:
        if gan.num_classes and y is not None:
            cond = torch.as_tensor(np.asarray(y, np.float32)).reshape(1, -1).expand(len(x), -1).to(device)
            probs = torch.sigmoid(gan.discriminate(x, cond)).cpu()
        elif gan.num_classes:
            probs = torch.zeros(len(grid))
            for k in range(gan.num_classes):
                cond = one_hot(torch.full((len(x),), k, dtype=torch.long), gan.num_classes).to(device)
                probs += torch.sigmoid(gan.discriminate(x, cond)).cpu()
            probs /= gan.num_classes
        else:
            probs = torch.sigmoid(gan.discriminate(x)).cpu()
    finally:
        gan.train(was_training)
    return probs.numpy().reshape(resolution, resolution).astype(np.float32)


# marching squares: for each corner pattern (bit 1 bottom-left, 2 bottom-right, 4 top-right, 8 top-left
# at or above the level), the cell edges the contour joins; 5 and 10 are saddles, split by the centre
_EDGE_PAIRS = {1: [("left", "bottom")], 2: [("bottom", "right")], 3: [("left", "right")], 4: [("right", "top")],
               6: [("bottom", "top")], 7: [("left", "top")], 8: [("left", "top")], 9: [("bottom", "top")],
               11: [("right", "top")], 12: [("left", "right")], 13: [("bottom", "right")], 14: [("left", "bottom")]}  # fmt: skip
_SADDLES = {  # (centre at or above the level, centre below)
    5: ([("left", "top"), ("bottom", "right")], [("left", "bottom"), ("right", "top")]),
    10: ([("left", "bottom"), ("right", "top")], [("bottom", "right"), ("left", "top")]),
}


def contour_lines(field: np.ndarray, extent, level: float = CONTOUR_LEVEL) -> list[np.ndarray]:
    """Polylines (each (K, 2), plane coordinates) where `field` crosses `level` (marching squares).

    `field` is (rows = y, cols = x) over `extent` as discriminator_map gives it; points are placed
    on cell edges by linear interpolation, so each lies exactly where the bilinear field equals
    `level`. Closed curves end with their first point. Cells touching NaN are skipped.
    """
    f = np.asarray(field, dtype=np.float64)
    rows, cols = f.shape
    if rows < 2 or cols < 2:
        return []
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, cols), np.linspace(y0, y1, rows)
    above = f >= level
    case = (above[:-1, :-1] * 1 + above[:-1, 1:] * 2 + above[1:, 1:] * 4 + above[1:, :-1] * 8).astype(np.int8)
    finite = np.isfinite(f)
    usable = finite[:-1, :-1] & finite[:-1, 1:] & finite[1:, 1:] & finite[1:, :-1]
    points: dict[tuple, tuple[float, float]] = {}

    def point(edge: tuple) -> tuple:
        """An edge (kind, row, col) -> the crossing point on it (computed once, shared by both cells)."""
        if edge not in points:
            kind, r, c = edge
            a, b = (f[r, c], f[r, c + 1]) if kind == "h" else (f[r, c], f[r + 1, c])
            t = (level - a) / (b - a)
            points[edge] = (
                (xs[c] + t * (xs[c + 1] - xs[c]), ys[r]) if kind == "h" else (xs[c], ys[r] + t * (ys[r + 1] - ys[r]))
            )
        return edge

    segments: list[tuple[tuple, tuple]] = []
    for r, c in zip(*np.nonzero(usable & (case != 0) & (case != 15)), strict=True):
        edges = {"bottom": ("h", r, c), "top": ("h", r + 1, c), "left": ("v", r, c), "right": ("v", r, c + 1)}
        k = int(case[r, c])
        if k in _SADDLES:
            centre = (f[r, c] + f[r, c + 1] + f[r + 1, c] + f[r + 1, c + 1]) / 4
            pairs = _SADDLES[k][0 if centre >= level else 1]
        else:
            pairs = _EDGE_PAIRS[k]
        segments += [(point(edges[a]), point(edges[b])) for a, b in pairs]
    return [np.array([points[e] for e in chain], dtype=np.float32) for chain in _chains(segments)]


def _chains(segments: list[tuple[tuple, tuple]]) -> list[list[tuple]]:
    """Join segments that share an edge into chains: open ones from their ends first, then loops."""
    links: dict[tuple, list[tuple]] = {}
    for a, b in segments:
        links.setdefault(a, []).append(b)
        links.setdefault(b, []).append(a)
    chains, used = [], set()

    def walk(start: tuple) -> list[tuple]:
        chain, current = [start], start
        while True:
            step = next((n for n in links[current] if frozenset((current, n)) not in used), None)
            if step is None:
                return chain
            used.add(frozenset((current, step)))
            chain.append(step)
            current = step

    for start in [e for e, ends in links.items() if len(ends) == 1] + list(links):
        if any(frozenset((start, n)) not in used for n in links[start]):
            chains.append(walk(start))
    return chains


def generator_gradients(gan, points: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """-d(G loss)/dx at each generated point x (N, 2): the direction G's next update moves it.

    The loss is the model's own objective (as training has it: config.g_loss, non-saturating -log D(x)
    or the saturating log(1 - D(x)), unless D's loss fixes it, as hinge's -D(x) does), summed so each row is that point's own gradient; `y` are the
    points' one-hot labels for conditional models. Packed discriminators (PacGAN) judge
    consecutive points together, as in training.
    """
    points = np.asarray(points, dtype=np.float32)
    n = len(points)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    pack = int(getattr(gan.config, "pack", 1))
    index = np.arange(n + (-n) % pack) % n  # pad to whole packs with repeats, dropped below
    device = next(gan.parameters()).device
    x = torch.from_numpy(points[index]).to(device).requires_grad_(True)
    cond = None if y is None else torch.from_numpy(np.asarray(y, np.float32)[index]).to(device)
    was_training = gan.training
    gan.eval()
    try:
        with torch.enable_grad():
            logits = gan.discriminate(x, cond)
            objective = generator_objective(
                getattr(gan.config, "loss", "bce"), getattr(gan.config, "g_loss", "non-saturating")
            )
            loss = generator_loss(logits, objective) * logits.numel()
            (grad,) = torch.autograd.grad(loss, x)
    finally:
        gan.train(was_training)
    return (-grad[:n]).cpu().numpy().astype(np.float32)


def arrows(frame: Live2DFrame, fraction: float = ARROW_FRACTION) -> np.ndarray:
    """The gradient arrows as segments (N, 2, 2): from each generated point along its gradient.

    Lengths are scaled together (directions and relative sizes kept) so the 95th-percentile
    arrow spans `fraction` of the plane's width; (0, 2, 2) when the frame has no gradients.
    """
    if frame.gradients is None or not len(frame.gradients):
        return np.zeros((0, 2, 2), dtype=np.float32)
    lengths = np.linalg.norm(frame.gradients, axis=1)
    typical = float(np.percentile(lengths[np.isfinite(lengths)], 95)) if np.isfinite(lengths).any() else 0.0
    scale = fraction * (frame.extent[1] - frame.extent[0]) / typical if typical > 0 else 0.0
    ends = frame.generated + scale * np.nan_to_num(frame.gradients)
    return np.stack([frame.generated, ends], axis=1).astype(np.float32)


def arrow_heads(segments: np.ndarray, extent, fraction: float = ARROW_HEAD) -> np.ndarray:
    """Two barbs (2N, 2, 2) at the tip of each arrow (N, 2, 2: from its point to its tip), folded back along it:
    the tip shows which way G moves the point. Arrows of zero (or not finite) length get none."""
    segments = np.asarray(segments, np.float32).reshape(-1, 2, 2)
    tips, shafts = segments[:, 1], segments[:, 1] - segments[:, 0]
    lengths = np.linalg.norm(shafts, axis=1)
    keep = np.isfinite(lengths) & (lengths > 0)
    tips, back, lengths = tips[keep], -shafts[keep] / lengths[keep, None], lengths[keep]
    size = np.minimum(fraction * lengths, ARROW_HEAD_MAX * (extent[1] - extent[0]))[:, None]
    cos, sin = np.cos(np.radians(ARROW_HEAD_DEGREES)), np.sin(np.radians(ARROW_HEAD_DEGREES))
    barbs = [np.stack([back[:, 0] * cos - turn * back[:, 1] * sin, turn * back[:, 0] * sin + back[:, 1] * cos], 1)
             for turn in (1.0, -1.0)]  # fmt: skip
    return np.concatenate([np.stack([tips, tips + size * barb], axis=1) for barb in barbs]).astype(np.float32)


def outside(points: np.ndarray, extent) -> np.ndarray:
    """(N,) True for each point (N, 2) that a plane spanning `extent` (x min, x max, y min, y max) does not show,
    or that is not finite."""
    points = np.asarray(points, np.float32).reshape(-1, 2)
    x0, x1, y0, y1 = extent
    with np.errstate(invalid="ignore"):
        inside = (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)
    return ~inside


def latent_mesh(generate, latent_dim: int, y: np.ndarray | None = None, lines: int = MESH_LINES,
                dims: tuple[int, int] = (0, 1)) -> np.ndarray:  # fmt: skip
    """Image of a regular grid over two latent dimensions (`dims`, others 0): (2 * lines, lines, 2) polylines.

    Row i of the first half is z[dims[1]] = ticks[i] with z[dims[0]] running over the ticks; the second half
    holds the columns (constant z[dims[0]]). A 1D latent gives one polyline (1, lines, 2).
    """
    ticks = latent_ticks(lines)
    if latent_dim == 1:
        z = ticks[:, None]
    else:
        a, b = np.meshgrid(ticks, ticks)  # a varies along columns
        z = np.zeros((lines * lines, latent_dim), dtype=np.float32)
        z[:, dims[0]], z[:, dims[1]] = a.ravel(), b.ravel()
    yb = None if y is None else np.repeat(np.asarray(y, np.float32)[None, :], len(z), axis=0)
    points = np.asarray(generate(z, yb), dtype=np.float32).reshape(len(z), -1)[:, :2]
    if latent_dim == 1:
        return points[None]
    rows = points.reshape(lines, lines, 2)
    return np.concatenate([rows, rows.transpose(1, 0, 2)])  # lines of constant z2, then of constant z1


def latent_ticks(lines: int = MESH_LINES) -> np.ndarray:
    """The latent values of the mesh's grid lines, on each of z1 and z2."""
    return np.linspace(-MESH_RANGE, MESH_RANGE, lines, dtype=np.float32)


def live_frame(source, real: np.ndarray | None = None, y: np.ndarray | None = None,
               n_generated: int = GENERATED_POINTS, seed: int = 0,
               extent: tuple[float, float, float, float] | None = None) -> Live2DFrame:  # fmt: skip
    """A frame for `source` (an ExplorerSource of a 2D-point model); `y` conditions D's map and the mesh."""
    if source.kind != "points" or tuple(source.sample_shape) != (2,):
        raise ConfigError(f"the live 2D view is for models trained on 2D points ({', '.join(TOY_NAMES)})")
    model = source.loaded.model if source.loaded is not None else None
    return model_frame(source.backend.generate, source.family, source.latent_dim, source.num_classes, source.step,
                       model=model, real=real, y=y, n_generated=n_generated, seed=seed, extent=extent)  # fmt: skip


def model_frame(generate: Generate, family: str, latent_dim: int, num_classes: int, step: int, *,
                model=None, real: np.ndarray | None = None, y: np.ndarray | None = None,
                n_generated: int = GENERATED_POINTS, seed: int = 0,
                extent: tuple[float, float, float, float] | None = None) -> Live2DFrame:  # fmt: skip
    """A frame from a generator function (torch or ONNX) and, for GANs, the torch model for D."""
    z, labels = fixed_inputs(n_generated, latent_dim, num_classes, seed)
    generated = np.asarray(generate(z, labels), dtype=np.float32).reshape(n_generated, 2)
    if extent is None:
        extent = plane_extent(real if real is not None and len(real) else generated)
    frame = Live2DFrame(step=step, generated=generated, extent=extent, real=real)
    if labels is not None:
        frame.generated_labels = labels.argmax(axis=1)
    mesh_y = None
    if num_classes:
        mesh_y = np.eye(num_classes, dtype=np.float32)[0] if y is None else np.asarray(y, np.float32)
    if family == "gan":
        captions = []
        if model is not None:
            frame.heatmap = discriminator_map(model, extent, y=y)
            frame.field_range = (float(np.nanmin(frame.heatmap)), float(np.nanmax(frame.heatmap)))
            frame.contour = contour_lines(frame.heatmap, extent, CONTOUR_LEVEL)
            frame.gradients = generator_gradients(model, generated, labels)
            captions.append("background: D(x), the discriminator's belief that x is real; line: D = 1/2; "
                            "arrows: where G's next update moves each generated point")  # fmt: skip
        else:
            captions.append("open the run directory (not only its .onnx) to see the discriminator")
        if latent_dim <= 2:
            frame.mesh = latent_mesh(generate, latent_dim, mesh_y)
            captions.append(f"mesh: G's image of a regular z grid in [-{MESH_RANGE:g}, {MESH_RANGE:g}]")
        frame.caption = "; ".join(captions)
    else:
        dims = informative_dims(model, real, mesh_y, latent_dim)
        frame.mesh = latent_mesh(generate, latent_dim, mesh_y, dims=dims)
        which = "" if dims == (0, 1) else ", the two that carry the most KL"
        frame.caption = (f"lines: a regular grid of (z{dims[0] + 1}, z{dims[1] + 1}){which} in "
                         f"[-{MESH_RANGE:g}, {MESH_RANGE:g}] through the decoder")  # fmt: skip
    return frame


MESH_KL_POINTS = 512  # data points encoded to find the latent dimensions a VAE uses


def informative_dims(model, real: np.ndarray | None, y: np.ndarray | None, latent_dim: int) -> tuple[int, int]:
    """The two latent dimensions of a VAE with the most KL to the prior over its data (in index order), so the
    mesh spans what the decoder uses (z1 and z2 may be inactive: the grid shrank to a line); (0, 1) when there
    is no encoder or data to tell."""
    if latent_dim <= 2 or model is None or real is None or not len(real) or not hasattr(model, "encode"):
        return (0, 1)
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(real[:MESH_KL_POINTS], np.float32), device=device)
    yb = (
        None
        if y is None
        else torch.as_tensor(np.repeat(np.asarray(y, np.float32)[None], len(x), axis=0), device=device)
    )
    with torch.no_grad():
        mu, logvar = (t.float() for t in model.encode(x, yb))
    kl = (0.5 * (mu**2 + logvar.exp() - 1.0 - logvar)).mean(dim=0).cpu().numpy()
    first, second = sorted(int(i) for i in np.argsort(kl)[::-1][:2])
    return (first, second)


# --- playback over saved checkpoints ----------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointRef:
    """One saved checkpoint of a run: a frame of the playback."""

    step: int
    path: Path


def checkpoint_frames(run_path: str | Path) -> list[CheckpointRef]:
    """The run's checkpoints as playback frames, oldest first: checkpoints/step-N.pt, and last.pt when newer.

    last.pt is read (for its step) only when no numbered checkpoint is as recent; [] without checkpoints.
    """
    folder = RunDir(Path(run_path)).checkpoints_dir
    numbered = numbered_checkpoints(folder)
    refs = {step: CheckpointRef(step, path) for step, path in numbered}
    newest = max((path.stat().st_mtime for _, path in numbered), default=0.0)
    last = folder / "last.pt"
    if last.is_file() and not last.is_symlink() and last.stat().st_mtime > newest:
        try:
            step = load_checkpoint(last)["step"]
        except CheckpointError:
            step = None
        if isinstance(step, int) and step not in refs:
            refs[step] = CheckpointRef(step, last)
    return [refs[step] for step in sorted(refs)]


def checkpoint_frame(run_path: str | Path, ref: CheckpointRef, real: np.ndarray | None = None,
                     y: np.ndarray | None = None, n_generated: int = GENERATED_POINTS, seed: int = 0,
                     extent: tuple[float, float, float, float] | None = None, device: str = "cpu") -> Live2DFrame:  # fmt: skip
    """The frame of one saved checkpoint (same fixed z as live frames, so points move smoothly)."""
    loaded = load_run(run_path, device=device, checkpoint=ref.path)
    if loaded.data_info.kind != "points" or tuple(loaded.data_info.shape) != (2,):
        raise RunError("the 2D view plays back models trained on 2D points only", run_path)

    def generate(z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        y_t = None if labels is None else torch.from_numpy(labels)
        return loaded.generate(torch.from_numpy(z), y_t).numpy()

    return model_frame(generate, loaded.family, loaded.latent_dim, loaded.num_classes, loaded.step,
                       model=loaded.model, real=real, y=y, n_generated=n_generated, seed=seed, extent=extent)  # fmt: skip


def tween(a: Live2DFrame, b: Live2DFrame, t: float) -> Live2DFrame:
    """An in-between frame at t in [0, 1] from `a` to `b` (slow motion): arrays blended, contour redrawn.

    Both frames must come from the same run and settings (same points, grid and extent).
    """
    t = float(min(1.0, max(0.0, t)))

    def mix(u, v):
        if u is None or v is None or np.shape(u) != np.shape(v):
            return u if t < 0.5 else v
        return ((1 - t) * np.asarray(u) + t * np.asarray(v)).astype(np.float32)

    frame = replace(a, step=int(round(a.step + t * (b.step - a.step))), generated=mix(a.generated, b.generated),
                    heatmap=mix(a.heatmap, b.heatmap), mesh=mix(a.mesh, b.mesh), gradients=mix(a.gradients, b.gradients),
                    extent=a.extent if t < 0.5 else b.extent)  # fmt: skip
    if frame.heatmap is not None:
        frame.field_range = (float(np.nanmin(frame.heatmap)), float(np.nanmax(frame.heatmap)))
        frame.contour = contour_lines(frame.heatmap, frame.extent, CONTOUR_LEVEL)
    return frame
