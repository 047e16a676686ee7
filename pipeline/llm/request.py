"""What every LLM provider is asked and must answer: an SEO request and its checked answer.

A provider receives a :class:`SeoRequest` (a post's title, body and existing
tags, in Korean, and the :class:`AnswerBounds` to write within) and must return
a :class:`SeoAnswer`. The answer's JSON shape is :data:`ANSWER_SCHEMA`, sent to
OpenAI as a strict JSON schema and to Gemini as its response schema;
:func:`parse_answer` checks any text against that shape, so a garbage or
truncated answer is an :class:`InvalidAnswer` (retried, then the next
provider), never a bad write.

Who decides what: the SEO quality guide (:class:`pipeline.seo.quality.QualityGuide`,
``ATR_SEO_*``) owns the bounds of an answer: tag count, meta description and
SEO title length. The prompt states the guide's bounds (:func:`build_messages`),
so a provider is asked for exactly what the guide accepts, and the guide checks
them. This module checks only shape: types, JSON, the keys, non-empty values
and hard limits (:data:`TAGS_HARD_MAX`, :data:`DESCRIPTION_HARD_MAX`,
:data:`TITLE_HARD_MAX`) at the largest values the settings accept for the
guide, so no guide is ever contradicted here. The schema carries no bounds
for the same reason.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipeline.llm.errors import InvalidAnswer
from pipeline.settings import Settings
from pipeline.text import normalise_tag, plain_text, post_title, visible_html

__all__ = [
    "ANSWER_SCHEMA",
    "DEFAULT_BOUNDS",
    "DESCRIPTION_HARD_MAX",
    "KEYWORD_MAX",
    "TAGS_HARD_MAX",
    "TAG_MAX",
    "TITLE_HARD_MAX",
    "AnswerBounds",
    "SeoAnswer",
    "SeoRequest",
    "build_messages",
    "parse_answer",
    "system_prompt",
]

#: Characters per tag (a tag archive's name; longer ones are sentences, not tags).
TAG_MAX: Final = 30
#: Focus keyword length, in characters (a search phrase, not a sentence).
KEYWORD_MAX: Final = 40
#: Hard limits of the shape check, in tags and characters: the largest values
#: ``ATR_SEO_TAGS_MAX``, ``ATR_SEO_DESC_MAX`` and ``ATR_SEO_TITLE_MAX`` accept,
#: so the guide, never this check, decides an answer's length.
TAGS_HARD_MAX: Final = 50
DESCRIPTION_HARD_MAX: Final = 1000
TITLE_HARD_MAX: Final = 300
#: Body characters sent to a provider; the rest of a long post adds cost, not signal.
BODY_MAX: Final = 4000

ANSWER_SCHEMA: Final[Mapping[str, Any]] = {
    "type": "object",
    "properties": {
        "tags": {"type": "array", "items": {"type": "string"},
                 "description": "Korean tags, nouns from the post"},
        "focus_keyword": {"type": "string", "description": "the one search phrase"},
        "meta_description": {"type": "string",
                             "description": "the search-result summary, with the keyword"},
        "seo_title": {"type": "string", "description": "the title shown in search results"},
    },
    "required": ["tags", "focus_keyword", "meta_description", "seo_title"],
    "additionalProperties": False,
}

_SPACE: Final = re.compile(r"\s+")


@dataclass(frozen=True)
class AnswerBounds:
    """What an answer is asked to stay within: unique tags, and lengths in characters.

    The SEO quality guide decides them (:attr:`pipeline.seo.quality.QualityGuide.bounds`,
    from ``ATR_SEO_*``); the defaults here are the guide's defaults.
    """

    tags_min: int = 3
    tags_max: int = 8
    desc_min: int = 50
    desc_max: int = 150
    title_min: int = 10
    title_max: int = 60

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerBounds:
        """``ATR_SEO_TAGS_*``, ``ATR_SEO_DESC_*`` and ``ATR_SEO_TITLE_*``."""
        return cls(tags_min=settings.seo_tags_min, tags_max=settings.seo_tags_max,
                   desc_min=settings.seo_desc_min, desc_max=settings.seo_desc_max,
                   title_min=settings.seo_title_min, title_max=settings.seo_title_max)


#: The bounds of a request that names none and is sent outside a chain.
DEFAULT_BOUNDS: Final = AnswerBounds()


@dataclass(frozen=True)
class SeoRequest:
    """One post to write SEO fields for: title, body (HTML or text), existing tags."""

    title: str
    content: str
    existing_tags: tuple[str, ...] = ()
    locale: str = "ko"
    #: Problems of an earlier answer, sent back so the provider can fix them.
    feedback: tuple[str, ...] = ()
    #: What to write within; None: the chain's, i.e. the configured guide's
    #: (:class:`pipeline.llm.chain.LlmChain` fills it in).
    bounds: AnswerBounds | None = None

    @classmethod
    def from_json(cls, data: Any, *, bounds: AnswerBounds | None = None) -> SeoRequest:
        """A request from ``{"title", "content", "tags"?}``; ValueError says what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError('expected a JSON object {"title": ..., "content": ...}')
        title, content = data.get("title"), data.get("content")
        if not isinstance(title, str) or not post_title(title):
            raise ValueError('"title" must be a non-empty string')
        if not isinstance(content, str):
            raise ValueError('"content" must be a string (HTML or text)')
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError('"tags", when given, must be a list of strings')
        return cls.of_post(title, content, tuple(tags), bounds=bounds)

    @classmethod
    def of_post(cls, title: str, content: str, existing_tags: tuple[str, ...] = (), *,
                feedback: tuple[str, ...] = (),
                bounds: AnswerBounds | None = None) -> SeoRequest:
        """A request for a post's raw title and body as WordPress stores them.

        The title's entities are decoded here, once (``&amp;`` is ``&``, never
        a tag ``amp``), and what a reader never sees is dropped from the body
        (scripts, styles, comments, hidden elements: :func:`pipeline.text.visible_html`);
        the body's entities are decoded by :attr:`body_text`.
        """
        return cls(post_title(title), visible_html(content), existing_tags,
                   feedback=feedback, bounds=bounds)

    @property
    def body_text(self) -> str:
        """The body as plain text, cut to the characters a provider is sent."""
        return plain_text(self.content)[:BODY_MAX]

    @property
    def answer_bounds(self) -> AnswerBounds:
        """The bounds in force: :attr:`bounds`, or the defaults when none are named."""
        return self.bounds or DEFAULT_BOUNDS


