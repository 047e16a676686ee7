"""``./dev demo`` (``python -m devkit.demo``): the whole pipeline on embedded defaults, narrated.

Starts a private redis-server when ``REDIS_URL`` is unset, boots both worker
groups with the real ``dramatiq`` CLI (through ``atr worker``), sends a
message through every queue, renders the featured-image thumbnails of the
sample Korean posts of a local WordPress stand-in (under the shipped
ImageMagick policy), runs SEO automation in propose mode for the same posts
(LLM chain: the offline Korean provider by default) and prints the proposals
as ``atr seo review`` shows them, drops a Korean-UI GA4 export of the same
posts for worker2 to score (tiers, snapshot, monthly report), submits the posts'
URLs to a local IndexNow fake (twice: the second time nothing is sent), proposes
each post's ad mode from the GA4 tiers and approves them (``atr ads policy``,
``review`` and ``approve``), runs a dry-run ``doclog_rotate``, prints who handled
what and the doclog evidence of the run, and stops everything gracefully.
Later jobs add their steps here.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.demo.ga4 import demo_ga4, sample_posts
from devkit.demo.images import demo_image_env, demo_thumbnails
from devkit.demo.index_ads import (
    DEMO_INDEXNOW_KEY,
    demo_ads_apply,
    demo_ads_propose,
    demo_index,
    demo_index_ads_env,
)
from devkit.demo.seo import demo_seo
from devkit.fakes.indexnow_server import IndexNowFake
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import GroupProcess
from devkit.wordpress.standin import WordPressStandIn
from devkit.wordpress.store import load_sample_posts
from ops.ads_cli import ads_policy_text, ads_review_text
from ops.doclog_view import format_record
from ops.ping import ping_queues, render_results
from ops.seo_cli import seo_review_text
from pipeline import names
from pipeline.doclog import EVENT_DOCLOG_ROTATED, last_records, list_streams
from pipeline.errors import AtrError
from pipeline.groups import GROUPS
from pipeline.settings import Settings, read_environment, redact_url

__all__ = ["run_demo"]

_PING_TIMEOUT_S: Final = 60.0
_EVIDENCE_LINES: Final = 14
#: The shipped ImageMagick policy directory (ops/imagemagick/) of this checkout.
_POLICY_DIR: Final = Path(__file__).resolve().parents[2] / "ops" / "imagemagick"
_ROTATE_TIMEOUT_S: Final = 30.0


def run_demo() -> int:
    """Run the demo; 0 when every queue was answered by its own group."""
    env = read_environment()
    with contextlib.ExitStack() as stack:
        if not env.get("REDIS_URL", "").strip():
            server = stack.enter_context(EmbeddedRedis())
            env["REDIS_URL"] = server.url
            print(f"==> REDIS_URL is unset: started a private redis-server at {server.url} "
                  f"(pid {server.pid}); it stops when the demo ends")
        print(f"==> Redis: {redact_url(env['REDIS_URL'])}")
        # Published across 2026, so that the GA4 step has posts old enough to rank.
        standin = stack.enter_context(WordPressStandIn(posts=sample_posts()))
        env = demo_image_env(env, standin)
        print(f"==> a local WordPress stand-in with {len(load_sample_posts())} sample Korean "
              f"posts at {standin.base_url} (BRIDGE_BASE for this run)")
        if not env.get("ATR_THUMB_OUT_DIR", "").strip():
            env["ATR_THUMB_OUT_DIR"] = tempfile.mkdtemp(prefix="atr-demo-thumbnails-")
        # The shipped, tightened ImageMagick policy, as the worker1 unit sets it.
        env.setdefault("MAGICK_CONFIGURE_PATH", str(_POLICY_DIR))
        env.setdefault("MAGICK_THREAD_LIMIT", "1")
        indexnow = stack.enter_context(IndexNowFake(
            keys={urlsplit(standin.site_url).netloc: DEMO_INDEXNOW_KEY}))
        env = demo_index_ads_env(env, standin, indexnow)
        print(f"==> a local IndexNow endpoint at {indexnow.url} (ATR_INDEXNOW_ENDPOINTS for "
              "this run)")
        logdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="atr-demo-")))
        if not env.get("ATR_DOCLOG_ROOT", "").strip():
            # Kept after the demo (unlike the worker logs) so it can be read again.
            env["ATR_DOCLOG_ROOT"] = tempfile.mkdtemp(prefix="atr-demo-doclog-")
            print(f"==> ATR_DOCLOG_ROOT is unset: this run's doclog goes to "
                  f"{env['ATR_DOCLOG_ROOT']}")
        if not env.get("ATR_GA4_DROP_DIR", "").strip():
            env["ATR_GA4_DROP_DIR"] = tempfile.mkdtemp(prefix="atr-demo-ga4-")
        settings = Settings.from_env(env)
        groups = [stack.enter_context(_running(name, settings, env, logdir)) for name in GROUPS]
        broker = producer_broker(settings)

        print(f"==> sending a canary through each of the {len(names.ALL_QUEUES)} queues "
              "and waiting for the answers")
        started = time.monotonic()
        results = ping_queues(broker, names.ALL_QUEUES, _PING_TIMEOUT_S)
        print(render_results(results))
        print(f"    (first answers include the groups' boot time; "
              f"all done in {time.monotonic() - started:.1f} s)")

        print("==> thumbnails of the sample posts, rendered by worker1 with Wand")
        try:
            for path in demo_thumbnails(broker, settings, standin.base_url):
                print(f"    {path}")
            thumbnails_ok = True
        except AtrError as exc:
            print(f"    FAILED: {exc}")
            thumbnails_ok = False

        print(f"==> SEO automation (propose mode) for the sample posts on worker1; LLM "
              f"chain: {' -> '.join(settings.llm_chain)}")
        try:
            posts = demo_seo(broker, settings)
            print(_indent(seo_review_text(settings, posts)))
            seo_ok = True
        except AtrError as exc:
            print(f"    FAILED: {exc}")
            seo_ok = False

        print("==> GA4 scoring on worker2: a sample export dropped into ATR_GA4_DROP_DIR")
        try:
            print(_indent("\n".join(demo_ga4(broker, settings))))
            ga4_ok = True
        except AtrError as exc:
            print(f"    FAILED: {exc}")
            ga4_ok = False

        print("==> index_submit on worker2: the sample posts' URLs to IndexNow")
        try:
            for line in demo_index(broker, settings, standin, indexnow):
                print(f"    {line}")
            index_ok = True
        except AtrError as exc:
            print(f"    FAILED: {exc}")
            index_ok = False

        print("==> monetize on worker2: ad modes from GA4 tiers (dry run, then approve all)")
        try:
            snapshot = demo_ads_propose(broker, settings, standin)
            if snapshot is not None:
                print(f"    wrote a GA4 snapshot with chosen tiers for the sample posts: "
                      f"{snapshot}")
            print(_indent(ads_policy_text(settings)))
            print(_indent(ads_review_text(settings)))
            modes = demo_ads_apply(broker, settings, standin)
            print("    after atr ads approve --all, WordPress holds: " + ", ".join(
                f"{post_id}={mode}" for post_id, mode in modes.items()))
            ads_ok = True
        except AtrError as exc:
            print(f"    FAILED: {exc}")
            ads_ok = False

        print("==> doclog_rotate (dry run) on worker2: what would be compressed or deleted")
        rotated = _rotate_dry_run(broker, settings)
        print(f"    {rotated}")

        print(f"==> the doclog evidence of this run (last {_EVIDENCE_LINES} lines)")
        today = datetime.now(settings.zone).date()
        streams = list_streams(settings.doclog_root)
        for record in last_records(settings.doclog_root, streams, _EVIDENCE_LINES):
            print("    " + format_record(record, settings.zone, today, show_stream=True))

        print("==> stopping both groups with SIGTERM (running messages finish first)")
        codes = {g.group: g.stop() for g in groups}
        for g in groups:
            print(f"    {g.group}: exit code {codes[g.group]}")
        ok = all(r.ok for r in results) and not any(codes.values()) \
            and rotated.startswith("ok") and thumbnails_ok and seo_ok \
            and ga4_ok and index_ok and ads_ok
        if not ok:
            for g in groups:
                print(f"---- last lines of {g.group}'s log ----")
                print("\n".join(g.log_text().splitlines()[-20:]))
        print(f"==> read the whole doclog again: ATR_DOCLOG_ROOT={settings.doclog_root} "
              ".venv/bin/doclog_tail -n 50")
        print("==> demo " + ("succeeded: every queue was handled by its own group"
                             if ok else "FAILED (see above)"))
        return 0 if ok else 1
    raise AssertionError("unreachable")  # pragma: no cover


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _rotate_dry_run(broker: RedisBroker, settings: Settings) -> str:
    """Send doclog_rotate(dry_run=True) and wait for its report line in the doclog."""
    message = send(broker, "doclog_rotate", {"dry_run": True})
    deadline = time.monotonic() + _ROTATE_TIMEOUT_S
    while time.monotonic() < deadline:
        for record in last_records(settings.doclog_root, ["doclog_rotate"], 10):
            fields = record.fields or {}
            if fields.get("message_id") != message.message_id:
                continue
            if fields.get("event") == EVENT_DOCLOG_ROTATED:
                return (f"ok: {len(fields.get('compressed', []))} day(s) to compress, "
                        f"{len(fields.get('deleted', []))} file(s) to delete, "
                        f"keeping {fields.get('keep_days')} days")
            if fields.get("event") in ("dead", "rejected"):
                return f"FAILED: {fields.get('error')}"
        time.sleep(0.2)
    return f"FAILED: no report from doclog_rotate within {_ROTATE_TIMEOUT_S:.0f} s"


@contextlib.contextmanager
def _running(group: str, settings: Settings, env: dict[str, str],
             logdir: Path) -> Iterator[GroupProcess]:
    process = GroupProcess(group, env, logdir / f"{group}.log").start()
    spec = settings.configured_group(GROUPS[group])
    print(f"==> booting {group} with the dramatiq CLI: {spec.processes} processes x "
          f"{spec.threads} threads on queues {', '.join(spec.queue_names)}")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.stop()
