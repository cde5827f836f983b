"""The 2D view's compute: the D = 1/2 contour, G's gradient arrows, the manifold mesh, checkpoint playback."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from gan_studio.engine.settings import TrainConfig
from gan_studio.engine.trainer import Trainer
from gan_studio.explore import live2d
from gan_studio.models import GANConfig, create_model
from gan_studio.models.base import DataInfo
from gan_studio.store.loaded import load_run

POINTS = DataInfo("points", (2,), 3, ["a", "b", "c"])


def bilinear(field: np.ndarray, extent, p) -> float:
    """The bilinear interpolation of a (rows = y, cols = x) field at plane point p."""
    rows, cols = field.shape
    x0, x1, y0, y1 = extent
    fx, fy = (p[0] - x0) / (x1 - x0) * (cols - 1), (p[1] - y0) / (y1 - y0) * (rows - 1)
    c, r = min(int(fx), cols - 2), min(int(fy), rows - 2)
    tx, ty = fx - c, fy - r
    bottom = field[r, c] * (1 - tx) + field[r, c + 1] * tx
    top = field[r + 1, c] * (1 - tx) + field[r + 1, c + 1] * tx
    return float(bottom * (1 - ty) + top * ty)


def grid_field(fn, extent=(-2.0, 2.0, -2.0, 2.0), resolution=81) -> np.ndarray:
    x0, x1, y0, y1 = extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    return fn(gx, gy)


def test_contour_of_a_round_d_is_the_circle_where_d_is_one_half():
    extent = (-2.0, 2.0, -2.0, 2.0)
    field = grid_field(lambda x, y: 1 / (1 + np.exp(-6 * (1 - np.hypot(x, y)))), extent)  # D = 1/2 on |x| = 1
    lines = live2d.contour_lines(field, extent)
    assert len(lines) == 1
    loop = lines[0]
    assert np.allclose(loop[0], loop[-1])  # a closed curve
    assert len(loop) > 50
    assert np.abs(np.hypot(loop[:, 0], loop[:, 1]) - 1).max() < 0.01
    assert all(abs(bilinear(field, extent, p) - 0.5) < 1e-6 for p in loop)
    angles = np.sort(np.arctan2(loop[:, 1], loop[:, 0]))
    assert np.diff(angles).max() < 0.2  # it goes all the way round


def test_contour_ends_at_the_border_and_handles_saddles():
    extent = (-1.0, 1.0, -1.0, 1.0)
    field = grid_field(lambda x, y: x * y, extent, resolution=20)  # a saddle: zero along both axes
    lines = live2d.contour_lines(field, extent, level=0.0)
    points = np.concatenate(lines)
    assert np.minimum(np.abs(points[:, 0]), np.abs(points[:, 1])).max() < 0.06  # on the axes
    assert all(abs(bilinear(field, extent, p)) < 1e-9 for p in points)
    half = grid_field(lambda x, y: x, extent, resolution=20)
    (line,) = live2d.contour_lines(half, extent, level=0.25)
    assert np.allclose(line[:, 0], 0.25, atol=1e-6) and {round(line[0, 1]), round(line[-1, 1])} == {-1, 1}
    assert live2d.contour_lines(np.full((5, 5), 0.7), extent) == []
    with_nan = field.copy()
    with_nan[:, :10] = np.nan
    assert all(np.isfinite(line).all() for line in live2d.contour_lines(with_nan, extent, level=0.0))


class LinearD(nn.Module):
    """A hand-made discriminator: logit = w . x + b."""

    def __init__(self, w, b):
        super().__init__()
        self.w, self.b = torch.tensor(w, dtype=torch.float32), float(b)
        self.anchor = nn.Parameter(torch.zeros(1))  # so the model has a device

    def forward(self, x, y=None):
        return x @ self.w + self.b + 0 * self.anchor


class BumpD(nn.Module):
    """A hand-made discriminator that believes only points near `centre` are real."""

    def __init__(self, centre):
        super().__init__()
        self.centre = torch.tensor(centre, dtype=torch.float32)
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, x, y=None):
        return 2.0 - ((x - self.centre) ** 2).sum(1) + 0 * self.anchor


def gan_with(discriminator: nn.Module, **config) -> nn.Module:
    gan = create_model("gan", GANConfig(latent_dim=2, g_hidden=8, d_hidden=8, **config), DataInfo("points", (2,)))
    gan.discriminator = discriminator
    return gan


@pytest.mark.parametrize("kind", ["non-saturating", "saturating"])
def test_gradient_arrows_are_minus_the_g_loss_gradient_of_the_models_own_kind(kind):
    w = np.array([1.5, -0.5])
    gan = gan_with(LinearD(w, 0.2), g_loss=kind)
    points = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    d = 1 / (1 + np.exp(-(points @ w + 0.2)))
    # -d/dx of -log D(x) is (1 - D) w;  of log(1 - D(x)) it is D w: both point where D says "real"
    expected = ((1 - d) if kind == "non-saturating" else d)[:, None] * w[None, :]
    got = live2d.generator_gradients(gan, points)
    assert np.allclose(got, expected, atol=1e-5)
    assert (got @ w > 0).all()


def test_under_the_hinge_loss_the_arrows_are_minus_the_gradient_of_minus_d():
    """Hinge fixes G's objective to -D(G(z)) whatever g_loss says; the arrows followed g_loss (review s12R)."""
    w = np.array([1.5, -0.5])
    gan = gan_with(LinearD(w, 0.2), loss="hinge", g_loss="saturating")
    points = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    got = live2d.generator_gradients(gan, points)
    assert np.allclose(got, np.tile(w, (7, 1)), atol=1e-5)  # -d/dx of -(w·x + b) is w, the same at every point


