"""Render a featured-image thumbnail with Wand, and write files atomically.

:func:`render_thumbnail` returns the encoded bytes and never writes: a denied
or failed encode must not leave a 0-byte file behind (DESIGN.md §5), so the
caller writes with :func:`write_atomic`. Every Wand image is closed by a
``with`` block; leaked images spill to /tmp and end in ``CacheError``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from wand.color import Color
from wand.drawing import Drawing

from pipeline.errors import RenderError
from pipeline.thumbnails.background import prepared_background
from pipeline.thumbnails.layout import Layout, WandMeasure, fit_title, unhinted
from pipeline.thumbnails.spec import ThumbSpec, title_box
from pipeline.thumbnails.title import drawable_title

__all__ = ["RenderError", "ThumbSpec", "render_thumbnail", "write_atomic"]


def render_thumbnail(title: str, spec: ThumbSpec) -> bytes:
    """The thumbnail for ``title`` as ``spec.fmt`` bytes (JPEG or WebP), ``spec`` sized.

    ``title`` is the post's title as WordPress stores it: what is drawn is
    :func:`~pipeline.thumbnails.title.drawable_title` (entities decoded once,
    characters the font cannot draw, such as emoji, dropped).

    The background is cover-cropped and darkened; the title is drawn in white,
    centred, at the largest size that fits in three lines (see
    :func:`~pipeline.thumbnails.layout.layout_title`). An empty title gives
    the bare darkened background.

    Raises :class:`RenderError` for a missing font or a missing/unreadable
    background. ``wand.exceptions.PolicyError`` (the ImageMagick policy denies
    reading the background's coder or writing ``spec.fmt``) passes through
    unchanged for the ImageMagick middleware to explain. Font *coverage* is
    not checked here: a Latin-only font silently drops Hangul, which is why
    the worker's preflight checks it once at boot.
    """
    if not spec.font.is_file():
        # ImageMagick would silently fall back to its default font.
        raise RenderError(f"thumbnail font {spec.font} does not exist; set ATR_THUMB_FONT "
                          "to a single-face Korean font file (e.g. "
                          "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf)")
    with WandMeasure(spec.font) as measure:
        layout = fit_title(drawable_title(title, spec.font), spec, measure)
        vertical = measure.vertical(layout.font_size)
    with prepared_background(spec.background, spec.width, spec.height) as image:
        if layout.lines:
            _draw_title(image, layout, vertical, spec)
        image.format = spec.fmt
        image.compression_quality = spec.quality
        blob: bytes | None = image.make_blob()
    if not blob:
        raise RenderError(f"ImageMagick encoded an empty {spec.fmt} image for {spec.background}; "
                          "run `atr imagemagick check` to see whether the policy allows it")
    return blob


def _draw_title(image: Any, layout: Layout, vertical: tuple[float, float],
                spec: ThumbSpec) -> None:
    """Draw the lines centred in the title box, white, at ``layout.font_size``.

    ``vertical`` is the font's (ascender, descender) at that size: the font's
    (not the glyphs') extent centres the block the same way whatever the words.
    """
    box = title_box(spec)
    ascender, descender = vertical
    block = (len(layout.lines) - 1) * layout.line_height + (ascender - descender)
    top = box.top + (box.height - block) / 2
    centre = box.left + box.width // 2
    unhinted(image)  # as the layout measured the lines
    with Drawing() as draw:
        draw.font = str(spec.font)
        draw.font_size = layout.font_size
        draw.fill_color = Color("white")
        draw.text_alignment = "center"
        draw.text_antialias = True
        for index, line in enumerate(layout.lines):
            # annotate() measures the line, then draws it; Drawing.text() plus
            # draw() would measure it a second time while parsing the drawing.
            image.annotate(line, draw, centre, round(top + ascender + index * layout.line_height))


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The bytes go to a temporary file in the same directory, are fsynced, and
    replace ``path`` with ``os.replace`` (atomic on POSIX); the directory is
    fsynced so the rename survives a crash. On any failure the temporary file
    is removed and ``path`` is left as it was. Empty ``data`` is refused: a
    0-byte image is always a bug upstream.
    """
    if not data:
        raise ValueError(f"refusing to write 0 bytes to {path}")
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp's 0600 would hide the image from the web server
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
