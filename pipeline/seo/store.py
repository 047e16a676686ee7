"""Where SEO automation keeps its proposals and what it last wrote, in Redis.

- ``atr:seo:proposal:<post_id>``: the latest proposal for a post (JSON), and
  the sorted set ``atr:seo:proposals`` (post id -> time proposed) that
  ``atr seo review`` lists. A proposal lives until it is applied or replaced.
- ``atr:seo:written:<post_id>``: the fields as our last write left them,
  the tags the automation owns on the post and the tags a person removed
  (JSON, :class:`Written`). It is how a value a person edited afterwards is
  recognised: a current value that is neither empty, nor what we wrote, nor
  what we now propose was written by someone else, and is kept unless
  ``force``; a tag that was on the post at a write of ours and is gone now
  was removed by a person, and is remembered as removed on every later run,
  so it is never added back (unless ``force``).

WordPress stays the truth for the post itself; these keys never expire, so a
post's history of automated writes survives restarts (a few hundred bytes a
post).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import redis

from pipeline import keys

__all__ = ["FIELDS", "Proposal", "SeoFields", "SeoStore", "Written", "content_hash"]

#: The meta fields, in display order (tags are handled apart: they are added, never removed).
FIELDS: Final = ("focus_keyword", "meta_description", "seo_title")
_INDEX: Final = keys.SEO_PROPOSALS


@dataclass(frozen=True)
class SeoFields:
    """A post's SEO values: tag names and the three meta fields ('' when absent)."""

    tags: tuple[str, ...] = ()
    focus_keyword: str = ""
    meta_description: str = ""
    seo_title: str = ""

    def get(self, name: str) -> str:
        """The meta field ``name`` (one of :data:`FIELDS`)."""
        return str(getattr(self, name))

    def to_json(self) -> dict[str, Any]:
        """JSON-clean values."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_json(cls, data: Any) -> SeoFields:
        """Values from :meth:`to_json`'s shape."""
        return cls(tuple(str(t) for t in data.get("tags") or ()),
                   *(str(data.get(name) or "") for name in FIELDS))


@dataclass(frozen=True)
class Proposal:
    """What seo_automation proposes for a post, beside the values it found.

    ``title``, ``content_hash`` and ``modified_gmt`` record the post it was
    made from, so that applying it after the post changed can be refused.
    """

    post_id: int
    title: str
    current: SeoFields
    proposed: SeoFields
    provider: str
    model: str
    message_id: str
    created: str
    #: Fields a person edited since our last write: kept unless ``force``.
    protected: tuple[str, ...] = field(default=())
    #: SHA-256 (hex) of the raw content the proposal was made from ('' in older proposals).
    content_hash: str = ""
    #: The post's ``modified_gmt`` then ('' in older proposals).
    modified_gmt: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-clean values."""
        return {"post_id": self.post_id, "title": self.title,
                "current": self.current.to_json(), "proposed": self.proposed.to_json(),
                "provider": self.provider, "model": self.model,
                "message_id": self.message_id, "created": self.created,
                "protected": list(self.protected), "content_hash": self.content_hash,
                "modified_gmt": self.modified_gmt}

    @classmethod
    def from_json(cls, data: Any) -> Proposal:
        """A proposal from :meth:`to_json`'s shape."""
        return cls(int(data["post_id"]), str(data["title"]),
                   SeoFields.from_json(data["current"]), SeoFields.from_json(data["proposed"]),
                   str(data["provider"]), str(data["model"]), str(data["message_id"]),
                   str(data["created"]), tuple(data.get("protected") or ()),
                   str(data.get("content_hash") or ""), str(data.get("modified_gmt") or ""))


@dataclass(frozen=True)
class Written:
    """What our last write left on a post, and the tags the automation owns there.

    ``values`` are the post's fields right after the write (``tags``: every
    tag the post had then, a person's too); ``owned`` the tags we added that
    are still on the post; ``removed`` the tags a person took off since a
    write of ours (never added back unless ``force``); ``proposal_id`` the
    message id of the proposal applied, ``applied`` when (RFC 3339, UTC).
    """

    values: SeoFields
    owned: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    proposal_id: str = ""
    applied: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-clean values."""
        return {"values": self.values.to_json(), "owned": list(self.owned),
                "removed": list(self.removed), "proposal_id": self.proposal_id,
                "applied": self.applied}

    @classmethod
    def from_json(cls, data: Any) -> Written:
        """A record from :meth:`to_json`'s shape, or from the older bare fields.

        An older record kept only the fields: every tag in it counts as owned,
        and nothing is known to be removed yet.
        """
        if "values" not in data:
            values = SeoFields.from_json(data)
            return cls(values, owned=values.tags)
        return cls(SeoFields.from_json(data["values"]),
                   tuple(str(t) for t in data.get("owned") or ()),
                   tuple(str(t) for t in data.get("removed") or ()),
                   str(data.get("proposal_id") or ""), str(data.get("applied") or ""))


class SeoStore:
    """Proposals and last-written values per post, in Redis. Thread-safe."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def put_proposal(self, proposal: Proposal, score: float) -> None:
        """Store (or replace) the proposal of its post; ``score`` orders the review list."""
        pipe = self.client.pipeline()
        pipe.set(_proposal_key(proposal.post_id),
                 json.dumps(proposal.to_json(), ensure_ascii=False))
        pipe.zadd(_INDEX, {str(proposal.post_id): score})
        pipe.execute()

    def get_proposal(self, post_id: int) -> Proposal | None:
        """The stored proposal of ``post_id``, or None."""
        raw = self.client.get(_proposal_key(post_id))
        return Proposal.from_json(json.loads(raw)) if raw is not None else None

    def proposals(self) -> list[Proposal]:
        """Every stored proposal, oldest first."""
        found = []
        for member in self.client.zrange(_INDEX, 0, -1):
            proposal = self.get_proposal(int(member))  # type: ignore[arg-type]
            if proposal is not None:
                found.append(proposal)
        return found

    def delete_proposal(self, post_id: int) -> None:
        """Forget the proposal of ``post_id`` (it was applied)."""
        pipe = self.client.pipeline()
        pipe.delete(_proposal_key(post_id))
        pipe.zrem(_INDEX, str(post_id))
        pipe.execute()

    def get_written(self, post_id: int) -> Written | None:
        """What our last write left on ``post_id``, or None if we never wrote it."""
        raw = self.client.get(_written_key(post_id))
        return Written.from_json(json.loads(raw)) if raw is not None else None

    def put_written(self, post_id: int, record: Written) -> None:
        """Record what our write left on ``post_id``."""
        self.client.set(_written_key(post_id), json.dumps(record.to_json(), ensure_ascii=False))


def content_hash(content: str) -> str:
    """SHA-256 (hex) of a post's raw content: what a proposal records of it."""
    return hashlib.sha256(content.encode()).hexdigest()


def _proposal_key(post_id: int) -> str:
    return keys.seo_proposal(post_id)


def _written_key(post_id: int) -> str:
    return keys.seo_written(post_id)
