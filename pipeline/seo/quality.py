"""The SEO quality guide: what every answer must pass before it is proposed or written.

:func:`pipeline.llm.request.parse_answer` checks only an answer's shape (JSON,
keys, types, hard limits no guide reaches); this guide is the SEO team's
editorial bar, set through ``ATR_SEO_*`` (:meth:`QualityGuide.from_settings`),
and the one owner of an answer's bounds: its :attr:`QualityGuide.bounds` go
into the request, so the prompt asks every provider for what the guide
accepts. :func:`check` returns the violations of one answer; :func:`feedback`
turns them into the lines sent back to the provider for a second try
(``SeoRequest(..., feedback=...)``), so every message is short, in English,
and says what to do.

Defaults, and why:

* **Meta description 50 to 150 characters** (``ATR_SEO_DESC_MIN``/``_MAX``).
  Google shows about 80 Korean characters of a snippet on mobile and cuts
  desktop snippets near 150-160; Naver's are similar. Below 50 the snippet
  wastes the space and the engine often writes its own from the body; past
  150 the end, often the call to action, is cut.
* **SEO title 10 to 60 characters** (``ATR_SEO_TITLE_MIN``/``_MAX``). A Korean
  title past ~60 characters is cut in results; under 10 it says too little to
  be chosen over its neighbours.
* **3 to 8 unique tags** (``ATR_SEO_TAGS_MIN``/``_MAX``). Fewer give no
  topical signal; more dilute the tag archives (many one-post tag pages,
  which search engines treat as thin content).
* **Banned words** (``ATR_SEO_BANNED_WORDS``: 충격, 경악, 대박, 역대급, 무조건,
  클릭, 100%). Clickbait terms that search quality guidelines and the Korean
  portals penalise; none may appear in any field.

Rules (:data:`RULES`; ``Violation.rule`` is one of these stable ids):

``empty_field``
    A field, or one tag, is empty. Its length and keyword rules are then skipped.
``description_length``, ``title_length``
    Characters after NFC and whitespace collapsing (what :func:`parse_answer` keeps).
``tag_count``
    Unique tags (compared by :func:`normalise_tag`) within the bounds.
``tag_duplicate``
    Two tags equal after :func:`normalise_tag`.
``keyword_in_text``
    The focus keyword is in the post's title or body (:func:`has_keyword`):
    a keyword the post never uses is one it will not rank for.
``keyword_in_description``
    The focus keyword is in the meta description (:func:`has_keyword`):
    engines bold the searched words in the snippet.
``banned_word``
    A banned word in any field; one violation per word and field.
``wordpress_sanitize``
    WordPress would store the value changed: ``sanitize_text_field`` (which
    the SEO meta keys and tag names go through) strips HTML tags and ``%xx``
    codes and escapes a lone ``<`` to ``&lt;``. White space needs no rule: the
    parser already keeps values trimmed and on one line, as WordPress would.
    Checked here, so that the provider is asked again and a value that cannot
    be stored as written is never proposed; the writer checks again before
    its first request (:mod:`pipeline.wordpress.seo_meta`).

A tag the post does not contain is not a violation: an LLM's tags may be
synonyms or broader terms, which is what tags are for.

No I/O and no Dramatiq here: the SEO job, the CLI and the bench share it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from pipeline.llm.request import DEFAULT_BOUNDS, AnswerBounds, SeoAnswer
from pipeline.settings import Settings
from pipeline.text import normalise_tag, plain_text
from pipeline.wordpress.sanitize import stored_term_name, stored_text

__all__ = [
    "DEFAULT_BANNED_WORDS",
    "RULES",
    "QualityGuide",
    "Violation",
    "banned_words_in",
    "check",
    "feedback",
    "has_keyword",
]

_EMPTY: Final = "empty_field"
_DESCRIPTION_LENGTH: Final = "description_length"
_TITLE_LENGTH: Final = "title_length"
_TAG_COUNT: Final = "tag_count"
_TAG_DUPLICATE: Final = "tag_duplicate"
_KEYWORD_IN_TEXT: Final = "keyword_in_text"
_KEYWORD_IN_DESCRIPTION: Final = "keyword_in_description"
_BANNED_WORD: Final = "banned_word"
_WORDPRESS_SANITIZE: Final = "wordpress_sanitize"

#: Every rule id, in the order :func:`check` reports violations.
RULES: Final = (_EMPTY, _DESCRIPTION_LENGTH, _TITLE_LENGTH, _TAG_COUNT, _TAG_DUPLICATE,
                _KEYWORD_IN_TEXT, _KEYWORD_IN_DESCRIPTION, _BANNED_WORD, _WORDPRESS_SANITIZE)

#: The default of ``ATR_SEO_BANNED_WORDS``: clickbait that search engines penalise.
DEFAULT_BANNED_WORDS: Final = ("충격", "경악", "대박", "역대급", "무조건", "클릭", "100%")

#: Other words allowed between two words of a multi-word keyword (``강남역 근처 맛집``).
_KEYWORD_GAP: Final = 2

_SPACE: Final = re.compile(r"\s+")
_SENTENCE_END: Final = re.compile(r"[.!?…。](?:\s|$)")
#: Punctuation around a word that does not belong to it: ``(M3)``, ``"맛집"``, ``강남역,``.
_WORD_EDGES: Final = "\"'\u201c\u201d\u2018\u2019()[]{}<>「」『』《》〈〉,.:;!?…·"


@dataclass(frozen=True)
class Violation:
    """One broken rule: its stable id (one of :data:`RULES`) and an actionable message."""

    rule: str
    message: str


@dataclass(frozen=True)
class QualityGuide:
    """The bounds an answer must meet (lengths in characters) and the words it must avoid.

    The defaults are those of ``ATR_SEO_*``; the module docstring gives the reasons.
    """

    desc_min: int = DEFAULT_BOUNDS.desc_min
    desc_max: int = DEFAULT_BOUNDS.desc_max
    title_min: int = DEFAULT_BOUNDS.title_min
    title_max: int = DEFAULT_BOUNDS.title_max
    tags_min: int = DEFAULT_BOUNDS.tags_min
    tags_max: int = DEFAULT_BOUNDS.tags_max
    banned_words: tuple[str, ...] = DEFAULT_BANNED_WORDS

    def __post_init__(self) -> None:
        for name in ("desc", "title", "tags"):
            low, high = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if not 0 <= low <= high:
                raise ValueError(f"quality guide {name}_min={low} and {name}_max={high}: "
                                 "expected 0 <= min <= max")

    @classmethod
    def from_settings(cls, settings: Settings) -> QualityGuide:
        """The guide of ``ATR_SEO_DESC_*``, ``_TITLE_*``, ``_TAGS_*`` and ``_BANNED_WORDS``."""
        bounds = AnswerBounds.from_settings(settings)
        return cls(desc_min=bounds.desc_min, desc_max=bounds.desc_max,
                   title_min=bounds.title_min, title_max=bounds.title_max,
                   tags_min=bounds.tags_min, tags_max=bounds.tags_max,
                   banned_words=settings.seo_banned_words or ())

    @property
    def bounds(self) -> AnswerBounds:
        """The counts and lengths of this guide, as a request asks a provider for them."""
        return AnswerBounds(tags_min=self.tags_min, tags_max=self.tags_max,
                            desc_min=self.desc_min, desc_max=self.desc_max,
                            title_min=self.title_min, title_max=self.title_max)


def check(answer: SeoAnswer, title: str, content: str, guide: QualityGuide) -> list[Violation]:
    """The violations of ``answer`` for the post ``title``/``content`` (HTML or text).

    Empty when the answer passes. Violations come in :data:`RULES` order.
    """
    keyword = _clean(answer.focus_keyword)
    description = _clean(answer.meta_description)
    seo_title = _clean(answer.seo_title)
    tags = [_clean(t) for t in answer.tags]
    found: list[Violation] = []

    if not tags:
        found.append(Violation(_EMPTY, f"tags are empty; give {guide.tags_min} to "
                                       f"{guide.tags_max} tags"))
    elif not all(tags):
        found.append(Violation(_EMPTY, "a tag is empty; remove it"))
    if not keyword:
        found.append(Violation(_EMPTY, "focus keyword is empty; write one search phrase "
                                       "the post uses"))
    if not description:
        found.append(Violation(_EMPTY, f"meta description is empty; write {guide.desc_min} "
                                       f"to {guide.desc_max} characters"))
    if not seo_title:
        found.append(Violation(_EMPTY, f"SEO title is empty; write {guide.title_min} to "
                                       f"{guide.title_max} characters"))

    if description and not guide.desc_min <= len(description) <= guide.desc_max:
        found.append(Violation(_DESCRIPTION_LENGTH,
                               f"meta description has {len(description)} characters; "
                               f"write {guide.desc_min} to {guide.desc_max}"))
    if seo_title and not guide.title_min <= len(seo_title) <= guide.title_max:
        found.append(Violation(_TITLE_LENGTH,
                               f"SEO title has {len(seo_title)} characters; "
                               f"write {guide.title_min} to {guide.title_max}"))

    first: dict[str, str] = {}
    duplicates: list[tuple[str, str]] = []
    for tag in filter(None, tags):
        key = normalise_tag(tag)
        if key in first:
            duplicates.append((first[key], tag))
        else:
            first[key] = tag
    if tags and not guide.tags_min <= len(first) <= guide.tags_max:
        found.append(Violation(_TAG_COUNT,
                               f"{len(first)} unique tag{'' if len(first) == 1 else 's'}; "
                               f"give {guide.tags_min} to {guide.tags_max}"))
    found.extend(Violation(_TAG_DUPLICATE, f"tags '{a}' and '{b}' are the same tag; keep one")
                 for a, b in duplicates)

    if keyword:
        if not (has_keyword(title, keyword) or has_keyword(plain_text(content), keyword)):
            found.append(Violation(_KEYWORD_IN_TEXT,
                                   f"focus keyword '{keyword}' is not in the post's title or "
                                   "body; choose a phrase the post uses"))
        if description and not has_keyword(description, keyword):
            found.append(Violation(_KEYWORD_IN_DESCRIPTION,
                                   f"focus keyword '{keyword}' is not in the meta "
                                   "description; include it"))

    fields = (("tags", tags), ("focus_keyword", [keyword]),
              ("meta_description", [description]), ("seo_title", [seo_title]))
    for field, texts in fields:
        for word in _banned(guide.banned_words):
            if any(_has_banned(text, word) for text in texts):
                found.append(Violation(_BANNED_WORD, f"banned word '{word}' in {field}; "
                                                     "remove it"))
    for field, texts in fields:
        for text in texts:
            stored = stored_term_name(text) if field == "tags" else stored_text(text)
            if text and stored is not None:
                found.append(Violation(_WORDPRESS_SANITIZE, (
                    f"{field} '{text}' would be stored by WordPress as '{stored}'; write plain "
                    "text without HTML tags, '<', '>' or '%' followed by two hex digits")))
    return found


def banned_words_in(text: str, words: Iterable[str]) -> list[str]:
    """The banned ``words`` that ``text`` holds, as the guide matches them (for the ad floor)."""
    return [word for word in _banned(words) if _has_banned(text, word)]


def feedback(violations: Iterable[Violation]) -> tuple[str, ...]:
    """The messages of ``violations``, once each, for ``SeoRequest(..., feedback=...)``."""
    return tuple(dict.fromkeys(v.message for v in violations))


def has_keyword(text: str, keyword: str) -> bool:
    """Whether ``text`` uses ``keyword``, compared NFC, case-folded, whitespace collapsed.

    Any of these passes:

    1. the keyword is a substring of the text (``강남역 맛집은`` holds ``강남역 맛집``);
    2. it is, once both lose their spaces: Korean spacing of compounds is
       optional (``전세계약`` and ``전세 계약`` are the same search);
    3. its words appear in order in one sentence, each starting a word of the
       text, with at most two other words between two of them: ``강남역 맛집``
       is in ``강남역 근처 맛집`` and ``강남역의 유명한 파스타 맛집``. A Korean
       word may carry a particle or suffix (``강남역의``); a Latin word or number
       must end there (``AI`` is not in ``AirPods``).

    Words in another order, or further apart, do not pass: that is another phrase.
    """
    hay, needle = _fold(text), _fold(keyword)
    if not needle:
        return False
    if needle in hay or needle.replace(" ", "") in hay.replace(" ", ""):
        return True
    words = needle.split(" ")
    if len(words) < 2:
        return False
    for sentence in _SENTENCE_END.split(hay):
        tokens = [t.strip(_WORD_EDGES) for t in sentence.split(" ")]
        if _in_order(words, tokens, 0, len(tokens)):
            return True
    return False


def _in_order(words: Sequence[str], tokens: Sequence[str], start: int, stop: int) -> bool:
    """Whether ``words`` start tokens in order, the first within ``tokens[start:stop]``."""
    if not words:
        return True
    head, rest = words[0], words[1:]
    for at in range(start, min(stop, len(tokens))):
        if _starts_word(tokens[at], head) and _in_order(rest, tokens, at + 1,
                                                        at + 2 + _KEYWORD_GAP):
            return True
    return False


def _starts_word(token: str, word: str) -> bool:
    return token.startswith(word) and not _glued(token, len(word), word[-1])


def _glued(text: str, at: int, edge: str) -> bool:
    """Whether a Latin letter or digit ``edge`` runs on into ``text[at]`` (``AI`` -> ``AIr``)."""
    return (edge.isascii() and edge.isalnum() and 0 <= at < len(text)
            and text[at].isascii() and text[at].isalnum())


def _banned(words: Iterable[str]) -> list[str]:
    """The banned words to look for, as configured (for the message), empties dropped."""
    return list(dict.fromkeys(w for w in (_clean(w) for w in words) if w))


def _has_banned(text: str, word: str) -> bool:
    """Whether ``word`` is in ``text``, case-folded; a Latin edge must not run on.

    Korean words match inside longer words (``대박이네``: particles and endings
    attach); ``100%`` does not match ``1100%``, nor ``click`` ``clickable``.
    """
    hay, needle = _fold(text), _fold(word)
    at = hay.find(needle)
    while at >= 0:
        end = at + len(needle)
        if not (_glued(hay, at - 1, needle[0]) or _glued(hay, end, needle[-1])):
            return True
        at = hay.find(needle, at + 1)
    return False


def _clean(text: str) -> str:
    """NFC, whitespace collapsed, trimmed: the form lengths are counted in."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _fold(text: str) -> str:
    """The form texts are compared in: :func:`_clean`, case-folded."""
    return _clean(text).casefold()
