"""``atr seo`` bad usage and an unreachable Redis: one clear line, the documented exit code."""

from __future__ import annotations

import json
from pathlib import Path

import redis

from devkit.wordpress import WordPressStandIn
from ops.console import display_width
from pipeline.seo.store import Proposal, SeoFields, SeoStore, content_hash
from pipeline.wordpress.seo_meta import SEO_META_KEYS
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


# -- review reads WordPress live ---------------------------------------------

YOAST = SEO_META_KEYS["yoast"]


def _propose(redis_url: str, wordpress: WordPressStandIn, post_id: int) -> Proposal:
    """A stored proposal made from the post as it is now (what seo_automation stores)."""
    post = wordpress.post(post_id)
    proposal = Proposal(
        post_id, post.title, SeoFields(), SeoFields(("성수동 카페", "서울 카페", "카페 투어"),
                                                    "성수동 카페", "성수동 카페 일곱 곳 정리",
                                                    "성수동 카페 투어 7곳"),
        "offline", "offline-1", "m-1", "2026-12-06T20:00:00+00:00",
        content_hash=content_hash(post.content), modified_gmt="2026-11-20T00:00:00")
    client = redis.Redis.from_url(redis_url)
    SeoStore(client).put_proposal(proposal, 1.0)
    client.close()
    return proposal


def _review(env: dict[str, str], tmp_path: Path, *args: str) -> str:
    result = run_atr("seo", "review", *args, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_review_shows_a_hand_edit_made_after_the_proposal_and_a_retitle(
        worker_env: dict[str, str], tmp_path: Path, wordpress: WordPressStandIn) -> None:
    env = {**worker_env, "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token}
    post_id = wordpress.post_ids[0]
    _propose(worker_env["REDIS_URL"], wordpress, post_id)
    wordpress.edit_post(post_id, meta={YOAST["meta_description"]: "편집자가 손으로 쓴 설명"})
    out = _review(env, tmp_path)
    assert "CURRENT (now)" in out and "WARNING" not in out
    (row,) = [line for line in out.splitlines() if "meta description" in line]
    assert "편집자가 손으로 쓴 설명" in row and "edited by a person: kept unless --force" in row
    wordpress.edit_post(post_id, title="새 제목으로 바꾼 글")
    out = _review(env, tmp_path)
    assert ("WARNING: the post changed since this proposal (title "
            "'서울 성수동 카페 투어: 주말에 가기 좋은 7곳' -> '새 제목으로 바꾼 글'); approving "
            "it writes nothing and asks for a new proposal") in out
    now = json.loads(_review(env, tmp_path, "--json"))["proposals"][0]["now"]
    assert now["live"] is True and now["protected"] == ["meta_description"]
    assert now["current"]["meta_description"] == "편집자가 손으로 쓴 설명"


def test_review_aligns_hangul_columns_by_display_width(
        worker_env: dict[str, str], tmp_path: Path, wordpress: WordPressStandIn) -> None:
    env = {**worker_env, "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token}
    post_id = wordpress.post_ids[0]
    _propose(worker_env["REDIS_URL"], wordpress, post_id)
    wordpress.edit_post(post_id, meta={YOAST["seo_title"]: "한글 제목"})
    out = _review(env, tmp_path)
    lines = [line for line in out.splitlines() if line.startswith("  ") and "  " in line[2:]]
    table = lines[lines.index(next(ln for ln in lines if "FIELD" in ln)):][:5]
    header = table[0]
    start = display_width(header[:header.index("PROPOSED")])
    proposed = ["성수동 카페, 서울 카페, 카페 투어", "성수동 카페", "성수동 카페 일곱 곳 정리",
                "성수동 카페 투어 7곳"]
    for line, value in zip(table[1:], proposed, strict=True):
        assert display_width(line[:line.index(value, len("  tags"))]) == start, table


def test_review_without_the_mu_plugin_says_the_values_cannot_be_read(
        worker_env: dict[str, str], tmp_path: Path) -> None:
    with WordPressStandIn(registered_meta=frozenset()) as wordpress:
        env = {**worker_env, "BRIDGE_BASE": wordpress.base_url,
               "BRIDGE_TOKEN": wordpress.token}
        post_id = wordpress.post_ids[0]
        _propose(worker_env["REDIS_URL"], wordpress, post_id)
        wordpress.edit_post(post_id, meta={YOAST["meta_description"]: "값은 있지만 안 보임"})
        out = _review(env, tmp_path)
    (row,) = [line for line in out.splitlines() if "meta description" in line]
    assert "(not readable)" in row and " - " not in row
    assert "NOTE: WordPress does not list _yoast_wpseo_focuskw, _yoast_wpseo_metadesc, " \
           "_yoast_wpseo_title: the must-use plugin ops/wordpress/atr-seo-meta.php is not " \
           "installed" in out


def test_review_with_wordpress_down_shows_the_values_at_proposal_time(
        worker_env: dict[str, str], tmp_path: Path, wordpress: WordPressStandIn) -> None:
    env = {**worker_env, "BRIDGE_BASE": "http://127.0.0.1:9/wp-json",
           "BRIDGE_TOKEN": wordpress.token}
    _propose(worker_env["REDIS_URL"], wordpress, wordpress.post_ids[0])
    out = _review(env, tmp_path)
    assert "CURRENT (at proposal)" in out
    assert "NOTE: WordPress could not be read: could not reach WordPress" in out
    assert "values shown as of the proposal (2026-12-06T20:00:00+00:00)" in out


def test_approving_a_changed_post_says_it_will_be_proposed_again(
        worker_env: dict[str, str], tmp_path: Path, wordpress: WordPressStandIn) -> None:
    env = {**worker_env, "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token}
    post_id = wordpress.post_ids[1]
    _propose(worker_env["REDIS_URL"], wordpress, post_id)
    wordpress.edit_post(post_id, title="승인 전에 바뀐 제목")
    result = run_atr("seo", "approve", str(post_id), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"post {post_id}: seo_apply enqueued" in result.stdout
    assert assert_one_clear_line(result.stderr).startswith(
        f"atr seo approve: post {post_id} changed since its proposal (title ")
    assert "it will not be written; a new proposal is made instead" in result.stderr
