"""SEO answers with no network and no key: Korean nouns from kiwipiepy, an extractive description.

The offline provider is the last link of the chain and the default for a site
with no API key, so it must give an editor something usable, deterministically:

* **tags**: nouns and title phrases of the post as they are written, ranked by
  :mod:`pipeline.llm.korean_nouns` (which loads Kiwi on first use).
* **focus keyword**: the best candidate of the title's first clause (a
  phrase counts its best noun too; names and early words weigh more).
* **meta description**: whole sentences of the body's paragraphs from the
  first one holding the focus keyword, up to the request's longest
  description; the title in front when they are too short or none holds the
  keyword.
* **SEO title**: the title, cut at a clause or word boundary to the request's
  longest title.

Counts and lengths are the request's :class:`~pipeline.llm.request.AnswerBounds`
(the quality guide's), so a guide that allows longer descriptions gets them.

Every tag of an answer is a word of the post: existing tags the text does not
contain are left out (what becomes of the post's other tags is the SEO job's
business).
The answer goes through :func:`parse_answer` like any provider's. A post too
short for three tags is a :class:`TooLittleText` (the chain moves on; when
every provider refused this way the message is rejected, not retried).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Final

from pipeline.errors import ConfigError
from pipeline.llm.errors import InvalidAnswer, TooLittleText
from pipeline.llm.korean_nouns import Candidate, candidates, pick_tags, title_word
from pipeline.llm.provider import Completion
from pipeline.llm.request import AnswerBounds, SeoAnswer, SeoRequest, parse_answer
from pipeline.text import normalise_tag, plain_text

__all__ = ["OfflineProvider"]

#: The focus keyword favours a name over a common noun by this factor.
_FOCUS_PROPER_FACTOR: Final = 1.25
#: Where a title's first clause ends: the keyword is in it, the rest is detail.
_CLAUSE_END: Final = re.compile(r"[,:;(\[|]| [-\u2013\u2014] ")

_PARAGRAPH: Final = re.compile(r"<p\b[^>]*>(.*?)</p\s*>", re.IGNORECASE | re.DOTALL)
_NOT_PROSE: Final = re.compile(r"<(h[1-6]|ul|ol|table|figure|pre|script|style)\b.*?</\1\s*>",
                               re.IGNORECASE | re.DOTALL)
_BLANK_LINE: Final = re.compile(r"\n\s*\n")
_SENTENCE_END: Final = re.compile(r"(?<=[.!?…])\s+")
_SPACE: Final = re.compile(r"\s+")
#: Characters a cut title or description must not end with.
_DANGLING: Final = " ,.:;·|/(<[{'\"-\u2013\u2014"


class OfflineProvider:
    """Korean SEO fields from the post itself: kiwipiepy nouns, no network, no key."""

    name = "offline"
    limited = False

    def __init__(self) -> None:
        try:
            self.model = f"kiwipiepy-{version('kiwipiepy')}"
        except PackageNotFoundError:
            raise ConfigError(
                "kiwipiepy is not installed, and the offline LLM provider needs it: install "
                "the project's dependencies (uv sync), or take offline out of "
                "ATR_LLM_PROVIDER and ATR_LLM_FALLBACK") from None

    def estimate(self, request: SeoRequest) -> int:
        """No tokens: the offline provider has no quota to reserve."""
        return 0

    def complete(self, request: SeoRequest) -> Completion:
        """The SEO fields of ``request``; InvalidAnswer when the post is too short."""
        answer = _answer(request)
        try:
            checked = parse_answer(json.dumps(answer.to_json(), ensure_ascii=False),
                                   provider=self.name)
        except InvalidAnswer as exc:
            # Nothing here is random: the same post fails the same way every time.
            exc.deterministic = True
            raise
        return Completion(checked, usage=None, model=self.model)


def _answer(request: SeoRequest) -> SeoAnswer:
    # NFC first: text pasted from macOS may be decomposed, and answers are NFC.
    title = _SPACE.sub(" ", unicodedata.normalize("NFC", request.title)).strip()
    body = unicodedata.normalize("NFC", request.body_text)
    content = unicodedata.normalize("NFC", request.content)
    bounds = request.answer_bounds
    ranked = candidates(title, body, content, request.existing_tags)
    tags = pick_tags(ranked, bounds.tags_min, bounds.tags_max)
    if len(tags) < bounds.tags_min:
        found = ", ".join(tags) or "none"
        raise TooLittleText(
            f"offline found {len(tags)} usable noun{'' if len(tags) == 1 else 's'} ({found}) "
            f"in post {title!r} "
            f"({len(body)} body characters); {bounds.tags_min} are needed for tags. The post is "
            f"too short for offline SEO: write more, or put an LLM provider in the chain")
    keyword = _focus(ranked, title) or tags[0]
    if normalise_tag(keyword) not in {normalise_tag(t) for t in tags}:
        tags = [*tags[:bounds.tags_max - 1], keyword]
    sentences = _sentences(content)
    return SeoAnswer(tags=tuple(tags), focus_keyword=keyword,
                     meta_description=_description(title, sentences, keyword, bounds),
                     seo_title=_seo_title(title, bounds.title_max))


def _focus(ranked: Sequence[Candidate], title: str) -> str | None:
    """The best candidate of the title's first clause that the body uses, else of the title.

    A phrase also counts the score of its best noun (``강남역 맛집`` is as
    strong as ``강남역`` and more specific), and a word early in the title
    counts up to half again as much as one at its end. A name (a proper noun,
    a Latin word) is a more specific search than a common noun.
    """
    clause_end = len(_CLAUSE_END.split(title, maxsplit=1)[0])
    scores = {c.surface.casefold(): c.score for c in ranked}
    # First a word of the clause the body uses too, then any word of the title.
    for limit, used in ((clause_end, 1.0), (len(title), 0.0)):
        best, best_score = None, 0.0
        for cand in ranked:
            fold = cand.surface.casefold()
            at = title_word(fold, title.casefold())
            if at is None or at + len(fold) > limit or cand.body < used:
                continue
            score = cand.score
            if cand.phrase:
                score += max((v for k, v in scores.items() if k != fold and k in fold),
                             default=0.0)
            if cand.proper:
                score *= _FOCUS_PROPER_FACTOR
            score *= 1.5 - 0.5 * at / len(title)
            if score > best_score:
                best, best_score = cand.surface, score
        if best is not None:
            return best
    return None


def _sentences(content: str) -> list[str]:
    """Sentences of the body's prose: paragraphs, or blocks between blank lines.

    Headings, lists, tables and figures are left out: a meta description made
    of "2. 오스테리아 문" or a list item reads badly.
    """
    prose = _NOT_PROSE.sub("\n\n", content)
    blocks = _PARAGRAPH.findall(prose) or _BLANK_LINE.split(prose)
    return [s for block in blocks for s in _split(plain_text(block))]


def _split(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _description(title: str, sentences: Sequence[str], keyword: str,
                 bounds: AnswerBounds) -> str:
    shortest, longest = bounds.desc_min, bounds.desc_max
    fold = keyword.casefold()
    start = next((i for i, s in enumerate(sentences) if fold in s.casefold()), None)
    text = "" if start is None else _fill(sentences[start:], longest, shortest)
    if len(text) < shortest or fold not in text.casefold():
        lead = title if title.endswith((".", "!", "?")) else f"{title}."
        rest = _fill(sentences[start or 0:], longest - len(lead) - 1, shortest)
        text = _cut(f"{lead} {rest}".strip(), longest)
    if fold not in text.casefold():
        text = _cut(f"{keyword}: {text}", longest)
    if len(text) < shortest:
        raise TooLittleText(
            f"offline cannot write a meta description for post {title!r}: its title and "
            f"body have {len(text)} characters of prose, fewer than {shortest}; "
            f"write more, or put an LLM provider in the chain")
    return text


def _fill(sentences: Sequence[str], room: int, shortest: int) -> str:
    """Whole sentences while they fit in ``room``; a cut one only when still too short."""
    text = ""
    for sentence in sentences:
        joined = f"{text} {sentence}".strip()
        if len(joined) > room:
            return _cut(joined, room) if len(text) < shortest else text
        text = joined
    return text


def _seo_title(title: str, longest: int) -> str:
    """The title within ``longest``: cut at its last clause break if that keeps half, else
    at a word."""
    if len(title) <= longest:
        return title
    head = _cut(title, longest, ellipsis=False)
    breaks = [m.start() for m in _CLAUSE_END.finditer(head)]
    if breaks and breaks[-1] >= longest // 2:
        head = head[:breaks[-1]].rstrip(_DANGLING)
    return head


def _cut(text: str, limit: int, *, ellipsis: bool = True) -> str:
    """``text`` cut at the last word boundary within ``limit`` characters, cleanly ended."""
    if len(text) <= limit:
        return text
    room = limit - 1 if ellipsis else limit
    head = text[:room]
    if not text[room].isspace() and " " in head:
        head = head[:head.rindex(" ")]
    if head.count("(") > head.count(")"):
        head = head[:head.rindex("(")]
    head = head.rstrip(_DANGLING)
    return f"{head}…" if ellipsis else head
