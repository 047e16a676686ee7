"""The SEO team's round trip with the real CLI: propose, review, a person edits, approve.

worker1 runs under the real ``dramatiq`` CLI against the WordPress stand-in
and the OpenAI fake, in propose mode. ``atr seo review`` shows current vs
proposed values; an editor changes the meta description in WordPress; ``atr
seo approve`` has worker1 write the rest and keep the editor's value.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from devkit.fakes import openai_server
from devkit.fakes.openai_server import OpenAIFake
from devkit.supervise import GroupProcess
from devkit.wordpress import WordPressStandIn
from pipeline.text import normalise_tag
from pipeline.wordpress.seo_meta import SEO_META_KEYS
from tests.helpers import read_stream, run_atr

KEYS = SEO_META_KEYS["rankmath"]


def _wait(root: Path, stream: str, event: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = [ln for ln in read_stream(root, stream) if ln["event"] == event]
        if len(lines) >= count:
            return lines
        time.sleep(0.2)
    raise AssertionError(f"no {count} {event} lines in {stream}: {read_stream(root, stream)}")


def test_review_then_approve_keeps_what_an_editor_changed(
        worker_env: dict[str, str], tmp_path: Path, wordpress: WordPressStandIn) -> None:
    first, second = wordpress.post_ids[:2]
    with OpenAIFake() as fake:
        env = {**worker_env, "NO_PROXY": "127.0.0.1,localhost",
               "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "2",
               "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token,
               "ATR_LLM_PROVIDER": "openai", "OPENAI_API_KEY": openai_server.API_KEY,
               "OPENAI_BASE_URL": fake.base_url, "ATR_SEO_PLUGIN": "rankmath",
               "ATR_SEO_BANNED_WORDS": "none"}
        root = Path(env["ATR_DOCLOG_ROOT"])
        with GroupProcess("worker1", env, tmp_path / "worker1.log", cwd=tmp_path) as worker:
            for post_id in (first, second):
                sent = run_atr("send", "seo_automation", json.dumps({"post_id": post_id}),
                               env=env, cwd=tmp_path)
                assert sent.returncode == 0, sent.stderr
            _wait(root, "seo_automation", "seo.proposed", 2)
            assert not wordpress.post(first).meta.get(KEYS["meta_description"])

            review = run_atr("seo", "review", env=env, cwd=tmp_path)
            assert review.returncode == 0, review.stderr
            assert f"post {first}" in review.stdout and f"post {second}" in review.stdout
            assert "meta description" in review.stdout
            assert "atr seo approve" in review.stdout
            proposals = {p["post_id"]: p for p in json.loads(
                run_atr("seo", "review", "--json", env=env, cwd=tmp_path).stdout)["proposals"]}
            proposed = proposals[first]["proposed"]

            # An editor writes their own description in WordPress before approval.
            wordpress.edit_post(first, meta={KEYS["meta_description"]: "편집자가 쓴 설명입니다."})
            approve = run_atr("seo", "approve", str(first), str(second), env=env, cwd=tmp_path)
            assert approve.returncode == 0, approve.stderr
            assert approve.stdout.count("seo_apply enqueued") == 2
            applied = _wait(root, "seo_apply", "seo.applied", 2)
            assert worker.stop() == 0, worker.log_text()

    by_post = {ln["post_id"]: ln for ln in applied}
    assert by_post[first]["kept"] == ["meta_description"]
    assert by_post[second]["kept"] == []
    post = wordpress.post(first)
    meta = post.meta
    assert meta[KEYS["meta_description"]] == "편집자가 쓴 설명입니다."
    tag_names = {t.id: normalise_tag(t.name) for t in wordpress.tags}
    assert {normalise_tag(t) for t in proposed["tags"]} <= {tag_names[i] for i in post.tags}
    assert meta[KEYS["focus_keyword"]] == proposed["focus_keyword"]
    assert meta[KEYS["seo_title"]] == proposed["seo_title"]
    left = run_atr("seo", "review", env=env, cwd=tmp_path)
    assert left.stdout.strip() == "no SEO proposals waiting for review"
    missing = run_atr("seo", "approve", str(first), env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert f"post {first} has no proposal" in missing.stderr
