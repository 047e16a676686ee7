"""Ad modes per post from GA4 tiers: policy, quality floor, proposals, verified writes.

Domain code (no Dramatiq): the ``monetize`` actor reads the newest GA4
snapshot (:func:`latest_tiers`) and calls :func:`monetize`; ``atr ads``
shows the policy and the proposals and approves them.
"""

from pipeline.ads.meta import read_ad_mode, write_ad_mode
from pipeline.ads.monetize import AdsOutcome, monetize
from pipeline.ads.policy import AD_MODES, UNCHANGED, AdPolicy, Decision, word_count
from pipeline.ads.store import AdProposal, AdStore
from pipeline.ads.tiers import PostTier, Tiers, latest_tiers

__all__ = [
    "AD_MODES",
    "UNCHANGED",
    "AdPolicy",
    "AdProposal",
    "AdStore",
    "AdsOutcome",
    "Decision",
    "PostTier",
    "Tiers",
    "latest_tiers",
    "monetize",
    "read_ad_mode",
    "word_count",
    "write_ad_mode",
]
