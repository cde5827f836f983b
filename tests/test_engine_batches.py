"""BatchStream: uint8 batches converted per batch, memory map equal to RAM, reproducible flips across a resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_engine_trainer import consume, losses_by_step, make_trainer

from gan_studio.data import image_dataset, load_dataset
from gan_studio.data.shapes import make_shapes
from gan_studio.engine.batches import BatchStream, flip_mask
from gan_studio.engine.trainer import Trainer
from gan_studio.errors import ConfigError
from gan_studio.store.checkpoint import load_checkpoint


def shapes_dataset(n=96, size=32, value_range=(-1.0, 1.0)):
    x, y, names = make_shapes(n=n, size=size, seed=0, colour=True)
    return image_dataset("shapes", x.transpose(0, 3, 1, 2), y, names, value_range)


def batches(stream: BatchStream, count: int) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    return [stream() for _ in range(count)]


def test_batches_are_float_in_the_value_range_from_uint8_storage():
    ds = shapes_dataset()
    stream = BatchStream(ds, ds.num_classes, 16, seed=1)
    x, y = stream()
    assert x.dtype == torch.float32 and x.shape == (16, 3, 32, 32)
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0 and y.shape == (16, 6)
    index = stream._epoch_order()[:16]
    torch.testing.assert_close(x, ds.take(index))  # the same conversion as Dataset.take


def test_memory_mapped_and_in_ram_storage_give_identical_batches(tmp_path):
    x, y, names = make_shapes(n=64, size=16, seed=2)
    np.savez(tmp_path / "shapes.npz", x=x, y=y)
    mapped = load_dataset(str(tmp_path / "shapes.npz"), image_size=16, value_range=(-1.0, 1.0))
    assert isinstance(mapped.pixels, np.memmap)
    in_ram = image_dataset("s", np.array(mapped.pixels), mapped.y.numpy(), mapped.class_names, (-1.0, 1.0))
    a = batches(BatchStream(mapped, mapped.num_classes, 8, seed=3), 20)  # 2.5 epochs
    b = batches(BatchStream(in_ram, in_ram.num_classes, 8, seed=3), 20)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_flip_mirrors_the_images_its_mask_picks():
    ds = shapes_dataset()
    plain = batches(BatchStream(ds, 0, 16, seed=4), 3)
    flipped = batches(BatchStream(ds, 0, 16, seed=4, flip=True), 3)
    mirrored = 0
    for position, ((xp, _), (xf, _)) in enumerate(zip(plain, flipped, strict=True)):
        mask = flip_mask(4, 0, position, 0, 16)
        assert torch.equal(xf[mask], xp[mask].flip(-1)) and torch.equal(xf[~mask], xp[~mask])
        mirrored += int(mask.sum())
    assert 0 < mirrored < 48
    assert not np.array_equal(flip_mask(4, 0, 0, 0, 16), flip_mask(4, 1, 0, 0, 16))  # a new draw each epoch


def test_flips_continue_identically_after_restoring_the_stream_state():
    ds = shapes_dataset()
    full = BatchStream(ds, ds.num_classes, 16, seed=5, flip=True)
    expected = batches(full, 14)  # past an epoch boundary (6 batches per epoch)
    part = BatchStream(ds, ds.num_classes, 16, seed=5, flip=True)
    batches(part, 8)
    resumed = BatchStream(ds, ds.num_classes, 16, seed=5, flip=True)
    resumed.restore(part.state())
    for (xe, ye), (xr, yr) in zip(expected[8:], batches(resumed, 6), strict=True):
        assert torch.equal(xe, xr) and torch.equal(ye, yr)


@pytest.mark.parametrize(("saved_world", "resumed_world"), [(2, 1), (1, 2)])
def test_a_stream_resumed_on_another_number_of_processes_continues_after_the_same_samples(saved_world, resumed_world):
    """torchrun with 2 processes, resumed by one (or the other way): the epoch neither restarts nor skips."""
    ds = shapes_dataset(n=96)
    order = BatchStream(ds, 0, 8, seed=6)._epoch_order()  # every world size reads the epoch in this order
    saved = [BatchStream(ds, 0, 8, seed=6, rank=r, world_size=saved_world) for r in range(saved_world)]
    for stream in saved:
        batches(stream, 2)
    seen = 2 * 8 * saved_world  # samples of epoch 0 the saved run's processes took together
    resumed = [BatchStream(ds, 0, 8, seed=6, rank=r, world_size=resumed_world) for r in range(resumed_world)]
    for stream in resumed:
        stream.restore(saved[0].state())
        assert stream.resized_from == 8 * saved_world and stream.epoch == 0
    upcoming = [stream._epoch_order()[stream.position * 8 : stream.position * 8 + 8] for stream in resumed]
    assert sorted(np.concatenate(upcoming)) == sorted(order[seen : seen + 8 * resumed_world])
    assert abs(resumed[0].epoch_progress - saved[0].epoch_progress) < 1e-9  # the epoch counter goes on


def test_flip_is_refused_for_points():
    points = load_dataset("ring8")
    with pytest.raises(ConfigError, match="images only"):
        BatchStream(points, 0, 16, seed=0, flip=True)


def test_a_resumed_run_with_flip_logs_the_same_numbers(tmp_path):
    dataset = shapes_dataset()
    full = make_trainer(tmp_path, "dcgan", "full", dataset=dataset, steps=16, flip=True)
    consume(full)
    part = make_trainer(tmp_path, "dcgan", "part", dataset=dataset, steps=16, flip=True)
    consume(part, until=8, action=part.stop)
    resumed = Trainer.from_checkpoint(part.run.path, dataset=dataset)
    assert resumed.train_config.flip and resumed.step == 8
    consume(resumed)
    assert losses_by_step(part.run.path) == losses_by_step(full.run.path)
    weights = [load_checkpoint(t.run.last_checkpoint)["model"] for t in (full, part)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    unflipped = make_trainer(tmp_path, "dcgan", "plain", dataset=dataset, steps=16)
    consume(unflipped)
    assert losses_by_step(unflipped.run.path) != losses_by_step(full.run.path)  # the flips did change training
