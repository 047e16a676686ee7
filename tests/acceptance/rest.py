"""A plain REST client for the acceptance tests: the raw answer, nothing interpreted.

Tests use it to set the scene as a person in wp-admin would (make, edit or
trash a post) and to compare raw answers of real WordPress and the stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import requests

__all__ = ["Reply", "Rest"]


@dataclass(frozen=True)
class Reply:
    """One answer: status, content type, and the JSON body (None when it is not JSON)."""

    status: int
    content_type: str
    body: Any
    text: str


class Rest:
    """HTTP Basic requests to one REST root (``.../wp-json``) as one user (or anonymous)."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base.rstrip("/")
        self._session = requests.Session()
        if token is not None:
            user, _, password = token.partition(":")
            self._session.auth = (user, password)

    def call(self, method: str, route: str, **kwargs: Any) -> Reply:
        """Send ``method route`` (``/wp/v2/...``); ``kwargs`` go to requests."""
        response = self._session.request(method, self.base + route, timeout=30, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        return Reply(response.status_code, response.headers.get("Content-Type", ""), body,
                     response.text)

    def ok(self, method: str, route: str, **kwargs: Any) -> Any:
        """The JSON body of a 200/201 answer; AssertionError with the body otherwise."""
        reply = self.call(method, route, **kwargs)
        assert reply.status in (200, 201), f"{method} {route}: {reply.status} {reply.text[:400]}"
        return reply.body

    def new_post(self, title: str, content: str = "<p>본문입니다.</p>", *,
                 status: str = "publish", **fields: Any) -> int:
        """Make a post as a person would; its id."""
        made = self.ok("POST", "/wp/v2/posts",
                       json={"title": title, "content": content, "status": status, **fields})
        return int(made["id"])

    def close(self) -> None:
        """Close the session's connections."""
        self._session.close()

    def __enter__(self) -> Rest:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
