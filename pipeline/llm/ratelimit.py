"""One LLM budget per provider and model, shared in Redis by every process on every host.

Both limits a provider enforces are checked together, atomically, in one Lua
script: requests per window (RPM) and tokens per window (TPM), over a sliding
window of ``window_s`` seconds (60 in production; tests scale it down).

A call first :meth:`~SharedLimiter.reserve`\\ s its estimated tokens (prompt
plus output cap, :mod:`pipeline.llm.tokens`). While the call is in flight the
reservation counts in full; :meth:`~SharedLimiter.settle` then replaces it by
the usage the API reported, stamped with the completion time, so the budget
is freed exactly when the provider's own window frees it. A 429 names a wait:
:meth:`~SharedLimiter.cool_down` turns it into a provider-wide cooldown that
every reservation honours.

All times are the Redis server's clock (``TIME``), so hosts need not agree.
Keys (``atr:llm:<provider>:<model>:...``): ``log`` (sorted set: reservation
id -> time it counts from, in ms), ``tok`` (hash: id -> tokens), ``sum``
(total tokens in ``tok``), ``cool`` (present while cooling down) and
``line`` (the time the last refused caller was told to come back).

Refused callers form a waiting line: each is told to come back one spacing
after the one before (the window divided by the calls the limits admit per
window, a little less), so a backlog of deferred messages returns at the
rate budget frees instead of all at once, each asking again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

import redis

from pipeline import keys
from pipeline.llm.errors import RequestTooLarge

__all__ = ["Budget", "Limits", "Reservation", "SharedLimiter", "Snapshot"]

#: How long an unsettled reservation keeps counting after it was made, beyond
#: the window: a process killed mid-call leaves no permanent leak.
_IN_FLIGHT_MS: Final = 10 * 60_000

# KEYS: log, tok, sum, cool, line. ARGV: window_ms, rpm (0 = none), tpm (0 =
# none), tokens, id, in_flight_ms, recheck_ms. Returns {1, 0, 'ok'} when
# reserved, else {0, wait_ms, why}. An unsettled entry counts as stamped now for
# the RPM wait; while any call is unsettled, a TPM refusal rechecks soon. A
# refused caller is given a place in the waiting line (the script's queue()).
_RESERVE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
-- The waiting line: callers refused together come back one spacing apart,
-- at about the rate the limits admit calls, instead of all at the first
-- moment budget frees (where one would win and the rest ask again).
local function queue(wait, why)
  -- The cost of a call: the mean usage of settled calls (in-flight ones
  -- still hold their larger estimate), else this call's estimate.
  local count = redis.call('ZCARD', KEYS[1])
  local sum = tonumber(redis.call('GET', KEYS[3]) or '0')
  local flying = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
  for _, id in ipairs(flying) do
    sum = sum - tonumber(redis.call('HGET', KEYS[2], id) or '0')
  end
  count = count - #flying
  local per_call = tokens
  if count > 0 and sum > 0 then per_call = math.min(tokens, sum / count) end
  local calls = 1e12
  if rpm > 0 then calls = rpm end
  if tpm > 0 then calls = math.min(calls, tpm / per_call) end
  local spacing = math.floor(window / calls * 0.8)
  local line = tonumber(redis.call('GET', KEYS[5]) or '0')
  local at = math.max(now + wait, line + spacing)
  redis.call('SET', KEYS[5], at, 'PX', at - now + window)
  return {0, at - now, why}
end
local cool = redis.call('PTTL', KEYS[4])
if cool > 0 then return queue(cool, 'cooldown') end
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
for _, id in ipairs(old) do
  local used = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  redis.call('DECRBY', KEYS[3], used)
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end
local count = redis.call('ZCARD', KEYS[1])
if rpm > 0 and count + 1 > rpm then
  local first = redis.call('ZRANGE', KEYS[1], 0, count - rpm, 'WITHSCORES')
  local at = math.min(tonumber(first[#first]), now)
  return queue(math.max(1, at + window - now + 1), 'rpm')
end
local sum = tonumber(redis.call('GET', KEYS[3]) or '0')
if tpm > 0 and sum + tokens > tpm then
  -- Calls in flight hold their estimate; settling shrinks it to the usage,
  -- often by half. While any is in flight, ask again soon rather than wait
  -- for the oldest settled entries to leave the window.
  if redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf') > 0 then
    return queue(tonumber(ARGV[7]), 'tpm')
  end
  local over = sum + tokens - tpm
  local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    over = over - tonumber(redis.call('HGET', KEYS[2], entries[i]) or '0')
    if over <= 0 then
      return queue(math.max(1, tonumber(entries[i + 1]) + window - now + 1), 'tpm')
    end
  end
  return queue(tonumber(ARGV[7]), 'tpm')
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[6]), ARGV[5])
redis.call('HSET', KEYS[2], ARGV[5], tokens)
redis.call('INCRBY', KEYS[3], tokens)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], window + tonumber(ARGV[6]) + 60000) end
return {1, 0, 'ok'}
"""

