"""What a worker writes to its log (the journal under systemd) carries no secret."""

from __future__ import annotations

from pathlib import Path

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.supervise import GroupProcess
from pipeline.settings import Settings
from tests.helpers import ends_with, wait_lines

SECRET_KEY = "sk-test-SECRET123"
SECRET_PASSWORD = "hunter2-is-secret"


def test_failed_message_arguments_and_errors_are_scrubbed_in_the_worker_log(
        worker_env: dict[str, str], redis_url: str, tmp_path: Path) -> None:
    env = {**worker_env, "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "1",
           "ATR_LLM_PROVIDER": "openai", "OPENAI_API_KEY": SECRET_KEY}
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    # Rejected at once: Dramatiq logs the message (with its arguments) and we log
    # the reason (which quotes the bad token).
    send(broker, "ping_high", {"token": f"bad {SECRET_KEY} password={SECRET_PASSWORD}"})
    broker.close()
    root = Path(env["ATR_DOCLOG_ROOT"])
    with GroupProcess("worker1", env, tmp_path / "w1.log", cwd=tmp_path) as worker:
        wait_lines(root, "canary", ends_with("rejected"))
        assert worker.stop() == 0
    log = worker.log_text()
    assert "goes to the dead-letter queue without retry" in log  # the reason is logged
    assert "[REDACTED]" in log
    assert SECRET_KEY not in log
    assert SECRET_PASSWORD not in log
