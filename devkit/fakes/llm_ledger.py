"""What the OpenAI and Gemini fakes share: tokens, a rate-limit ledger, faults, answers.

- :func:`count_tokens`: the fake's token count, a lower bound of
  :func:`pipeline.llm.tokens.estimate_tokens` (so the project's reservations
  always cover what the fake charges).
- :class:`RateLedger`: a sliding window over admitted calls that admits or
  refuses a call by requests (RPM), tokens (TPM) and requests per day (RPD),
  and names the exact wait of a refused call.
- :class:`FaultQueue`: faults queued for the next calls (:data:`FAULTS`).
- :func:`seo_answer`: a deterministic answer to the project's SEO prompt that
  passes :func:`pipeline.llm.request.parse_answer`.

The HTTP server both fakes build on is in :mod:`devkit.fakes.llm_http`.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from pipeline.llm.request import DEFAULT_BOUNDS, TAG_MAX

__all__ = [
    "DAY_S", "FAULTS", "Fault", "FaultQueue", "RateLedger", "Refusal", "Verdict", "answer_text",
    "clip_to_tokens", "count_tokens", "fault_text", "go_duration", "seo_answer",
]

#: The faults :meth:`devkit.fakes.llm_http.LlmFakeServer.inject` takes.
Fault = Literal["timeout", "500", "invalid_json", "schema_violation", "insufficient_quota"]
FAULTS: Final[tuple[str, ...]] = get_args(Fault)
#: The window of the requests-per-day limit, in seconds.
DAY_S: Final = 86_400.0
_TOKEN: Final = re.compile(r"[가-힣]{1,2}|[A-Za-z]{1,4}|[0-9]{1,3}|\S")
_HANGUL_WORD: Final = re.compile(r"[가-힣]+")
# Longest first, so 에서 is stripped before 에 would leave 서.
_PARTICLES: Final = ("에서", "으로", "은", "는", "이", "가", "을", "를", "의", "에", "로", "와",
                     "과", "도", "만")
_GENERIC_TAGS: Final = ("정보", "소식", "정리", "안내", "후기")
_TAGS_WANTED: Final = 6
#: The fake writes within the quality guide's default bounds (they fit any wider guide).
TAGS_MIN: Final = DEFAULT_BOUNDS.tags_min
DESCRIPTION_MIN: Final = DEFAULT_BOUNDS.desc_min
DESCRIPTION_MAX: Final = DEFAULT_BOUNDS.desc_max
TITLE_MAX: Final = DEFAULT_BOUNDS.title_max


def count_tokens(text: str) -> int:
    """Tokens of ``text`` as the fakes count them: never above the project's estimate."""
    return sum(1 for _ in _TOKEN.finditer(text))


def clip_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that counts at most ``limit`` tokens."""
    end = 0
    for index, match in enumerate(_TOKEN.finditer(text)):
        if index == limit:
            return text[:end]
        end = match.end()
    return text


def go_duration(seconds: float) -> str:
    """A wait in OpenAI's header format (Go durations): ``120ms``, ``1.5s``, ``6m0s``.

    Rounded up to the millisecond, so a client that waits this long is never early.
    """
    ms = max(0, math.ceil(seconds * 1000 - 1e-6))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    return f"{minutes}m{secs}" if minutes else secs


# -- the ledger ---------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    """Why a call was refused: the binding limit, its use and the exact wait, in seconds."""

    limit: Literal["requests", "tokens", "day"]
    cap: int
    used: int
    requested: int
    wait_s: float
    requests_wait_s: float = 0.0
    tokens_wait_s: float = 0.0
    #: The call alone needs more tokens than the whole TPM: waiting does not help.
    too_large: bool = False


@dataclass(frozen=True)
class Verdict:
    """A call's admission (``refusal`` None) and the window as it stands after it."""

    refusal: Refusal | None
    requests_used: int
    tokens_used: int
    #: Seconds until every call now in the window has left it.
    reset_s: float


