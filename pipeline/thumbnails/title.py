"""What of a post's title a thumbnail draws: the title a reader sees, in glyphs the font has.

WordPress stores ``A & B "C"`` as ``A &amp; B &quot;C&quot;``: the entities
are decoded once (:func:`pipeline.text.post_title`), so the thumbnail shows
``&``, not ``&amp;``. ImageMagick draws a character the font has no glyph for
as a blank (an emoji in a Korean title left a hole and a double space). An
emoji font cannot fill in: IM6 draws a whole text in one font, and Debian's
fonts-noto-color-emoji (a CBDT colour bitmap font) drew, measured here with
Wand, white silhouettes at its one bitmap size (109 px) and nothing at any
other size. So such characters are dropped, with the emoji joiners and
variation selectors that only make sense beside them, and the spaces closed up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from pipeline.imagemagick.font import glyph_lookup
from pipeline.text import post_title

__all__ = ["drawable_title"]

# Zero-width joiner, variation selectors, skin-tone modifiers, tag characters,
# keycap: parts of emoji sequences, never drawn alone.
_EMOJI_PARTS: Final = re.compile("[\u200d\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff"
                                  "\U000e0020-\U000e007f]")
_SPACE: Final = re.compile(r"\s+")


def drawable_title(raw_title: str, font: Path) -> str:
    """``raw_title`` (as WordPress stores it) as the thumbnail draws it with ``font``."""
    title = _EMOJI_PARTS.sub("", post_title(raw_title))
    has_glyph = glyph_lookup(font)
    if has_glyph is not None:
        title = "".join(ch for ch in title if ch.isspace() or has_glyph(ord(ch)))
    return _SPACE.sub(" ", title).strip()
