"""The ImageMagick middleware: needs declared per actor, refusals rejected at once, boot lines."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from actors.base import atr_actor
from brokers.broker import build_broker
from middleware.imagemagick import NeedsOptionError, parse_needs
from pipeline.errors import ConfigError
from pipeline.groups import get_group
from pipeline.imagemagick import Need
from pipeline.settings import Settings
from tests.helpers import dead_letters, ends_with, read_stream, wait_lines

ROOT = Path(__file__).resolve().parents[2]
NANUM = "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env({"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
                              "ATR_THUMB_FONT": NANUM, "ATR_THUMB_FORMAT": "webp"})


@pytest.fixture
def broker(settings: Settings) -> Iterator[RedisBroker]:
    broker = build_broker(settings, get_group("worker1"))
    yield broker
    broker.close()


def test_needs_are_pairs_need_objects_or_a_function_of_the_settings(settings: Settings) -> None:
    assert parse_needs([("jpeg", "read"), Need("PNG", "read")], settings) == \
        (Need("JPEG", "read"), Need("PNG", "read"))
    assert parse_needs(lambda s: [(s.thumb_format, "write")], settings) == \
        (Need("WEBP", "write"),)
    for bad in ("WEBP", [("WEBP", "execute")], [("WEBP",)], [("../x", "read")]):
        with pytest.raises(ConfigError, match="imagemagick_needs"):
            parse_needs(bad, settings)


def test_a_malformed_option_fails_the_declaration(broker: RedisBroker) -> None:
    with pytest.raises(NeedsOptionError, match=r"actor 'bad_needs'.*right 'read' or 'write'"):
        atr_actor(queue="thumbnails", broker=broker, name="bad_needs",
                  imagemagick_needs=[("WEBP", "draw")])(lambda: None)


def test_a_denied_need_rejects_the_message_at_once_and_other_queues_go_on(
        broker: RedisBroker, settings: Settings, redis_client: redis.Redis) -> None:
    ran: list[str] = []
    # PDF read is denied by Debian's own policy, whatever MAGICK_CONFIGURE_PATH says.
    pdf_reader = atr_actor(queue="thumbnails", broker=broker, name="read_pdf",
                           imagemagick_needs=[("PDF", "read")])(lambda: ran.append("pdf"))
    canary = atr_actor(queue="seo", broker=broker, name="seo_probe")(lambda: ran.append("seo"))
    worker = dramatiq.Worker(broker, queues={"thumbnails", "seo"}, worker_threads=2,
                             worker_timeout=100)
    worker.start()
    try:
        message = pdf_reader.send()
        canary.send()
        lines = wait_lines(settings.doclog_root, "read_pdf", ends_with("rejected"))
        wait_lines(settings.doclog_root, "seo_probe", ends_with("succeeded"))
        time.sleep(0.5)  # a retry, if any, would be enqueued by now
    finally:
        worker.stop()
    assert ran == ["seo"]
    assert [(line["event"], line["attempt"]) for line in lines] == \
        [("started", 1), ("rejected", 1)]
    assert lines[-1]["error"].startswith(
        "ImagePolicyDenied: ImageMagick policy denies read for coder PDF (policy: ")
    assert "/etc/ImageMagick-6/policy.xml" in lines[-1]["error"]
    assert lines[-1]["message_id"] == message.message_id
    assert len(dead_letters(redis_client, "thumbnails")) == 1  # keyed by the broker's own id
    assert read_stream(settings.doclog_root, "read_pdf") == lines


def test_an_allowed_need_runs_the_actor(broker: RedisBroker, settings: Settings) -> None:
    ran: list[str] = []
    writer = atr_actor(queue="thumbnails", broker=broker, name="write_jpeg",
                       imagemagick_needs=[("JPEG", "write")])(lambda: ran.append("jpeg"))
    worker = dramatiq.Worker(broker, queues={"thumbnails"}, worker_threads=1,
                             worker_timeout=100)
    worker.start()
    try:
        writer.send()
        wait_lines(settings.doclog_root, "write_jpeg", ends_with("succeeded"))
    finally:
        worker.stop()
    assert ran == ["jpeg"]


def test_a_bad_font_rejects_the_message_naming_the_setting(
        redis_url: str, tmp_path: Path) -> None:
    latin = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    settings = Settings.from_env({"REDIS_URL": redis_url, "ATR_THUMB_FONT": latin,
                                  "ATR_DOCLOG_ROOT": str(tmp_path / "logs")})
    broker = build_broker(settings, get_group("worker1"))
    ran: list[str] = []
    actor = atr_actor(queue="thumbnails", broker=broker, name="title_probe",
                      imagemagick_needs=[("JPEG", "write")])(lambda: ran.append("x"))
    worker = dramatiq.Worker(broker, queues={"thumbnails"}, worker_threads=1,
                             worker_timeout=100)
    worker.start()
    try:
        actor.send()
        lines = wait_lines(settings.doclog_root, "title_probe", ends_with("rejected"))
    finally:
        worker.stop()
        broker.close()
    assert ran == []
    assert lines[-1]["error"].startswith(f"FontRefused: ATR_THUMB_FONT={latin} has no glyph")


# A worker1 broker in its own process, so that MagickCore reads the deny policy
# of MAGICK_CONFIGURE_PATH; a test image actor, and a probe on another queue.
_WORKER = """
import logging, sys, time
import dramatiq
from actors.base import atr_actor
from brokers.broker import build_broker
from pipeline.groups import get_group
from pipeline.settings import Settings, process_environ

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
broker = build_broker(Settings.from_env(process_environ()), get_group("worker1"))
image = atr_actor(queue="thumbnails", broker=broker, name="webp_probe",
                  imagemagick_needs=lambda s: [("JPEG", "read"), (s.thumb_format, "write")])(
    lambda post_id: print("RAN", post_id, flush=True))