class RateLedger:
    """A sliding window of admitted calls, checked and charged under one lock.

    A call is admitted iff the calls admitted in the last ``window_s`` seconds
    plus one fit ``rpm``, the tokens charged in that window plus the call's
    charge fit ``tpm``, and the calls of the last :data:`DAY_S` fit ``rpd``
    (a None limit is not checked). An admitted call is recorded at its
    arrival time; a refused call is not recorded.
    """

    def __init__(self, rpm: int | None = None, tpm: int | None = None,
                 window_s: float = 60.0, rpd: int | None = None) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm), ("rpd", rpd)):
            if value is not None and value < 1:
                raise ValueError(f"{name}={value}: a limit must be at least 1, or None for none")
        if window_s <= 0:
            raise ValueError(f"window_s={window_s}: the window must be positive")
        self.rpm, self.tpm, self.rpd, self.window_s = rpm, tpm, rpd, window_s
        self._lock = threading.Lock()
        self._times: list[float] = []  # sorted: concurrent calls may record out of order
        self._tokens: list[int] = []

    @property
    def admitted(self) -> list[tuple[float, int]]:
        """Every admitted call as (arrival in ``time.monotonic`` seconds, tokens charged)."""
        with self._lock:
            return list(zip(self._times, self._tokens, strict=True))

    @property
    def charged_tokens(self) -> int:
        """Tokens charged to every admitted call since the start or :meth:`reset`."""
        with self._lock:
            return sum(self._tokens)

    def reset(self) -> None:
        """Forget every admitted call."""
        with self._lock:
            self._times.clear()
            self._tokens.clear()

    def admit(self, charge: int, at: float) -> Verdict:
        """Admit and record a call arriving ``at`` (monotonic) that costs ``charge`` tokens."""
        with self._lock:
            refusal = self._refusal(charge, at)
            if refusal is None:
                index = bisect_right(self._times, at)
                self._times.insert(index, at)
                self._tokens.insert(index, charge)
            low = bisect_right(self._times, at - self.window_s)
            times = self._times[low:]
            return Verdict(refusal, len(times), sum(self._tokens[low:]),
                           max(times) + self.window_s - at if times else 0.0)

    def _refusal(self, charge: int, at: float) -> Refusal | None:
        if self.rpd is not None:
            day = self._times[bisect_right(self._times, at - DAY_S):]
            if len(day) + 1 > self.rpd:
                wait = day[len(day) - self.rpd] + DAY_S - at
                return Refusal("day", self.rpd, len(day), 1, wait, requests_wait_s=wait)
        low = bisect_right(self._times, at - self.window_s)
        times, tokens = self._times[low:], self._tokens[low:]
        requests_wait = tokens_wait = 0.0
        if self.rpm is not None and len(times) + 1 > self.rpm:
            requests_wait = times[len(times) - self.rpm] + self.window_s - at
        used = sum(tokens)
        too_large = self.tpm is not None and charge > self.tpm
        if too_large:
            tokens_wait = max(times) + self.window_s - at if times else self.window_s
        elif self.tpm is not None and used + charge > self.tpm:
            excess, freed = used + charge - self.tpm, 0
            for when, spent in zip(times, tokens, strict=True):
                freed += spent
                if freed >= excess:
                    tokens_wait = when + self.window_s - at
                    break
        if not requests_wait and not tokens_wait:
            return None
        if tokens_wait > requests_wait or (too_large and self.tpm is not None):
            assert self.tpm is not None
            return Refusal("tokens", self.tpm, used, charge, max(tokens_wait, requests_wait),
                           requests_wait, tokens_wait, too_large)
        assert self.rpm is not None
        return Refusal("requests", self.rpm, len(times), 1, requests_wait,
                       requests_wait, tokens_wait)


# -- faults -------------------------------------------------------------------

class FaultQueue:
    """Faults for the next calls, oldest first; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[str] = deque()

    def push(self, fault: str, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` calls; ValueError for an unknown fault."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
        with self._lock:
            self._queue.extend([fault] * times)

    def pop(self) -> str | None:
        """The fault for this call, or None for a normal answer."""
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()


# -- answers ------------------------------------------------------------------

def seo_answer(user_prompt: str) -> dict[str, Any]:
    """A deterministic SEO answer to the project's user prompt (``제목: ...``, ``본문:`` ...)."""
    title, body = _title_and_body(user_prompt)
    tags = _tags(f"{title}\n{body}")
    keyword = tags[0]
    return {"tags": tags, "focus_keyword": keyword,
            "meta_description": _description(title, keyword),
            "seo_title": _clip(title, TITLE_MAX) or keyword}


def answer_text(user_prompt: str) -> str:
    """:func:`seo_answer` as the JSON text a model returns."""
    return json.dumps(seo_answer(user_prompt), ensure_ascii=False)


def fault_text(fault: str, user_prompt: str) -> str:
    """The answer text of an ``invalid_json`` or ``schema_violation`` fault."""
    answer = seo_answer(user_prompt)
    title: str = answer["seo_title"]
    keyword: str = answer["focus_keyword"]
    if fault == "invalid_json":
        return (f"죄송하지만 요청하신 형식으로 답변하기 어렵습니다. 이 글은 {title}에 관한 "
                f"내용이며, 핵심 키워드는 {keyword}입니다.")
    if fault == "schema_violation":
        return json.dumps({"tags": [f"태그{i}" for i in range(1, 13)],
                           "focus_keyword": keyword, "seo_title": title}, ensure_ascii=False)
    raise ValueError(f"fault {fault!r} has no answer text")


def _title_and_body(prompt: str) -> tuple[str, str]:
    title, body, in_body = "", [], False
    for line in prompt.splitlines():
        if in_body:
            body.append(line)
        elif line.startswith("제목:"):
            title = line.removeprefix("제목:")
        elif line.strip() == "본문:":
            in_body = True
    return _squash(title), "\n".join(body)


def _tags(text: str) -> list[str]:
    tags: dict[str, str] = {}
    for word in _HANGUL_WORD.findall(text):
        for particle in _PARTICLES:
            if word.endswith(particle) and len(word) - len(particle) >= 2:
                word = word.removesuffix(particle)
                break
        if len(word) >= 2:
            tags.setdefault(word[:TAG_MAX], word[:TAG_MAX])
        if len(tags) == _TAGS_WANTED:
            break
    for generic in _GENERIC_TAGS:
        if len(tags) >= TAGS_MIN:
            break
        tags.setdefault(generic, generic)
    return list(tags)


def _description(title: str, keyword: str) -> str:
    tail = f"{keyword}에 대해 꼭 알아야 할 핵심 내용을 한눈에 보기 쉽게 정리했습니다."
    head = _clip(title, DESCRIPTION_MAX - len(tail) - 1)
    text = f"{head} {tail}" if head else tail
    if len(text) < DESCRIPTION_MIN:
        text += " 자세한 내용을 지금 바로 확인해 보세요."
    return _clip(text, DESCRIPTION_MAX)


def _squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _clip(text: str, limit: int) -> str:
    return text[:limit].rstrip()
