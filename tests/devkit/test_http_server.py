"""The one local HTTP server base every stand-in and fake runs on."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from devkit.http_server import LocalHTTPServer, QuietHandler


class Echo(LocalHTTPServer):
    """Answers a POST with its body, headers and path as JSON; ``/hang`` holds the request."""

    def __init__(self) -> None:
        super().__init__(name="echo")
        self.released = threading.Event()

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                if self.path == "/hang":
                    # What a hang fault does: wait on stopping, answer nothing.
                    server.stopping.wait(30)
                    server.released.set()
                    self.close_connection = True
                    return
                self.send_json(201, {"body": self.read_body().decode(),
                                     "headers": self.lower_headers(), "path": self.path},
                               {"X-Echo": "yes"})

        return Handler


def test_serves_on_loopback_and_answers_json() -> None:
    with Echo() as echo:
        assert echo.running
        assert echo.url == f"http://127.0.0.1:{echo.port}"
        answer = requests.post(echo.url + "/a?b=1", data="안녕".encode(),
                               headers={"X-Trace": "t1"}, timeout=5)
    assert answer.status_code == 201
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert answer.headers["X-Echo"] == "yes"
    assert answer.json()["body"] == "안녕"
    assert answer.json()["path"] == "/a?b=1"
    assert answer.json()["headers"]["x-trace"] == "t1"
    assert answer.content.decode() == answer.text  # UTF-8, non-ASCII kept as is


def test_stop_closes_the_port_and_can_be_called_twice() -> None:
    echo = Echo().start()
    port = echo.port
    echo.stop()
    echo.stop()
    assert not echo.running
    assert echo.port == port  # still known, e.g. to say where it was
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_stop_releases_a_held_request() -> None:
    echo = Echo().start()
    client = threading.Thread(target=_post_ignoring_errors, args=(echo.url + "/hang",))
    client.start()
    try:
        assert not echo.released.wait(0.3)  # held while the server runs
    finally:
        echo.stop()
    assert echo.released.wait(5)
    client.join(5)


def test_each_start_gets_a_free_port_and_a_second_start_is_refused() -> None:
    with Echo() as first, Echo() as second:
        assert first.port != second.port
        with pytest.raises(RuntimeError, match=r"echo is already running at http://127\.0\.0\.1:"):
            first.start()


def test_port_before_start_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"echo is not started: call start\(\) or use it in"):
        _ = Echo().port


def test_a_server_without_a_handler_says_so() -> None:
    with pytest.raises(NotImplementedError, match="LocalHTTPServer must implement handler_class"):
        LocalHTTPServer().start()


def _post_ignoring_errors(url: str) -> None:
    try:
        requests.post(url, data=b"", timeout=10)
    except requests.RequestException:
        pass  # the server closes the held request without an answer
