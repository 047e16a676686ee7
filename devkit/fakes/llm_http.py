"""The HTTP server the OpenAI and Gemini fakes build on.

- :class:`LlmFakeServer`: a threaded server on 127.0.0.1 with the request log,
  counters, quota switch, injected faults and rate-limit ledger
  (:class:`~devkit.fakes.llm_ledger.RateLedger`) both fakes share; a context
  manager. Each fake implements :meth:`LlmFakeServer._handle`.
- :class:`RecordedRequest`: one request as a fake saw it.
- :class:`Reply`: what a fake answers (or ``hang`` to answer nothing).

Tokens, the ledger, faults and answers are in :mod:`devkit.fakes.llm_ledger`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devkit.fakes.llm_ledger import Fault, FaultQueue, RateLedger, answer_text
from devkit.http_server import LocalHTTPServer, QuietHandler

__all__ = ["LlmFakeServer", "RecordedRequest", "Reply"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as a fake saw it: path (no query), query, headers (lower-case), JSON body."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    #: When it arrived, in ``time.monotonic`` seconds.
    at: float

    @property
    def version(self) -> str:
        """The API version segment of the path: ``v1``, ``v1beta``."""
        return self.path.strip("/").split("/", 1)[0]


@dataclass(frozen=True)
class Reply:
    """An answer to send; ``hang`` instead holds the request and closes without answering."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


class LlmFakeServer(LocalHTTPServer):
    """Request log, ledger, faults and counters of an LLM fake; a context manager.

    The server itself is :class:`~devkit.http_server.LocalHTTPServer`'s.
    """

    def __init__(self, *, api_key: str, models: frozenset[str] | set[str], rpm: int | None,
                 tpm: int | None, rpd: int | None, window_s: float, latency_s: float,
                 hang_s: float) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = frozenset(models)
        self.latency_s = latency_s
        self.hang_s = hang_s
        #: When True, every call gets the provider's quota-exhausted error.
        self.quota_exhausted = False
        self.ledger = RateLedger(rpm=rpm, tpm=tpm, window_s=window_s, rpd=rpd)
        self._faults = FaultQueue()
        self._answers: deque[str] = deque()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._counts: dict[str, int] = {}
        self._served_faults: list[str] = []

    # -- what tests read and switch -------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def ok(self) -> int:
        """Calls answered 200 (``invalid_json`` and ``schema_violation`` faults included)."""
        return self._count("ok")

    @property
    def rate_limited(self) -> int:
        """Calls refused 429 by the RPM, TPM or RPD limit (not the quota errors)."""
        return self._count("rate_limited")

    @property
    def quota_errors(self) -> int:
        """Calls answered the quota-exhausted error (switch or ``insufficient_quota`` fault)."""
        return self._count("quota")

    @property
    def faults_served(self) -> list[str]:
        """The injected faults served so far, in order."""
        with self._lock:
            return list(self._served_faults)

    @property
    def admitted(self) -> list[tuple[float, int]]:
        """Admitted calls as (monotonic arrival, tokens charged), as the ledger holds them."""
        return self.ledger.admitted

    @property
    def charged_tokens(self) -> int:
        """Tokens charged to every admitted call."""
        return self.ledger.charged_tokens

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Serve ``fault`` to the next ``times`` calls (:data:`~devkit.fakes.llm_ledger.FAULTS`).

        A call takes a fault once it passes the key, model and request checks
        (and the quota switch). ``timeout``, ``500`` and ``insufficient_quota``
        are never charged; ``invalid_json`` and ``schema_violation`` are 200
        answers, admitted and charged like any call (a 429 still uses them up).
        """
        self._faults.push(fault, times)

    def answer_next(self, answer: Mapping[str, Any], times: int = 1) -> None:
        """Answer the next ``times`` calls with ``answer`` (as JSON) instead of the usual one.

        A call that takes an injected fault does not use one up.
        """
        text = json.dumps(dict(answer), ensure_ascii=False)
        with self._lock:
            self._answers.extend([text] * times)

    def reset(self) -> None:
        """Forget requests, counters, charges, queued faults and answers; clear the quota switch."""
        with self._lock:
            self._requests.clear()
            self._counts.clear()
            self._served_faults.clear()
            self._answers.clear()
        self._faults.clear()
        self.ledger.reset()
        self.quota_exhausted = False

    # -- for the subclasses ---------------------------------------------------
    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        """Answer one recorded request (its body None if not JSON); ``raw`` is the body."""
        raise NotImplementedError

    def _next_fault(self) -> str | None:
        fault = self._faults.pop()
        if fault is not None:
            with self._lock:
                self._served_faults.append(fault)
        return fault

    def _answer_for(self, user_prompt: str) -> str:
        """The answer text of a call without a fault: a queued one, else :func:`answer_text`."""
        with self._lock:
            if self._answers:
                return self._answers.popleft()
        return answer_text(user_prompt)

    def _tally(self, what: str) -> None:
        with self._lock:
            self._counts[what] = self._counts.get(what, 0) + 1

    def _count(self, what: str) -> int:
        with self._lock:
            return self._counts.get(what, 0)

    def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the server stops."""
        if seconds > 0:
            self.stopping.wait(seconds)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The handler: POST bodies to :meth:`_handle`, its :class:`Reply` as JSON."""
        return _handler_for(self)

    def _serve(self, path: str, headers: dict[str, str], raw: bytes, at: float) -> Reply:
        url = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        request = RecordedRequest(url.path, query, headers, body, at)
        with self._lock:
            self._requests.append(request)
        return self._handle(request, raw)


def _handler_for(fake: LlmFakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect

        def do_POST(self) -> None:
            at = time.monotonic()
            reply = fake._serve(self.path, self.lower_headers(), self.read_body(), at)
            if reply.hang:
                fake._pause(fake.hang_s)
                self.close_connection = True
                return
            # A client that timed out during latency_s is gone: send_json closes quietly.
            self.send_json(reply.status, reply.body, reply.headers)

    return Handler
