"""Korean nouns of a post, ranked as tags: kiwipiepy morphemes, title phrases, scores.

What the offline provider (:mod:`pipeline.llm.offline`) makes its tags and
focus keyword of:

* A *noun run* is a gap-free sequence of noun morphemes (``NNG``, ``NNP``, a
  noun prefix or suffix, Latin words with their digits such as ``M3`` or
  ``S&P``), so ``전세사기`` stays one word, as it is written.
* Adjacent runs of the title that also occur together in the body join into a
  phrase (``강남역 맛집``, ``아이폰 15 프로``).
* :func:`candidates` ranks them by their count in the body, a strong bonus
  when they are a word of the title, a small one per heading; :data:`_STOPWORDS`
  are never used. A noun found mostly inside a longer candidate is left to it
  (``이탈리안``). Existing tags are ranked up when the text contains them and
  left out when it does not.
* :func:`pick_tags` takes the best of them, a weak one only to reach the fewest asked for.

Kiwi takes 1-3 s and about 500 MB of RSS to load (measured with kiwipiepy
0.24.1 and its CoNg model; its multi-word dictionary, which knows names such
as ``젤다의 전설``, is 180 MB of that), so it is loaded on first use, once per
process, and shared by every instance and worker thread. kiwipiepy documents
``Kiwi`` as thread-safe only since 0.22 and the project accepts 0.20, so
analyses are serialised by a lock. That costs nothing measurable: a post
takes about 7 ms (``bench/offline_seo.py`` prints the figure), and six
threads calling one Kiwi without the lock were no faster than one thread
(2 cores; their results were identical).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from pipeline.llm.request import TAG_MAX
from pipeline.text import normalise_tag, plain_text

__all__ = ["Candidate", "candidates", "pick_tags", "title_word"]

#: Nouns that are never a tag or keyword, even inside a phrase. Kiwi tags them
#: NNG, but they carry no topic: bound-noun-like words (것, 수, 등, 때, 중),
#: time words that date a tag (오늘, 이번, 최근, 요즘), amounts and rank
#: (정도, 이상, 이하, 최대, 대부분), list and review boilerplate that nearly
#: every title has and no reader searches alone (추천, 후기, 정리, 방법, 비교,
#: 꿀팁, 신청, 조건), verbal nouns of any topic (사용, 관리, 유지, 활용),
#: abstract evaluation words (장점, 단점, 차이, 결과), and English function
#: words inside names (오브, 앤드: they may sit inside a title phrase).
_STOPWORDS: Final = frozenset("""
    것 수 등 때 중 곳 점 위 번 개 분 년 월 일 시 말 초 안 밖 뒤 앞 전 후 간 내 외 측
    이번 오늘 어제 내일 지금 요즘 최근 당시 이후 이전 동안 사이 당일 매일 매년 하루 이틀
    처음 마지막 다음 지난 나중 순간 시간 시기 기간 초반 중반 후반 가지 부분 전체 자체 모두 각각
    대부분 일주일 신청 가입 조건 대상 유지 관리 활용 재료 상품 차이점 국내
    정도 경우 관련 이상 이하 미만 최대 최소 이내 약간 조금 대신 덕분 반면 만큼 여러 다양
    사람 생각 이유 내용 느낌 모습 상태 상황 문제 결과 기준 차이 장점 단점 특징 의미 방식
    방법 정리 총정리 추천 후기 리뷰 비교 소개 참고 확인 필요 중요 주의 사용 이용 선택
    시작 진행 준비 설명 공유 가능 해결 효과 도움 정보 꿀팁 팁 솔직 직접 실제 실제로 자신
    우리 저희 여기 거기 이것 그것 하나 둘 셋 한눈 제목 본문 글 포스팅 블로그 오늘날 여러분
    오브 앤드
