"""ATR_<GROUP>_WEIGHTS and the consumer settings: parsed, checked against the table, defaulted."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.groups import GROUPS
from pipeline.settings import Settings

BASE = {"REDIS_URL": "redis://h:1/0"}


def test_weights_default_to_the_table() -> None:
    settings = Settings.from_env(BASE)
    assert settings.weights_of(GROUPS["worker1"]) == {"seo": 5, "thumbnails": 4, "images": 3,
                                                      "high": 2}


def test_a_host_override_replaces_only_the_queues_it_names() -> None:
    settings = Settings.from_env({**BASE, "ATR_WORKER1_WEIGHTS": "high=6, seo=1"})
    assert settings.weights_of(GROUPS["worker1"]) == {"seo": 1, "thumbnails": 4, "images": 3,
                                                      "high": 6}
    assert settings.weights_of(GROUPS["worker2"])["ga4"] == 5


@pytest.mark.parametrize("raw, expected", [
    ("seo=0", "weights 1-1000"), ("seo", "queue=weight"), ("seo=5,seo=4", "given twice"),
    ("ga4=5", "does not consume"), ("seo=x", "weights 1-1000")])
def test_bad_weights_are_refused_naming_the_variable(raw: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "ATR_WORKER1_WEIGHTS": raw})
    assert "ATR_WORKER1_WEIGHTS" in str(caught.value) and expected in str(caught.value)


def test_consumer_settings_defaults() -> None:
    settings = Settings.from_env(BASE)
    assert settings.broker_heartbeat_timeout_s == 15
    assert settings.recovery_sweep_s == 5
    assert settings.pickup_poll_ms == 1000
    assert settings.envelope_max_bytes == 256 * 1024