def test_arrows_point_towards_where_d_believes_the_data_is():
    centre = np.array([0.7, -0.3])
    gan = gan_with(BumpD(centre))
    points = np.random.default_rng(1).uniform(-2, 2, size=(200, 2)).astype(np.float32)
    gradients = live2d.generator_gradients(gan, points)
    towards = ((centre - points) * gradients).sum(1) / np.linalg.norm(centre - points, axis=1)
    assert (towards > 0).all()
    cosine = towards / np.linalg.norm(gradients, axis=1)
    assert cosine.min() > 0.999  # straight at the centre: D's bump is round
    frame = live2d.Live2DFrame(step=0, generated=points, extent=(-2, 2, -2, 2), gradients=gradients)
    segments = live2d.arrows(frame)
    assert segments.shape == (200, 2, 2) and np.allclose(segments[:, 0], points)
    lengths = np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1)
    assert np.percentile(lengths, 95) == pytest.approx(live2d.ARROW_FRACTION * 4, rel=1e-4)


def test_packed_discriminators_get_gradients_for_every_point():
    gan = create_model("gan", GANConfig(latent_dim=2, g_hidden=8, d_hidden=8, pack=2), DataInfo("points", (2,)))
    points = np.random.default_rng(2).normal(size=(5, 2)).astype(np.float32)  # odd: the last pack is padded
    got = live2d.generator_gradients(gan, points)
    assert got.shape == (5, 2) and np.isfinite(got).all() and np.abs(got).sum() > 0


def test_the_mesh_is_the_image_of_the_regular_z_grid():
    a, b = np.array([[2.0, 0.5], [-1.0, 1.0]], np.float32), np.array([0.3, -0.2], np.float32)
    mesh = live2d.latent_mesh(lambda z, y: z @ a.T + b, latent_dim=2, lines=5)
    ticks = live2d.latent_ticks(5)
    assert mesh.shape == (10, 5, 2)
    for i in range(5):
        for j in range(5):
            z = np.array([ticks[j], ticks[i]])  # row i: z2 fixed; along it z1 runs
            assert np.allclose(mesh[i, j], a @ z + b, atol=1e-5)
            assert np.allclose(mesh[5 + j, i], a @ z + b, atol=1e-5)  # column j: z1 fixed


