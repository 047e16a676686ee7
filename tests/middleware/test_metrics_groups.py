"""Each group of the table gets its metrics port from the table and ATR_METRICS_<GROUP>_PORT."""

from __future__ import annotations

from pathlib import Path

from middleware.metrics import metrics_middleware
from pipeline.groups import GROUPS, QueueWeight, WorkerGroup
from pipeline.settings import Settings

MINIMAL = {"REDIS_URL": "redis://127.0.0.1:6379/0"}
WORKER3 = WorkerGroup(name="worker3", role="test", instance_type="-",
                      queues=(QueueWeight("extra", 1),), processes=1, threads=2,
                      shutdown_timeout_s=10, actor_modules=(), metrics_port=9193)
TABLE = {**GROUPS, "worker3": WORKER3}


def test_the_real_groups_keep_their_ports_and_port_0_turns_one_off(tmp_path: Path) -> None:
    settings = Settings.from_env({**MINIMAL, "ATR_METRICS_DIR": str(tmp_path),
                                  "ATR_METRICS_WORKER2_PORT": "0"})
    worker1 = metrics_middleware(settings, GROUPS["worker1"], {})
    assert worker1 is not None and worker1.port == 9191
    assert worker1.directory == tmp_path / "worker1"
    assert metrics_middleware(settings, GROUPS["worker2"], {}) is None


def test_a_group_added_to_the_table_gets_its_port_without_new_code(tmp_path: Path) -> None:
    settings = Settings.from_env({**MINIMAL, "ATR_METRICS_DIR": str(tmp_path)}, TABLE)
    metrics = metrics_middleware(settings, WORKER3, {})
    assert metrics is not None and metrics.port == 9193
    assert metrics.directory == tmp_path / "worker3"
    assert metrics.port_variable == "ATR_METRICS_WORKER3_PORT"
    moved = Settings.from_env({**MINIMAL, "ATR_METRICS_WORKER3_PORT": "9300"}, TABLE)
    assert getattr(metrics_middleware(moved, WORKER3, {}), "port", None) == 9300
    off = Settings.from_env({**MINIMAL, "ATR_METRICS_WORKER3_PORT": "0"}, TABLE)
    assert metrics_middleware(off, WORKER3, {}) is None
