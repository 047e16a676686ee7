"""``atr send ACTOR -`` reads the payload from standard input (the real console script)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from tests.helpers import assert_one_clear_line, queued_ids, run_atr

CONTENT = '<p>강남역 근처 "파스타" 맛집 세 곳 &amp; 와인 바, it\'s <b>good</b></p>\n<p>둘째 줄</p>'


def test_a_payload_piped_on_stdin_is_enqueued_as_given(
        worker_env: dict[str, str], tmp_path: Path, redis_client: redis.Redis) -> None:
    payload = {"title": "강남역 맛집 추천", "content": CONTENT, "ref": "draft-4711"}
    result = run_atr("send", "seo_suggest", "-", env=worker_env, cwd=tmp_path,
                     stdin=json.dumps(payload, ensure_ascii=False))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("enqueued seo_suggest on queue seo: message_id=")
    (queued,) = queued_ids(redis_client, "seo")
    stored = json.loads(redis_client.hget("dramatiq:seo.msgs", queued) or "{}")
    assert stored["kwargs"] == payload


@pytest.mark.parametrize(("stdin", "says"), [
    ("", "no payload on standard input"),
    ("[1, 2]", "must be a JSON object of keyword arguments, got list"),
    ('{"post_id": ', "the payload is not valid JSON"),
    ('{"post_id": 1, "self": 2}', "unexpected keyword argument 'self'"),
    ('{"title": "t", "content": "' + "x" * (1024 * 1024) + '"}', "longer than 1048576"),
])
def test_a_bad_stdin_payload_is_one_line_and_sends_nothing(
        stdin: str, says: str, worker_env: dict[str, str], tmp_path: Path,
        redis_client: redis.Redis) -> None:
    actor = "seo_suggest" if "title" in stdin or not stdin.strip("[]1, ") else "seo_automation"
    result = run_atr("send", actor, "-", env=worker_env, cwd=tmp_path, stdin=stdin)
    assert result.returncode == 2
    assert says in assert_one_clear_line(result.stderr)
    assert queued_ids(redis_client, "seo") == []
