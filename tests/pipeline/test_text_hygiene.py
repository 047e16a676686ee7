"""Post text for the LLM and the thumbnail: what a reader sees, entities decoded once.

Samples in tests/data/wp_content are post_content as WordPress stores it: a
classic-editor body with an analytics script, a style block, an editor's
comment and hidden spam, and a Gutenberg body with block delimiters, a Custom
HTML block holding hidden spam and a hidden group block.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.llm.offline import OfflineProvider
from pipeline.llm.request import SeoRequest, build_messages
from pipeline.text import plain_text, post_title, visible_html

DATA = Path(__file__).parents[1] / "data" / "wp_content"
CLASSIC = (DATA / "classic.html").read_text()
GUTENBERG = (DATA / "gutenberg.html").read_text()
SPAM = ("카지노", "바카라", "토토", "먹튀", "슬롯머신", "대출", "UA-000000", "dataLayer",
        "hidden-spam", "광고 영역")


@pytest.mark.parametrize("content", [CLASSIC, GUTENBERG], ids=["classic", "gutenberg"])
def test_hidden_parts_never_reach_the_text(content: str) -> None:
    text = plain_text(content)
    for word in SPAM:
        assert word not in text
    assert "wp:" not in text and "<!--" not in text and "<" not in text


def test_entities_are_decoded_exactly_once() -> None:
    text = plain_text(CLASSIC)
    assert "첫 번째 파스타 가게 & 와인 바" in text
    assert '"오늘의 파스타"' in text and "\u2018오늘의 파스타\u2019" in text  # &lsquo; &rsquo;
    assert "&amp; 표기는" in text  # &amp;amp; is the text "&amp;", as a reader sees it
    assert post_title("A &amp; B &quot;C&quot; &amp;amp; D") == 'A & B "C" &amp; D'
    assert post_title("<em>강조</em> 제목 &#8211; 끝") == "강조 제목 \u2013 끝"


def test_visible_html_keeps_the_rest_unchanged() -> None:
    kept = visible_html(GUTENBERG)
    assert ('<h2 class="wp-block-heading">첫째 날: 공항에서 서귀포까지 &amp; 숙소 체크인</h2>'
            in kept)
    assert '<img src="https://example.com/wp-content/uploads/2026/11/jeju-1024x683.jpg"' in kept
    assert visible_html(kept) == kept  # nothing left to drop, nothing decoded


def test_the_prompt_carries_the_readers_text_only() -> None:
    request = SeoRequest.of_post("강남역 파스타 맛집 &amp; 와인 &quot;추천&quot;", CLASSIC)
    _system, user = build_messages(request)
    assert user.startswith('제목: 강남역 파스타 맛집 & 와인 "추천"\n')
    assert "&amp;" not in user.replace("&amp; 표기는", "") and "&quot;" not in user
    for word in SPAM:
        assert word not in user


@pytest.mark.parametrize(("title", "content"), [
    ("강남역 파스타 맛집 &amp; 와인 바 &quot;오늘의 파스타&quot; 추천", CLASSIC),
    ("제주도 가족 여행 3박 4일 &amp; 서귀포 숙소 후기", GUTENBERG),
])
def test_offline_tags_are_words_of_the_post_never_entity_names(title: str,
                                                               content: str) -> None:
    answer = OfflineProvider().complete(SeoRequest.of_post(title, content)).answer
    folded = {t.casefold() for t in answer.tags}
    assert not folded & {"amp", "quot", "lsquo", "rsquo", "ndash", "nbsp"}
    for word in SPAM:
        assert all(word not in t for t in answer.tags), answer.tags
    assert "&amp;" not in answer.seo_title and "&quot;" not in answer.meta_description


NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
BACKGROUND = Path(__file__).parents[2] / "ops" / "assets" / "thumb-bg.jpg"


@pytest.mark.parametrize(("stored", "drawn"), [
    ("강남역 🍝 파스타 맛집 👍🏽 추천", "강남역 파스타 맛집 추천"),
    ("가족 👨‍👩‍👧 여행 ❤️ 후기", "가족 여행 후기"),
    ("🎉 이벤트 당첨 발표", "이벤트 당첨 발표"),
    ("성수동 카페 &amp; 베이커리 &quot;7곳&quot;", '성수동 카페 & 베이커리 "7곳"'),
    ("☆별점☆ 5점 만점 리뷰", "☆별점☆ 5점 만점 리뷰"),  # the font has ☆: kept
])
def test_the_thumbnail_draws_the_title_without_emoji_blanks_or_entities(
        stored: str, drawn: str) -> None:
    from pipeline.thumbnails import ThumbSpec, render_thumbnail
    from pipeline.thumbnails.title import drawable_title

    assert drawable_title(stored, NANUM) == drawn
    spec = ThumbSpec(background=BACKGROUND, font=NANUM)
    # The same pixels as the clean title: no hole where the emoji was.
    assert render_thumbnail(stored, spec) == render_thumbnail(drawn, spec)


def test_seo_automation_creates_no_entity_or_hidden_spam_tag_in_wordpress(
        redis_url: str, tmp_path: Path) -> None:
    import dramatiq

    from brokers.boot import producer_broker
    from brokers.producer import send
    from devkit.wordpress import WordPressStandIn
    from pipeline.groups import get_group
    from pipeline.settings import Settings
    from tests.helpers import ends_with, wait_lines

    with WordPressStandIn() as wordpress:
        post_id = wordpress.post_ids[0]
        wordpress.edit_post(post_id, title="강남역 파스타 맛집 &amp; 와인 바 &quot;오늘의 "
                                           "파스타&quot; 추천", content=CLASSIC)
        broker = producer_broker(Settings.from_env({
            "REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
            "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token,
            "ATR_SEO_MODE": "apply", "ATR_SEO_BANNED_WORDS": "none"}))
        worker = dramatiq.Worker(broker, queues=set(get_group("worker1").queue_names),
                                 worker_threads=1, worker_timeout=100)
        worker.start()
        try:
            send(broker, "seo_automation", {"post_id": post_id})
            lines = wait_lines(tmp_path / "logs", "seo_automation", ends_with("succeeded"),
                               timeout=60)
        finally:
            worker.stop()
            broker.close()
        created = [t.name for t in wordpress.tags]
    assert any(ln["event"] == "seo.applied" for ln in lines)
    assert created, "the offline answer should have created tags"
    assert not {n.casefold() for n in created} & {"amp", "quot", "&amp;", "&quot;"}
    for word in SPAM:
        assert all(word not in name for name in created), created
