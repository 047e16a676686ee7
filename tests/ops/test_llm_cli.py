"""``atr llm try|status|reset`` as a real command against the LLM fakes and the session Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devkit.fakes import gemini_server, openai_server
from devkit.fakes.gemini_server import GeminiFake
from devkit.fakes.openai_server import OpenAIFake
from pipeline import keys
from tests.helpers import assert_one_clear_line, run_atr

POST = {"title": "겨울철 감기 예방법 5가지, 면역력 높이는 생활 습관",
        "content": "<p>겨울철에는 실내외 온도 차이로 감기에 걸리기 쉽습니다. 손 씻기와 "
                   "충분한 수면, 적당한 운동으로 면역력을 지키는 방법을 정리했습니다.</p>"
                   "<p>특히 실내 습도를 40에서 60퍼센트로 유지하면 감기 예방에 도움이 됩니다."
                   "</p>"}


@pytest.fixture
def fakes() -> Iterator[tuple[OpenAIFake, GeminiFake]]:
    with OpenAIFake() as openai, GeminiFake() as gemini:
        yield openai, gemini


@pytest.fixture
def env(worker_env: dict[str, str], fakes: tuple[OpenAIFake, GeminiFake]) -> dict[str, str]:
    openai, gemini = fakes
    return {**worker_env, "ATR_LLM_PROVIDER": "openai", "ATR_LLM_FALLBACK": "gemini,offline",
            "OPENAI_API_KEY": openai_server.API_KEY, "OPENAI_BASE_URL": openai.base_url,
            "GEMINI_API_KEY": gemini_server.API_KEY, "ATR_GEMINI_BASE_URL": gemini.base_url}


@pytest.fixture
def post_file(tmp_path: Path) -> Path:
    path = tmp_path / "post.json"
    path.write_text(json.dumps(POST, ensure_ascii=False), encoding="utf-8")
    return path


def test_try_prints_the_checked_answer_and_spends_the_shared_budget(
        env: dict[str, str], post_file: Path, tmp_path: Path,
        fakes: tuple[OpenAIFake, GeminiFake]) -> None:
    result = run_atr("llm", "try", str(post_file), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("openai (gpt-4.1-mini); tokens: ")
    assert "focus keyword" in result.stdout and "meta description" in result.stdout
    assert len(fakes[0].requests) == 1
    status = run_atr("llm", "status", "--json", env=env, cwd=tmp_path)
    rows = {r["provider"]: r for r in json.loads(status.stdout)["providers"]}
    assert rows["openai"]["requests"] == 1
    assert rows["openai"]["tokens"] == fakes[0].charged_tokens
    assert rows["gemini"]["requests"] == 0


def test_try_json_from_stdin_with_one_provider(env: dict[str, str], tmp_path: Path) -> None:
    result = run_atr("llm", "try", "--json", "--provider", "offline", "-", env=env,
                     cwd=tmp_path, stdin=json.dumps(POST, ensure_ascii=False))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["provider"] == "offline" and out["usage"] is None
    assert "감기" in out["answer"]["tags"] or "감기 예방법" in out["answer"]["tags"]
    assert 50 <= len(out["answer"]["meta_description"]) <= 150


def test_quota_mark_shows_in_status_and_reset_clears_it(
        env: dict[str, str], post_file: Path, tmp_path: Path, redis_client: redis.Redis,
        fakes: tuple[OpenAIFake, GeminiFake]) -> None:
    fakes[0].quota_exhausted = True
    result = run_atr("llm", "try", str(post_file), env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("gemini (gemini-2.5-flash), as a fallback")
    assert "insufficient_quota" in result.stderr  # the chain's warning
    status = run_atr("llm", "status", env=env, cwd=tmp_path)
    assert "out of quota (insufficient_quota)" in status.stdout
    reset = run_atr("llm", "reset", "openai", env=env, cwd=tmp_path)
    assert reset.stdout.strip() == "openai: quota mark and cooldown cleared"
    assert not redis_client.exists(keys.llm_exhausted("openai"))


def test_no_provider_answering_is_exit_1_with_each_reason(
        env: dict[str, str], post_file: Path, tmp_path: Path,
        fakes: tuple[OpenAIFake, GeminiFake]) -> None:
    fakes[0].inject("500", times=2)
    result = run_atr("llm", "try", "--provider", "openai", str(post_file), env=env,
                     cwd=tmp_path)
    assert result.returncode == 1
    assert "atr llm try: no LLM provider could answer: openai: openai server error 500" \
        in result.stderr


@pytest.mark.parametrize(("content", "expected"), [
    ("not json", "the post must be JSON like"),
    ('{"content": "본문"}', '"title" must be a non-empty string'),
])
def test_a_bad_post_file_is_one_clear_line_and_exit_2(
        content: str, expected: str, env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = run_atr("llm", "try", str(path), env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in assert_one_clear_line(result.stderr)


def test_redis_down_is_exit_3(env: dict[str, str], post_file: Path, tmp_path: Path) -> None:
    down = {**env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = run_atr("llm", "status", env=down, cwd=tmp_path)
    assert result.returncode == 3
    assert "Redis at redis://127.0.0.1:1/0 is unreachable" in \
        assert_one_clear_line(result.stderr)
