"""``atr dashboard``: login, routing, /healthz and the page in headless Chromium.

Every test runs the real ``atr dashboard`` (waitress) in a subprocess on a free
port and talks HTTP to it on 127.0.0.1; Redis is the session's private server.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import IO

import pytest
import requests

from actors.canary import canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.redis_server import free_port
from devkit.supervise import atr_executable
from ops.dashboard import REALM
from pipeline.settings import Settings
from tests.helpers import assert_one_clear_line, run_atr

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "dashboard-test-password"
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Dashboard:
    """A running ``atr dashboard``: where it listens and its process."""

    base: str
    port: int
    proc: subprocess.Popen[str]

    def get(self, path: str, *, auth: tuple[str, str] | None = None,
            headers: Mapping[str, str] | None = None) -> requests.Response:
        """GET ``path`` without following redirects (and without any proxy)."""
        with requests.Session() as session:
            session.trust_env = False  # an HTTP_PROXY must not see 127.0.0.1 traffic
            return session.get(self.base + path, auth=auth, headers=dict(headers or {}),
                               allow_redirects=False, timeout=10)


@contextmanager
def running_dashboard(env: Mapping[str, str], cwd: Path) -> Iterator[Dashboard]:
    """Start ``atr dashboard`` on a free port; on exit SIGTERM it and expect exit 0."""
    port = free_port()
    full_env = {"ATR_DASHBOARD_PASSWORD": PASSWORD, **env,
                "ATR_DASHBOARD_BIND": f"127.0.0.1:{port}"}
    with (cwd / f"dashboard-{port}.log").open("w+") as log:
        proc = subprocess.Popen([atr_executable(), "dashboard"], env=full_env, cwd=cwd,
                                stdout=log, stderr=subprocess.STDOUT, text=True)
        dashboard = Dashboard(f"http://127.0.0.1:{port}", port, proc)
        try:
            _wait_listening(dashboard, log)
            yield dashboard
            # A clean stop on SIGTERM, as systemd sends it: exit 0, no traceback.
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=_STOP_TIMEOUT_S) == 0, _read(log)
            assert "Traceback" not in _read(log), _read(log)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _wait_listening(dashboard: Dashboard, log: IO[str]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert dashboard.proc.poll() is None, f"atr dashboard exited: {_read(log)}"
        try:
            dashboard.get("/healthz")
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail(f"atr dashboard did not listen within {_START_TIMEOUT_S} s: {_read(log)}")


def _read(log: IO[str]) -> str:
    log.seek(0)
    return log.read()


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_refuses_to_start_without_a_password(worker_env: dict[str, str],
                                             tmp_path: Path) -> None:
    for password in (None, "", "   "):
        env = dict(worker_env)
        if password is not None:
            env["ATR_DASHBOARD_PASSWORD"] = password
        result = run_atr("dashboard", env=env, cwd=tmp_path, timeout=30)
        assert result.returncode == 2, result
        line = assert_one_clear_line(result.stderr)
        assert line.startswith("atr dashboard: ATR_DASHBOARD_PASSWORD is not set")
        assert "set it" in line


def test_login_is_required_everywhere_but_healthz(worker_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    with running_dashboard(worker_env, tmp_path) as dashboard:
        for path in ("/dashboard/", "/dashboard/queues/seo", "/", "/elsewhere"):
            refused = [
                dashboard.get(path),
                dashboard.get(path, auth=("atr", "wrong-password")),
                dashboard.get(path, auth=("someone", PASSWORD)),
                dashboard.get(path, auth=("atr", PASSWORD + "x")),
                dashboard.get(path, headers={"Authorization": "Basic !!not-base64!!"}),
                dashboard.get(path, headers={"Authorization": f"Bearer {PASSWORD}"}),
                dashboard.get(path, headers=_basic("atr", "")),
                dashboard.get(path, headers={"Authorization": "Basic "
                                             + base64.b64encode(b"no-colon").decode()}),
            ]
            for response in refused:
                assert response.status_code == 401, (path, response.text)
                assert response.headers["WWW-Authenticate"] == f'Basic realm="{REALM}"'
                assert "seo" not in response.text
        healthz = dashboard.get("/healthz")
        assert healthz.status_code == 200
        assert healthz.json()["redis"] == "ok"
        log = _read_log(tmp_path, dashboard.port)
    assert "Dashboard login refused for 127.0.0.1" in log
    assert PASSWORD + "x" not in log and "wrong-password" not in log


def _read_log(tmp_path: Path, port: int) -> str:
    return (tmp_path / f"dashboard-{port}.log").read_text()


def test_with_the_login_the_dashboard_is_mounted_under_its_prefix(
        worker_env: dict[str, str], tmp_path: Path) -> None:
    login = ("atr", PASSWORD)
    with running_dashboard(worker_env, tmp_path) as dashboard:
        page = dashboard.get("/dashboard/", auth=login)
        assert page.status_code == 200
        assert "Dramatiq Dashboard" in page.text
        assert page.headers["X-Frame-Options"] == "DENY"
        # Links carry the prefix, and following them lands on the dashboard's pages.
        assert 'href="/dashboard/queues/seo"' in page.text
        queue = dashboard.get("/dashboard/queues/seo", auth=login)
        assert queue.status_code == 200
        assert 'href="/dashboard/queues/seo/delayed"' in queue.text

        for path in ("/", "/dashboard"):
            moved = dashboard.get(path, auth=login)
            assert (moved.status_code, moved.headers["Location"]) == (302, "/dashboard/")
        for path in ("/dashboardx", "/elsewhere", "/dashboard/no/such/page"):
            assert dashboard.get(path, auth=login).status_code == 404, path


def test_a_user_name_from_settings_is_honoured(worker_env: dict[str, str],
                                               tmp_path: Path) -> None:
    env = {**worker_env, "ATR_DASHBOARD_USER": "operator"}
    with running_dashboard(env, tmp_path) as dashboard:
        assert dashboard.get("/dashboard/", auth=("operator", PASSWORD)).status_code == 200
        assert dashboard.get("/dashboard/", auth=("atr", PASSWORD)).status_code == 401


def test_healthz_is_503_and_pages_are_503_when_redis_is_unreachable(
        clean_env: dict[str, str], tmp_path: Path) -> None:
    # Nothing listens there: the dashboard still starts, and says so.
    env = {**clean_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with running_dashboard(env, tmp_path) as dashboard:
        healthz = dashboard.get("/healthz")
        assert healthz.status_code == 503
        assert healthz.json() == {"redis": "unreachable", "error": "ConnectionError"}
        page = dashboard.get("/dashboard/", auth=("atr", PASSWORD))
        assert page.status_code == 503
        assert "cannot reach Redis" in page.text
        log = _read_log(tmp_path, dashboard.port)
    # One warning for the outage, however many requests met it.
    assert log.count("is unreachable") == 1, log


# -- headless Chromium ---------------------------------------------------------------


class _TableRows(HTMLParser):
    """Texts of the cells of every ``<tr>`` in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _table_rows(html: str) -> list[list[str]]:
    parser = _TableRows()
    parser.feed(html)
    return [row for row in parser.rows if row]


