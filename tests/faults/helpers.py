"""Assertions shared by the fault tests: nothing lost, nothing repeated, the gap in the doclog."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tests.helpers import Lines


def assert_each_succeeded_once(lines: Lines, *, expected: int) -> None:
    """``expected`` messages, each with exactly one ``succeeded`` and no ``dead``/``rejected``.

    A ``failed`` attempt (Redis went away under it) is fine when a retry then succeeded.
    """
    succeeded = Counter(ln["message_id"] for ln in lines if ln["event"] == "succeeded")
    assert len(succeeded) == expected, f"{len(succeeded)} of {expected} messages succeeded"
    assert {m: n for m, n in succeeded.items() if n > 1} == {}, "a message succeeded twice"
    final = [ln for ln in lines if ln["event"] in ("dead", "rejected")]
    assert final == [], final
    failed = {ln["message_id"] for ln in lines if ln["event"] == "failed"}
    assert failed <= set(succeeded), "a failed attempt was never retried"


def assert_outages_logged(lines: Lines, *, processes: int) -> dict[int, dict[str, Any]]:
    """Each of ``processes`` worker pids wrote ``redis.lost`` then ``redis.restored``, in turn.

    Returns each pid's last line (which is ``redis.restored``).
    """
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        by_pid.setdefault(line["pid"], []).append(line)
    assert len(by_pid) == processes, by_pid
    for pid, own in by_pid.items():
        events = [ln["event"] for ln in own]
        assert events[0::2] == ["redis.lost"] * len(events[0::2]), (pid, events)
        assert events[1::2] == ["redis.restored"] * len(events[1::2]), (pid, events)
        assert events[-1] == "redis.restored", (pid, events)
    return {pid: own[-1] for pid, own in by_pid.items()}


def children(pid: int) -> set[int]:
    """Pids of the live child processes of ``pid`` (the dramatiq master's worker processes)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found
