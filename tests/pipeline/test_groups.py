"""The group table says what the runbook says, and every queue has exactly one owner."""

from __future__ import annotations

import pytest

from pipeline import names
from pipeline.errors import UnknownGroupError
from pipeline.groups import GROUPS, get_group, group_of_queue


def test_worker1_is_the_runbooks_sidekiq1() -> None:
    group = get_group("worker1")
    assert [(q.name, q.weight) for q in group.queues] == [
        ("seo", 5), ("thumbnails", 4), ("images", 3), ("high", 2)]
    assert group.concurrency == 12


def test_worker2_is_the_runbooks_sidekiq2_plus_index_and_ads() -> None:
    group = get_group("worker2")
    weights = {q.name: q.weight for q in group.queues}
    assert list(weights)[:4] == ["ga4", "doclog", "misc", "low"]
    assert [weights[q] for q in ("ga4", "doclog", "misc", "low")] == [5, 3, 2, 1]
    assert {"index", "ads"} <= set(weights)
    assert group.concurrency == 6


def test_every_queue_belongs_to_exactly_one_group() -> None:
    owned = [q for g in GROUPS.values() for q in g.queue_names]
    assert sorted(owned) == sorted(names.ALL_QUEUES)
    assert len(owned) == len(set(owned)) == 10
    assert group_of_queue("ga4").name == "worker2"


def test_unknown_group_suggests_the_close_one() -> None:
    with pytest.raises(UnknownGroupError, match=r"'worker3' \(did you mean worker2\?\); "
                                                r"groups: worker1, worker2"):
        get_group("worker3")


def test_dramatiq_command_follows_the_table_and_overrides() -> None:
    argv = get_group("worker2").with_shape(1, None).dramatiq_argv("/venv/bin/dramatiq")
    assert argv == ["/venv/bin/dramatiq", "brokers.worker2:broker", "--processes", "1",
                    "--threads", "3", "--worker-shutdown-timeout", "60000",
                    "--queues", "ga4", "doclog", "misc", "low", "index", "ads"]
