"""``atr seo`` bad usage and an unreachable Redis: one clear line, the documented exit code."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_one_clear_line, run_atr


def test_approve_needs_post_ids_or_all(worker_env: dict[str, str], tmp_path: Path) -> None:
    for args in ((), ("101", "--all")):
        result = run_atr("seo", "approve", *args, env=worker_env, cwd=tmp_path)
        assert result.returncode == 2
        assert assert_one_clear_line(result.stderr) == \
            "atr seo approve: give post ids or --all (not both)"


def test_review_with_nothing_stored_says_so(worker_env: dict[str, str],
                                            tmp_path: Path) -> None:
    result = run_atr("seo", "review", env=worker_env, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == "no SEO proposals waiting for review"


def test_redis_down_is_exit_3(clean_env: dict[str, str], tmp_path: Path) -> None:
    env = {**clean_env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    for args in (("review",), ("approve", "--all")):
        result = run_atr("seo", *args, env=env, cwd=tmp_path)
        assert result.returncode == 3
        assert "atr seo: Redis at redis://127.0.0.1:1/0 is unreachable" in \
            assert_one_clear_line(result.stderr)