def _text(html: str) -> str:
    """The page's text, tags dropped and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]*>", "", html).split())


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
        # This machine's network is closed: without these Chromium keeps
        # dialling Google's services and logs every refusal.
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-proxy-server", f"--user-data-dir={profile}",
    ]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run sandboxed as root
    return subprocess.run([str(CHROMIUM), *flags, *args], capture_output=True, text=True,
                          timeout=90, check=False)


@pytest.mark.skipif(not CHROMIUM.exists(),
                    reason="needs /usr/bin/chromium: apt-get install chromium")
def test_the_dashboard_in_headless_chromium(worker_env: dict[str, str],
                                            tmp_path: Path) -> None:
    # Three real messages waiting on `seo`, and no worker to take them.
    broker = producer_broker(Settings.from_env({"REDIS_URL": worker_env["REDIS_URL"],
                                                "ATR_DOCLOG_ROOT": str(tmp_path / "logs")}))
    for n in range(3):
        send(broker, canary_name("seo"), {"token": f"dashboard-{n}"})
    broker.close()
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)

    with running_dashboard(worker_env, tmp_path) as dashboard:
        host = f"127.0.0.1:{dashboard.port}"
        # Each run gets a fresh profile: nothing cached, no credentials remembered.
        refused = _chromium(tmp_path / "p-anon", "--dump-dom", f"http://{host}/dashboard/")
        # Chromium puts credentials written in the URL into the Authorization
        # header of the top-level request; the page has no subresources.
        logged_in = f"http://atr:{PASSWORD}@{host}"
        overview = _chromium(tmp_path / "p-dom", "--dump-dom", f"{logged_in}/dashboard/")
        queue_page = _chromium(tmp_path / "p-queue", "--dump-dom",
                               f"{logged_in}/dashboard/queues/seo")
        shot = _chromium(tmp_path / "p-shot", f"--screenshot={screenshot}",
                         "--window-size=1280,800", f"{logged_in}/dashboard/")

    # Without the login: no table, and the browser saw the 401 (headless
    # Chromium cancels the login prompt and reports it, or shows our 401 body).
    assert _table_rows(refused.stdout) == [], refused.stdout
    assert ("ERR_INVALID_AUTH_CREDENTIALS" in refused.stderr
            or "Log in with ATR_DASHBOARD_USER" in refused.stdout), refused.stderr[-2000:]

    # With it: every queue with its counts (jobs, delayed, failed); seo has the 3.
    counts = {row[0]: row[1:] for row in _table_rows(overview.stdout) if len(row) == 4}
    assert counts["seo"] == ["3", "0", "0"], overview.stdout
    assert counts["thumbnails"] == ["0", "0", "0"]
    assert {"seo", "thumbnails", "images", "high", "ga4", "doclog"} <= set(counts)

    # The seo queue's page lists the three canaries and counts them in its tab.
    jobs = [row for row in _table_rows(queue_page.stdout) if row[0].startswith("ping_seo(")]
    assert len(jobs) == 3, queue_page.stdout
    assert "dashboard-0" in queue_page.stdout
    assert "Standard (3)" in _text(queue_page.stdout)

    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank one
