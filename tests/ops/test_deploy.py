"""ops/deploy.sh and ops/rollback.sh end to end: git, install, restarts in order, real gates.

systemctl is a stand-in on PATH that records its calls; the gates are the real
``atr ping`` and ``atr health`` against the test Redis, with real worker groups
(started by the test) answering for the restarted units.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devkit.supervise import GroupProcess

REPO = Path(__file__).resolve().parents[2]
Starter = Callable[..., dict[str, GroupProcess]]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A deployed checkout with an origin one release ahead (tags v1, v2)."""
    origin, work = tmp_path / "origin.git", tmp_path / "seed"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(origin))
    git(tmp_path, "init", "--quiet", "-b", "main", str(work))
    for name in ("user.name", "user.email"):
        git(work, "config", name, "test@example.invalid")
    (work / "ops").mkdir()
    for script in ("deploy.sh", "rollback.sh"):
        shutil.copy2(REPO / "ops" / script, work / "ops" / script)
    # ./dev setup is the real install; here a stand-in records that it ran.
    dev = work / "dev"
    dev.write_text('#!/usr/bin/env bash\necho "dev $*" >> "$CALLS"\n', encoding="utf-8")
    dev.chmod(0o755)
    (work / ".gitignore").write_text(".venv\n", encoding="utf-8")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "release 1")
    git(work, "tag", "v1")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "--quiet", "origin", "main", "--tags")
    home = tmp_path / "srv-atr-workers"
    git(tmp_path, "clone", "--quiet", str(origin), str(home))
    (work / "CHANGELOG").write_text("release 2\n", encoding="utf-8")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "release 2")
    git(work, "tag", "v2")
    git(work, "push", "--quiet", "origin", "main", "--tags")
    (home / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return home


@pytest.fixture
def deploy_env(worker_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """PATH with the systemctl stand-in first; CALLS is where it (and dev) record."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "systemctl"
    stand_in.write_text('#!/usr/bin/env bash\necho "systemctl $*" >> "$CALLS"\n',
                        encoding="utf-8")
    stand_in.chmod(0o755)
    return {**worker_env, "PATH": f"{bin_dir}:{worker_env['PATH']}",
            "CALLS": str(tmp_path / "calls.txt"),
            "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "2",
            "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "2"}


@pytest.fixture
def running(deploy_env: dict[str, str],
            tmp_path: Path) -> Iterator[Starter]:
    """Start the named groups for real; they answer the gates for the 'restarted' units."""
    groups: dict[str, GroupProcess] = {}

    def start(*names: str) -> dict[str, GroupProcess]:
        for name in names:
            groups[name] = GroupProcess(name, deploy_env, tmp_path / f"{name}.log",
                                        cwd=tmp_path).start()
        return groups

    yield start
    for group in groups.values():
        group.stop()


def calls(env: dict[str, str]) -> list[str]:
    return Path(env["CALLS"]).read_text(encoding="utf-8").splitlines()


def test_deploy_pulls_installs_and_restarts_worker2_then_worker1_behind_gates(
        checkout: Path, deploy_env: dict[str, str], running: Starter) -> None:
    running("worker1", "worker2")
    before = git(checkout, "rev-parse", "HEAD")
    result = subprocess.run([str(checkout / "ops" / "deploy.sh"), "--ping-timeout", "60"],
                            env=deploy_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(checkout, "rev-parse", "HEAD") != before
    assert git(checkout, "describe", "--tags") == "v2"
    assert calls(deploy_env) == [
        "dev setup",
        "systemctl restart atr-worker2",
        "systemctl restart atr-worker1",
        "systemctl is-enabled --quiet atr-scheduler",
        "systemctl restart atr-scheduler",
        "systemctl is-enabled --quiet atr-dashboard",
        "systemctl restart atr-dashboard",
    ]
    out = result.stdout
    assert out.index("gate: every queue of worker2 answers") \
        < out.index("restarting worker1") < out.index("gate: every queue of worker1 answers")
    assert "latest doclog lines" in out


def test_deploy_stops_at_the_first_failed_gate(
        checkout: Path, deploy_env: dict[str, str], running: Starter) -> None:
    running("worker2")  # worker1 does not come back
    result = subprocess.run([str(checkout / "ops" / "deploy.sh"), "--ping-timeout", "5"],
                            env=deploy_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "deploy: STOPPED: worker1's queues did not answer within 5s after the restart" \
        in result.stderr
    assert "Roll back with: ops/rollback.sh" in result.stderr
    assert calls(deploy_env) == ["dev setup", "systemctl restart atr-worker2",
                                 "systemctl restart atr-worker1"]
    assert "latest doclog lines" not in result.stdout


def test_rollback_checks_out_the_release_and_follows_the_same_order(
        checkout: Path, deploy_env: dict[str, str], running: Starter) -> None:
    running("worker1", "worker2")
    git(checkout, "pull", "--quiet", "--ff-only")
    result = subprocess.run([str(checkout / "ops" / "rollback.sh"), "v1",
                             "--ping-timeout", "60"],
                            env=deploy_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(checkout, "describe", "--tags") == "v1"
    assert calls(deploy_env)[:3] == ["dev setup", "systemctl restart atr-worker2",
                                     "systemctl restart atr-worker1"]


def test_dry_run_and_usage(checkout: Path, deploy_env: dict[str, str]) -> None:
    before = git(checkout, "rev-parse", "HEAD")
    result = subprocess.run([str(checkout / "ops" / "deploy.sh"), "--dry-run"],
                            env=deploy_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "+ git pull --ff-only --quiet" in result.stdout
    assert "+ systemctl restart atr-worker2" in result.stdout
    assert git(checkout, "rev-parse", "HEAD") == before
    assert not Path(deploy_env["CALLS"]).exists()
    missing = subprocess.run([str(checkout / "ops" / "rollback.sh")], env=deploy_env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert "give the release to go back to" in missing.stderr
    bad = subprocess.run([str(checkout / "ops" / "deploy.sh"), "--groups", "worker3"],
                         env=deploy_env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "unknown group 'worker3'" in bad.stderr
