"""What an approver sees of a proposal: the post's values NOW, beside what is proposed.

``atr seo review`` reads each post live from WordPress (``context=edit``), so a
hand edit made after the proposal is visible, and so is a post retitled or
edited since (the proposal is then not applied, see
:func:`pipeline.seo.automation.apply_proposal`). What cannot be read live is
said, never shown as empty: the SEO meta keys WordPress does not list (the
must-use plugin is missing), or WordPress itself (unreachable, credentials
refused); the values as of proposal time are then shown, marked so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.seo.automation import current_fields, post_changes, protected_fields
from pipeline.seo.store import Proposal, SeoFields, Written
from pipeline.wordpress import MU_PLUGIN, Bridge, BridgeError, get_post
from pipeline.wordpress.seo_meta import missing_seo_keys

__all__ = ["LiveReview", "review_live"]


@dataclass(frozen=True)
class LiveReview:
    """A proposal beside its post as it is now (``live``) or as it was (``note`` says why)."""

    proposal: Proposal
    #: The post's values: read now when ``live``, else those recorded with the proposal.
    current: SeoFields
    live: bool
    #: Fields a person edited (kept when applied unless ``force``).
    protected: tuple[str, ...]
    #: How the post changed since the proposal (empty: it still fits); approval is refused.
    changes: tuple[str, ...] = ()
    #: Meta keys WordPress does not list: their values cannot be read (nor written).
    unreadable: tuple[str, ...] = ()
    #: Why the values are not live, or what is wrong with them ('' when all is well).
    note: str = ""

    def to_json(self) -> dict[str, object]:
        """JSON-clean values (the ``now`` object of ``atr seo review --json``)."""
        return {"live": self.live, "current": self.current.to_json(),
                "protected": list(self.protected), "changes": list(self.changes),
                "unreadable": list(self.unreadable), "note": self.note}


def review_live(proposals: list[Proposal], bridge: Bridge | None, plugin: str,
                written: Callable[[int], Written | None], *,
                offline_note: str = "") -> list[LiveReview]:
    """A :class:`LiveReview` of each proposal, reading its post through ``bridge``.

    ``bridge`` None (not configured) shows every proposal as of proposal time
    with ``offline_note``. After the first failure to reach WordPress the
    other posts are not tried (the same wait would repeat for each).
    """
    reviews: list[LiveReview] = []
    for proposal in proposals:
        if bridge is None:
            reviews.append(_as_proposed(proposal, offline_note))
            continue
        try:
            post = get_post(bridge, proposal.post_id)
            live = current_fields(bridge, post, plugin)
        except BridgeError as exc:
            reviews.append(_as_proposed(proposal, f"WordPress could not be read: {exc}"))
            if exc.status is None or exc.status >= 500 or exc.status in (401, 403):
                offline_note = f"WordPress could not be read for post {proposal.post_id}"
                bridge = None
            continue
        mine = written(proposal.post_id)
        unreadable = tuple(missing_seo_keys(post, plugin))
        note = (f"WordPress does not list {', '.join(unreadable)}: the must-use plugin "
                f"{MU_PLUGIN} is not installed (or broken) on the site, so the current "
                "values cannot be read and approval will fail until it is installed"
                if unreadable else "")
        reviews.append(LiveReview(
            proposal, live, True,
            protected_fields(live, mine.values if mine else None, proposal.proposed),
            post_changes(proposal, post), unreadable, note))
    return reviews


def _as_proposed(proposal: Proposal, note: str) -> LiveReview:
    return LiveReview(proposal, proposal.current, False, proposal.protected,
                      note=f"{note}; values shown as of the proposal ({proposal.created})")
