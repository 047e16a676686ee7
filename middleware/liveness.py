"""Is this worker process still consuming? One answer for the heartbeat and systemd's watchdog."""

from __future__ import annotations

import dramatiq

__all__ = ["dead_threads"]


def dead_threads(worker: dramatiq.Worker) -> list[str]:
    """Names of ``worker``'s consumer and worker threads that are not alive; [] when all are.

    A worker with no consumer or no worker thread at all consumes nothing
    either, and says so.
    """
    dead = [f"consumer({name})" for name, thread in worker.consumers.items()
            if not thread.is_alive()]
    dead += [thread.name for thread in worker.workers if not thread.is_alive()]
    if not worker.consumers:
        dead.append("(no consumers)")
    if not worker.workers:
        dead.append("(no worker threads)")
    return dead
