"""The ads round trip with the real CLI: policy, a dry run, review, approve, the doclog.

worker2 runs under the real ``dramatiq`` CLI against the WordPress stand-in,
with a GA4 snapshot of chosen tiers. ``monetize`` (dry run by default)
proposes; ``atr ads review`` shows current vs proposed; an editor sets one
post's mode by hand; ``atr ads approve --all`` has worker2 write the others
and keep the editor's; the doclog shows ``ads.applied`` and ``ads.kept``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from devkit.snapshots import write_tier_snapshot
from devkit.supervise import GroupProcess
from devkit.wordpress import WordPressStandIn
from tests.helpers import read_stream, run_atr

KEY = "atr_ad_mode"


def _wait(root: Path, event: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = [ln for ln in read_stream(root, "monetize") if ln["event"] == event]
        if len(lines) >= count:
            return lines
        time.sleep(0.2)
    raise AssertionError(f"no {count} {event} lines: {read_stream(root, 'monetize')}")


def test_review_then_approve_writes_the_meta_and_the_doclog_shows_it(
        worker_env: dict[str, str], tmp_path: Path, wordpress: WordPressStandIn) -> None:
    promote, keep, prune = wordpress.post_ids[:3]
    env = {**worker_env, "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token,
           "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "2",
           "ATR_ADS_MIN_WORDS": "10"}
    root = Path(env["ATR_DOCLOG_ROOT"])
    today = dt.datetime.now(ZoneInfo("Asia/Seoul")).date()

    policy = run_atr("ads", "policy", env=env, cwd=tmp_path)
    assert policy.returncode == 0, policy.stderr
    assert "no GA4 snapshot yet" in policy.stdout and "refresh" in policy.stdout
    write_tier_snapshot(root, today, {promote: "promote", keep: "keep", prune: "prune"})
    shown = json.loads(run_atr("ads", "policy", "--json", env=env, cwd=tmp_path).stdout)
    assert shown["policy"]["prune"] == "off" and shown["snapshot"]["fresh"] is True

    with GroupProcess("worker2", env, tmp_path / "worker2.log", cwd=tmp_path) as worker:
        assert run_atr("send", "monetize", "{}", env=env, cwd=tmp_path).returncode == 0
        _wait(root, "ads.proposed", 3)
        assert wordpress.requests_to("POST", "posts.item") == []   # a dry run

        review = run_atr("ads", "review", env=env, cwd=tmp_path)
        assert review.returncode == 0, review.stderr
        for post_id, mode in ((promote, "on"), (keep, "on"), (prune, "off")):
            assert any(line.split()[:1] == [str(post_id)] and mode in line.split()
                       for line in review.stdout.splitlines()), review.stdout
        assert "atr ads approve" in review.stdout

        # An editor decides by hand before approval: no ads on this one.
        wordpress.edit_post(keep, meta={KEY: "off"})
        approve = run_atr("ads", "approve", "--all", env=env, cwd=tmp_path)
        assert approve.returncode == 0, approve.stderr
        assert "monetize enqueued" in approve.stdout
        applied = _wait(root, "ads.applied", 2)
        (kept,) = _wait(root, "ads.kept", 1)
        assert worker.stop() == 0, worker.log_text()

    assert wordpress.post(promote).meta[KEY] == "on"
    assert wordpress.post(prune).meta[KEY] == "off"
    assert wordpress.post(keep).meta[KEY] == "off"
    assert {ln["post_id"]: ln["mode"] for ln in applied} == {promote: "on", prune: "off"}
    assert all(ln["snapshot"] == today.isoformat() and ln["key"] == KEY for ln in applied)
    assert kept["post_id"] == keep
    missing = run_atr("ads", "approve", str(promote), env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert f"post {promote} has no proposal" in missing.stderr


def test_a_stale_snapshot_is_reported_and_nothing_changes(
        worker_env: dict[str, str], tmp_path: Path, wordpress: WordPressStandIn) -> None:
    first = wordpress.post_ids[0]
    env = {**worker_env, "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token,
           "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "1",
           "ATR_ADS_MODE": "apply", "ATR_ADS_SNAPSHOT_MAX_AGE_DAYS": "3"}
    root = Path(env["ATR_DOCLOG_ROOT"])
    old = dt.datetime.now(ZoneInfo("Asia/Seoul")).date() - dt.timedelta(days=5)
    write_tier_snapshot(root, old, {first: "promote"})
    assert "STALE" in run_atr("ads", "policy", env=env, cwd=tmp_path).stdout
    with GroupProcess("worker2", env, tmp_path / "worker2.log", cwd=tmp_path) as worker:
        assert run_atr("send", "monetize", "{}", env=env, cwd=tmp_path).returncode == 0
        (line,) = _wait(root, "ads.no_snapshot", 1)
        assert worker.stop() == 0, worker.log_text()
    assert "5 days old, more than ATR_ADS_SNAPSHOT_MAX_AGE_DAYS=3" in str(line["reason"])
    assert wordpress.requests == []
