"""The render thread: latest request wins per channel, priorities, and errors returned as data."""

from __future__ import annotations

import threading

import pytest

from gan_studio.errors import ConfigError
from gan_studio.explore.renderer import Renderer


@pytest.fixture
def renderer():
    results = []
    r = Renderer(results.append, channels=("main", "grid"))
    r.results = results
    yield r
    r.close()


def blocker():
    """A job that runs until released, to hold the worker busy."""
    started, release = threading.Event(), threading.Event()

    def work():
        started.set()
        release.wait(5)
        return "blocker"

    return work, started, release


def test_stale_requests_are_dropped_and_only_the_newest_runs(renderer):
    work, started, release = blocker()
    renderer.submit("main", work)
    assert started.wait(5)
    for i in range(50):
        renderer.submit("main", lambda i=i: i, tag=i)
    release.set()
    assert renderer.wait_idle(5)
    assert [r.value for r in renderer.results] == ["blocker", 49]
    assert renderer.stats.submitted == 51 and renderer.stats.rendered == 2 and renderer.stats.dropped == 49
    assert renderer.stats.by_channel["main"]["dropped"] == 49


def test_channels_do_not_drop_each_other_and_main_goes_first(renderer):
    work, started, release = blocker()
    renderer.submit("grid", work)
    assert started.wait(5)
    renderer.submit("grid", lambda: "grid")
    renderer.submit("main", lambda: "main")
    release.set()
    assert renderer.wait_idle(5)
    assert [r.value for r in renderer.results] == ["blocker", "main", "grid"]
    assert renderer.stats.dropped == 0


def test_errors_come_back_as_data_and_the_worker_keeps_going(renderer):
    def bad_input():
        raise ConfigError("no such class 'seven'")

    def bug():
        return 1 / 0

    renderer.submit("main", bad_input)
    renderer.wait_idle(5)
    renderer.submit("main", bug)
    renderer.wait_idle(5)
    renderer.submit("main", lambda: "still alive")
    assert renderer.wait_idle(5)
    first, second, third = renderer.results
    assert not first.ok and first.error == "no such class 'seven'"
    assert second.error.startswith("ZeroDivisionError") and "Traceback" in second.value
    assert third.ok and third.value == "still alive" and third.compute_ms >= 0 and third.latency_ms >= third.compute_ms
    assert renderer.stats.failed == 2


def test_cancel_and_close_drop_waiting_jobs():
    results = []
    r = Renderer(results.append)
    work, started, release = blocker()
    r.submit("main", work)
    assert started.wait(5)
    r.submit("grid", lambda: "never")
    assert r.cancel("grid") and not r.cancel("grid")
    r.submit("strip", lambda: "never either")
    release.set()
    r.close()
    assert [x.value for x in results] in (["blocker"], ["blocker", "never either"])
    with pytest.raises(RuntimeError):
        r.submit("main", lambda: 1)
