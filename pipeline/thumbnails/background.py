"""The thumbnail's background: the image cover-cropped to the size and darkened for the title.

Decoding, resizing and darkening a 1600x900 JPEG is most of a render's cost
and gives the same pixels every time, so each process keeps the last few
prepared backgrounds and hands out clones (ImageMagick clones share pixels
until written). The cache key includes the file's mtime and size: replacing
the background file takes effect at the next render.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Final

from wand.color import Color
from wand.exceptions import PolicyError, WandException
from wand.image import Image

from pipeline.errors import RenderError

__all__ = ["OVERLAY_FACTOR", "clear_background_cache", "prepared_background"]

#: Every channel is multiplied by this. On a pure white background the result
#: is rgb(115,115,115), on which white text still has a 4.7:1 contrast ratio
#: (WCAG AA asks 4.5:1), so any background keeps the title readable.
OVERLAY_FACTOR: Final = 0.45
#: Prepared backgrounds kept per process (one per background and size in use).
_CACHE_SIZE: Final = 4

_Key = tuple[str, int, int, int, int]
_cache: OrderedDict[_Key, Any] = OrderedDict()
_cache_lock = threading.Lock()


def prepared_background(path: Path, width: int, height: int) -> Any:
    """A new Wand ``Image`` of ``path`` cover-cropped to ``width`` x ``height`` and darkened.

    The caller owns the returned image and must close it (use ``with``).
    Raises :class:`RenderError` when the file is missing or not an image;
    ``wand.exceptions.PolicyError`` passes through unchanged so the
    ImageMagick middleware can explain the denial.
    """
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise RenderError(f"thumbnail background {path} cannot be read ({exc.strerror}); "
                          "set ATR_BG_PATH to an existing JPEG, PNG or WebP file") from exc
    key = (str(path), stat.st_mtime_ns, stat.st_size, width, height)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached.clone()
    prepared = _prepare(path, width, height)
    with _cache_lock:
        _cache[key] = prepared
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _key, evicted = _cache.popitem(last=False)
            evicted.close()
        # Cloned under the lock: an eviction by another thread cannot close it mid-clone.
        return prepared.clone()


def clear_background_cache() -> None:
    """Close and forget every prepared background (benchmarks and tests use it)."""
    with _cache_lock:
        while _cache:
            _key, image = _cache.popitem()
            image.close()


def _prepare(path: Path, width: int, height: int) -> Any:
    """Decode ``path``, cover-crop it to the size and darken it; the caller owns the result."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RenderError(f"thumbnail background {path} cannot be read ({exc.strerror}); "
                          "set ATR_BG_PATH to a readable JPEG, PNG or WebP file") from exc
    try:
        image = Image(blob=data)
    except PolicyError:
        raise
    except WandException as exc:
        raise RenderError(f"thumbnail background {path} is not a readable image ({exc}); "
                          "set ATR_BG_PATH to a JPEG, PNG or WebP file") from exc
    try:
        _cover(image, width, height)
    except BaseException:
        image.close()
        raise
    return image


def _cover(image: Any, width: int, height: int) -> None:
    """Normalise, scale and centre-crop ``image`` in place to exactly ``width`` x ``height``."""
    if len(image.sequence) > 1:
        # An animated GIF or a multi-page file: only the first frame is the background.
        for _ in range(len(image.sequence) - 1):
            del image.sequence[-1]
    image.auto_orient()  # phone photos carry their rotation in EXIF
    if image.colorspace != "srgb":
        image.transform_colorspace("srgb")
    if image.alpha_channel:
        image.background_color = "black"
        image.alpha_channel = "remove"
    scale = max(width / image.width, height / image.height)
    new_w = max(width, math.ceil(image.width * scale))
    new_h = max(height, math.ceil(image.height * scale))
    if scale < 1:
        # scale() averages each output pixel's exact area of the source (as
        # Pillow's BOX filter does): right for shrinking, and ~35% faster than
        # resize() with a box filter (12 vs 20 ms for 1600x900 -> 1200x675).
        image.scale(new_w, new_h)
    elif (new_w, new_h) != (image.width, image.height):
        # Enlarging a small background needs interpolation; triangle is the cheap one.
        image.resize(new_w, new_h, filter="triangle")
    image.crop(width=width, height=height, gravity="center")
    image.reset_coords()
    # Darken: colorize() towards black by (1 - factor) multiplies every colour
    # channel by the factor in one pass over the pixels. Same result as
    # evaluate("multiply") (to +-1 in 8 bits) at half the cost here (3.5 vs
    # 7 ms), and ~4x cheaper than compositing a translucent black layer.
    percent = f"{(1 - OVERLAY_FACTOR) * 100:g}%"
    image.colorize(color=Color("black"), alpha=Color(f"rgb({percent},{percent},{percent})"))
    image.depth = 8
    image.strip()
