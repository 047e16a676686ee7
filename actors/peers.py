"""What a job does when a peer it uses (WordPress) is down or refuses our configuration.

Called by the actor wrapper (:mod:`actors.base`) around every actor:

- **outage** (:class:`~pipeline.errors.OutageError`: refused, timed out, 5xx):
  the message is deferred, 30 s doubling to 30 min, without using a retry,
  for as long as the peer's outage budget (``ATR_WP_OUTAGE_BUDGET_S``, 6 h by
  default) since this message first met the outage; past the budget the
  error goes to Dramatiq's retries as usual (5 more tries, then the
  dead-letter queue). ``options["outage_since_ms"]`` and ``["outages"]`` on
  the message keep the count across deliveries.
- **misconfiguration** (:class:`~pipeline.errors.PeerMisconfigured`: 401,
  403, a wrong ``BRIDGE_BASE``): the peer's pause flag is set
  (:mod:`pipeline.pause`) and the message deferred; while the flag is set,
  every job that declares the peer (``job(uses=("wordpress",))``) defers its
  messages before doing anything, and one message a minute probes the peer
  (:func:`pipeline.wordpress.posts.check_access`): a probe that succeeds clears
  the flag. ``atr pause clear wordpress`` clears it by hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Final

from dramatiq.middleware import CurrentMessage

from middleware.runtime import current
from pipeline.errors import AtrError, ConfigError, Deferred, OutageError, PeerMisconfigured
from pipeline.pause import PAUSE_PEERS, Pause, PauseStore

__all__ = ["OUTAGES_OPTION", "OUTAGE_SINCE_OPTION", "check_pauses", "on_misconfigured",
           "on_outage"]

logger = logging.getLogger(__name__)

#: Message option: when (epoch ms) this message first met the peer's outage.
OUTAGE_SINCE_OPTION: Final = "outage_since_ms"
#: Message option: how many times this message was deferred for an outage.
OUTAGES_OPTION: Final = "outages"
#: First wait after an outage, in milliseconds; doubled each time up to the maximum.
OUTAGE_FIRST_DELAY_MS: Final = 30_000
OUTAGE_MAX_DELAY_MS: Final = 30 * 60_000
#: How long a message of a paused job waits before it looks again, in milliseconds.
PAUSED_DELAY_MS: Final = 60_000


def check_peers(uses: Iterable[str]) -> tuple[str, ...]:
    """``uses`` as a tuple; ConfigError naming the peers a job can declare."""
    peers = tuple(uses)
    unknown = [p for p in peers if p not in PAUSE_PEERS]
    if unknown:
        raise ConfigError(f"unknown peer(s) {unknown} in uses=: use {', '.join(PAUSE_PEERS)}")
    return peers


def check_pauses(uses: tuple[str, ...], actor_name: str) -> None:
    """Deferred when a peer of ``uses`` is paused and a probe (if due) does not clear it.

    A probe that clears the pause is logged with ``actor_name``, whose message probed.
    """
    if not uses:
        return
    store = PauseStore(current().redis)
    for peer in uses:
        pause = store.get(peer)
        if pause is None:
            continue
        if store.claim_probe(peer) and _probe(store, peer):
            logger.warning("%s jobs resume: a probe by a %s message succeeded, pause "
                           "cleared (was: %s).", peer, actor_name, pause.reason)
            continue
        raise _paused(pause)


def on_misconfigured(exc: PeerMisconfigured, actor_name: str) -> Deferred:
    """Pause ``exc.peer``'s jobs with the error as reason; the Deferred for this message."""
    pause = PauseStore(current().redis).pause(exc.peer, str(exc), actor_name)
    logger.warning("%s jobs are paused (messages wait, none is dead-lettered): %s; fix it, "
                   "then `atr pause clear %s` (a successful probe also clears it).",
                   exc.peer, exc, exc.peer)
    return _paused(pause)


def on_outage(exc: OutageError) -> Deferred | None:
    """The Deferred that waits out ``exc``'s outage, or None once the budget is spent."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return None
    budget_ms = _outage_budget_s(exc.peer) * 1000
    now = int(time.time() * 1000)
    options = message.options
    since = int(options.setdefault(OUTAGE_SINCE_OPTION, now))
    waited = now - since
    if waited >= budget_ms:
        return None
    count = int(options.get(OUTAGES_OPTION, 0))
    options[OUTAGES_OPTION] = count + 1
    # A producer's own back-off for this message (Dramatiq's options) applies here too.
    first = int(options.get("min_backoff") or OUTAGE_FIRST_DELAY_MS)
    most = int(options.get("max_backoff") or OUTAGE_MAX_DELAY_MS)
    delay = min(most, first * 2 ** min(count, 20), max(1, budget_ms - waited))
    return Deferred(f"{exc} (outage for {waited // 1000} s of the {budget_ms // 1000} s "
                    f"budget, ATR_WP_OUTAGE_BUDGET_S)", delay)


def _paused(pause: Pause) -> Deferred:
    message = CurrentMessage.get_current_message()
    # A producer's own back-off for this message (Dramatiq's option) applies here too.
    delay = int((message.options.get("min_backoff") if message is not None else None)
                or PAUSED_DELAY_MS)
    return Deferred(f"{pause.peer} jobs are paused since {pause.since}: {pause.reason}; "
                    f"fix it, then `atr pause clear {pause.peer}`", delay)


def _probe(store: PauseStore, peer: str) -> bool:
    """Probe ``peer`` once; True (and the flag cleared) when it answers as it should."""
    from pipeline.wordpress import Bridge, BridgeConfig
    from pipeline.wordpress.posts import check_access

    try:
        with Bridge(BridgeConfig.from_settings(current().settings)) as bridge:
            check_access(bridge)
    except AtrError as exc:
        store.record_probe(peer, str(exc))
        return False
    store.clear(peer)
    return True


def _outage_budget_s(peer: str) -> int:
    return current().settings.wp_outage_budget_s
