"""The systemd units in ops/systemd: valid for systemd, and in step with the group table."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.groups import GROUPS, WorkerGroup

UNITS = Path(__file__).resolve().parents[2] / "ops" / "systemd"
SRV = "/srv/atr-workers"
#: Seconds a stopping group needs beyond its worker shutdown timeout (requeueing
#: prefetched messages, closing the broker, the master's own exit).
STOP_MARGIN_S = 15

Unit = dict[str, dict[str, list[str]]]


def parse_unit(path: Path) -> Unit:
    """Sections -> key -> every value given (systemd allows a key more than once)."""
    unit: Unit = {}
    section: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(section: dict[str, list[str]], key: str) -> str:
    """The single value of ``key``; a missing or repeated key fails the test."""
    values = section.get(key, [])
    assert len(values) == 1, f"{key}= must be set exactly once, found {values}"
    return values[0]


def test_there_is_one_unit_per_group_plus_the_scheduler_and_the_dashboard() -> None:
    expected = {f"atr-{name}.service" for name in GROUPS} | {"atr-scheduler.service",
                                                             "atr-dashboard.service"}
    assert {p.name for p in UNITS.glob("*.service")} == expected


@pytest.mark.parametrize("group", GROUPS.values(), ids=list(GROUPS))
def test_each_worker_unit_agrees_with_the_group_table(group: WorkerGroup) -> None:
    unit = parse_unit(UNITS / f"atr-{group.name}.service")
    service = unit["Service"]
    assert one(service, "ExecStart") == f"{SRV}/.venv/bin/atr worker {group.name}"
    assert one(unit["Unit"], "Description") == \
        f"atr-workers {group.name} ({', '.join(group.queue_names)})"
    stop_s = one(service, "TimeoutStopSec")
    assert stop_s.isdigit(), "TimeoutStopSec in plain seconds, so it compares with the table"
    assert int(stop_s) >= group.shutdown_timeout_s + STOP_MARGIN_S
    # Readiness/watchdog come from the worker processes, children of the main pid.
    assert one(service, "Type") == "notify"
    assert one(service, "NotifyAccess") == "all"
    watchdog_s = one(service, "WatchdogSec")
    assert watchdog_s.isdigit() and int(watchdog_s) >= 10
    assert one(service, "RuntimeDirectory") == f"atr-{group.name}"
    # SIGTERM to the master only (runbook 5.2): a second SIGTERM drops a running message.
    assert one(service, "KillMode") == "mixed"
    # The dramatiq master does not restart a dead worker process: systemd must.
    assert one(service, "Restart") == "always"
    assert one(service, "RestartSec") == "5"


@pytest.mark.parametrize("path", sorted(UNITS.glob("*.service")), ids=lambda p: p.name)
def test_every_unit_shares_the_layout_and_the_hardening(path: Path) -> None:
    unit = parse_unit(path)
    service = unit["Service"]
    assert one(service, "WorkingDirectory") == SRV
    assert one(service, "EnvironmentFile") == f"{SRV}/.env.workers"
    assert one(service, "User") == one(service, "Group") == "atr"
    assert one(service, "ExecStart").startswith(f"{SRV}/.venv/bin/atr ")
    assert one(service, "KillMode") == "mixed"
    assert one(service, "Restart") == "always"
    assert "network-online.target" in one(unit["Unit"], "After").split()
    assert "network-online.target" in one(unit["Unit"], "Wants").split()
    for key in ("StandardOutput", "StandardError"):
        assert one(service, key) == "journal"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelTunables",
                "ProtectControlGroups", "RestrictSUIDSGID", "LockPersonality"):
        assert one(service, key) == "yes", key
    assert one(service, "ProtectSystem") == "strict"
    writable = one(service, "ReadWritePaths").split()
    assert f"{SRV}/docs/logs" in writable
    if path.name.startswith("atr-worker"):
        assert f"{SRV}/data" in writable
    assert one(unit["Install"], "WantedBy") == "multi-user.target"


def test_systemd_analyze_verify_accepts_every_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package: systemd)")
    # verify checks that ExecStart's binary exists: point it at this checkout's venv.
    venv_bin = str(Path(sys.executable).parent)
    assert (Path(venv_bin) / "atr").exists()
    copies = []
    for path in sorted(UNITS.glob("*.service")):
        copy = tmp_path / path.name
        copy.write_text(path.read_text().replace(f"{SRV}/.venv/bin", venv_bin))
        copies.append(str(copy))
    result = subprocess.run([analyze, "verify", *copies], capture_output=True, text=True,
                            timeout=60, check=False)
    # verify exits 0 on an unknown key or a bad value and only prints a warning
    # naming the file, so any line about our units is a failure.
    about_ours = [line for line in (result.stdout + result.stderr).splitlines()
                  if str(tmp_path) in line]
    assert result.returncode == 0 and about_ours == [], result.stdout + result.stderr