def test_a_vae_mesh_spans_the_two_latent_dimensions_it_uses():
    """With 16 latent dimensions of which z1 was inactive, the grid over (z1, z2) shrank to a line."""
    from gan_studio.models import default_config

    vae = create_model("vae", default_config("vae"), POINTS)
    latent = vae.latent_dim
    used = (2, 4)

    def encode(x, y=None):  # an encoder that puts all its information into z3 and z5
        mu = torch.zeros(len(x), latent)
        mu[:, used[0]], mu[:, used[1]] = x[:, 0], 2 * x[:, 1]
        return mu, torch.zeros(len(x), latent)

    vae.encode = encode
    real = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
    seen = []

    def generate(z, y):
        seen.append(np.asarray(z))
        return np.asarray(z)[:, :2] * 0 + np.asarray(z)[:, list(used)]

    frame = live2d.model_frame(generate, "vae", latent, 0, step=1, model=vae, real=real, n_generated=20)
    mesh_z = seen[-1]
    assert np.count_nonzero(mesh_z[:, [i for i in range(latent) if i not in used]]) == 0
    assert np.ptp(mesh_z[:, used[0]]) > 0 and np.ptp(mesh_z[:, used[1]]) > 0
    assert "(z3, z5), the two that carry the most KL" in frame.caption


