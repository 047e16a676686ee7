"""A real local HTTP server that behaves like the WordPress 6.1 REST API we use.

Used by the tests and the demo (:mod:`devkit.wordpress` re-exports it).
It listens on a free port of 127.0.0.1; its REST root is :attr:`WordPressStandIn.base_url`
(what ``BRIDGE_BASE`` is set to), and Application Passwords are HTTP Basic
(:attr:`WordPressStandIn.token` is a valid ``BRIDGE_TOKEN``).

Routes: ``GET /wp/v2/posts`` (paged, ``_fields``), ``GET|POST|DELETE /wp/v2/posts/<id>``,
``GET|POST /wp/v2/media``, ``GET|POST|DELETE /wp/v2/media/<id>``,
``GET|POST /wp/v2/tags``, ``GET /wp/v2/tags/<id>``, ``GET /wp/v2/users/me``
and the uploaded files under ``/wp-content/uploads``. It fails the way
WordPress 6.1.9 does (each difference a test compares with the real one,
``tests/acceptance/test_standin_parity.py``), including the silent ones: a
JSON body without ``Content-Type: application/json``, ``featured_media``
pointing at a missing attachment, a tag id that is no tag and a meta key not
registered for REST all answer 200 and change nothing. A wrong password is
taken as no login at all: public reads answer 200 as for anyone, and what
needs a login is 401 with that route's code (``rest_forbidden_context`` on
``context=edit``, ``rest_cannot_edit`` on a write, ``rest_not_logged_in`` on
``/users/me``). A subscriber gets 403, a missing post 404
``rest_post_invalid_id``, a non-ASCII upload filename 400, an existing tag
name 400 ``term_exists``. With ``tag_create_race_s`` > 0, two concurrent
creates of one tag name both succeed (see :mod:`devkit.wordpress.tags`).
:meth:`WordPressStandIn.database_outage` answers every REST request as
WordPress does while MariaDB is down: 500 with an HTML page.

By default the SEO meta keys that ``ops/wordpress/atr-seo-meta.php`` registers
are registered (:data:`SEO_META_KEYS`); ``registered_meta=frozenset()`` is a
site without that must-use plugin.

Tests inject faults per route (:meth:`WordPressStandIn.fail_next`,
:meth:`WordPressStandIn.hang_next`, :meth:`WordPressStandIn.reset_next`), each
before the request takes effect or after it (a lost answer), read every request in
:attr:`WordPressStandIn.requests`, and play a person in WP admin with
:meth:`WordPressStandIn.add_post`, :meth:`WordPressStandIn.edit_post` and
:meth:`WordPressStandIn.add_tag`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import itertools
import json
import re
import socket
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from typing import Final
from urllib.parse import parse_qs, urlsplit

from devkit.http_server import LocalHTTPServer, QuietHandler
from devkit.wordpress.rest import (
    Answer,
    ApiError,
    RestRoutes,
    filter_fields,
    sorted_tag_ids,
)
from devkit.wordpress.store import (
    SEO_META_KEYS,
    Attachment,
    Post,
    Tag,
    User,
    encode_slug,
    load_sample_posts,
)
from devkit.wordpress.tags import TagRoutes

__all__ = ["ADMIN", "READER", "ROUTES", "SEO_META_KEYS", "ApiError", "ConnectionReset", "Fault",
           "RecordedRequest", "WordPressStandIn"]

#: The editor whose Application Password the workers use, and a read-only subscriber.
ADMIN: Final = User("atr-bot", "abcd EFGH ijkl MNOP qrst UVWX", id=1)
READER: Final = User("reader", "zyxw VUTS rqpo NMLK jihg FEDC", can_edit=False, id=2)
_REST_PREFIX: Final = "/wp-json"
_UPLOADS: Final = re.compile(r"^/wp-content/uploads/\d{4}/\d{2}/(?P<file>[^/]+)$")
#: Route names for :meth:`WordPressStandIn.fail_next` and :meth:`WordPressStandIn.requests_to`.
ROUTES: Final = frozenset({"posts.item", "posts.collection", "media.item", "media.collection",
                           "tags.collection", "tags.item", "users.me"})
#: What WordPress answers while its database is down (wp_die's page, abridged).
_DATABASE_ERROR: Final = (
    b"<!DOCTYPE html>\n<html dir='ltr'>\n<head>\n\t<meta http-equiv=\"Content-Type\" "
    b"content=\"text/html; charset=UTF-8\" />\n\t<title>Database Error</title>\n</head>\n"
    b"<body id=\"error-page\">\n\t<div class=\"wp-die-message\"><h1>Error establishing a "
    b"database connection</h1></div></body>\n</html>\n")


@dataclass
class Fault:
    """An injected fault: answer ``status`` after ``hang_s`` s, before or after the effect.

    ``status`` 0 is a slow answer: the real one, after ``hang_s`` seconds.
    ``reset`` answers nothing: the connection is reset (TCP RST).
    """

    status: int = 500
    hang_s: float = 0.0
    after_effect: bool = False
    reset: bool = False


class ConnectionReset(Exception):
    """Raised by :meth:`WordPressStandIn.handle` when the request's answer is a TCP reset."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in saw it (the Authorization header is not kept)."""

    method: str
    route: str
    path: str
    query: dict[str, str]
    content_type: str | None
    content_disposition: str | None
    body_size: int
    status: int
    user: str | None
    fault: bool = False


