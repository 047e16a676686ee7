"""The corpus of malformed envelopes under tests/data/envelopes, filled in for one queue."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "data" / "envelopes"


@dataclass(frozen=True)
class Case:
    """One malformed body: its name, the reason it must be refused for, and the bytes."""

    name: str
    reason: str
    redis_id: str
    token: str
    #: None: the id is pushed without a hash entry.
    body: bytes | None


def cases(queue: str) -> list[Case]:
    """Every case of the corpus, with fresh ids, for ``queue``."""
    found = []
    for path in sorted(CORPUS.glob("*.body")):
        found.append(_case(path.stem, lambda fill, path=path: fill(path.read_bytes())))
    for name, spec in json.loads((CORPUS / "generated.json").read_text()).items():
        found.append(_case(name, lambda fill, spec=spec: _generated(spec, fill)))
    return [c for c in (make(queue) for make in found)]


def _case(name: str, build):  # type: ignore[no-untyped-def]
    reason = name.split("--")[0]

    def make(queue: str) -> Case:
        rid, mid = str(uuid.uuid4()), str(uuid.uuid4())
        token = "bad-" + name.split("--")[1].replace("_", "-")[:50]

        def fill(raw: bytes) -> bytes:
            for key, value in (("{QUEUE}", queue), ("{RID}", rid), ("{MID}", mid),
                               ("{TS}", str(int(time.time() * 1000))), ("{TOKEN}", token)):
                raw = raw.replace(key.encode(), value.encode())
            return raw

        return Case(name, reason, rid, token, build(fill))
    return make


def _generated(spec: dict[str, object], fill) -> bytes | None:  # type: ignore[no-untyped-def]
    if spec["kind"] == "deep":
        depth = int(str(spec["depth"]))
        return b"[" * depth + b"]" * depth
    if spec["kind"] == "large":
        head = fill(b'{"queue_name":"{QUEUE}","actor_name":"ping_{QUEUE}","args":[],'
                    b'"kwargs":{"token":"{TOKEN}","pad":"')
        tail = fill(b'"},"options":{"redis_message_id":"{RID}"},"message_id":"{MID}",'
                    b'"message_timestamp":{TS}}')
        return head + b"x" * (int(str(spec["bytes"])) - len(head) - len(tail)) + tail
    return None


def good_body(queue: str, token: str) -> tuple[str, bytes]:
    """A well-formed canary body for ``queue`` answering under ``token``: (redis id, body)."""
    rid = str(uuid.uuid4())
    body = {"queue_name": queue, "actor_name": f"ping_{queue}", "args": [],
            "kwargs": {"token": token}, "options": {"redis_message_id": rid},
            "message_id": str(uuid.uuid4()), "message_timestamp": int(time.time() * 1000)}
    return rid, json.dumps(body).encode()
