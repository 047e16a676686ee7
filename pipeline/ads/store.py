"""Where the ad job keeps its proposals and what it last wrote, in Redis.

- ``atr:ads:proposal:<post_id>``: the latest proposed mode of a post (JSON),
  and the sorted set ``atr:ads:proposals`` (post id -> time) that ``atr ads
  review`` lists; a proposal lives until it is applied, replaced, or no longer
  needed (the post already has the mode).
- ``atr:ads:written:<post_id>``: the mode our last write left. As for SEO
  meta, it is how a person's choice is recognised: a current mode that is
  neither empty, nor what we wrote, nor what we propose was set by someone
  else, and is kept unless ``force``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, cast

import redis

from pipeline import keys

__all__ = ["AdProposal", "AdStore"]



@dataclass(frozen=True)
class AdProposal:
    """What monetize proposes for a post, beside its mode now."""

    post_id: int
    title: str
    tier: str
    current: str
    proposed: str
    reason: str
    snapshot: str
    created: str
    #: The current mode was set by a person: kept on approve unless ``--force``.
    person_set: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON-clean values."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> AdProposal:
        """A proposal from :meth:`to_json`'s shape."""
        return cls(int(data["post_id"]), str(data["title"]), str(data["tier"]),
                   str(data["current"]), str(data["proposed"]), str(data["reason"]),
                   str(data["snapshot"]), str(data["created"]), bool(data.get("person_set")))


class AdStore:
    """The Redis keys above, on one client."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def get_proposal(self, post_id: int) -> AdProposal | None:
        """The stored proposal of ``post_id``, or None."""
        raw = self._client.get(keys.ads_proposal(post_id))
        return AdProposal.from_json(json.loads(raw)) if raw else None

    def put_proposal(self, proposal: AdProposal, score: float) -> None:
        """Store (or replace) the proposal of its post."""
        with self._client.pipeline() as pipe:
            pipe.set(keys.ads_proposal(proposal.post_id),
                     json.dumps(proposal.to_json(), ensure_ascii=False))
            pipe.zadd(keys.ADS_PROPOSALS, {str(proposal.post_id): score})
            pipe.execute()

    def delete_proposal(self, post_id: int) -> None:
        """Forget the proposal of ``post_id``."""
        with self._client.pipeline() as pipe:
            pipe.delete(keys.ads_proposal(post_id))
            pipe.zrem(keys.ADS_PROPOSALS, str(post_id))
            pipe.execute()

    def proposals(self) -> list[AdProposal]:
        """Every stored proposal, by post id."""
        members = cast(list[bytes], self._client.zrange(keys.ADS_PROPOSALS, 0, -1))
        ids = sorted(int(i) for i in members)
        found = [self.get_proposal(i) for i in ids]
        return [p for p in found if p is not None]

    def get_written(self, post_id: int) -> str | None:
        """The mode our last write left on ``post_id``, or None if we never wrote it."""
        raw = self._client.get(keys.ads_written(post_id))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def put_written(self, post_id: int, mode: str) -> None:
        """Record the mode our write left on ``post_id``."""
        self._client.set(keys.ads_written(post_id), mode)

