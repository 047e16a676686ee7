"""atr_actor: the doclog stream of every actor is a valid name, checked at declaration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dramatiq.brokers.redis import RedisBroker

from actors.base import atr_actor
from brokers.broker import build_broker
from pipeline.errors import ConfigError
from pipeline.settings import Settings


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    broker = build_broker(Settings.from_env({"REDIS_URL": redis_url}))
    yield broker
    broker.close()


def job() -> None:
    """A do-nothing actor body."""


def test_the_stream_defaults_to_the_actor_name(broker: RedisBroker) -> None:
    actor = atr_actor(queue="misc", name="tidy_up", broker=broker)(job)
    assert actor.options.get("doclog_stream") is None  # the middleware falls back to the name


@pytest.mark.parametrize(("name", "options"), [
    ("Tidy-Up", {}),
    ("tidy_up", {"doclog_stream": "../etc"}),
    ("tidy_up", {"doclog_stream": "Upkeep"}),
])
def test_a_name_that_cannot_be_a_stream_fails_at_declaration(
        broker: RedisBroker, name: str, options: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"doclog stream .* must be 1-64 characters"):
        atr_actor(queue="misc", name=name, broker=broker, **options)(job)


def test_an_explicit_stream_lets_any_actor_name_through(broker: RedisBroker) -> None:
    actor = atr_actor(queue="misc", name="TidyUp", broker=broker, doclog_stream="upkeep")(job)
    assert actor.options["doclog_stream"] == "upkeep"