seo = atr_actor(queue="seo", broker=broker, name="seo_probe")(
    lambda: broker.client.rpush("seo_probe_done", "1"))
worker = dramatiq.Worker(broker, queues={"thumbnails", "seo"}, worker_threads=2,
                         worker_timeout=100)
worker.start()
image.send(post_id=7)
seo.send()
broker.client.blpop(["seo_probe_done"], timeout=20)
time.sleep(1.5)  # the image message has had its chance, and a retry would show
worker.stop()
broker.close()
"""


def test_with_a_deny_policy_a_worker_logs_it_at_boot_and_rejects_the_message(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    policy_dir = tmp_path / "magick"
    policy_dir.mkdir()
    (policy_dir / "policy.xml").write_text(
        '<policymap><policy domain="coder" rights="read" pattern="WEBP"/></policymap>')
    logs = tmp_path / "logs"
    env: dict[str, Any] = {k: v for k, v in os.environ.items()
                           if not k.startswith(("ATR_", "MAGICK_", "REDIS_"))}
    env.update({"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(logs), "ATR_THUMB_FONT": NANUM,
                "ATR_THUMB_FORMAT": "webp", "ATR_METRICS_WORKER1_PORT": "0",
                "MAGICK_CONFIGURE_PATH": str(policy_dir)})
    result = subprocess.run([sys.executable, "-c", _WORKER], env=env, cwd=ROOT, text=True,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    denial = (f"ImageMagick policy denies write for coder WEBP (policy: {policy_dir}/policy.xml); "
              "allow it or set ATR_THUMB_FORMAT=jpeg")
    critical = [line for line in result.stderr.splitlines() if line.startswith("CRITICAL")]
    assert critical == [f"CRITICAL middleware.imagemagick: ImageMagick preflight of group "
                        f"worker1: {denial}. Actors webp_probe: their messages are rejected "
                        "until it is fixed and the group restarted."]
    assert "RAN" not in result.stdout
    image_lines = read_stream(logs, "webp_probe")
    assert [(line["event"], line["attempt"]) for line in image_lines] == \
        [("started", 1), ("rejected", 1)]
    assert image_lines[-1]["error"] == f"ImagePolicyDenied: {denial}"
    assert image_lines[-1]["kwargs"] == {"post_id": 7}
    assert len(dead_letters(redis_client, "thumbnails")) == 1
    assert [line["event"] for line in read_stream(logs, "seo_probe")] == \
        ["started", "succeeded"]
