"""What every LLM provider is asked and must answer: an SEO request and its checked answer.

A provider receives a :class:`SeoRequest` (a post's title, body and existing
tags, in Korean) and must return a :class:`SeoAnswer`. The answer's JSON shape
is :data:`ANSWER_SCHEMA`, sent to OpenAI as a strict JSON schema and to Gemini
as its response schema; :func:`parse_answer` checks any text against it and
against the length rules below, so a garbage or truncated answer is an
:class:`InvalidAnswer` (retried, then the next provider), never a bad write.

The rules here are the structural contract. The SEO quality guide (banned
words, focus keyword placement) is applied later, by the SEO job.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipeline.llm.errors import InvalidAnswer

__all__ = [
    "ANSWER_SCHEMA",
    "DESCRIPTION_MAX",
    "DESCRIPTION_MIN",
    "KEYWORD_MAX",
    "TAGS_MAX",
    "TAGS_MIN",
    "TAG_MAX",
    "TITLE_MAX",
    "SeoAnswer",
    "SeoRequest",
    "build_messages",
    "normalise_tag",
    "parse_answer",
    "plain_text",
]

#: Tags per answer, and characters per tag.
TAGS_MIN: Final = 3
TAGS_MAX: Final = 8
TAG_MAX: Final = 30
#: Focus keyword length, in characters.
KEYWORD_MAX: Final = 40
#: Meta description length, in characters: the quality guide's defaults
#: (``ATR_SEO_DESC_MIN``/``_MAX``; Google shows about 80 Korean characters on
#: mobile and cuts near 150 on desktop).
DESCRIPTION_MIN: Final = 50
DESCRIPTION_MAX: Final = 150
#: SEO title length, in characters (a Korean title past ~60 is cut in results).
TITLE_MAX: Final = 60
#: Body characters sent to a provider; the rest of a long post adds cost, not signal.
BODY_MAX: Final = 4000

ANSWER_SCHEMA: Final[Mapping[str, Any]] = {
    "type": "object",
    "properties": {
        "tags": {"type": "array", "items": {"type": "string"},
                 "description": f"{TAGS_MIN}-{TAGS_MAX} Korean tags, nouns from the post"},
        "focus_keyword": {"type": "string", "description": "the one search phrase"},
        "meta_description": {"type": "string",
                             "description": f"{DESCRIPTION_MIN}-{DESCRIPTION_MAX} characters"},
        "seo_title": {"type": "string", "description": f"at most {TITLE_MAX} characters"},
    },
    "required": ["tags", "focus_keyword", "meta_description", "seo_title"],
    "additionalProperties": False,
}

_SYSTEM_PROMPT: Final = (
    "당신은 한국어 콘텐츠 사이트의 SEO 편집자입니다. 주어진 글을 읽고 JSON 하나로만 답하세요. "
    f"tags: 글에 나오는 명사 위주의 태그 {TAGS_MIN}~{TAGS_MAX}개(중복 없이, 각 {TAG_MAX}자 이내). "
    f"focus_keyword: 검색어 하나({KEYWORD_MAX}자 이내), 제목이나 본문에 있는 표현. "
    f"meta_description: {DESCRIPTION_MIN}~{DESCRIPTION_MAX}자의 자연스러운 한국어 요약, "
    "focus_keyword를 포함. "
    f"seo_title: {TITLE_MAX}자 이내의 검색 결과용 제목. 과장, 낚시성 표현, 이모지는 쓰지 마세요."
)
_TAG_SPACE: Final = re.compile(r"\s+")
_HTML_TAG: Final = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class SeoRequest:
    """One post to write SEO fields for: title, body (HTML or text), existing tags."""

    title: str
    content: str
    existing_tags: tuple[str, ...] = ()
    locale: str = "ko"
    #: Problems of an earlier answer, sent back so the provider can fix them.
    feedback: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> SeoRequest:
        """A request from ``{"title", "content", "tags"?}``; ValueError says what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError('expected a JSON object {"title": ..., "content": ...}')
        title, content = data.get("title"), data.get("content")
        if not isinstance(title, str) or not title.strip():
            raise ValueError('"title" must be a non-empty string')
        if not isinstance(content, str):
            raise ValueError('"content" must be a string (HTML or text)')
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError('"tags", when given, must be a list of strings')
        return cls(title.strip(), content, tuple(tags))

    @property
    def body_text(self) -> str:
        """The body as plain text, cut to the characters a provider is sent."""
        return plain_text(self.content)[:BODY_MAX]


