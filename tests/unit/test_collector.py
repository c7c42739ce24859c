"""The cycle collector: tuned once a process has started, paused while a page parses."""

from __future__ import annotations

import gc

import pytest

from ga4sync import collector


@pytest.fixture
def restored_collector():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    gc.enable()


def test_a_started_process_collects_young_containers_every_10000(restored_collector):
    gc.set_threshold(700, 10, 10)
    made_at_start = [object() for _ in range(3)]
    collector.tune_collector()
    assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, 10, 10) == (10_000, 10, 10)
    # What the process made before it started is left out of every collection.
    assert gc.get_freeze_count() >= len(made_at_start)


def test_the_pause_leaves_the_collector_as_it_found_it(restored_collector):
    with collector.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector.collector_paused():
        raise RuntimeError("a page that does not parse")
    assert gc.isenabled()
    gc.disable()
    with collector.collector_paused():
        pass
    assert not gc.isenabled()