""".split())
#: Latin words that are not names (``vs`` between two products, articles).
_LATIN_STOPWORDS: Final = frozenset({"vs", "the", "and", "or", "of", "for", "to", "in", "a"})
#: Morpheme tags a noun run is made of (general and proper nouns, noun affixes).
_NOUN_TAGS: Final = frozenset({"NNG", "NNP", "XPN", "XSN"})
#: Tags of a Latin word and the symbols that may sit inside one (S&P, USB-C, Wi-Fi).
_LATIN_TAGS: Final = frozenset({"SL", "SN", "SW", "SO"})
_LATIN_JOINERS: Final = frozenset("&-+._/")
#: Noun suffixes left out of a tag: ``개발자용`` is tagged ``개발자``, ``보호자들`` ``보호자``.
_LOOSE_SUFFIXES: Final = frozenset({"용", "들", "별", "당", "씩"})
#: What may follow a noun in a title word: a particle, or nothing.
_PARTICLES: Final = frozenset("""
    은 는 이 가 을 를 의 에 와 과 도 로 으로 에서 에게 까지 부터 만 이나 나 처럼 보다 랑 이랑
    에는 에도 으로는 로는 과의 와의 만의
""".split()) | {""}
#: Score weights: a title word beats a word merely repeated in the body.
_TITLE_BONUS: Final = 4.0
_HEADING_BONUS: Final = 1.0
_PROPER_BONUS: Final = 0.5
_EXISTING_BONUS: Final = 2.0
#: A phrase's score: the title bonus, this much per use in the body, and a
#: little of its last noun's count (Korean compounds end with their head).
_PHRASE_WEIGHT: Final = 2.0
_HEAD_WEIGHT: Final = 0.25
#: Most common (not proper, not number) nouns in a phrase: ``캠핑 준비물`` is a
#: keyword, ``초보 캠핑 준비물 리스트`` a sentence.
_PHRASE_COMMON_MAX: Final = 2
#: Tags under this score only fill up to the fewest asked for: a word of the body alone
#: needs three uses, or two and a heading.
_TAG_SCORE_MIN: Final = 3.0
#: Most nouns a title phrase joins.
_PHRASE_PARTS_MAX: Final = 5
#: A candidate is dropped when this share of its uses are inside a longer one
#: (``이탈리안`` of ``이탈리안 레스토랑``, ``프로`` of ``아이폰 15 프로``).
_PART_SHARE_MAX: Final = 0.75

_HEADING: Final = re.compile(r"<h[1-6]\b[^>]*>(.*?)</h[1-6]\s*>", re.IGNORECASE | re.DOTALL)
_SPACE: Final = re.compile(r"\s+")


class _Token(Protocol):
    """The fields of a ``kiwipiepy.Token`` this module reads."""

    form: str
    tag: str
    start: int
    len: int


class _Analyser(Protocol):
    def tokenize(self, text: str) -> Sequence[_Token]: ...


_kiwi: _Analyser | None = None
_load_lock: Final = threading.Lock()
_analyse_lock: Final = threading.Lock()


def _analyser() -> _Analyser:
    """The process's Kiwi, loaded on first use (1-3 s, about 500 MB)."""
    global _kiwi
    if _kiwi is None:
        with _load_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi  # type: ignore[import-untyped]

                # num_workers=1: tokenize(str) runs in the calling thread either
                # way; 0 would warn that its meaning changed in 0.21.
                kiwi = Kiwi(num_workers=1)
                kiwi.tokenize("")  # Kiwi finishes loading on its first analysis
                _kiwi = kiwi
    return _kiwi


def _tokenize(text: str) -> Sequence[_Token]:
    analyser = _analyser()
    with _analyse_lock:
        return list(analyser.tokenize(text))


@dataclass(frozen=True)
class _Run:
    """A noun, or a number, as written: ``text[start:end]``, and what surrounds it."""

    surface: str
    start: int
    end: int
    proper: bool
    number: bool
    #: The run begins a word: Kiwi sometimes cuts a word apart (``이유식`` as
    #: ``이`` + ``유식``), and a noun that starts inside a word is such a piece.
    initial: bool
    #: The run ends a word (nothing but space or punctuation after it).
    final: bool
    #: Followed by 하다/되다 (``공부했다``): a verb use, worth half a noun use.
    verbal: bool
    #: Followed by the genitive 의: it modifies what follows, it ends no phrase.
    genitive: bool

    @property
    def usable(self) -> bool:
        """A run that may be a tag alone, or begin or end a phrase."""
        if self.number or not self.initial or not 2 <= len(self.surface) <= TAG_MAX:
            return False
        if self.surface.isascii():
            # A letter first: ``M3`` is a name, ``19g`` and ``512GB`` are amounts.
            return self.surface[0].isalpha() and self.surface.lower() not in _LATIN_STOPWORDS
        return self.surface not in _STOPWORDS


