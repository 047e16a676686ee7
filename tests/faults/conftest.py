"""Fixtures of the fault suite: a private redis-server per test that the test may restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.redis_server import EmbeddedRedis


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test only, with the append-only file on (restartable)."""
    with EmbeddedRedis(tmp_path / "redis", appendonly=True) as server:
        yield server


@pytest.fixture
def fault_env(clean_env: dict[str, str], aof_redis: EmbeddedRedis) -> dict[str, str]:
    """Environment for ``atr`` subprocesses pointed at the test's own Redis."""
    return {**clean_env, "REDIS_URL": aof_redis.url}