@dataclass
class _State:
    posts: dict[int, Post] = field(default_factory=dict)
    media: dict[int, Attachment] = field(default_factory=dict)
    tags: dict[int, Tag] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    # None lets one request through (``fail_next(skip=...)``).
    faults: dict[tuple[str, str], list[Fault | None]] = field(default_factory=dict)
    database_down: bool = False


class WordPressStandIn(LocalHTTPServer):
    """The stand-in server; use as a context manager or :meth:`start` / :meth:`stop`.

    ``registered_meta``: the post meta keys registered for REST (None: the SEO
    keys of :data:`SEO_META_KEYS`); ``tag_create_race_s``: seconds a tag create
    waits, unlocked, between its existence check and its insert (0: atomic);
    ``tag_race_outcome``: what two racing creates end in, ``"duplicate"`` or
    ``"same"`` (see :mod:`devkit.wordpress.tags`).
    """

    def __init__(self, posts: list[Post] | None = None,
                 registered_meta: frozenset[str] | None = None, *,
                 tag_create_race_s: float = 0.0, tag_race_outcome: str = "duplicate") -> None:
        if tag_create_race_s < 0:
            raise ValueError(f"tag_create_race_s={tag_create_race_s!r} must be >= 0 seconds")
        super().__init__(name="wp-standin")
        self._state = _State()
        seeded = load_sample_posts() if posts is None else posts
        self._state.posts = {p.id: p for p in seeded}
        # Posts and attachments share wp_posts' id sequence, as in WordPress.
        self._ids = itertools.count(max(self._state.posts, default=100) + 1)
        self._lock = threading.Lock()
        self._registered_meta = SEO_META_KEYS if registered_meta is None else registered_meta
        self._routes = RestRoutes(self._state.posts, self._state.media, self._state.tags,
                                  self._ids, self._registered_meta)
        self._tag_routes = TagRoutes(self._state.tags, self._state.posts,
                                     race_s=tag_create_race_s, stopping=self.stopping,
                                     race_outcome=tag_race_outcome)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The handler: every method and path to :meth:`handle`."""
        return _handler_for(self)

    # -- what callers need ------------------------------------------------
    @property
    def site_url(self) -> str:
        """``http://127.0.0.1:<port>``: the site's address."""
        return self.url

    @property
    def base_url(self) -> str:
        """The REST root, i.e. what ``BRIDGE_BASE`` is set to."""
        return self.site_url + _REST_PREFIX

    @property
    def token(self) -> str:
        """A ``BRIDGE_TOKEN`` for the editor :data:`ADMIN`."""
        return f"{ADMIN.login}:{ADMIN.app_password}"

    @property
    def reader_token(self) -> str:
        """A ``BRIDGE_TOKEN`` for the subscriber :data:`READER` (may read, not write)."""
        return f"{READER.login}:{READER.app_password}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far, oldest first."""
        with self._lock:
            return list(self._state.requests)

    def requests_to(self, method: str, route: str) -> list[RecordedRequest]:
        """Requests of ``method`` to ``route`` (``posts.item``, ``tags.collection``...)."""
        return [r for r in self.requests if r.method == method and r.route == route]

    def post(self, post_id: int) -> Post:
        """The stored post (a copy of its current raw values: change it with :meth:`edit_post`)."""
        with self._lock:
            return _copy(self._state.posts[post_id])

    def add_post(self, title: str, content: str = "본문입니다.", *, status: str = "publish",
                 password: str = "") -> Post:
        """Write a new post as a person in WP admin would (no request); a copy of it."""
        with self._lock:
            post_id = next(self._ids)
            post = Post(id=post_id, title=title, content=content,
                        slug=encode_slug(title) or str(post_id), status=status,
                        password=password)
            post.touch()
            self._state.posts[post_id] = post
            return _copy(post)

    def database_outage(self, down: bool = True) -> None:
        """Answer every REST request as WordPress does without its database (500, HTML)."""
        with self._lock:
            self._state.database_down = down

    def edit_post(self, post_id: int, *, title: str | None = None, content: str | None = None,
                  status: str | None = None, tags: list[int] | None = None,
                  meta: Mapping[str, str | None] | None = None,
                  password: str | None = None, modified: str | None = None) -> Post:
        """Change a post as a person in WP admin would (no request, nothing recorded).

        ``tags`` replaces the list (every id must be a tag: ValueError otherwise);
        ``meta`` sets keys, registered or not (an SEO plugin's own screen writes
        them anyway), and a None value deletes one; ``modified`` sets the site-local
        last-change time (``2026-12-01T10:00:00``). Returns a copy of the post.
        """
        with self._lock:
            post = self._state.posts[post_id]
            if tags is not None:
                unknown = sorted(set(tags) - set(self._state.tags))
                if unknown:
                    raise ValueError(f"tag ids {unknown} are not tags of the stand-in")
                post.tags = sorted_tag_ids(list(tags), self._state.tags)
            post.title = post.title if title is None else title
            post.content = post.content if content is None else content
            post.status = post.status if status is None else status
            post.password = post.password if password is None else password
            for key, value in (meta or {}).items():
                if value is None:
                    post.meta.pop(key, None)
                else:
                    post.meta[key] = value
            post.touch()
            if modified is not None:
                # A given time wins over now (a test placing a post in the past or future);
                # the site is KST, so GMT is nine hours earlier.
                post.modified = modified
                post.modified_gmt = (dt.datetime.fromisoformat(modified)
                                     - dt.timedelta(hours=9)).isoformat()
            return _copy(post)

    @property
    def registered_meta(self) -> frozenset[str]:
        """The post meta keys registered for REST (the others are dropped on write)."""
        return self._registered_meta

    @property
    def tags(self) -> list[Tag]:
        """Every tag, oldest first; ``name`` is stored escaped, as WordPress stores it."""
        with self._lock:
            return [replace(self._state.tags[i]) for i in sorted(self._state.tags)]

    def add_tag(self, name: str) -> Tag:
        """Create a tag as a person in WP admin would (no request); ValueError if it exists."""
        with self._lock:
            return replace(self._tag_routes.add(name))

    @property
    def post_ids(self) -> list[int]:
        """Ids of the seeded posts, in order."""
        with self._lock:
            return sorted(self._state.posts)

    @property
    def media(self) -> list[Attachment]:
        """Every attachment, oldest first."""
        with self._lock:
            return [self._state.media[i] for i in sorted(self._state.media)]

    def fail_next(self, method: str, route: str, *, times: int = 1, status: int = 500,
                  after_effect: bool = False, skip: int = 0) -> None:
        """Answer the next ``times`` ``method`` requests to ``route`` with ``status``.

        ``after_effect=True`` applies the request first and loses the answer,
        like a proxy timing out after WordPress committed the write. ``skip``
        requests are answered normally first (``skip=1``: fail the second).
        """
        self._add_faults(method, route, [None] * skip + [Fault(status, 0.0, after_effect)] * times)

    def hang_next(self, method: str, route: str, *, seconds: float, times: int = 1,
                  after_effect: bool = False, skip: int = 0) -> None:
        """Make the next ``times`` requests wait ``seconds`` (past a client's timeout), then 504.

        ``after_effect=True`` applies the request before the wait (the client
        times out on a write that was made); ``skip`` as for :meth:`fail_next`.
        """
        self._add_faults(method, route, [None] * skip
                         + [Fault(504, seconds, after_effect)] * times)

    def reset_next(self, method: str, route: str, *, times: int = 1,
                   after_effect: bool = False, skip: int = 0) -> None:
        """Reset the connection (TCP RST, no answer) on the next ``times`` requests.

        ``after_effect=True`` applies the request first, as when a proxy or
        the network drops the connection after WordPress committed the write.
        """
        self._add_faults(method, route, [None] * skip
                         + [Fault(0, 0.0, after_effect, reset=True)] * times)

    def slow_next(self, method: str, route: str, *, seconds: float, times: int = 1) -> None:
        """Answer the next ``times`` requests normally, but only after ``seconds``."""
        self._add_faults(method, route, [Fault(0, seconds, after_effect=True)] * times)

    def _add_faults(self, method: str, route: str, faults: list[Fault | None]) -> None:
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}: use one of {', '.join(sorted(ROUTES))}")
        with self._lock:
            self._state.faults.setdefault((method.upper(), route), []).extend(faults)

    # -- request handling (called from the handler threads) ----------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: (status, headers, body). Records it."""
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        upload = _UPLOADS.match(parts.path)
        if upload:
            return self._serve_upload(method, parts.path, upload["file"], query)
        path = parts.path.removeprefix(_REST_PREFIX) if parts.path.startswith(
            _REST_PREFIX + "/") else ""
        route = self._tag_routes.route_name(path) or self._routes.route_name(method, path)
        with self._lock:
            if self._state.database_down:
                self._state.requests.append(RecordedRequest(
                    method, route, path or parts.path, query, headers.get("content-type"),
                    headers.get("content-disposition"), len(body), 500, None))
                return 500, {"Content-Type": "text/html; charset=UTF-8"}, _DATABASE_ERROR
            pending = self._state.faults.get((method, route), [])
            fault = pending.pop(0) if pending else None
        user: User | None = None
        status, payload = 500, b""
        extra: dict[str, str] = {}
        reset = fault is not None and fault.reset
        try:
            if fault is not None and not fault.after_effect:
                raise _fault_error(fault, self.stopping)
            user = _authenticate(headers.get("authorization"))
            status, extra, data = self._dispatch(route, method, path, query, headers, body, user)
            if query.get("_fields"):
                data = filter_fields(data, query["_fields"])
            payload = json.dumps(data, ensure_ascii=False).encode()
            if fault is not None and fault.status == 0 and not fault.reset:
                self.stopping.wait(fault.hang_s)
            elif fault is not None:
                raise _fault_error(fault, self.stopping)
        except ApiError as exc:
            status, extra, payload = exc.status, {}, json.dumps(exc.body()).encode()
        self._record(RecordedRequest(
            method, route, path or parts.path, query, headers.get("content-type"),
            headers.get("content-disposition"), len(body), 0 if reset else status,
            user.login if user else None, fault is not None))
        if reset:
            raise ConnectionReset(f"{method} {raw_path}")
        return status, {"Content-Type": "application/json; charset=UTF-8", **extra}, payload

    def _dispatch(self, route: str, method: str, path: str, query: dict[str, str],
                  headers: dict[str, str], body: bytes, user: User | None) -> Answer:
        if route.startswith("tags."):
            # The tag routes lock for themselves: a racing create must let go in between.
            return self._tag_routes.dispatch(method, path, query, headers, body, user,
                                             self.site_url, self._lock)
        with self._lock:
            return self._routes.dispatch(method, path, query, headers, body, user,
                                         self.site_url)

    def _serve_upload(self, method: str, path: str, filename: str,
                      query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            found = next((m for m in self._state.media.values() if m.filename == filename), None)
        status = 200 if found is not None and method == "GET" else 404
        self._record(RecordedRequest(method, "uploads", path, query, None, None, 0, status, None))
        if found is None or method != "GET":
            return 404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>"
        return 200, {"Content-Type": found.mime_type}, found.data

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._state.requests.append(request)


def _copy(post: Post) -> Post:
    return replace(post, tags=list(post.tags), meta=dict(post.meta))


def _fault_error(fault: Fault, stopping: threading.Event) -> ApiError:
    if fault.reset:  # no answer at all: handle() raises ConnectionReset once recorded
        return ApiError(0, "connection_reset", "The connection was reset (injected).")
    if fault.hang_s:
        stopping.wait(fault.hang_s)
    return ApiError(fault.status, "internal_server_error" if fault.status == 500
                    else "http_request_failed", "There has been a critical error on this "
                    "website." if fault.status == 500 else "Gateway timeout (injected).")


def _authenticate(header: str | None) -> User | None:
    """The user of an HTTP Basic Application Password; None when anonymous or wrong.

    WordPress 6.1 loses the ``incorrect_password`` error of a wrong
    Application Password (the filter order): the request goes on as
    anonymous, so public reads answer 200 and the rest 401 with their own code.
    """
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    try:
        login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        login, password = "", ""
    # WordPress ignores the spaces it shows Application Passwords with.
    for user in (ADMIN, READER):
        if (scheme.lower() == "basic" and login == user.login
                and password.replace(" ", "") == user.app_password.replace(" ", "")):
            return user
    return None


def _handler_for(standin: WordPressStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        server_version = "Apache/2.4.57 (Debian)"

        _reset = False

        def _answer(self) -> None:
            try:
                status, extra, payload = standin.handle(self.command, self.path,
                                                        self.lower_headers(), self.read_body())
            except ConnectionReset:
                self._reset_connection()
                return
            # A client that gave up (a hang fault) is gone: send_body closes quietly.
            self.send_body(status, payload, extra)

        def _reset_connection(self) -> None:
            # SO_LINGER 0: close() sends RST instead of FIN; the client reads
            # "connection reset by peer". The file objects hold the socket open
            # until they are closed too.
            self._reset = self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()
            self.wfile.close()
            self.connection.close()

        def finish(self) -> None:
            if not self._reset:  # nothing to flush on a reset connection
                super().finish()

        do_GET = do_POST = do_PUT = do_DELETE = _answer

    return Handler
