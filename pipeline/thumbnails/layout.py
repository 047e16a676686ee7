"""Fit a title into the thumbnail: the largest font size, wrapped lines, an ellipsis if needed.

The search tries every size from the largest down to the smallest
(:func:`~pipeline.thumbnails.spec.font_size_bounds`) and keeps the first one at
which the title wraps into at most :data:`~pipeline.thumbnails.spec.MAX_LINES`
lines inside :func:`~pipeline.thumbnails.spec.title_box`. Lines break at spaces
(Korean titles have them); a word wider than the box is broken between
characters. Past three lines at the smallest size, line 3 ends in "…".

Measuring text with ImageMagick costs ~0.3 ms a call, so the search works on
estimates: each character's advance is measured once per font (and cached for
the process) at :data:`REFERENCE_SIZE`, and scaled linearly. Only the lines of
the chosen size are measured exactly; if one is wider than the estimate said,
the search goes on at the next smaller size.

Text is measured and drawn unhinted (:func:`unhinted`): ImageMagick 6 opens
the font file afresh for every measurement and every line it draws, and its
default ("light") hinting runs FreeType's auto-hinter, whose per-font set-up
(a walk over the font's whole character map) is then redone each time. Hinted,
a line costs ~0.9 ms to measure and the three lines of a title ~8.5 ms to
draw; unhinted, ~0.3 ms and ~4.5 ms. Hinting snaps outlines to the pixel
grid, which matters for 10-px text, not for the 41-82 px of a title.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Protocol

from wand.drawing import Drawing
from wand.image import Image

from pipeline.thumbnails.spec import (
    MAX_LINES,
    ThumbSpec,
    font_size_bounds,
    line_height,
    title_box,
)

__all__ = [
    "ELLIPSIS",
    "REFERENCE_SIZE",
    "Layout",
    "TextMeasure",
    "WandMeasure",
    "fit_title",
    "layout_title",
    "unhinted",
]

ELLIPSIS: Final = "…"
#: Font size, in pixels, at which character advances are measured and cached.
REFERENCE_SIZE: Final = 100
#: Advances cached per process before the cache is emptied (a font's whole
#: Hangul block is 11,172 syllables; titles use a few hundred of them).
_ADVANCE_CACHE_MAX: Final = 20_000
_advances: dict[tuple[str, str], float] = {}
_advances_lock = threading.Lock()
#: Font ascender and descender per (font, size), in pixels; a few dozen sizes per font.
_verticals: dict[tuple[str, int], tuple[float, float]] = {}


def unhinted(image: Any) -> None:
    """Make ImageMagick measure and draw text on ``image`` without glyph hinting.

    Measuring and drawing must agree, so every Wand image that text is
    measured against or drawn on goes through here. The setting is an image
    property ImageMagick reads at each text call; encoders do not write it.
    """
    image.metadata["type:hinting"] = "off"


@dataclass(frozen=True)
class Layout:
    """A fitted title: its font size, in pixels, and its lines (empty for an empty title)."""

    font_size: int
    lines: tuple[str, ...]

    @property
    def line_height(self) -> int:
        """Baseline-to-baseline distance, in pixels."""
        return line_height(self.font_size)

    @property
    def truncated(self) -> bool:
        """Whether the title was cut and ends in an ellipsis."""
        return bool(self.lines) and self.lines[-1].endswith(ELLIPSIS)


class TextMeasure(Protocol):
    """How the layout measures text; one implementation per drawing library."""

    def advance(self, char: str) -> float:
        """Advance of one character at :data:`REFERENCE_SIZE`, in pixels."""

    def width(self, text: str, size: int) -> float:
        """Exact width of a line of text at ``size``, in pixels."""


class WandMeasure:
    """Measures with ImageMagick's font metrics; use it as a context manager."""

    def __init__(self, font: Path) -> None:
        self._font = str(font)
        self._image: Image | None = None
        self._drawing: Drawing | None = None

    def __enter__(self) -> WandMeasure:
        # Metrics need an image to measure against; 1x1 is enough.
        self._image = Image(width=1, height=1)
        unhinted(self._image)
        self._drawing = Drawing()
        self._drawing.font = self._font
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._drawing is not None:
            self._drawing.destroy()
        if self._image is not None:
            self._image.close()
        self._drawing = self._image = None

    def advance(self, char: str) -> float:
        """Advance of ``char`` at :data:`REFERENCE_SIZE`, cached per font for the process."""
        key = (self._font, char)
        cached = _advances.get(key)
        if cached is not None:
            return cached
        value = self.width(char, REFERENCE_SIZE)
        with _advances_lock:
            if len(_advances) >= _ADVANCE_CACHE_MAX:
                _advances.clear()
            _advances[key] = value
        return value

    def width(self, text: str, size: int) -> float:
        """Exact width of ``text`` at ``size``, from ``Drawing.get_font_metrics``."""
        return float(self._metrics(text, size).text_width)

    def vertical(self, size: int) -> tuple[float, float]:
        """The font's ascender and descender (negative) at ``size``, in pixels, cached."""
        key = (self._font, size)
        cached = _verticals.get(key)
        if cached is None:
            # Font-wide values: the text measured does not change them.
            metrics = self._metrics("M", size)
            cached = _verticals[key] = (float(metrics.ascender), float(metrics.descender))
        return cached

    def _metrics(self, text: str, size: int) -> Any:
        if self._image is None or self._drawing is None:
            raise RuntimeError("WandMeasure is used outside its with block")
        self._drawing.font_size = size
        return self._drawing.get_font_metrics(self._image, text)


