"""ga4_score under the real dramatiq CLI (worker2): a dropped export becomes a snapshot.

The runbook's checks are run as an operator runs them: ``bin/doclog_today
ga4_score`` shows the scoring, and the newest ``ga4_scores/*.csv`` ends with
readable rows.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.demo.ga4 import sample_posts, write_sample_export
from devkit.supervise import GroupProcess
from devkit.wordpress import WordPressStandIn
from tests.helpers import read_stream, run_atr

ROOT = Path(__file__).parents[2]


@pytest.fixture
def site() -> Iterator[WordPressStandIn]:
    with WordPressStandIn(posts=sample_posts()) as server:
        yield server


def test_worker2_scores_the_drop_folder_and_the_runbook_checks_show_it(
        worker_env: dict[str, str], tmp_path: Path, site: WordPressStandIn) -> None:
    drop = tmp_path / "drop"
    env = {**worker_env, "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "1",
           "BRIDGE_BASE": site.base_url, "BRIDGE_TOKEN": site.token,
           "ATR_GA4_DROP_DIR": str(drop)}
    root = Path(env["ATR_DOCLOG_ROOT"])
    export = write_sample_export(drop / "pages_and_screens_2026-11.csv", sample_posts(),
                                 language="ko")

    with GroupProcess("worker2", env, tmp_path / "worker2.log", cwd=tmp_path) as worker:
        sent = run_atr("send", "ga4_score", "{}", env=env, cwd=tmp_path)
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 120
        lines = read_stream(root, "ga4_score")
        while not any(ln["event"] == "succeeded" for ln in lines) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
            lines = read_stream(root, "ga4_score")
        assert worker.stop() == 0, worker.log_text()
    assert [ln["event"] for ln in lines] == ["started", "ga4.scored", "succeeded"], \
        worker.log_text()
    assert all(ln["group"] == "worker2" and ln["queue"] == "ga4" for ln in lines)
    assert not export.exists() and (drop / "done" / export.name).is_file()

    today = subprocess.run([str(ROOT / "bin" / "doclog_today"), "ga4_score"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=60,
                           check=False)
    assert today.returncode == 0, today.stderr
    (scored,) = [line for line in today.stdout.splitlines() if "ga4.scored" in line]
    assert '"promote":2' in scored.replace(" ", "") and "pages_and_screens_2026-11.csv" in scored

    newest = max((root / "ga4_scores").glob("*.csv"), key=lambda p: p.stat().st_mtime)
    tail = subprocess.run(["tail", "-n", "20", str(newest)], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    assert len(tail) == 9  # the header and the 8 posts: the snapshot is small enough to read
    titles = {p.title for p in sample_posts()}
    assert sum(any(t in row for t in titles) for row in tail) == 8
