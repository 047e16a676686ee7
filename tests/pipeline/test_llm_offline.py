"""The offline SEO provider on the golden set of Korean posts (tests/data/korean_posts.json).

Kiwi loads once for the whole module: the provider keeps one per process, and
the noun check below uses one more of its own (the code under test does not
judge its own tags).
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import pytest

from pipeline.llm.errors import InvalidAnswer
from pipeline.llm.offline import OfflineProvider
from pipeline.llm.request import DEFAULT_BOUNDS, TAG_MAX, SeoAnswer, SeoRequest, parse_answer
from pipeline.text import normalise_tag, plain_text

#: A request that names no bounds is written within the quality guide's defaults.
TAGS_MIN, TAGS_MAX = DEFAULT_BOUNDS.tags_min, DEFAULT_BOUNDS.tags_max
DESCRIPTION_MIN, DESCRIPTION_MAX = DEFAULT_BOUNDS.desc_min, DEFAULT_BOUNDS.desc_max
TITLE_MAX = DEFAULT_BOUNDS.title_max

ROOT: Final = Path(__file__).resolve().parents[2]
POSTS: Final[list[dict[str, Any]]] = json.loads(
    (ROOT / "tests" / "data" / "korean_posts.json").read_text(encoding="utf-8"))
#: The golden set's deliberately hopeless post: a one-line notice titled "공지".
TOO_SHORT_ID: Final = 24
#: Hard cases: a title past TITLE_MAX, a photo post with one sentence of body.
LONG_TITLE_ID: Final = 22
SHORT_BODY_ID: Final = 23
ANSWERABLE: Final = [p for p in POSTS if p["id"] != TOO_SHORT_ID]
#: Morphemes a tag may be made of: nouns, noun affixes, Latin words and numbers.
NOUN_TAGS: Final = {"NNG", "NNP", "XPN", "XSN", "SL", "SN"}
LATIN_JOINERS: Final = set("&-+._/")


def _ids(posts: Sequence[dict[str, Any]]) -> list[str]:
    return [f"post{p['id']}" for p in posts]


@pytest.fixture(scope="module")
def provider() -> OfflineProvider:
    """One provider for the module; its Kiwi loads on the first answer."""
    return OfflineProvider()


@pytest.fixture(scope="module")
def answers(provider: OfflineProvider) -> dict[int, SeoAnswer]:
    """The answer to every answerable golden post, computed once, in order."""
    return {p["id"]: provider.complete(SeoRequest.from_json(p)).answer for p in ANSWERABLE}


@pytest.fixture(scope="module")
def kiwi() -> Iterator[Any]:
    """An independent Kiwi, to check that tags are nouns."""
    from kiwipiepy import Kiwi  # type: ignore[import-untyped]

    yield Kiwi(num_workers=1)


def test_golden_set_is_varied_korean_posts() -> None:
    ids = [p["id"] for p in POSTS]
    assert len(POSTS) >= 24
    assert len(set(ids)) == len(ids)
    for post in POSTS:
        assert set(post) == {"id", "title", "content", "tags"}
        assert isinstance(post["tags"], list)
        SeoRequest.from_json(post)
        if post["id"] not in (TOO_SHORT_ID, SHORT_BODY_ID):
            assert 400 <= len(plain_text(post["content"])) <= 2000, post["id"]
    assert len(next(p for p in POSTS if p["id"] == LONG_TITLE_ID)["title"]) > TITLE_MAX


def test_provider_is_offline_and_unlimited(provider: OfflineProvider) -> None:
    request = SeoRequest.from_json(POSTS[0])
    completion = provider.complete(request)
    assert (provider.name, provider.limited, provider.estimate(request)) == ("offline", False, 0)
    assert completion.usage is None
    assert completion.model == provider.model
    assert provider.model.startswith("kiwipiepy-")


def test_importing_the_module_loads_no_kiwi() -> None:
    code = ("import sys, pipeline.llm.offline as o; o.OfflineProvider(); "
            "sys.exit('kiwipiepy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("post", ANSWERABLE, ids=_ids(ANSWERABLE))
def test_answer_keeps_every_rule(post: dict[str, Any], answers: dict[int, SeoAnswer]) -> None:
    answer = answers[post["id"]]
    title, body = post["title"], plain_text(post["content"])
    text = f"{title}\n{body}"

    assert parse_answer(json.dumps(answer.to_json(), ensure_ascii=False),
                        provider="offline") == answer
    assert TAGS_MIN <= len(answer.tags) <= TAGS_MAX
    assert len({normalise_tag(t) for t in answer.tags}) == len(answer.tags)
    for tag in answer.tags:
        assert len(tag) <= TAG_MAX
        assert tag in title or tag in body, f"tag {tag!r} is not in the post"

    keyword = answer.focus_keyword
    assert keyword in answer.tags
    assert keyword in text

    description = answer.meta_description
    assert DESCRIPTION_MIN <= len(description) <= DESCRIPTION_MAX
    assert keyword.casefold() in description.casefold()
    assert description[-1] in ".!?…", f"description ends mid-sentence: {description!r}"

    assert len(answer.seo_title) <= TITLE_MAX
    assert title.startswith(answer.seo_title)


@pytest.mark.parametrize("post", ANSWERABLE, ids=_ids(ANSWERABLE))
def test_tags_are_nouns_of_the_post(post: dict[str, Any], answers: dict[int, SeoAnswer],
                                    kiwi: Any) -> None:
    texts = [(t, kiwi.tokenize(t)) for t in (post["title"], plain_text(post["content"]))]
    for tag in answers[post["id"]].tags:
        readings = [r for text, tokens in texts for r in _readings(tag, text, tokens)]
        assert any(r and all(_is_noun(m) for m in r) for r in readings), \
            f"tag {tag!r} is nowhere read as nouns: {readings}"


def _readings(tag: str, text: str, tokens: Sequence[Any]) -> Iterator[list[tuple[str, str]]]:
    """The morphemes of each place ``tag`` is written as whole morphemes in ``text``."""
    at = text.find(tag)
    while at >= 0:
        end = at + len(tag)
        inside = [t for t in tokens if t.start < end and t.start + t.len > at]
        if inside and inside[0].start == at and inside[-1].start + inside[-1].len == end:
            yield [(t.form, t.tag) for t in inside]
        at = text.find(tag, at + 1)


def _is_noun(morpheme: tuple[str, str]) -> bool:
    form, tag = morpheme
    return tag in NOUN_TAGS or (tag in ("SW", "SO") and form in LATIN_JOINERS)


def test_focus_keywords_are_what_an_editor_would_pick(answers: dict[int, SeoAnswer]) -> None:
    picked = {i: answers[i].focus_keyword for i in (1, 3, 5, 9, 12, 13, 21, 22)}
    assert picked == {1: "강남역 맛집", 3: "아이폰 15 프로", 5: "감기 예방법",
                      9: "젤다의 전설 티어스 오브 더 킹덤", 12: "강아지 분리불안",
                      13: "청년도약계좌", 21: "MacBook Air M3", 22: "연말정산"}


def test_stopwords_and_fragments_are_never_tags(answers: dict[int, SeoAnswer]) -> None:
    tags = {t for a in answers.values() for t in a.tags}
    assert not tags & {"후기", "추천", "방법", "정리", "정도", "이번", "오늘", "신청", "vs"}
    # Kiwi reads 이유식 once as 이 + 유식, and 청년도약계좌 in a title as 청년 + 도 + 약계좌.
    assert not tags & {"유식", "약계좌", "이탈리안", "프로"}


def test_long_title_is_cut_at_a_clause(answers: dict[int, SeoAnswer]) -> None:
    assert answers[LONG_TITLE_ID].seo_title == \
        "2024년 연말정산 환급 많이 받는 방법 총정리: 신용카드 소득공제부터 월세 세액공제"


def test_short_body_gets_a_description_from_its_one_paragraph(
        answers: dict[int, SeoAnswer]) -> None:
    answer = answers[SHORT_BODY_ID]
    # The paragraph alone has 49 characters, under DESCRIPTION_MIN: the title goes first.
    assert answer.meta_description == \
        "부산 해운대 야경 사진 모음. 지난 주말 부산 해운대에서 찍은 야경 사진을 모았습니다. " \
        "광안대교 불빛이 정말 예뻤어요."
    assert answer.tags == ("부산 해운대", "야경 사진", "광안대교")


def test_existing_tags_stay_only_when_the_post_says_them(
        answers: dict[int, SeoAnswer]) -> None:
    assert {"게임", "닌텐도 스위치"} <= set(answers[9].tags)
    assert "S&P 500" in answers[26].tags
    assert "요리" not in answers[10].tags  # the kimchi stew recipe never says 요리


def test_too_short_post_is_an_invalid_answer(provider: OfflineProvider) -> None:
    post = next(p for p in POSTS if p["id"] == TOO_SHORT_ID)
    with pytest.raises(InvalidAnswer) as caught:
        provider.complete(SeoRequest.from_json(post))
    message = str(caught.value)
    assert "post '공지'" in message
    assert f"{TAGS_MIN} are needed for tags" in message
    assert "too short for offline SEO" in message
    assert "LLM provider" in message


def test_title_without_body_is_an_invalid_answer(provider: OfflineProvider) -> None:
    request = SeoRequest(title="제주도 겨울 여행 사진 모음", content="<p></p>")
    with pytest.raises(InvalidAnswer, match="cannot write a meta description for post "
                                            "'제주도 겨울 여행 사진 모음'"):
        provider.complete(request)


def test_decomposed_hangul_gets_the_same_answer(provider: OfflineProvider,
                                                answers: dict[int, SeoAnswer]) -> None:
    post = POSTS[0]
    request = SeoRequest(title=unicodedata.normalize("NFD", post["title"]),
                         content=unicodedata.normalize("NFD", post["content"]))
    assert provider.complete(request).answer == answers[post["id"]]


def test_answers_are_deterministic(answers: dict[int, SeoAnswer]) -> None:
    again = OfflineProvider()
    assert {p["id"]: again.complete(SeoRequest.from_json(p)).answer
            for p in ANSWERABLE} == answers


def test_six_threads_on_one_instance_answer_as_one(provider: OfflineProvider,
                                                   answers: dict[int, SeoAnswer]) -> None:
    jobs = [p for _ in range(3) for p in ANSWERABLE]

    def answer(post: dict[str, Any]) -> tuple[int, SeoAnswer]:
        return post["id"], provider.complete(SeoRequest.from_json(post)).answer

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(answer, jobs))
    assert len(results) == len(jobs)
    for post_id, result in results:
        assert result == answers[post_id]