@dataclass
class Candidate:
    """A tag candidate: a noun or title phrase as written, its body count and its score."""

    surface: str
    body: float = 0.0
    proper: bool = False
    #: For a title phrase: where it is in the title, and its last noun's body count.
    span: tuple[int, int] | None = None
    head: int = 0
    score: float = 0.0

    @property
    def phrase(self) -> bool:
        """The candidate is a title phrase (several nouns), not one noun."""
        return self.span is not None


def _runs(text: str) -> list[_Run]:
    """Noun runs and numbers of ``text``, in order."""
    tokens = _tokenize(text)
    runs: list[_Run] = []
    i = 0
    while i < len(tokens):
        kind = _kind(tokens[i])
        j = i + 1
        if kind is not None:
            while j < len(tokens) and _kind(tokens[j]) == kind \
                    and tokens[j].start == _end(tokens[j - 1]):
                j += 1
            run = _make_run(text, tokens[i:j], tokens[j] if j < len(tokens) else None)
            if run is not None:
                runs.append(run)
        i = j
    return runs


def _kind(token: _Token) -> str | None:
    if token.tag in _NOUN_TAGS:
        return "noun"
    if token.tag in _LATIN_TAGS and (token.tag in ("SL", "SN") or token.form in _LATIN_JOINERS):
        return "latin"
    return None


def _end(token: _Token) -> int:
    return token.start + token.len


def _make_run(text: str, group: Sequence[_Token], after: _Token | None) -> _Run | None:
    # Joiners and affixes belong inside a run: trim them from its ends.
    first, stop = 0, len(group)
    while first < stop and group[first].tag in ("SW", "SO", "XSN"):
        first += 1
    while stop > first and (group[stop - 1].tag in ("SW", "SO", "XPN")
                            or group[stop - 1].form in _LOOSE_SUFFIXES):
        stop -= 1
    if first == stop:
        return None
    kept = group[first:stop]
    begin, end = kept[0].start, _end(kept[-1])
    tags = {t.tag for t in kept}
    next_to = after is not None and after.start == end
    return _Run(text[begin:end], begin, end, proper=bool(tags & {"NNP", "SL"}),
                number=tags == {"SN"},
                initial=begin == 0 or not text[begin - 1].isalnum(),
                final=end == len(text) or not text[end].isalnum(),
                verbal=next_to and after is not None and after.tag in ("XSV", "XSA"),
                genitive=next_to and after is not None and after.form == "의")


def candidates(title: str, body: str, content: str,
                existing_tags: Sequence[str]) -> list[Candidate]:
    """Every noun and title phrase worth a tag, best first."""
    title_runs, body_runs = _runs(title), _runs(body)
    found: dict[str, Candidate] = {}
    for run in body_runs:
        if run.usable:
            cand = found.setdefault(normalise_tag(run.surface),
                                    Candidate(run.surface, proper=run.proper))
            cand.body += 0.5 if run.verbal else 1.0
    for run in title_runs:
        key = normalise_tag(run.surface)
        if run.usable and not run.verbal and key not in found \
                and not any(key in k for k in found):
            # A title noun the body never writes, and not a piece of a body word
            # (Kiwi may cut a title word apart that it reads whole in the body).
            found[key] = Candidate(run.surface, proper=run.proper)
    body_fold = body.casefold()
    for cand in _phrases(title, title_runs, body_fold, found):
        found.setdefault(normalise_tag(cand.surface), cand)
    for tag in existing_tags:
        surface = _SPACE.sub(" ", unicodedata.normalize("NFC", tag)).strip()
        key = normalise_tag(surface)
        if key not in found and surface and len(surface) <= TAG_MAX \
                and (surface in title or surface in body):
            # An editor's tag the text holds but Kiwi did not find as a noun.
            found[key] = Candidate(surface, body=body.count(surface))
        if key in found:
            found[key].score += _EXISTING_BONUS
    title_fold = title.casefold()
    headings = [plain_text(h).casefold() for h in _HEADING.findall(content)]
    for cand in found.values():
        fold = cand.surface.casefold()
        weight = _PHRASE_WEIGHT if cand.phrase else 1.0
        cand.score += (weight * cand.body + _HEAD_WEIGHT * cand.head
                       + _TITLE_BONUS * (title_word(fold, title_fold) is not None)
                       + _HEADING_BONUS * sum(fold in h for h in headings)
                       + _PROPER_BONUS * cand.proper)
    ranked = sorted(found.values(), key=lambda c: (-c.score, -len(c.surface), c.surface))
    return _prune(ranked, f"{title}\n{body}")


