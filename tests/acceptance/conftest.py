"""The acceptance suite's fixtures: one real WordPress 6.1.9 for the whole session.

:class:`devkit.real_wordpress.RealWordPress` starts a copy of the prepared
site (Debian's package on PHP's built-in server, a private MariaDB, the
project's must-use plugin installed) on a free loopback port. Tests make
their own posts, so they never depend on each other's leftovers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.fakes import openai_server
from devkit.fakes.openai_server import OpenAIFake
from devkit.real_wordpress import RealWordPress
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.acceptance.rest import Rest
from tests.helpers import Lines, wait_lines

ROOT: Final = Path(__file__).parents[2]
MU_PLUGIN: Final = ROOT / "ops" / "wordpress" / "atr-seo-meta.php"
#: Retries a few hundred milliseconds apart: a test waits for the end, not for back-off.
FAST_RETRY: Final = {"min_backoff": 100, "max_backoff": 200}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "acceptance: runs against real WordPress "
                                       "(deselect with -m 'not acceptance')")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.acceptance)


@pytest.fixture(scope="session")
def real_wordpress() -> Iterator[RealWordPress]:
    """Real WordPress on 127.0.0.1 with ``ops/wordpress/atr-seo-meta.php`` installed."""
    with RealWordPress(mu_plugins=[MU_PLUGIN]) as site:
        yield site


@pytest.fixture
def admin(real_wordpress: RealWordPress) -> Iterator[Rest]:
    """A REST client as the administrator: sets the scene the way a person would."""
    with Rest(real_wordpress.rest_root, real_wordpress.users["admin"].token) as client:
        yield client


@pytest.fixture
def editor_token(real_wordpress: RealWordPress) -> str:
    """``BRIDGE_TOKEN`` of the editor, the role the runbook asks for."""
    return real_wordpress.users["editor"].token


@pytest.fixture
def run_worker() -> Iterator[Callable[[dict[str, str]], RedisBroker]]:
    """Start an in-process Dramatiq worker on worker1's queues with a settings env."""
    started: list[tuple[dramatiq.Worker, RedisBroker]] = []

    def start(env: dict[str, str]) -> RedisBroker:
        broker = producer_broker(Settings.from_env(env))
        worker = dramatiq.Worker(broker, queues=set(get_group("worker1").queue_names),
                                 worker_threads=2, worker_timeout=100)
        worker.start()
        started.append((worker, broker))
        return broker

    yield start
    for worker, broker in started:
        worker.stop()
        broker.close()


@pytest.fixture
def openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with OpenAIFake() as fake:
        yield fake


@pytest.fixture
def seo_env(worker_env: dict[str, str], real_wordpress: RealWordPress, editor_token: str,
            openai: OpenAIFake) -> dict[str, str]:
    """Settings of worker1 and of ``atr``: propose mode, Yoast, real WordPress as the editor."""
    return {**worker_env, "NO_PROXY": "127.0.0.1,localhost",
            "BRIDGE_BASE": real_wordpress.rest_root, "BRIDGE_TOKEN": editor_token,
            "ATR_LLM_PROVIDER": "openai", "ATR_LLM_FALLBACK": "",
            "OPENAI_API_KEY": openai_server.API_KEY, "OPENAI_BASE_URL": openai.base_url,
            "ATR_SEO_MODE": "propose", "ATR_SEO_PLUGIN": "yoast",
            "ATR_SEO_BANNED_WORDS": "none"}


def run_job(broker: RedisBroker, root: Path, actor: str, payload: dict[str, Any],
            timeout: float = 60) -> Lines:
    """Send one message and wait for its end; its doclog lines."""
    message = send(broker, actor, payload, options=FAST_RETRY)

    def done(lines: Lines) -> bool:
        return any(ln["message_id"] == message.message_id and ln["event"] in
                   ("succeeded", "rejected", "dead") for ln in lines)

    lines = wait_lines(root, actor, done, timeout=timeout)
    return [ln for ln in lines if ln["message_id"] == message.message_id]