@dataclass(frozen=True)
class SeoAnswer:
    """A checked answer: 3-8 unique tags, focus keyword, meta description, SEO title."""

    tags: tuple[str, ...]
    focus_keyword: str
    meta_description: str
    seo_title: str

    def to_json(self) -> dict[str, Any]:
        """The answer as JSON-clean data (the keys of :data:`ANSWER_SCHEMA`)."""
        return {"tags": list(self.tags), "focus_keyword": self.focus_keyword,
                "meta_description": self.meta_description, "seo_title": self.seo_title}


def build_messages(request: SeoRequest) -> tuple[str, str]:
    """The (system, user) prompt texts for ``request``; every provider sends these."""
    lines = [f"제목: {request.title}"]
    if request.existing_tags:
        lines.append("기존 태그: " + ", ".join(request.existing_tags))
    lines.append("본문:")
    lines.append(request.body_text)
    if request.feedback:
        lines.append("이전 답의 문제(모두 고쳐서 다시 답하세요):")
        lines.extend(f"- {problem}" for problem in request.feedback)
    return _SYSTEM_PROMPT, "\n".join(lines)


def parse_answer(text: str | None, *, provider: str) -> SeoAnswer:
    """Check a provider's answer text; raise InvalidAnswer naming every problem."""
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
    keyword = _text(data, "focus_keyword", 1, KEYWORD_MAX, problems)
    description = _text(data, "meta_description", DESCRIPTION_MIN, DESCRIPTION_MAX, problems)
    title = _text(data, "seo_title", 1, TITLE_MAX, problems)
    if problems:
        raise InvalidAnswer(f"{provider} answer breaks the schema: " + "; ".join(problems))
    return SeoAnswer(tags, keyword, description, title)


def normalise_tag(tag: str) -> str:
    """The form two tags are compared in: NFC, trimmed, inner spaces collapsed, lower case."""
    return _TAG_SPACE.sub(" ", unicodedata.normalize("NFC", tag)).strip().lower()


def plain_text(content: str) -> str:
    """HTML (as WordPress stores a body) to plain text: tags dropped, entities decoded."""
    return _TAG_SPACE.sub(" ", html.unescape(_HTML_TAG.sub(" ", content))).strip()


def _tags(value: Any, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        problems.append("tags must be a list of strings")
        return ()
    seen: dict[str, str] = {}
    for raw in value:
        tag = _TAG_SPACE.sub(" ", unicodedata.normalize("NFC", raw)).strip()
        if not tag:
            problems.append("a tag is empty")
        elif len(tag) > TAG_MAX:
            problems.append(f"tag {tag[:TAG_MAX]!r}... is longer than {TAG_MAX} characters")
        else:
            seen.setdefault(normalise_tag(tag), tag)
    if not TAGS_MIN <= len(seen) <= TAGS_MAX:
        problems.append(f"{len(seen)} unique tags; expected {TAGS_MIN} to {TAGS_MAX}")
    return tuple(seen.values())


def _text(data: Mapping[str, Any], key: str, low: int, high: int,
          problems: list[str]) -> str:
    if key not in data:
        return ""
    value = data[key]
    if not isinstance(value, str):
        problems.append(f"{key} must be a string")
        return ""
    text = _TAG_SPACE.sub(" ", unicodedata.normalize("NFC", value)).strip()
    if not low <= len(text) <= high:
        problems.append(f"{key} has {len(text)} characters; expected {low} to {high}")
    return text


def _clip(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")

