"""ga4_score as worker2 runs it: the drop folder scored against the WordPress stand-in."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.demo.ga4 import sample_posts, write_sample_export
from devkit.wordpress import WordPressStandIn
from pipeline.settings import Settings
from tests.helpers import dead_letters, ends_with, wait_lines

DATA = Path(__file__).resolve().parents[1] / "data" / "ga4"


@pytest.fixture
def site() -> Iterator[WordPressStandIn]:
    with WordPressStandIn(posts=sample_posts()) as server:
        yield server


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def start(redis_url: str, logs: Path, drop: Path, site: WordPressStandIn,
          **extra: str) -> tuple[RedisBroker, dramatiq.Worker]:
    broker = producer_broker(Settings.from_env({
        "REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(logs), "ATR_GA4_DROP_DIR": str(drop),
        "BRIDGE_BASE": site.base_url, "BRIDGE_TOKEN": site.token, **extra}))
    worker = dramatiq.Worker(broker, queues={"ga4"}, worker_threads=1, worker_timeout=100)
    worker.start()
    return broker, worker


@pytest.fixture
def broker(redis_url: str, logs: Path, drop: Path,
           site: WordPressStandIn) -> Iterator[RedisBroker]:
    broker, worker = start(redis_url, logs, drop, site)
    yield broker
    worker.stop()
    broker.close()


def snapshot_rows(logs: Path) -> list[dict[str, str]]:
    (path,) = (logs / "ga4_scores").glob("*.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens the Korean titles
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_drop_folder_is_scored_and_moved_to_done(broker: RedisBroker, logs: Path,
                                                     drop: Path) -> None:
    export = write_sample_export(drop / "pages_2026-11.csv", sample_posts())
    send(broker, "ga4_score", {})
    lines = wait_lines(logs, "ga4_score", ends_with("succeeded"), timeout=60)
    (scored,) = [ln for ln in lines if ln["event"] == "ga4.scored"]
    assert scored["tiers"] == {"promote": 2, "keep": 3, "refresh": 2, "prune": 0,
                               "insufficient-data": 1}
    assert scored["input_files"] == [str(export)]
    assert scored["unmatched_paths"] == 5 and scored["merged_posts"] == 1
    assert scored["period"] == {"start": "2026-11-01", "end": "2026-11-30"}
    assert isinstance(scored["duration_ms"], int)
    assert scored["refresh_proposals"] == []  # ATR_GA4_REFRESH_SEO is off by default
    rows = snapshot_rows(logs)
    assert scored["snapshot"] == str(next((logs / "ga4_scores").glob("*.csv")))
    first = rows[0]
    # Four path variants of the first post are one row with their views summed.
    assert (first["post_id"], first["tier"], first["views"], first["variants"]) == (
        "101", "promote", "9000", "4")
    assert first["title"] == sample_posts()[0].title
    assert not export.exists() and (drop / "done" / export.name).is_file()


def test_a_refused_file_leaves_no_snapshot_and_is_not_retried(
        broker: RedisBroker, logs: Path, drop: Path, redis_url: str) -> None:
    good = write_sample_export(drop / "pages_2026-11.csv", sample_posts())
    bad = drop / "by_title.csv"
    shutil.copy(DATA / "pages_and_screens_by_title_en.csv", bad)
    message = send(broker, "ga4_score", {})
    lines = wait_lines(logs, "ga4_score", ends_with("rejected"), timeout=60)
    assert [ln["event"] for ln in lines] == ["started", "ga4.refused", "rejected"]
    refused = lines[1]
    assert refused["files"] == ["by_title.csv"]
    assert "no Page path and screen class (페이지 경로 및 화면 클래스) column" in refused["reason"]
    assert not (logs / "ga4_scores").exists()  # nothing imported
    assert not bad.exists() and (drop / "refused" / "by_title.csv").is_file()
    reason = (drop / "refused" / "by_title.csv.reason.txt").read_text(encoding="utf-8")
    assert reason.startswith(f"{bad}: not a GA4 page report") and reason.endswith("\n")
    assert good.is_file()  # left for the next run
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    (dead,) = dead_letters(client, "ga4")
    stored = json.loads(str(client.hget("dramatiq:ga4.XQ.msgs", dead)))
    client.close()
    assert stored["message_id"] == message.message_id

    # The next run scores what is left.
    send(broker, "ga4_score", {})
    lines = wait_lines(logs, "ga4_score", ends_with("succeeded"), timeout=60)
    assert [ln["event"] for ln in lines][-2:] == ["ga4.scored", "succeeded"]
    assert len(snapshot_rows(logs)) == 8


def test_named_files_and_bad_payloads(broker: RedisBroker, logs: Path, drop: Path) -> None:
    write_sample_export(drop / "a.csv", sample_posts())
    send(broker, "ga4_score", {"files": ["../etc/passwd"]})
    lines = wait_lines(logs, "ga4_score", ends_with("rejected"))
    assert "is not a file name in the drop folder" in lines[-1]["error"]
    send(broker, "ga4_score", {"files": ["missing.csv"]})
    lines = wait_lines(logs, "ga4_score", lambda ls: len(ls) == 4 and ls[-1]["event"] ==
                       "rejected")
    assert "'missing.csv' is not in the drop folder" in lines[-1]["error"]
    send(broker, "ga4_score", {"files": ["a.csv"], "dry_run": True})
    lines = wait_lines(logs, "ga4_score", ends_with("succeeded"), timeout=60)
    assert lines[-2]["event"] == "ga4.scored" and lines[-2]["dry_run"] is True
    assert lines[-2]["snapshot"] is None
    assert (drop / "a.csv").is_file() and not (logs / "ga4_scores").exists()


def test_an_empty_drop_folder_says_so(broker: RedisBroker, logs: Path, drop: Path) -> None:
    (drop / ".pages.csv.part").write_text("half a download", encoding="utf-8")
    send(broker, "ga4_score", {})
    lines = wait_lines(logs, "ga4_score", ends_with("succeeded"))
    assert [ln["event"] for ln in lines] == ["started", "ga4.no_input", "succeeded"]
    assert lines[1]["drop_dir"] == str(drop)


def test_posts_entering_refresh_get_an_seo_proposal_message(
        redis_url: str, logs: Path, drop: Path, site: WordPressStandIn) -> None:
    broker, worker = start(redis_url, logs, drop, site, ATR_GA4_REFRESH_SEO="propose")
    try:
        write_sample_export(drop / "pages_2026-11.csv", sample_posts())
        send(broker, "ga4_score", {})
        lines = wait_lines(logs, "ga4_score", ends_with("succeeded"), timeout=60)
    finally:
        worker.stop()
        broker.close()
    (scored,) = [ln for ln in lines if ln["event"] == "ga4.scored"]
    refresh = [int(r["post_id"]) for r in snapshot_rows(logs) if r["tier"] == "refresh"]
    assert sorted(scored["refresh_proposals"]) == sorted(refresh) and len(refresh) == 2
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    queued = [json.loads(str(client.hget("dramatiq:seo.msgs", mid)))
              for mid in client.lrange("dramatiq:seo", 0, -1)]
    client.close()
    assert sorted(m["kwargs"]["post_id"] for m in queued) == sorted(refresh)
    assert {m["actor_name"] for m in queued} == {"seo_automation"}


def test_an_empty_drop_folder_is_filled_by_the_live_pull_when_configured(
        redis_url: str, logs: Path, drop: Path, site: WordPressStandIn, tmp_path: Path) -> None:
    from urllib.parse import unquote

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from devkit.fakes.ga4_server import PROPERTY_ID, Ga4DataFake

    rows = [(f"/{unquote(p.slug)}/", {"screenPageViews": 1000 - 100 * k, "activeUsers": 400,
                                      "userEngagementDuration": 24_000, "keyEvents": 2})
            for k, p in enumerate(sample_posts())]
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    with Ga4DataFake(rows) as fake:
        key_file = tmp_path / "sa.json"
        key_file.write_text(json.dumps(fake.service_account_info(pem)), encoding="utf-8")
        broker, worker = start(redis_url, logs, drop, site, ATR_GA4_PROPERTY_ID=PROPERTY_ID,
                               ATR_GA4_CREDENTIALS=str(key_file), ATR_GA4_API_BASE=fake.url)
        try:
            send(broker, "ga4_score", {})
            lines = wait_lines(logs, "ga4_score", ends_with("succeeded"), timeout=60)
        finally:
            worker.stop()
            broker.close()
    assert [ln["event"] for ln in lines] == ["started", "ga4.pulled", "ga4.scored",
                                             "succeeded"]
    pulled, scored = lines[1], lines[2]
    assert pulled["property"] == PROPERTY_ID
    assert scored["period"] == pulled["period"] and scored["posts"] == 8
    assert scored["input_files"] == [pulled["file"]]
    assert (drop / "done" / Path(pulled["file"]).name).is_file()
    assert len(snapshot_rows(logs)) == 8
