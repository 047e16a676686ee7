"""The quality guide owns an answer's bounds: the parser checks shape, the prompt states them."""

from __future__ import annotations

import json
from typing import Any, Final

import pytest
import redis

from pipeline.errors import ConfigError
from pipeline.llm.config import build_chain
from pipeline.llm.errors import InvalidAnswer
from pipeline.llm.request import (
    ANSWER_SCHEMA,
    DEFAULT_BOUNDS,
    DESCRIPTION_HARD_MAX,
    TAGS_HARD_MAX,
    TITLE_HARD_MAX,
    AnswerBounds,
    SeoRequest,
    build_messages,
    parse_answer,
)
from pipeline.seo.quality import QualityGuide, Violation, check
from pipeline.settings import Settings

MINIMAL: Final = {"REDIS_URL": "redis://127.0.0.1:6379/0"}
TITLE: Final = "제주 올레길 7코스 완주 가이드"
#: Two sentences holding the focus keyword, 179 characters together.
SENTENCES: Final = (
    "제주 올레길 7코스는 서귀포 외돌개에서 시작해 법환포구를 지나 월평 아왜낭목까지 이어지는 "
    "약 17킬로미터의 해안 코스입니다.",
    "올레길 7코스의 주상절리 절벽과 푸른 바다 풍경은 사계절 내내 아름답고, 걷기에 익숙하지 "
    "않은 초보자도 하루 안에 충분히 걸을 수 있어서 제주 여행에서 가장 많은 이에게 사랑받는 "
    "길로 손꼽힙니다.")
DESCRIPTION_179: Final = " ".join(SENTENCES)
CONTENT: Final = f"<p>{DESCRIPTION_179}</p>"


def answer(**fields: Any) -> str:
    data = {"tags": ["제주 올레길", "올레길 7코스", "서귀포"], "focus_keyword": "제주 올레길",
            "meta_description": DESCRIPTION_179, "seo_title": TITLE, **fields}
    return json.dumps(data, ensure_ascii=False)


def test_a_179_character_description_is_a_well_formed_answer() -> None:
    assert len(DESCRIPTION_179) == 179
    parsed = parse_answer(answer(), provider="openai")
    assert parsed.meta_description == DESCRIPTION_179


def test_the_default_guide_rejects_a_179_character_description_with_the_reason() -> None:
    parsed = parse_answer(answer(), provider="openai")
    assert check(parsed, TITLE, CONTENT, QualityGuide()) == [
        Violation("description_length", "meta description has 179 characters; write 50 to 150")]


def test_a_guide_raised_to_200_accepts_it() -> None:
    guide = QualityGuide.from_settings(Settings.from_env({**MINIMAL, "ATR_SEO_DESC_MAX": "200"}))
    assert guide.bounds == AnswerBounds(desc_max=200)
    assert check(parse_answer(answer(), provider="openai"), TITLE, CONTENT, guide) == []


def test_the_prompt_states_the_guides_bounds() -> None:
    guide = QualityGuide(desc_min=60, desc_max=200, title_min=5, title_max=70, tags_min=4,
                         tags_max=6)
    system, _ = build_messages(SeoRequest(TITLE, CONTENT, bounds=guide.bounds))
    assert "meta_description: 60~200자" in system
    assert "seo_title: 5~70자" in system
    assert "태그 4~6개" in system
    default, _ = build_messages(SeoRequest(TITLE, CONTENT))
    assert "meta_description: 50~150자" in default and "태그 3~8개" in default


def test_the_default_guide_and_the_default_bounds_are_the_settings_defaults() -> None:
    assert QualityGuide.from_settings(Settings.from_env(MINIMAL)).bounds == DEFAULT_BOUNDS
    assert QualityGuide().bounds == DEFAULT_BOUNDS


def test_the_schema_sent_to_openai_and_gemini_names_no_bounds() -> None:
    assert not any(ch.isdigit() for ch in json.dumps(ANSWER_SCHEMA))


@pytest.mark.parametrize(("fields", "problem"), [
    ({"meta_description": ""}, "meta_description is empty"),
    ({"seo_title": "   "}, "seo_title is empty"),
    ({"tags": []}, "no tags"),
    ({"tags": "제주"}, "tags must be a list of strings"),
    ({"meta_description": "가" * (DESCRIPTION_HARD_MAX + 1)},
     f"meta_description has {DESCRIPTION_HARD_MAX + 1} characters; at most "
     f"{DESCRIPTION_HARD_MAX} make sense"),
    ({"tags": [f"태그{i}" for i in range(TAGS_HARD_MAX + 1)]},
     f"{TAGS_HARD_MAX + 1} unique tags; at most {TAGS_HARD_MAX} make sense"),
])
def test_the_parser_still_keeps_garbage_out(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidAnswer, match=problem):
        parse_answer(answer(**fields), provider="openai")


@pytest.mark.parametrize(("name", "hard_max"), [
    ("ATR_SEO_DESC_MAX", DESCRIPTION_HARD_MAX), ("ATR_SEO_TITLE_MAX", TITLE_HARD_MAX),
    ("ATR_SEO_TAGS_MAX", TAGS_HARD_MAX)])
def test_no_guide_the_settings_accept_goes_past_a_hard_limit(name: str, hard_max: int) -> None:
    Settings.from_env({**MINIMAL, name: str(hard_max)})
    with pytest.raises(ConfigError, match=f"{name}='{hard_max + 1}' is invalid"):
        Settings.from_env({**MINIMAL, name: str(hard_max + 1)})


def test_a_chain_asks_a_request_naming_no_bounds_for_the_configured_guides(
        redis_url: str, redis_client: redis.Redis) -> None:
    # seo_suggest and `atr llm try` send such requests: they ask what the SEO job accepts.
    settings = Settings.from_env({"REDIS_URL": redis_url, "ATR_SEO_DESC_MAX": "200"})
    chain = build_chain(settings, redis_client)
    assert chain.bounds == AnswerBounds(desc_max=200)
    suggestion = chain.suggest(SeoRequest(TITLE, CONTENT))
    assert suggestion.provider == "offline"
    assert suggestion.completion.answer.meta_description == DESCRIPTION_179