@dataclass(frozen=True)
class SeoAnswer:
    """A well-formed answer: unique tags, focus keyword, meta description, SEO title."""

    tags: tuple[str, ...]
    focus_keyword: str
    meta_description: str
    seo_title: str

    def to_json(self) -> dict[str, Any]:
        """The answer as JSON-clean data (the keys of :data:`ANSWER_SCHEMA`)."""
        return {"tags": list(self.tags), "focus_keyword": self.focus_keyword,
                "meta_description": self.meta_description, "seo_title": self.seo_title}


def build_messages(request: SeoRequest) -> tuple[str, str]:
    """The (system, user) prompt texts for ``request``; every provider sends these.

    The system prompt states the request's bounds, so a provider is asked for
    what the quality guide accepts.
    """
    lines = [f"제목: {request.title}"]
    if request.existing_tags:
        lines.append("기존 태그: " + ", ".join(request.existing_tags))
    lines.append("본문:")
    lines.append(request.body_text)
    if request.feedback:
        lines.append("이전 답의 문제(모두 고쳐서 다시 답하세요):")
        lines.extend(f"- {problem}" for problem in request.feedback)
    return system_prompt(request.answer_bounds), "\n".join(lines)


def system_prompt(bounds: AnswerBounds) -> str:
    """The system prompt asking for an answer within ``bounds``."""
    return (
        "당신은 한국어 콘텐츠 사이트의 SEO 편집자입니다. 주어진 글을 읽고 JSON 하나로만 답하세요. "
        f"tags: 글에 나오는 명사 위주의 태그 {_span(bounds.tags_min, bounds.tags_max)}개"
        f"(중복 없이, 각 {TAG_MAX}자 이내). "
        f"focus_keyword: 검색어 하나({KEYWORD_MAX}자 이내), 제목이나 본문에 있는 표현. "
        f"meta_description: {_span(bounds.desc_min, bounds.desc_max)}자의 자연스러운 한국어 "
        "요약, focus_keyword를 포함. "
        f"seo_title: {_span(bounds.title_min, bounds.title_max)}자의 검색 결과용 제목. "
        "과장, 낚시성 표현, 이모지는 쓰지 마세요.")


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}~{high}"


def parse_answer(text: str | None, *, provider: str) -> SeoAnswer:
    """Check a provider's answer text for shape; raise InvalidAnswer naming every problem.

    Tags, keyword, description and title must be there, be strings, be not
    empty and stay under the hard limits; the quality guide judges the rest.
    """
    if not text or not text.strip():
        raise InvalidAnswer(f"{provider} returned an empty answer")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"{provider} returned text that is not JSON ({exc.msg} at "
                            f"character {exc.pos}): {_clip(text)}") from None
    if not isinstance(data, dict):
        raise InvalidAnswer(f"{provider} returned JSON that is not an object: {_clip(text)}")
    problems: list[str] = []
    missing = [k for k in ANSWER_SCHEMA["required"] if k not in data]
    if missing:
        problems.append("missing " + ", ".join(missing))
    extra = sorted(set(data) - set(ANSWER_SCHEMA["properties"]))
    if extra:
        problems.append("unexpected " + ", ".join(extra))
    tags = _tags(data.get("tags"), problems) if "tags" in data else ()
    keyword = _text(data, "focus_keyword", KEYWORD_MAX, problems)
    description = _text(data, "meta_description", DESCRIPTION_HARD_MAX, problems)
    title = _text(data, "seo_title", TITLE_HARD_MAX, problems)
    if problems:
        raise InvalidAnswer(f"{provider} answer breaks the schema: " + "; ".join(problems))
    return SeoAnswer(tags, keyword, description, title)


def _tags(value: Any, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        problems.append("tags must be a list of strings")
        return ()
    seen: dict[str, str] = {}
    for raw in value:
        tag = _SPACE.sub(" ", unicodedata.normalize("NFC", raw)).strip()
        if not tag:
            problems.append("a tag is empty")
        elif len(tag) > TAG_MAX:
            problems.append(f"tag {tag[:TAG_MAX]!r}... is longer than {TAG_MAX} characters")
        else:
            seen.setdefault(normalise_tag(tag), tag)
    if not seen:
        problems.append("no tags")
    elif len(seen) > TAGS_HARD_MAX:
        problems.append(f"{len(seen)} unique tags; at most {TAGS_HARD_MAX} make sense")
    return tuple(seen.values())


def _text(data: Mapping[str, Any], key: str, high: int, problems: list[str]) -> str:
    if key not in data:
        return ""
    value = data[key]
    if not isinstance(value, str):
        problems.append(f"{key} must be a string")
        return ""
    text = _SPACE.sub(" ", unicodedata.normalize("NFC", value)).strip()
    if not text:
        problems.append(f"{key} is empty")
    elif len(text) > high:
        problems.append(f"{key} has {len(text)} characters; at most {high} make sense")
    return text


def _clip(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")