# KEYS: log, tok, sum. ARGV: id, tokens (-1 = release), window_ms, in_flight_ms.
_SETTLE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local tokens = tonumber(ARGV[2])
if tokens < 0 then
  redis.call('DECRBY', KEYS[3], old)
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], tokens)
redis.call('INCRBY', KEYS[3], tokens - old)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3]) + tonumber(ARGV[4]) + 60000) end
return 1
"""

# KEYS: cool. ARGV: wait_ms. Lengthens a cooldown, never shortens it.
_COOL: Final = """
local wait = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < wait then
  redis.call('SET', KEYS[1], '1', 'PX', wait)
end
return 1
"""


@dataclass(frozen=True)
class Limits:
    """A provider's limits per window: requests (RPM) and tokens (TPM); None = no limit."""

    rpm: int | None
    tpm: int | None


@dataclass(frozen=True)
class Budget:
    """Which budget: a provider and model, with its limits."""

    provider: str
    model: str
    limits: Limits

    @property
    def key(self) -> str:
        """The Redis key prefix of this budget."""
        return keys.llm_budget(self.provider, self.model)


@dataclass(frozen=True)
class Reservation:
    """Tokens held for one call until :meth:`SharedLimiter.settle` or ``release``."""

    budget: Budget
    id: str
    tokens: int


@dataclass(frozen=True)
class Snapshot:
    """What a budget holds now: calls and tokens in the window, cooldown left (ms)."""

    requests: int
    tokens: int
    cooldown_ms: int


class SharedLimiter:
    """RPM and TPM of each provider and model, shared through Redis. Thread-safe."""

    def __init__(self, client: redis.Redis, window_s: float = 60.0) -> None:
        self.client = client
        self.window_ms = int(window_s * 1000)
        #: Wait named when only unsettled calls block the TPM, in milliseconds.
        self.recheck_ms = max(50, min(1000, self.window_ms // 20))
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._cool = client.register_script(_COOL)

    def reserve(self, budget: Budget, tokens: int) -> Reservation | tuple[int, str]:
        """Hold ``tokens`` and one request of ``budget``, or say how long to wait.

        Returns a :class:`Reservation`, or ``(wait_ms, reason)`` where reason is
        ``cooldown``, ``rpm`` or ``tpm``. Raises RequestTooLarge when the call
        could never fit in the TPM.
        """
        tpm = budget.limits.tpm
        if tpm is not None and tokens > tpm:
            raise RequestTooLarge(
                f"one {budget.provider} call needs about {tokens} tokens but its TPM limit "
                f"is {tpm}: raise ATR_{budget.provider.upper()}_TPM or lower "
                f"ATR_LLM_MAX_OUTPUT_TOKENS")
        rid = uuid.uuid4().hex
        ok, wait, why = self._reserve(
            keys=self._keys(budget, with_cool=True),
            args=[self.window_ms, budget.limits.rpm or 0, tpm or 0, tokens, rid, _IN_FLIGHT_MS,
                  self.recheck_ms])
        if int(ok):
            return Reservation(budget, rid, tokens)
        return int(wait), _text(why)

    def settle(self, reservation: Reservation, tokens: int) -> None:
        """Replace the estimate by the ``tokens`` the API reported, counted from now."""
        self._settle(keys=self._keys(reservation.budget),
                     args=[reservation.id, max(0, tokens), self.window_ms, _IN_FLIGHT_MS])

    def keep(self, reservation: Reservation) -> None:
        """Count the estimate from now: the call may have been charged, usage unknown."""
        self.settle(reservation, reservation.tokens)

    def release(self, reservation: Reservation) -> None:
        """Give the reservation back: the provider did not charge the call (a 429)."""
        self._settle(keys=self._keys(reservation.budget),
                     args=[reservation.id, -1, self.window_ms, _IN_FLIGHT_MS])

    def cool_down(self, budget: Budget, wait_ms: int) -> None:
        """Make every reservation of ``budget`` wait at least ``wait_ms`` from now."""
        self._cool(keys=[f"{budget.key}:cool"], args=[max(1, int(wait_ms))])

    def snapshot(self, budget: Budget) -> Snapshot:
        """Calls and tokens counted in the current window (unexpired entries), and cooldown."""
        pipe = self.client.pipeline()
        pipe.zcard(f"{budget.key}:log")
        pipe.get(f"{budget.key}:sum")
        pipe.pttl(f"{budget.key}:cool")
        count, total, cool = pipe.execute()
        return Snapshot(int(count), int(total or 0), max(0, int(cool)))

    def _keys(self, budget: Budget, *, with_cool: bool = False) -> list[str]:
        keys = [f"{budget.key}:log", f"{budget.key}:tok", f"{budget.key}:sum"]
        return [*keys, f"{budget.key}:cool", f"{budget.key}:line"] if with_cool else keys


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
