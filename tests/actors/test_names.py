"""Every actor a producer can send to is named once, in pipeline.names."""

from __future__ import annotations

from pathlib import Path

from actors.canary import canary_name
from brokers.boot import producer_broker
from pipeline import names
from pipeline.settings import Settings


def test_the_declared_actors_are_the_named_ones(redis_url: str, tmp_path: Path) -> None:
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url,
                                                "ATR_DOCLOG_ROOT": str(tmp_path)}))
    try:
        declared = set(broker.actors) - {canary_name(q) for q in names.ALL_QUEUES}
    finally:
        broker.close()
    named = {getattr(names, n) for n in names.__all__ if n.startswith("ACTOR_")}
    assert declared == named
