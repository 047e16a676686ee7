"""SEO automation: the quality guide every answer must pass, proposals, and writes.

:mod:`pipeline.seo.quality` (re-exported here) holds the guide and needs
nothing but the LLM layer's answer types; :mod:`pipeline.seo.store` and
:mod:`pipeline.seo.automation` (Redis, WordPress) are imported from their
modules, so checking an answer loads neither (the guide uses only the pure
port of WordPress's sanitising, :mod:`pipeline.wordpress.sanitize`). This
package imports no Dramatiq.
"""

from pipeline.seo.quality import (
    DEFAULT_BANNED_WORDS,
    RULES,
    QualityGuide,
    Violation,
    check,
    feedback,
    has_keyword,
)

__all__ = [
    # Quality guide
    "DEFAULT_BANNED_WORDS",
    "RULES",
    "QualityGuide",
    "Violation",
    "check",
    "feedback",
    "has_keyword",
]