def layout_title(title: str, spec: ThumbSpec) -> Layout:
    """Fit ``title`` into ``spec``'s title box with ``spec.font``, measured by ImageMagick."""
    with WandMeasure(spec.font) as measure:
        return fit_title(title, spec, measure)


def fit_title(title: str, spec: ThumbSpec, measure: TextMeasure) -> Layout:
    """Fit ``title`` into ``spec``'s title box, measuring with ``measure``.

    Exposed so a reference renderer (bench/) can run the same search with
    another library's metrics.
    """
    words = title.split()
    largest, smallest = font_size_bounds(spec)
    if not words:
        return Layout(largest, ())
    box = title_box(spec)
    for size in range(largest, smallest - 1, -1):
        lines = _wrap(words, size, box.width, measure, limit=MAX_LINES + 1)
        if len(lines) > MAX_LINES or len(lines) * line_height(size) > box.height:
            continue
        if all(measure.width(line, size) <= box.width for line in lines):
            return Layout(size, tuple(lines))
    # Nothing fits at a larger size: the smallest size, cut to MAX_LINES with an ellipsis.
    lines = _wrap(words, smallest, box.width, measure, limit=MAX_LINES + 1)
    cut = len(lines) > MAX_LINES
    kept = [_fit_line(line, smallest, box.width, measure, ellipsis=cut and i == MAX_LINES - 1)
            for i, line in enumerate(lines[:MAX_LINES])]
    return Layout(smallest, tuple(kept))


def _estimate(text: str, size: int, measure: TextMeasure) -> float:
    """Estimated width of ``text`` at ``size``: the scaled sum of character advances."""
    return sum(measure.advance(c) for c in text) * size / REFERENCE_SIZE


def _wrap(words: Sequence[str], size: int, max_width: int, measure: TextMeasure,
          limit: int) -> list[str]:
    """Greedy word wrap on estimated widths; stops once ``limit`` lines are known."""
    lines: list[str] = []
    current = ""
    for word in words:
        if _estimate(word, size, measure) > max_width:
            # One word wider than the box (a long compound, a URL): break it
            # between characters rather than let it run past the margin.
            if current:
                lines.append(current)
            *full, current = _break_word(word, size, max_width, measure)
            lines.extend(full)
        else:
            candidate = f"{current} {word}" if current else word
            if _estimate(candidate, size, measure) <= max_width:
                current = candidate
            else:
                lines.append(current)
                current = word
        if len(lines) >= limit:
            return lines
    if current:
        lines.append(current)
    return lines


def _break_word(word: str, size: int, max_width: int, measure: TextMeasure) -> list[str]:
    """Split one over-long word into pieces that each fit ``max_width`` (estimated)."""
    pieces: list[str] = []
    piece = ""
    for char in word:
        if piece and _estimate(piece + char, size, measure) > max_width:
            pieces.append(piece)
            piece = char
        else:
            piece += char
    pieces.append(piece)
    return pieces


def _fit_line(line: str, size: int, max_width: int, measure: TextMeasure,
              ellipsis: bool) -> str:
    """``line`` (plus "…" if asked), shortened from the end until it measures within bounds."""
    text = line.rstrip()
    suffix = ELLIPSIS if ellipsis else ""
    while text:
        excess = measure.width(text + suffix, size) - max_width
        if excess <= 0:
            break
        # Drop as many characters as the excess is wide (at least one), so a
        # long overflow costs a few measurements, not one per character.
        per_char = max(1.0, _estimate(text[-1], size, measure))
        text = text[:-max(1, int(excess // per_char))].rstrip()
        suffix = ELLIPSIS  # a shortened line always shows that it was cut
    return text + suffix
