"""``atr demo``: the whole pipeline on embedded defaults, narrated.

Starts a private redis-server when ``REDIS_URL`` is unset, boots both worker
groups with the real ``dramatiq`` CLI (through ``atr worker``), sends a
message through every queue, prints who handled what, and stops everything
gracefully. Later jobs add their steps here.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from brokers.boot import producer_broker
from brokers.groups import GROUPS
from ops.ping import ping_queues, render_results
from ops.redis_server import EmbeddedRedis
from ops.supervise import GroupProcess
from pipeline import names
from pipeline.settings import Settings, read_environment, redact_url

__all__ = ["run_demo"]

_PING_TIMEOUT_S: Final = 60.0


def run_demo() -> int:
    """Run the demo; 0 when every queue was answered by its own group."""
    env = read_environment()
    with contextlib.ExitStack() as stack:
        if not env.get("REDIS_URL", "").strip():
            server = stack.enter_context(EmbeddedRedis())
            env["REDIS_URL"] = server.url
            print(f"==> REDIS_URL is unset: started a private redis-server at {server.url} "
                  f"(pid {server.pid}); it stops when the demo ends")
        settings = Settings.from_env(env)
        print(f"==> Redis: {redact_url(settings.redis_url)}")
        logdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="atr-demo-")))
        groups = [stack.enter_context(_running(name, settings, env, logdir)) for name in GROUPS]

        print(f"==> sending a canary through each of the {len(names.ALL_QUEUES)} queues "
              "and waiting for the answers")
        started = time.monotonic()
        results = ping_queues(producer_broker(settings), names.ALL_QUEUES, _PING_TIMEOUT_S)
        print(render_results(results))
        print(f"    (first answers include the groups' boot time; "
              f"all done in {time.monotonic() - started:.1f} s)")

        print("==> stopping both groups with SIGTERM (running messages finish first)")
        codes = {g.group: g.stop() for g in groups}
        for g in groups:
            print(f"    {g.group}: exit code {codes[g.group]}")
        ok = all(r.ok for r in results) and not any(codes.values())
        if not ok:
            for g in groups:
                print(f"---- last lines of {g.group}'s log ----")
                print("\n".join(g.log_text().splitlines()[-20:]))
        print("==> demo " + ("succeeded: every queue was handled by its own group"
                             if ok else "FAILED (see above)"))
        return 0 if ok else 1
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def _running(group: str, settings: Settings, env: dict[str, str],
             logdir: Path) -> Iterator[GroupProcess]:
    process = GroupProcess(group, env, logdir / f"{group}.log").start()
    spec = GROUPS[group].with_shape(getattr(settings, f"{group}_processes"),
                                    getattr(settings, f"{group}_threads"))
    print(f"==> booting {group} with the dramatiq CLI: {spec.processes} processes x "
          f"{spec.threads} threads on queues {', '.join(spec.queue_names)}")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.stop()
