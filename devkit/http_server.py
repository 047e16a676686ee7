"""The one way devkit runs a local HTTP server: a free 127.0.0.1 port, a thread, a ``with``.

Every stand-in and fake of an external API (WordPress, OpenAI, Gemini,
Sentry, and the ones to come) is a :class:`LocalHTTPServer` subclass that
implements :meth:`LocalHTTPServer.handler_class`, usually a
:class:`QuietHandler` subclass made inside a closure over the server::

    class EchoFake(LocalHTTPServer):
        def handler_class(self) -> type[BaseHTTPRequestHandler]:
            class Handler(QuietHandler):
                def do_POST(self) -> None:
                    self.send_body(200, self.read_body(), {"Content-Type": "text/plain"})
            return Handler

    with EchoFake() as fake:
        requests.post(fake.url + "/echo", data=b"hi")

What the base gives a subclass:

- :meth:`~LocalHTTPServer.start` / :meth:`~LocalHTTPServer.stop` and the
  context manager: listen on a free port of 127.0.0.1 (never another
  interface), serve each request in a daemon thread, stop quickly;
- :attr:`~LocalHTTPServer.port` and :attr:`~LocalHTTPServer.url`
  (``http://127.0.0.1:<port>``, no trailing slash), known from start on;
- :attr:`~LocalHTTPServer.stopping`: an event set when :meth:`stop` begins,
  so a handler holding a request on purpose (a hang fault) waits on it
  instead of sleeping and lets the server stop at once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Self

__all__ = ["LocalHTTPServer", "QuietHandler"]

_HOST: Final = "127.0.0.1"
# How often serve_forever looks for a stop request: short, so stop() (and so
# every test's teardown) returns in a few tens of milliseconds.
_POLL_S: Final = 0.05
_JOIN_TIMEOUT_S: Final = 5.0


class LocalHTTPServer:
    """A threaded HTTP server on a free port of 127.0.0.1; a context manager.

    Subclasses implement :meth:`handler_class` and call ``super().__init__()``
    before anything that needs :attr:`stopping`. ``name`` names the serving
    thread (default: the class name), which helps reading a hung test's stacks.
    """

    def __init__(self, *, name: str | None = None) -> None:
        self._name = name or type(self).__name__
        #: Set when :meth:`stop` begins, cleared by :meth:`start`: wait on it to hold a request.
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class to serve with; called once per :meth:`start`."""
        raise NotImplementedError(f"{type(self).__name__} must implement handler_class()")

    @property
    def port(self) -> int:
        """The port listened on (still known after :meth:`stop`); RuntimeError before start."""
        if self._port is None:
            raise RuntimeError(f"{self._name} is not started: call start() or use it in a with")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the server's root, without a trailing slash."""
        return f"http://{_HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 and serve from a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError(f"{self._name} is already running at {self.url}")
        self.stopping.clear()
        server = ThreadingHTTPServer((_HOST, 0), self.handler_class())
        server.daemon_threads = True
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": _POLL_S},
                                        name=self._name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held requests (:attr:`stopping`), stop serving, close the socket.

        Safe to call twice, or without a start.
        """
        self.stopping.set()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=_JOIN_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and has the few helpers every fake needs.

    Tests read what a fake recorded instead of its access log, so
    :meth:`log_message` is silent.
    """

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read what the server recorded instead."""

    def read_body(self) -> bytes:
        """The request body (``Content-Length`` bytes; empty without one)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def lower_headers(self) -> dict[str, str]:
        """The request headers with lower-case names (a repeated header: its last value)."""
        return {name.lower(): value for name, value in self.headers.items()}

    def send_body(self, status: int, body: bytes, headers: Mapping[str, str]) -> bool:
        """Answer ``status`` with ``headers`` and ``body`` (Content-Length is added).

        Returns False, and closes the connection, when the client has gone
        (it timed out while the fake held the request); True otherwise.
        """
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return False
        return True

    def send_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None,
                  *, content_type: str = "application/json; charset=utf-8") -> bool:
        """Answer ``body`` as UTF-8 JSON (non-ASCII kept as is); see :meth:`send_body`."""
        data = json.dumps(body, ensure_ascii=False).encode()
        return self.send_body(status, data, {"Content-Type": content_type, **(headers or {})})
