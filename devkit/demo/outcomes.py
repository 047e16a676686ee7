"""Wait for the doclog to report how each of the demo's messages ended.

The demo's steps send one message per sample post and then read the doclog,
as an operator would, until every message has its success line or a
``rejected`` / ``dead`` one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.doclog import EVENT_DEAD, EVENT_REJECTED, last_records

__all__ = ["wait_outcomes"]

_POLL_S = 0.2


def wait_outcomes(doclog_root: Path, stream: str, sent: Mapping[str, int], done_event: str,
                  *, timeout_s: float, missing: str) -> tuple[dict[int, Mapping[str, Any]],
                                                             dict[int, str]]:
    """Poll ``stream`` until each message of ``sent`` (message id -> post id) ended.

    Returns (post id -> fields of its ``done_event`` line, post id -> error).
    A message that ended neither way within ``timeout_s`` is an error
    ``"<missing> within <timeout_s> s"``.
    """
    done: dict[int, Mapping[str, Any]] = {}
    failures: dict[int, str] = {}
    deadline = time.monotonic() + timeout_s
    while len(done) + len(failures) < len(sent) and time.monotonic() < deadline:
        for record in last_records(doclog_root, [stream], 20 * len(sent)):
            fields = record.fields or {}
            post_id = sent.get(str(fields.get("message_id")))
            if post_id is None:
                continue
            if fields.get("event") == done_event:
                done[post_id] = fields
            elif fields.get("event") in (EVENT_REJECTED, EVENT_DEAD):
                failures[post_id] = str(fields.get("error"))
        time.sleep(_POLL_S)
    late = sorted(set(sent.values()) - set(done) - set(failures))
    failures.update({post_id: f"{missing} within {timeout_s:.0f} s" for post_id in late})
    return done, failures
