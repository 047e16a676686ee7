"""Text helpers with no domain of their own: the comparable form of a tag, HTML to plain text.

The LLM layer, the SEO quality guide and the WordPress tag client all compare
tags and read post bodies the same way, so the rules live here, below all three.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Final

__all__ = ["normalise_tag", "plain_text"]

_SPACE: Final = re.compile(r"\s+")
_HTML_TAG: Final = re.compile(r"<[^>]+>")


def normalise_tag(tag: str) -> str:
    """The form two tags are compared in: NFC, trimmed, inner spaces collapsed, lower case."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", tag)).strip().lower()


def plain_text(content: str) -> str:
    """HTML (as WordPress stores a body) to plain text: tags dropped, entities decoded."""
    return _SPACE.sub(" ", html.unescape(_HTML_TAG.sub(" ", content))).strip()
