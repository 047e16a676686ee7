"""The health rules, applied to hand-made observations (no Redis, no clock)."""

from __future__ import annotations

import pytest

from pipeline.health import (
    DOCLOG_ERROR_WINDOW_S,
    DoclogSnapshot,
    GroupObservation,
    Observations,
    QueueObservation,
    Report,
    Status,
    Thresholds,
    evaluate,
    next_doclog_snapshot,
    next_over_since,
)
from pipeline.settings import Settings

NOW = 1_800_000_000.0
T = Thresholds(backlog_warn=100, backlog_crit=1000, latency_warn_s=300, latency_crit_s=1800,
               dead_warn=1, dead_crit=100, sustain_s=300)


def queue(**fields: object) -> QueueObservation:
    values: dict[str, object] = {"name": "seo", "group": "worker1", "waiting": 0,
                                 "oldest_age_s": None, "in_flight": 0, "delayed": 0, "dead": 0}
    values.update(fields)
    return QueueObservation(**values)  # type: ignore[arg-type]


def group(**fields: object) -> GroupObservation:
    values: dict[str, object] = {"name": "worker1", "live": 2, "expected": 2}
    values.update(fields)
    return GroupObservation(**values)  # type: ignore[arg-type]


def report(queues: tuple[QueueObservation, ...] = (), groups: tuple[GroupObservation, ...] = (),
           schedulers: int = 1) -> Report:
    return evaluate(Observations(NOW, queues, groups, schedulers), T)


def status_of(rep: Report, kind: str, subject: str) -> Status:
    (check,) = [c for c in rep.checks if (c.kind, c.subject) == (kind, subject)]
    return check.status


def test_everything_fine_is_ok_with_exit_code_0() -> None:
    rep = report((queue(waiting=5, oldest_age_s=2.0, in_flight=3),), (group(),))
    assert rep.status is Status.OK
    assert rep.exit_code == 0
    assert rep.problems == ()
    assert {(c.kind, c.subject) for c in rep.checks} == {
        ("backlog", "seo"), ("latency", "seo"), ("dead", "seo"), ("workers", "worker1"),
        ("doclog", "worker1"), ("scheduler", "scheduler"), ("moved_aside", "moved_aside")}


def test_thresholds_come_from_the_settings() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://h:1/0", "ATR_HEALTH_BACKLOG_WARN": "7",
                                  "ATR_HEALTH_SUSTAIN_S": "0"})
    t = Thresholds.from_settings(settings)
    assert (t.backlog_warn, t.backlog_crit, t.sustain_s) == (7, 1000, 0)
    assert (t.latency_warn_s, t.latency_crit_s, t.dead_warn, t.dead_crit) == (300, 1800, 1, 100)


@pytest.mark.parametrize(("waiting", "lasted", "expected"), [
    (99, 10_000, Status.OK),          # under WARN, however long
    (100, 299, Status.OK),            # at WARN but not yet sustained
    (100, 300, Status.WARN),          # at WARN, sustained exactly
    (999, 300, Status.WARN),
    (1000, 300, Status.CRIT),         # at CRIT, sustained
    (5000, 0, Status.OK),             # a burst just seen: not yet an alarm
])
def test_backlog_counts_only_once_sustained(waiting: int, lasted: float,
                                            expected: Status) -> None:
    q = queue(waiting=waiting, over_since=NOW - lasted if waiting >= 100 else None)
    rep = report((q,))
    assert status_of(rep, "backlog", "seo") is expected
    if expected is not Status.OK:
        (problem,) = rep.problems
        assert "worker1" in (problem.reason or "")


def test_a_backlog_without_a_recorded_streak_is_not_yet_an_alarm() -> None:
    rep = report((queue(waiting=5000, over_since=None),))
    assert status_of(rep, "backlog", "seo") is Status.OK
    (check,) = [c for c in rep.checks if c.kind == "backlog"]
    assert "counts after 5 min" in check.detail


def test_sustain_of_zero_alarms_at_once() -> None:
    t0 = Thresholds(100, 1000, 300, 1800, 1, 100, sustain_s=0)
    rep = evaluate(Observations(NOW, (queue(waiting=100, over_since=NOW),), (), 1), t0)
    assert status_of(rep, "backlog", "seo") is Status.WARN