def _phrases(title: str, runs: Sequence[_Run], body_fold: str,
             nouns: dict[str, Candidate]) -> list[Candidate]:
    """Title runs written next to each other and found together in the body."""
    chains: list[list[_Run]] = []
    for run in runs:
        if chains and title[chains[-1][-1].end:run.start] == " ":
            chains[-1].append(run)
        else:
            chains.append([run])
    phrases: list[Candidate] = []
    for chain in chains:
        for i, first in enumerate(chain):
            if not first.usable:
                continue
            for j in range(i + 1, min(len(chain), i + _PHRASE_PARTS_MAX)):
                parts, last = chain[i:j + 1], chain[j]
                if any(not (r.number or r.proper) and r.surface in _STOPWORDS for r in parts):
                    break
                if not (last.usable or (last.number and last.final and chain[j - 1].proper)) \
                        or last.genitive \
                        or sum(not (r.proper or r.number) for r in parts) > _PHRASE_COMMON_MAX:
                    continue
                surface = title[first.start:last.end]
                uses = body_fold.count(surface.casefold())
                if uses and len(surface) <= TAG_MAX:
                    head = nouns.get(normalise_tag(last.surface))
                    phrases.append(Candidate(surface, body=uses, span=(first.start, last.end),
                                              head=int(head.body) if head else 0))
    return phrases


def _prune(ranked: Sequence[Candidate], text: str) -> list[Candidate]:
    """Drop a phrase overlapping a better one in the title, then what a longer one holds."""
    kept: list[Candidate] = []
    for cand in ranked:
        span = cand.span
        if span is None or not any(o.span is not None and span[0] < o.span[1]
                                   and o.span[0] < span[1] for o in kept):
            kept.append(cand)
    text = text.casefold()
    uses = {id(c): text.count(c.surface.casefold()) for c in kept}
    # A name keeps its tag while it has one use of its own (``아이폰`` beside
    # ``아이폰 15 프로``); a common noun needs a quarter of its uses.
    return [c for c in kept
            if not any(c.surface.casefold() in o.surface.casefold() and o is not c
                       and uses[id(o)] >= (1.0 if c.proper else _PART_SHARE_MAX) * uses[id(c)]
                       for o in kept)]


def pick_tags(ranked: Sequence[Candidate], fewest: int, most: int) -> list[str]:
    """The tags of ``ranked``, best first: up to ``most``, weak ones only to reach ``fewest``."""
    tags: list[str] = []
    seen: set[str] = set()
    for cand in ranked:
        if len(tags) >= most or (len(tags) >= fewest and cand.score < _TAG_SCORE_MIN):
            break
        key = normalise_tag(cand.surface)
        if key not in seen:
            seen.add(key)
            tags.append(cand.surface)
    return tags


def title_word(word: str, title: str) -> int | None:
    """Where ``word`` is a whole word of ``title`` (a particle may follow), or None."""
    at = title.find(word)
    while at >= 0:
        end = at + len(word)
        rest = end
        while rest < len(title) and title[rest].isalnum():
            rest += 1
        if (at == 0 or not title[at - 1].isalnum()) and title[end:rest] in _PARTICLES:
            return at
        at = title.find(word, at + 1)
    return None
