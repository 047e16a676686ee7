"""What a thumbnail looks like: its inputs, size, format and the title's geometry.

Every number that decides where the title may go lives here, so the renderer,
the layout and the tests agree on one box.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple

from pipeline.errors import RenderError

__all__ = [
    "FORMATS",
    "MAX_LINES",
    "Box",
    "ThumbSpec",
    "font_size_bounds",
    "line_height",
    "title_box",
]

#: Output formats the renderer writes (the ImageMagick coder names, lower case).
FORMATS: Final = ("jpeg", "webp")
#: A title never takes more lines than this; the rest is cut with an ellipsis.
MAX_LINES: Final = 3
#: Horizontal and vertical margins, as fractions of the width and the height.
_MARGIN_X: Final = 0.08
_MARGIN_Y: Final = 0.10
#: Largest and smallest title sizes, as fractions of the height (82 and 41 px at 630).
_MAX_SIZE: Final = 0.13
_MIN_SIZE: Final = 0.065
#: Baseline-to-baseline distance, as a multiple of the font size.
_LINE_SPACING: Final = 1.25


@dataclass(frozen=True)
class ThumbSpec:
    """One thumbnail's inputs and output: background, font, size in pixels, format, quality."""

    background: Path
    font: Path
    width: int = 1200
    height: int = 630
    fmt: str = "jpeg"  # or "webp"
    quality: int = 85

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise RenderError(f"thumbnail format {self.fmt!r} is not supported; "
                              f"use one of {', '.join(FORMATS)} (ATR_THUMB_FORMAT)")
        if self.width < 64 or self.height < 64:
            raise RenderError(f"thumbnail size {self.width}x{self.height} is too small; "
                              "use at least 64x64 pixels (ATR_THUMB_SIZE)")
        if not 1 <= self.quality <= 100:
            raise RenderError(f"thumbnail quality {self.quality} is out of range; "
                              "use 1 to 100")


class Box(NamedTuple):
    """A rectangle in pixels; ``right`` and ``bottom`` are exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        """Width, in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Height, in pixels."""
        return self.bottom - self.top


def title_box(spec: ThumbSpec) -> Box:
    """The area the title's ink must stay inside: the image less its margins."""
    mx = round(spec.width * _MARGIN_X)
    my = round(spec.height * _MARGIN_Y)
    return Box(mx, my, spec.width - mx, spec.height - my)


def font_size_bounds(spec: ThumbSpec) -> tuple[int, int]:
    """The largest and smallest title font sizes tried for this spec, in pixels."""
    largest = max(12, round(spec.height * _MAX_SIZE))
    smallest = max(10, min(largest, round(spec.height * _MIN_SIZE)))
    return largest, smallest


def line_height(font_size: int) -> int:
    """Baseline-to-baseline distance for a font size, in pixels."""
    return round(font_size * _LINE_SPACING)
