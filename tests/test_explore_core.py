"""The explorer's Qt-free core: latent math, slider bases, saving, sources, encoding, the 2D view."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_runs import trained_run_path

from gan_studio.errors import ConfigError, DataError, GanStudioError
from gan_studio.explore import directions, latent, live2d, saving
from gan_studio.explore.backends import TorchEncoder, open_source
from gan_studio.explore.encoding import encode, load_image_file, run_dataset
from gan_studio.explore.state import ExplorerState, load_job
from gan_studio.models.latents import sample_inputs
from gan_studio.store.loaded import load_run
from gan_studio.store.pictures import to_uint8


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    return trained_run_path(tmp_path_factory.mktemp("runs") / "dcgan", "dcgan", "shapes", ngf=8, ndf=8, latent_dim=12)


@pytest.fixture(scope="module")
def cvae_moons_run(tmp_path_factory):
    return trained_run_path(
        tmp_path_factory.mktemp("runs") / "cvae", "cvae", "moons", steps=20, latent_dim=3, hidden=16
    )


@pytest.fixture(scope="module")
def vae_shapes_run(tmp_path_factory):
    return trained_run_path(tmp_path_factory.mktemp("runs") / "vae", "vae", "shapes", steps=4, latent_dim=6, channels=4)


# latent math -------------------------------------------------------------------------------------
def test_seed_latent_is_the_latent_of_a_one_sample_cli_grid():
    z, _ = sample_inputs(1, 10, seed=7)
    assert np.array_equal(latent.seed_latent(7, 10), z[0].numpy())
    assert not np.allclose(latent.seed_latent(8, 10), z[0].numpy())


def test_interpolation_ends_are_the_two_latents_and_slerp_keeps_the_norm():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64).astype(np.float32), rng.standard_normal(64).astype(np.float32)
    for mode in latent.INTERPOLATION_MODES:
        path = latent.interpolation_path(a, b, 7, mode)
        assert path.shape == (7, 64)
        assert np.array_equal(path[0], a) and np.array_equal(path[-1], b)
    mid_lin = latent.interpolation_path(a, b, 3, "linear")[1]
    mid_sph = latent.interpolation_path(a, b, 3, "spherical")[1]
    assert np.allclose(mid_lin, (a + b) / 2)
    # the linear midpoint of two near-orthogonal Gaussian vectors shrinks by ~1/sqrt(2); slerp does not
    assert np.linalg.norm(mid_lin) < 0.85 * np.linalg.norm(a)
    assert np.linalg.norm(mid_sph) == pytest.approx((np.linalg.norm(a) + np.linalg.norm(b)) / 2, rel=0.1)
    with pytest.raises(ConfigError, match="steps from 2 to"):
        latent.interpolation_path(a, b, 1)
    with pytest.raises(ConfigError, match="unknown interpolation"):
        latent.interpolation_path(a, b, 4, "cubic")


def test_vector_arithmetic_averages_each_group():
    a = [np.array([1.0, 0.0]), np.array([3.0, 0.0])]
    b = [np.array([0.0, 2.0])]
    c = [np.array([1.0, 1.0]), np.array([1.0, 3.0]), np.array([1.0, 2.0])]
    assert np.allclose(latent.arithmetic(a, b, c), [2.0 - 0.0 + 1.0, 0.0 - 2.0 + 2.0])
    with pytest.raises(ConfigError, match="group B is empty"):
        latent.arithmetic(a, [], c)


def test_class_mixing_normalises_weights_and_rejects_nonsense():
    assert np.allclose(latent.mix_condition({3: 1.0, 8: 1.0}, 10), np.eye(10)[3] * 0.5 + np.eye(10)[8] * 0.5)
    assert np.allclose(latent.mix_condition([0, 2, 6], 3), [0, 0.25, 0.75])
    assert latent.describe_condition(latent.mix_condition({1: 1, 2: 1}, 3), ["a", "b", "c"]) == "0.5 b + 0.5 c"
    assert latent.describe_condition(np.eye(3, dtype=np.float32)[2], ["a", "b", "c"]) == "c"
    for bad in ([0, 0, 0], [1, -1, 1], {5: 1.0}, [1, 1]):
        with pytest.raises(ConfigError):
            latent.mix_condition(bad, 3)


def test_z_text_round_trip_and_clear_errors():
    z = np.array([0.25, -1.5, 3.0], dtype=np.float32)
    y = np.array([0.0, 1.0], dtype=np.float32)
    z2, y2 = latent.z_from_text(latent.z_to_text(z, y), 3)
    assert np.allclose(z2, z) and np.allclose(y2, y)
    z3, y3 = latent.z_from_text("[0.25, -1.5  3e0]", 3)
    assert np.allclose(z3, z) and y3 is None
    with pytest.raises(ConfigError, match="has 2 numbers but this model's z has 3"):
        latent.z_from_text("1, 2", 3)
    with pytest.raises(ConfigError, match="non-number: 'abc'"):
        latent.z_from_text("1, abc, 2", 3)
    with pytest.raises(ConfigError, match="empty"):
        latent.z_from_text("  ", 3)
    with pytest.raises(ConfigError, match="NaN"):
        latent.z_from_text("1, nan, 2", 3)


def test_class_seed_grid_rows_are_classes_columns_are_seeds():
    z, y = latent.class_seed_inputs([4, 9], 3, 5)
    assert z.shape == (6, 5) and y.shape == (6, 3)
    assert np.allclose(z[0], z[2]) and np.allclose(z[1], z[5]) and not np.allclose(z[0], z[1])
    assert y.argmax(1).tolist() == [0, 0, 1, 1, 2, 2]


def test_grids_of_many_classes_show_32_rows_spread_over_all_of_them_with_matching_names():
    """1,000 classes: one forward pass of 8,000 samples took 2.7 GB and drew a 34,000 px tall grid."""
    from gan_studio.engine.sample_grids import fixed_inputs
    from gan_studio.state.run_state import RunState
    from gan_studio.store.pictures import GRID_COLUMNS, grid_classes

    rows = grid_classes(1000)
    assert len(rows) == 32 and rows[0] == 0 and rows[-1] == 999 and rows == sorted(set(rows))
    assert grid_classes(10) == list(range(10))
    z, y = fixed_inputs(4, 1000, points=False, seed=0)
    assert z.shape == (32 * GRID_COLUMNS, 4) and y.argmax(1)[::GRID_COLUMNS].tolist() == rows
    z, y = latent.class_seed_inputs([1, 2], 1000, 4)
    assert z.shape == (64, 4) and y.shape == (64, 1000) and y.argmax(1)[::2].tolist() == rows
    names = [f"class {i}" for i in range(1000)]
    state = RunState(info={"model": "cdcgan", "data_info": {"kind": "images", "class_names": names}})
    assert state.grid_row_labels == [names[k] for k in rows]


# slider bases ----------------------------------------------------------------------------------------
def test_basis_moves_z_along_one_direction_only():
    basis = directions.axes_basis(4)
    z = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    assert np.allclose(basis.coordinates(z), z)
    assert np.allclose(basis.with_coordinate(z, 2, -1.0), [1, 2, -1, 4])
    q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((4, 2)))
    partial = directions.SliderBasis("pca", "t", q.T, ["a", "b"])
    moved = partial.with_coordinate(z, 0, 5.0)
    assert partial.coordinates(moved)[0] == pytest.approx(5.0, abs=1e-5)
    assert partial.coordinates(moved)[1] == pytest.approx(partial.coordinates(z)[1], abs=1e-5)
    assert np.allclose(partial.with_coordinates(moved, partial.coordinates(z)), z, atol=1e-5)


def test_pca_basis_finds_the_direction_the_generator_uses_most():
    # a linear "generator" that stretches z2 ten times more than z1 and ignores z3
    weights = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 10.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    basis = directions.pca_basis(lambda z, y: z @ weights, latent_dim=3, n_samples=256)
    assert basis.kind == "pca" and len(basis) == 2  # the outputs vary in two directions only
    assert abs(basis.directions[0, 1]) > 0.99 and abs(basis.directions[1, 0]) > 0.99
    assert basis.scores[0] > 0.95 and basis.labels[0].startswith("PC1")
    assert np.allclose(basis.directions @ basis.directions.T, np.eye(2), atol=1e-5)
    with pytest.raises(ConfigError, match="do not vary"):
        directions.pca_basis(lambda z, y: np.zeros((len(z), 4)), latent_dim=3, n_samples=16)


def test_kl_basis_puts_the_informative_vae_dimension_first(vae_shapes_run):
    loaded = load_run(vae_shapes_run)
    vae = loaded.model
    with torch.no_grad():  # make z3 carry the data (large mean) and the others collapse to the prior
        head = vae.encoder.head
        head.weight.zero_()
        head.bias.zero_()
        head.weight[2] = 1.0  # mu_3 depends on the image
    x = run_dataset(loaded.info, loaded.data_info.shape, (0.0, 1.0)).x[:64].numpy()
    basis = directions.kl_basis(TorchEncoder(vae), x)
    assert basis.kind == "kl" and basis.labels[0].startswith("z3 ")
    assert basis.scores[0] > 0.01 and np.allclose(basis.scores[1:], 0.0, atol=1e-6)
    assert basis.active.tolist() == [True] + [False] * 5
    assert "1 of 6 active" in basis.title
    with pytest.raises(ConfigError, match="needs a VAE encoder"):
        directions.kl_basis(None, x)


# sources, encoding, saving ------------------------------------------------------------------------------
def test_open_source_of_a_run_uses_torch_without_an_export(dcgan_run):
    source = open_source(dcgan_run)
    assert source.backend.name.startswith("torch") and "no ONNX export" in source.note
    assert (source.latent_dim, source.kind, source.sample_shape, source.family) == (12, "images", (1, 32, 32), "gan")
    out = source.backend.generate(np.zeros((2, 12), np.float32), None)
    assert out.shape == (2, 1, 32, 32) and out.dtype == np.float32
    with pytest.raises(GanStudioError, match="no such run"):
        open_source(dcgan_run.parent / "missing")
    with pytest.raises(GanStudioError, match="no ONNX export"):
        open_source(dcgan_run, backend="onnx")


def test_encoding_a_file_and_a_dataset_image(vae_shapes_run, dcgan_run, tmp_path):
    source = open_source(vae_shapes_run)
    dataset = run_dataset(source.info, source.sample_shape, source.value_range)
    enc = encode(source, dataset.x[0].numpy())
    assert enc.mu.shape == (6,) and enc.reconstruction.shape == (1, 32, 32)
    assert 0.0 <= enc.reconstruction.min() and enc.reconstruction.max() <= 1.0
    rgb = np.zeros((40, 50, 3), np.uint8)
    rgb[10:30, 15:35] = (255, 255, 255)
    Image.fromarray(rgb).save(tmp_path / "square.png")
    x = load_image_file(tmp_path / "square.png", (1, 32, 32))
    assert x.shape == (1, 32, 32) and x.max() == pytest.approx(1.0) and x[0, 0, 0] == 0.0
    assert not np.allclose(encode(source, x).mu, enc.mu)
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(DataError, match="bad.png: not a readable image"):
        load_image_file(tmp_path / "bad.png", (1, 32, 32))
    with pytest.raises(DataError, match="shape"):
        encode(source, np.zeros((3, 32, 32), np.float32))
    with pytest.raises(ConfigError, match="a GAN cannot map an image back"):
        encode(open_source(dcgan_run), x)


def test_latent_file_round_trip_and_errors(tmp_path):
    z = np.linspace(-1, 1, 5).astype(np.float32)
    y = np.array([0.5, 0.5, 0.0], np.float32)
    path = saving.save_latent(tmp_path / "look", z, y, model="cgan", step=12)
    assert path.name == "look.json"
    record = json.loads(path.read_text())
    assert record["model"] == "cgan" and record["step"] == 12
    z2, y2, _ = saving.load_latent(path, 5, 3)
    assert np.allclose(z2, z) and np.allclose(y2, y)
    with pytest.raises(ConfigError, match="look.json: .*has 5 numbers but this model's z has 4"):
        saving.load_latent(path, 4, 3)
    with pytest.raises(ConfigError, match="condition has 3 classes, this model has 2"):
        saving.load_latent(path, 5, 2)
    (tmp_path / "junk.json").write_text("{nope")
    with pytest.raises(ConfigError, match="junk.json: not a saved latent"):
        saving.load_latent(tmp_path / "junk.json", 5)


def test_gif_has_every_frame_forward_and_back(tmp_path):
    frames = [np.full((8, 8, 1), v, np.uint8) for v in (0, 120, 250)]
    path = saving.save_gif(frames, tmp_path / "walk.gif", fps=10, scale=2)
    with Image.open(path) as gif:
        assert gif.size == (16, 16) and gif.n_frames == 4  # 0, 120, 250, 120
        gif.seek(2)
        assert np.asarray(gif.convert("L"))[0, 0] == 250
    with pytest.raises(ConfigError):
        saving.save_gif([], tmp_path / "empty.gif")


def test_live_frame_of_a_conditional_vae_on_moons(cvae_moons_run):
    source = open_source(cvae_moons_run)
    real = run_dataset(source.info, source.sample_shape, source.value_range).x[:500].numpy()
    frame = live2d.live_frame(source, real, n_generated=200)
    assert frame.generated.shape == (200, 2) and frame.heatmap is None
    assert frame.mesh.shape == (2 * live2d.MESH_LINES, live2d.MESH_LINES, 2)
    x0, x1, y0, y1 = frame.extent
    inside = (real[:, 0] > x0) & (real[:, 0] < x1) & (real[:, 1] > y0) & (real[:, 1] < y1)
    assert inside.mean() > 0.98


def test_explorer_state_and_its_render_jobs_without_a_widget(dcgan_run, cvae_moons_run):
    state = ExplorerState()
    with pytest.raises(ConfigError, match="no model is open"):
        state.main_job()
    assert not state.take(load_job(dcgan_run, "torch", keep_state=False)())
    source = state.source
    assert np.array_equal(state.z, latent.seed_latent(0, source.latent_dim)) and state.seed == 0
    state.set_latent(np.full(source.latent_dim, 0.5), seed=None)
    picture = state.main_job()()
    expected = to_uint8(source.backend.generate(np.full((1, source.latent_dim), 0.5, np.float32), None),
                        source.value_range)[0]  # fmt: skip
    assert np.array_equal(picture, expected) and state.caption() == "edited z"
    with pytest.raises(ConfigError, match="this model takes"):
        state.set_latent(np.zeros(source.latent_dim + 1))
    grid = state.neighbour_latents()
    assert grid.shape == (9, source.latent_dim) and np.array_equal(grid[4], state.z)
    batch = state.batch_job(grid, None, 3)()
    assert batch.samples.shape[0] == 9 and batch.cells[:2] == (3, 3)
    # new weights of the same model keep z; another model resets it
    assert state.take(load_job(dcgan_run, "torch", keep_state=True)()) and state.seed is None
    generation = state.generation
    state.close()
    assert state.source is None and state.generation == generation + 1
    assert not state.take(load_job(cvae_moons_run, "torch", keep_state=True)())
    assert state.y is not None and state.about()["class_names"] == state.source.condition_names()
    assert state.main_job()().shape == (320, 320, 3)  # a 2D point over the generated cloud


def test_row_labels_draw_class_names_in_any_script_not_missing_glyph_boxes():
    from gan_studio.explore.label_fonts import label_font
    from gan_studio.explore.saving import label_rows

    font = label_font(11)

    def glyph(text):
        mask = font.getmask(text)
        return mask.size, bytes(mask)

    missing = glyph("\U0010fffd")  # a private-use code point: no font draws it, every font shows its box
    for character in "üïé✓":
        assert glyph(character) != missing, character
    picture, margin = label_rows(np.zeros((36, 36), np.uint8), ["ünïcode ✓"], 32)
    assert margin > 8 and picture[:, :margin].any()


def test_row_labels_in_scripts_the_main_font_lacks_fall_back_to_a_font_that_has_them():
    """Class folders "零 zero", "猫": DejaVu has no CJK; they were drawn as boxes beside every grid row."""
    from gan_studio.explore import label_fonts

    chain = label_fonts.font_chain(11)
    if not any(label_fonts._draws(font, "零") for font in chain[:-1]):
        pytest.skip("no CJK font on this system (the quickstart installs fonts-droid-fallback)")
    assert not label_fonts._draws(chain[0], "零")  # the main font lacks it: the fallback is what draws it
    runs = label_fonts.font_runs("零 zero", 11)
    assert runs[0][0].startswith("零") and label_fonts._draws(runs[0][1], "零") and runs[-1][1] is chain[0]
    picture, margin = label_rows_of("零 zero")
    alone, _ = label_rows_of("zero")
    assert margin > label_fonts.text_width("zero", 11) and picture[:, :margin].any() and alone.shape != picture.shape


def label_rows_of(text):
    from gan_studio.explore.saving import label_rows

    return label_rows(np.zeros((36, 36), np.uint8), [text], 32)