@pytest.mark.parametrize(("age", "expected"), [
    (None, Status.OK), (299.9, Status.OK), (300, Status.WARN), (1799, Status.WARN),
    (1800, Status.CRIT),
])
def test_latency_of_the_oldest_waiting_message(age: float | None, expected: Status) -> None:
    rep = report((queue(waiting=1 if age is not None else 0, oldest_age_s=age),))
    assert status_of(rep, "latency", "seo") is expected


def test_a_stuck_queue_says_nothing_is_being_processed() -> None:
    rep = report((queue(waiting=3, oldest_age_s=4000.0, in_flight=0),))
    (problem,) = rep.problems
    assert (problem.kind, problem.status) == ("latency", Status.CRIT)
    assert "nothing is being processed" in (problem.reason or "")
    assert "atr ping seo" in (problem.reason or "")


@pytest.mark.parametrize(("dead", "expected"), [
    (0, Status.OK), (1, Status.WARN), (99, Status.WARN), (100, Status.CRIT),
])
def test_dead_letters(dead: int, expected: Status) -> None:
    assert status_of(report((queue(dead=dead),)), "dead", "seo") is expected


@pytest.mark.parametrize(("live", "expected_processes", "expected"), [
    (0, 2, Status.CRIT), (1, 2, Status.WARN), (2, 2, Status.OK), (3, 2, Status.OK),
    (0, 1, Status.CRIT), (1, 1, Status.OK),
])
def test_live_worker_processes_against_the_table(live: int, expected_processes: int,
                                                 expected: Status) -> None:
    rep = report(groups=(group(live=live, expected=expected_processes),))
    assert status_of(rep, "workers", "worker1") is expected


def test_a_dead_group_is_crit_and_says_how_to_start_it() -> None:
    rep = report(groups=(group(live=0),))
    assert rep.exit_code == 2
    (problem,) = rep.problems
    assert "atr worker worker1" in (problem.reason or "")


@pytest.mark.parametrize(("grew_ago", "expected"), [
    (None, Status.OK), (0, Status.WARN), (DOCLOG_ERROR_WINDOW_S - 1, Status.WARN),
    (DOCLOG_ERROR_WINDOW_S, Status.OK),
])
def test_doclog_errors_that_grew_within_the_hour_warn(grew_ago: float | None,
                                                      expected: Status) -> None:
    grew_at = None if grew_ago is None else NOW - grew_ago
    rep = report(groups=(group(doclog_errors=4, doclog_grew_at=grew_at),))
    assert status_of(rep, "doclog", "worker1") is expected


def test_no_scheduler_is_warn() -> None:
    rep = report(schedulers=0)
    assert rep.status is Status.WARN
    assert rep.exit_code == 1
    (problem,) = rep.problems
    assert "periodic jobs" in (problem.reason or "")


def test_the_worst_check_decides_and_problems_come_worst_first() -> None:
    rep = report((queue(dead=1), queue(name="high", oldest_age_s=2000.0, waiting=1)),
                 (group(live=1),), schedulers=0)
    assert rep.status is Status.CRIT
    assert rep.exit_code == 2
    assert [c.status for c in rep.problems] == [Status.CRIT, Status.WARN, Status.WARN,
                                                Status.WARN]
    assert all(c.reason for c in rep.problems)
    assert all(c.reason is None for c in rep.checks if c.status is Status.OK)


def test_the_backlog_streak_starts_is_kept_and_ends() -> None:
    assert next_over_since(None, 99, T, NOW) is None
    assert next_over_since(None, 100, T, NOW) == NOW
    assert next_over_since(NOW - 60, 150, T, NOW) == NOW - 60
    assert next_over_since(NOW - 60, 10, T, NOW) is None
    assert next_over_since(NOW + 60, 150, T, NOW) == NOW  # a start in the future is reset


def test_doclog_snapshots_detect_growth() -> None:
    first = next_doclog_snapshot(None, 0, NOW)
    assert first == DoclogSnapshot(0, None)
    assert next_doclog_snapshot(None, 3, NOW) == DoclogSnapshot(3, NOW)  # unseen errors
    grown = next_doclog_snapshot(first, 2, NOW + 10)
    assert grown == DoclogSnapshot(2, NOW + 10)
    assert next_doclog_snapshot(grown, 2, NOW + 20) == grown  # same count: no growth
    assert next_doclog_snapshot(grown, 0, NOW + 30) == DoclogSnapshot(0, NOW + 10)  # reset
