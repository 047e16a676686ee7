"""index_submit with the real CLI: ``atr index check``, ``atr index submit``, two worker
processes racing for the same URLs, and ``seo_apply`` leading to one submission of its URL.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from devkit.fakes import openai_server
from devkit.fakes.indexnow_server import IndexNowFake, KeyFileSite
from devkit.fakes.openai_server import OpenAIFake
from devkit.supervise import GroupProcess
from devkit.wordpress import WordPressStandIn
from tests.helpers import assert_one_clear_line, read_stream, run_atr

KEY = "0f8e1d2c3b4a59687766554433221100"


def _wait(root: Path, stream: str, done: object, timeout: float = 60) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = read_stream(root, stream)
        if done(lines):  # type: ignore[operator]
            return lines
        time.sleep(0.2)
    raise AssertionError(f"{stream} never got there: {read_stream(root, stream)}")


def test_index_check_says_whether_the_live_key_file_matches(
        clean_env: dict[str, str], tmp_path: Path) -> None:
    with KeyFileSite({f"/{KEY}.txt": f"\ufeff{KEY}\n".encode()}) as site:
        env = {**clean_env, "REDIS_URL": "redis://127.0.0.1:1/0", "ATR_INDEXNOW_KEY": KEY,
               "ATR_INDEX_SITE": site.url}
        good = run_atr("index", "check", env=env, cwd=tmp_path)
        assert good.returncode == 0, good.stderr
        assert good.stdout.startswith("OK ") and f"{site.url}/{KEY}.txt holds the key" \
            in good.stdout

        site.put(f"/{KEY}.txt", b"an-old-key-from-before\n")
        wrong = run_atr("index", "check", env=env, cwd=tmp_path)
        assert wrong.returncode == 1
        line = assert_one_clear_line(wrong.stderr)
        assert "not ATR_INDEXNOW_KEY" in line and "403" in line

        missing = run_atr("index", "check", env={**env, "ATR_INDEXNOW_KEY": "f" * 32},
                          cwd=tmp_path)
        assert missing.returncode == 1
        assert "answered 404" in assert_one_clear_line(missing.stderr)

        site.put("/keys/indexnow.txt", KEY.encode())
        located = run_atr("index", "check", env={
            **env, "ATR_INDEXNOW_KEY_LOCATION": f"{site.url}/keys/indexnow.txt"}, cwd=tmp_path)
        assert located.returncode == 0, located.stderr
    bad = run_atr("index", "check", env={**env, "ATR_INDEXNOW_KEY": "short"}, cwd=tmp_path)
    assert bad.returncode == 2
    assert "ATR_INDEXNOW_KEY=" in assert_one_clear_line(bad.stderr)
    relative = run_atr("index", "submit", "/not-absolute/", env=env, cwd=tmp_path)
    assert relative.returncode == 2
    assert "is not an absolute http(s) URL" in assert_one_clear_line(relative.stderr)


def test_two_worker_processes_submit_each_url_once(worker_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    host = "blog.example"
    urls = [f"https://{host}/post-{i}/" for i in range(20)]
    with IndexNowFake(keys={host: KEY}, slow_s=0.3) as fake:
        env = {**worker_env, "ATR_INDEXNOW_KEY": KEY, "ATR_INDEXNOW_ENDPOINTS": fake.url,
               "ATR_WORKER2_PROCESSES": "2", "ATR_WORKER2_THREADS": "3"}
        root = Path(env["ATR_DOCLOG_ROOT"])
        with GroupProcess("worker2", env, tmp_path / "worker2.log", cwd=tmp_path) as worker:
            # Overlapping messages: each holds half of the URLs of its neighbours.
            for start in range(0, 20, 5):
                sent = run_atr("index", "submit", *urls[start:start + 10], env=env,
                               cwd=tmp_path)
                assert sent.returncode == 0, sent.stderr
                assert "index_submit enqueued for" in sent.stdout
            lines = _wait(root, "index_submit", lambda ls: sum(
                ln["event"] == "succeeded" for ln in ls) >= 4)
            assert worker.stop() == 0, worker.log_text()
    assert sorted(fake.accepted_urls()) == sorted(urls)
    assert len({ln["pid"] for ln in lines if ln["event"] == "started"}) >= 1
    submitted = sum(ln["count"] for ln in lines if ln["event"] == "index.submitted")
    assert submitted == 20


def test_seo_apply_leads_to_exactly_one_submission_of_the_post_url(
        worker_env: dict[str, str], tmp_path: Path, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[0]
    link = f"{wordpress.site_url}/{wordpress.post(post_id).slug}/"
    host = f"127.0.0.1:{wordpress.port}"
    with OpenAIFake() as openai, IndexNowFake(keys={host: KEY}, name="naver") as naver, \
            IndexNowFake(keys={host: KEY}, name="shared") as shared:
        env = {**worker_env, "NO_PROXY": "127.0.0.1,localhost",
               "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "2",
               "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "2",
               "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token,
               "ATR_LLM_PROVIDER": "openai", "OPENAI_API_KEY": openai_server.API_KEY,
               "OPENAI_BASE_URL": openai.base_url, "ATR_SEO_BANNED_WORDS": "none",
               "ATR_INDEXNOW_KEY": KEY,
               "ATR_INDEXNOW_ENDPOINTS": f"{naver.url},{shared.url}"}
        root = Path(env["ATR_DOCLOG_ROOT"])
        with GroupProcess("worker1", env, tmp_path / "w1.log", cwd=tmp_path) as w1, \
                GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as w2:
            assert run_atr("send", "seo_automation", json.dumps({"post_id": post_id}),
                           env=env, cwd=tmp_path).returncode == 0
            _wait(root, "seo_automation", lambda ls: any(
                ln["event"] == "seo.proposed" for ln in ls))
            assert naver.submissions == []          # a proposal changes nothing live
            approve = run_atr("seo", "approve", str(post_id), env=env, cwd=tmp_path)
            assert approve.returncode == 0, approve.stderr
            _wait(root, "index_submit", lambda ls: sum(
                ln["event"] == "index.submitted" for ln in ls) >= 2)
            # Applying again writes nothing new, so nothing is submitted again.
            assert run_atr("send", "seo_apply", json.dumps({"post_id": post_id}),
                           env=env, cwd=tmp_path).returncode == 0
            _wait(root, "seo_apply", lambda ls: sum(
                ln["event"] in ("succeeded", "rejected") for ln in ls) >= 2)
            assert w1.stop() == 0, w1.log_text()
            assert w2.stop() == 0, w2.log_text()
    assert naver.accepted_urls() == [link]
    assert shared.accepted_urls() == [link]
    (sub,) = naver.submissions
    assert sub.host == host and sub.key == KEY
