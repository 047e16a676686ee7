"""Featured-image thumbnails: a Korean title on a darkened background, rendered with Wand.

    spec = ThumbSpec(background=Path(...), font=Path(...), fmt="webp")
    write_atomic(out_dir / "123.webp", render_thumbnail(title, spec))
"""

from __future__ import annotations

# Rendering
from pipeline.thumbnails.background import clear_background_cache

# Layout
from pipeline.thumbnails.layout import ELLIPSIS, Layout, fit_title, layout_title
from pipeline.thumbnails.render import RenderError, render_thumbnail, write_atomic

# Spec and geometry
from pipeline.thumbnails.spec import FORMATS, MAX_LINES, Box, ThumbSpec, title_box

__all__ = [
    "ELLIPSIS",
    "FORMATS",
    "MAX_LINES",
    "Box",
    "Layout",
    "RenderError",
    "ThumbSpec",
    "clear_background_cache",
    "fit_title",
    "layout_title",
    "render_thumbnail",
    "title_box",
    "write_atomic",
]