def test_a_2d_latent_gan_frame_has_every_layer(tmp_path):
    torch.manual_seed(0)
    gan = create_model("cgan", GANConfig(latent_dim=2, g_hidden=16, d_hidden=16), POINTS).eval()

    def generate(z, y):
        with torch.no_grad():
            return gan.generate(torch.from_numpy(z), None if y is None else torch.from_numpy(y)).numpy()

    frame = live2d.model_frame(generate, "gan", 2, 3, step=7, model=gan, n_generated=60)
    assert frame.heatmap.shape == (live2d.HEATMAP_RESOLUTION,) * 2
    lo, hi = frame.field_range
    assert 0 <= lo <= hi <= 1 and lo == frame.heatmap.min() and hi == frame.heatmap.max()
    assert list(frame.generated_labels[:6]) == [0, 1, 2, 0, 1, 2]
    assert frame.gradients.shape == (60, 2)
    z, y = live2d.fixed_inputs(60, 2, 3)
    assert np.allclose(frame.gradients, live2d.generator_gradients(gan, frame.generated, y))
    assert frame.mesh.shape == (2 * live2d.MESH_LINES, live2d.MESH_LINES, 2)
    ticks = live2d.latent_ticks()
    first = generate(np.array([[ticks[0], ticks[0]]], np.float32), np.eye(3, dtype=np.float32)[:1])
    assert np.allclose(frame.mesh[0, 0], first[0], atol=1e-5)
    for line in frame.contour:  # wherever the contour is, D is 1/2 there (up to the grid's interpolation)
        for p in line[:: max(1, len(line) // 10)]:
            assert abs(bilinear(frame.heatmap, frame.extent, p) - 0.5) < 1e-5


@pytest.fixture(scope="module")
def ring8_run(tmp_path_factory):
    """A tiny GAN trained on ring8 for 40 steps with a checkpoint every 10 (and one at the end, step 45)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("live2d") / "run"
    model = GANConfig(latent_dim=2, g_hidden=16, d_hidden=16, g_layers=2, d_layers=2, lr_g=3e-3, lr_d=3e-3)
    train = TrainConfig(data="ring8", steps=45, batch_size=64, log_every=5, sample_every=0, checkpoint_every=10,
                        keep_checkpoints=10, device="cpu")  # fmt: skip
    for _ in Trainer.new("gan", model, train, out=out):
        pass
    return out


def test_playback_lists_every_checkpoint_and_each_frame_is_its_weights(ring8_run):
    refs = live2d.checkpoint_frames(ring8_run)
    assert [r.step for r in refs] == [10, 20, 30, 40, 45]
    extent = (-1.5, 1.5, -1.5, 1.5)
    frames = [live2d.checkpoint_frame(ring8_run, ref, extent=extent, n_generated=100) for ref in refs[:2]]
    assert [f.step for f in frames] == [10, 20]
    assert not np.allclose(frames[0].generated, frames[1].generated)  # the points moved with training
    loaded = load_run(ring8_run, checkpoint=refs[1].path)
    z, _ = live2d.fixed_inputs(100, 2, 0)
    with torch.no_grad():
        assert np.allclose(frames[1].generated, loaded.model.generate(torch.from_numpy(z)).numpy(), atol=1e-6)
    assert frames[1].heatmap is not None and frames[1].gradients.shape == (100, 2) and frames[1].mesh is not None
    middle = live2d.tween(frames[0], frames[1], 0.5)
    assert middle.step == 15
    assert np.allclose(middle.generated, (frames[0].generated + frames[1].generated) / 2)
    assert np.allclose(live2d.tween(frames[0], frames[1], 1.0).generated, frames[1].generated)
    for line in middle.contour:
        assert all(abs(bilinear(middle.heatmap, extent, p) - 0.5) < 1e-5 for p in line)


def test_last_pt_is_a_frame_when_no_numbered_checkpoint_has_its_step(tmp_path):
    out = tmp_path / "run"
    train = TrainConfig(data="ring8", steps=6, batch_size=32, log_every=3, sample_every=0, checkpoint_every=0,
                        keep_checkpoints=0, device="cpu")  # fmt: skip
    for _ in Trainer.new("gan", GANConfig(latent_dim=2, g_hidden=8, d_hidden=8), train, out=out):
        pass
    refs = live2d.checkpoint_frames(out)
    assert [(r.step, r.path.name) for r in refs] == [(6, "last.pt")]
    assert live2d.checkpoint_frames(tmp_path / "nothing-here") == []


def test_frames_of_points_in_large_units_keep_their_values(tmp_path):
    """float16 frames hold up to 65,504: points around a million (surveyed metres) are kept in float32."""
    from gan_studio.explore.frames import load_frame, save_frame
    from gan_studio.explore.live2d import Live2DFrame

    rng = np.random.default_rng(0)
    for centre, dtype in ((0.0, np.float16), (1e6, np.float32)):
        points = (rng.normal(size=(50, 2)) * 1e3 + centre).astype(np.float32)
        line = points[:5]
        frame = Live2DFrame(step=3, generated=points, extent=(centre - 4e3, centre + 4e3, centre - 4e3, centre + 4e3),
                            contour=[line])  # fmt: skip
        path = tmp_path / f"frame-{int(centre)}.npz"
        save_frame(frame, path)
        with np.load(path) as saved:
            assert saved["generated"].dtype == dtype
        loaded = load_frame(path)
        assert np.all(np.isfinite(loaded.generated))
        assert np.allclose(loaded.generated, points, rtol=1e-3, atol=1.0)
        assert np.allclose(loaded.contour[0], line, rtol=1e-3, atol=1.0)


def test_arrowheads_sit_on_each_tip_and_fold_back_along_the_arrow():
    """Review s15Y #5: G's gradient was drawn as plain segments, so which end G moves the point to was ambiguous."""
    extent = (-2.0, 2.0, -2.0, 2.0)
    segments = np.array([[[0, 0], [0.2, 0]], [[1, 1], [1, 1.1]], [[-1, 0], [-1.1, -0.1]], [[0.5, 0.5], [0.5, 0.5]]],
                        np.float32)  # fmt: skip
    barbs = live2d.arrow_heads(segments, extent)
    assert barbs.shape == (6, 2, 2)  # two barbs for each arrow but the one of zero length
    for k, (start, tip) in enumerate(segments[:3]):
        direction = (tip - start) / np.linalg.norm(tip - start)
        for barb in (barbs[k], barbs[k + 3]):
            assert np.allclose(barb[0], tip)  # at the tip, not at the point the arrow starts from
            back = barb[1] - barb[0]
            cosine = float(back @ -direction) / np.linalg.norm(back)
            assert cosine == pytest.approx(np.cos(np.radians(live2d.ARROW_HEAD_DEGREES)), abs=1e-4)
            assert 0 < np.linalg.norm(back) <= live2d.ARROW_HEAD_MAX * 4 + 1e-6
        sides = [
            float(direction[0] * (b[1] - b[0])[1] - direction[1] * (b[1] - b[0])[0]) for b in (barbs[k], barbs[k + 3])
        ]
        assert sides[0] * sides[1] < 0  # one barb on each side of the arrow


def test_points_outside_the_plane_are_found():
    """Review s15Y #4: generated points that left the fixed plane vanished without a word."""
    points = np.array([[0, 0], [1.5, 0], [0, -1.0], [np.nan, 0], [-3, 5], [0.99, 0.99]], np.float32)
    assert live2d.outside(points, (-1.0, 1.0, -1.0, 1.0)).tolist() == [False, True, False, True, True, False]
    assert live2d.outside(np.zeros((0, 2)), (-1.0, 1.0, -1.0, 1.0)).shape == (0,)
