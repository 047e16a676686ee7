"""Thumbnail rendering: the Wand renderer vs a Pillow reference, and memory over 500 renders.

(1) Median render time, Wand (``pipeline.thumbnails.render_thumbnail``) vs a
Pillow rendering of the same layout (same search, same geometry, same
overlay; Pillow lives in bench/ only), interleaved Wand, Pillow, Wand... with
a different title each round so no layout is reused. Two cases:

* ``cold``: both renderers decode, cover-crop and darken the background on
  every render (their background caches are emptied first);
* ``warm``: both keep the prepared background, as a worker does from its
  second render on.

Both encode with the same settings (JPEG: the spec's quality, 4:2:0 chroma
subsampling, optimised Huffman tables -- ImageMagick's default, ~1 ms more
than standard tables for ~13% smaller files, which a content site wants;
WebP: the spec's quality, method 4, no alpha); the median output sizes are
printed so a drift in settings shows.
What differs is what each library allows: Pillow keeps FreeType faces open
(``_pil_font``) while ImageMagick reopens the font for every text call, and
Pillow loads glyphs with FreeType's default (hinted) flags while the Wand
renderer draws unhinted (see ``pipeline.thumbnails.layout``), a difference
not visible at title sizes.

(2) 500 renders in one process, printing peak RSS (``ru_maxrss``) and current
RSS after 0, 100 and 500 renders, to show memory stays bounded.

    .venv/bin/python bench/thumbnails.py [--rounds N] [--renders N] [--font PATH]
                                         [--background PATH]

``MAGICK_THREAD_LIMIT`` defaults to 1 here, as in the worker environment.
"""

from __future__ import annotations

import os

# Set before ImageMagick initialises: the worker runs with one thread per render.
os.environ.setdefault("MAGICK_THREAD_LIMIT", "1")

import argparse
import io
import resource
import statistics
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Final

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from pipeline.thumbnails import ThumbSpec, clear_background_cache, render_thumbnail
from pipeline.thumbnails.background import OVERLAY_FACTOR
from pipeline.thumbnails.layout import REFERENCE_SIZE, Layout, fit_title
from pipeline.thumbnails.spec import title_box

_ROOT: Final = Path(__file__).resolve().parents[1]
_TARGET_RATIO: Final = 1.5
_TITLES: Final = (
    "워드프레스 자동화 파이프라인의 대표 이미지를 한국어로 만드는 방법 정리",
    "GA4 점수로 오래된 글을 다시 쓰는 주간 루틴",
    "검색엔진 최적화를 위한 워드프레스 글쓰기 전략 " * 4,
)


@lru_cache(maxsize=64)
def _pil_font(font: str, size: int) -> ImageFont.FreeTypeFont:
    """Pillow keeps no font cache of its own; a worker would keep one like this."""
    return ImageFont.truetype(font, size)


class _PillowMeasure:
    """The layout's TextMeasure with Pillow's metrics (advances cached like Wand's)."""

    _advances: ClassVar[dict[tuple[str, str], float]] = {}

    def __init__(self, font: Path) -> None:
        self._font = str(font)

    def advance(self, char: str) -> float:
        key = (self._font, char)
        if key not in self._advances:
            self._advances[key] = _pil_font(self._font, REFERENCE_SIZE).getlength(char)
        return self._advances[key]

    def width(self, text: str, size: int) -> float:
        return _pil_font(self._font, size).getlength(text)


_pil_backgrounds: dict[tuple[str, int, int], PILImage.Image] = {}
_DARKEN: Final = [round(v * OVERLAY_FACTOR) for v in range(256)] * 3


def _pil_background(path: Path, width: int, height: int) -> PILImage.Image:
    """Cover-crop and darken like pipeline.thumbnails.background, with a cache like it."""
    key = (str(path), width, height)
    cached = _pil_backgrounds.get(key)
    if cached is None:
        with PILImage.open(path) as source:
            source.draft("RGB", (width, height))
            rgb = source.convert("RGB")
        scale = max(width / rgb.width, height / rgb.height)
        size = (max(width, round(rgb.width * scale)), max(height, round(rgb.height * scale)))
        resample = PILImage.Resampling.BOX if scale < 1 else PILImage.Resampling.BILINEAR
        scaled = rgb.resize(size, resample)
        left, top = (size[0] - width) // 2, (size[1] - height) // 2
        cached = scaled.crop((left, top, left + width, top + height)).point(_DARKEN)
        _pil_backgrounds[key] = cached
    return cached.copy()


