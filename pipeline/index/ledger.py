"""Which URL was submitted to which endpoint today: claims in Redis, so nothing goes twice.

One key per endpoint, day and URL: ``atr:index:sent:<endpoint>:<YYYY-MM-DD>:<sha1 of the
URL>``. The day is the doclog's (``ATR_TZ``, Asia/Seoul by default). Before a
request, a message *claims* its URLs with ``SET NX`` (inside one Lua call per
slice of keys, so two processes racing for a URL never both get it); the value
is the message id while the request is in flight and ``done`` once the engine
accepted it. A URL claimed by another message, or done, is skipped.

- A redelivery of the same message (a worker killed mid-request) finds its
  own id on the claims and sends them again; the ones marked ``done`` are not.
- A failed request gives its claims back, so the retry (or another message)
  can send them; claims of a message that died keep the URL for the rest of
  the day, like a success (the key expires after two days).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final, cast

import redis

from pipeline import keys

__all__ = ["DONE", "SubmissionLedger", "sent_key"]

#: The value of a claim whose request the engine accepted.
DONE: Final = "done"
#: Seconds a claim is kept: the day it is for, and a margin for clock skew.
_TTL_S: Final = 2 * 24 * 3600
#: Keys per Lua call: small enough that Redis never blocks long on one call.
_SLICE: Final = 1000
# KEYS: the claims; ARGV[1] the owner, ARGV[2] the TTL. Returns 1 per key claimed
# by the owner now or earlier (its own redelivery), 0 for a key done or another's.
_CLAIM: Final = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('set', key, ARGV[1], 'NX', 'EX', ARGV[2]) then
    out[i] = 1
  elseif redis.call('get', key) == ARGV[1] then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""
_RELEASE: Final = """
for _, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then redis.call('del', key) end
end
return 0
"""


def sent_key(endpoint: str, day: str, url: str) -> str:
    """The claim of ``url`` at ``endpoint`` (its short name) on ``day`` (YYYY-MM-DD)."""
    return keys.index_sent(endpoint, day,
                           hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest())


class SubmissionLedger:
    """The claims of one endpoint and day in Redis (see the module docstring)."""

    def __init__(self, client: redis.Redis, endpoint: str, day: str) -> None:
        self._client = client
        self.endpoint = endpoint
        self.day = day

    def claim(self, urls: Sequence[str], owner: str) -> list[str]:
        """The URLs of ``urls`` that ``owner`` (a message id) may send now, in order."""
        claimed: list[str] = []
        for start in range(0, len(urls), _SLICE):
            part = urls[start:start + _SLICE]
            got = cast(list[int], self._client.eval(
                _CLAIM, len(part), *self._keys(part), owner, _TTL_S))
            claimed.extend(url for url, ok in zip(part, got, strict=True) if ok)
        return claimed

    def mark_done(self, urls: Sequence[str]) -> None:
        """Record that the engine accepted ``urls``: nobody sends them again today."""
        for start in range(0, len(urls), _SLICE):
            with self._client.pipeline(transaction=False) as pipe:
                for key in self._keys(urls[start:start + _SLICE]):
                    pipe.set(key, DONE, ex=_TTL_S)
                pipe.execute()

    def release(self, urls: Sequence[str], owner: str) -> None:
        """Give back ``owner``'s claims of ``urls`` (a request failed): they may be sent again."""
        for start in range(0, len(urls), _SLICE):
            part = urls[start:start + _SLICE]
            self._client.eval(_RELEASE, len(part), *self._keys(part), owner)

    def is_done(self, url: str) -> bool:
        """Whether ``url`` was accepted by the endpoint today."""
        value = self._client.get(sent_key(self.endpoint, self.day, url))
        return value is not None and (value.decode() if isinstance(value, bytes)
                                      else str(value)) == DONE

    def _keys(self, urls: Sequence[str]) -> list[str]:
        return [sent_key(self.endpoint, self.day, url) for url in urls]