def pillow_render(title: str, spec: ThumbSpec) -> bytes:
    """The reference: the same layout search and geometry, drawn and encoded by Pillow."""
    layout: Layout = fit_title(title, spec, _PillowMeasure(spec.font))
    image = _pil_background(spec.background, spec.width, spec.height)
    if layout.lines:
        font = _pil_font(str(spec.font), layout.font_size)
        ascent, descent = font.getmetrics()
        box = title_box(spec)
        block = (len(layout.lines) - 1) * layout.line_height + ascent + descent
        top = box.top + (box.height - block) / 2
        draw = ImageDraw.Draw(image)
        for index, line in enumerate(layout.lines):
            y = round(top + ascent + index * layout.line_height)
            draw.text((box.left + box.width // 2, y), line, font=font, fill="white",
                      anchor="ms")
    out = io.BytesIO()
    if spec.fmt == "jpeg":
        # Pillow's defaults, spelled out: the Wand renderer is set to match them.
        image.save(out, "JPEG", quality=spec.quality, subsampling="4:2:0", optimize=True)
    else:
        image.save(out, "WEBP", quality=spec.quality, method=4)
    return out.getvalue()


def _clear_all() -> None:
    clear_background_cache()
    _pil_backgrounds.clear()


def _timed(render: Callable[[str, ThumbSpec], bytes], title: str, spec: ThumbSpec,
           cold: bool) -> tuple[float, int]:
    """One render's wall time, in milliseconds, and its output size, in bytes."""
    if cold:
        _clear_all()
    start = time.perf_counter()
    blob = render(title, spec)
    elapsed = (time.perf_counter() - start) * 1000
    if not blob:
        raise SystemExit("a renderer returned no bytes")
    return elapsed, len(blob)


def compare(spec: ThumbSpec, rounds: int, cold: bool) -> float:
    """Print both medians and their ratio for one case; return the ratio Wand/Pillow."""
    wand: list[tuple[float, int]] = []
    pillow: list[tuple[float, int]] = []
    _clear_all()
    for warm_up in _TITLES:  # load coders, fonts and character advances
        render_thumbnail(warm_up, spec)
        pillow_render(warm_up, spec)
    for n in range(rounds):
        title = f"{_TITLES[n % len(_TITLES)]} {n}"
        wand.append(_timed(render_thumbnail, title, spec, cold))
        pillow.append(_timed(pillow_render, title, spec, cold))
    wand_ms, pillow_ms = (statistics.median(ms for ms, _size in runs) for runs in (wand, pillow))
    wand_kb, pillow_kb = (statistics.median(size for _ms, size in runs) / 1000
                          for runs in (wand, pillow))
    ratio = wand_ms / pillow_ms
    print(f"{spec.fmt:<5} {'cold' if cold else 'warm':<5} "
          f"wand {wand_ms:7.1f} ms ({wand_kb:3.0f} kB)   "
          f"pillow {pillow_ms:7.1f} ms ({pillow_kb:3.0f} kB)   ratio {ratio:4.2f}x "
          f"({'meets' if ratio <= _TARGET_RATIO else 'misses'} <= {_TARGET_RATIO}x)")
    return ratio


def _rss_mib() -> tuple[float, float]:
    """(peak, current) resident set size of this process, in MiB."""
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/statm") as statm:
        current_pages = int(statm.read().split()[1])
    return peak_kib / 1024, current_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory(spec: ThumbSpec, renders: int) -> None:
    """Render ``renders`` thumbnails in this process and print RSS at 0, 100 and the end."""
    checkpoints = sorted({0, min(100, renders), renders})
    start = time.perf_counter()
    for n in range(renders + 1):
        if n in checkpoints:
            peak, current = _rss_mib()
            print(f"after {n:4d} renders: peak RSS {peak:6.1f} MiB, current RSS {current:6.1f} MiB")
        if n < renders:
            fmt = "webp" if n % 2 else "jpeg"
            render_thumbnail(f"{_TITLES[n % len(_TITLES)]} {n}",
                             ThumbSpec(spec.background, spec.font, fmt=fmt))
    print(f"{renders} renders (JPEG and WebP alternating) in {time.perf_counter() - start:.1f} s")


def main(argv: list[str] | None = None) -> int:
    """Run both benches and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="renders per renderer and case")
    parser.add_argument("--renders", type=int, default=500, help="renders for the RSS bench")
    parser.add_argument("--font", type=Path,
                        default=Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"))
    parser.add_argument("--background", type=Path, default=_ROOT / "ops/assets/thumb-bg.jpg")
    args = parser.parse_args(argv)
    print(f"MAGICK_THREAD_LIMIT={os.environ['MAGICK_THREAD_LIMIT']}, {os.cpu_count()} CPUs, "
          f"background {args.background}, {args.rounds} rounds each")
    # RSS first, so the "0 renders" line is a process that has rendered nothing.
    memory(ThumbSpec(args.background, args.font), args.renders)
    for fmt in ("jpeg", "webp"):
        spec = ThumbSpec(args.background, args.font, fmt=fmt)
        for cold in (True, False):
            compare(spec, args.rounds, cold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
