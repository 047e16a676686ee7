"""Check that a font file can draw Korean titles, by reading its ``cmap`` table.

Wand never complains about a font: a missing or unknown file falls back to a
default font, and a Latin-only font draws nothing for Hangul. Both leave a
thumbnail without its title, so the font is checked explicitly, before any
render (DESIGN.md section 5).

The check reads the character map of the TrueType/OpenType file directly (a
small reader, no fontconfig needed on the host): exact, and a few
milliseconds for a 4 MB font. Results are cached per path, size and mtime.
"""

from __future__ import annotations

import bisect
import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["HANGUL_SAMPLE", "FontReport", "check_font", "glyph_lookup"]

#: Characters a usable title font must have: common Hangul syllables, the
#: first and last of the block, and the Latin letters and digits titles mix in.
HANGUL_SAMPLE: Final = "가각나다라마바사아자차카타파하한국어제목뉴스의를은는이힣" + "AZaz09"
_HANGUL_BLOCK: Final = range(0xAC00, 0xD7A4)  # the 11,172 precomposed syllables
_SFNT_VERSIONS: Final = (b"\x00\x01\x00\x00", b"true", b"OTTO")
# cmap subtables worth reading, best first: (platform, encoding).
_UNICODE_SUBTABLES: Final = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0))


@dataclass(frozen=True)
class FontReport:
    """The outcome of :func:`check_font`: ``problem`` is None when the font is usable."""

    path: Path
    problem: str | None
    hangul_syllables: int = 0  # how many of the 11,172 the font covers

    @property
    def ok(self) -> bool:
        """True when the font exists and covers Hangul."""
        return self.problem is None


def check_font(path: Path) -> FontReport:
    """Whether ``path`` is a single-face TrueType/OpenType font that covers Hangul.

    ``problem`` says what is wrong without naming the setting: the caller adds
    which variable pointed here and the fix.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        return FontReport(path, f"cannot be read ({exc.strerror or exc})")
    if not path.is_file():
        return FontReport(path, "is not a file")
    return _check_cached(path, stat.st_size, stat.st_mtime_ns)


def glyph_lookup(path: Path) -> Callable[[int], bool] | None:
    """Whether the font at ``path`` has a glyph for a codepoint; None if it cannot be read."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _lookup_cached(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _lookup_cached(path: Path, size: int, mtime_ns: int) -> Callable[[int], bool] | None:
    try:
        data = path.read_bytes()
        if data[:4] not in _SFNT_VERSIONS:
            return None
        return _unicode_cmap(data)
    except (OSError, struct.error, ValueError):
        return None


@functools.lru_cache(maxsize=32)
def _check_cached(path: Path, size: int, mtime_ns: int) -> FontReport:
    """:func:`check_font` for one version of the file (size and mtime are the cache key)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FontReport(path, f"cannot be read ({exc.strerror or exc})")
    if data[:4] == b"ttcf":
        return FontReport(path, "is a font collection (.ttc): ImageMagick 6 draws with its "
                                "first face, which for Noto CJK is the Japanese one")
    if data[:4] not in _SFNT_VERSIONS:
        return FontReport(path, "is not a TrueType/OpenType font (.ttf/.otf)")
    try:
        cmap = _unicode_cmap(data)
    except (struct.error, ValueError) as exc:
        return FontReport(path, f"has an unreadable character map ({exc})")
    missing = [ch for ch in HANGUL_SAMPLE if not cmap(ord(ch))]
    covered = cmap.count(_HANGUL_BLOCK)
    if missing:
        return FontReport(path, f"has no glyph for {''.join(missing[:8])!r} "
                                f"({covered} of {len(_HANGUL_BLOCK)} Hangul syllables): "
                                "Korean titles would silently disappear", covered)
    return FontReport(path, None, covered)


def _unicode_cmap(data: bytes) -> _Lookup:
    """A codepoint -> has-a-glyph lookup from the best Unicode subtable of ``cmap``."""
    num_tables = struct.unpack_from(">H", data, 4)[0]
    cmap_offset = None
    for i in range(num_tables):
        tag, _checksum, offset, _length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if tag == b"cmap":
            cmap_offset = offset
    if cmap_offset is None:
        raise ValueError("no cmap table")
    count = struct.unpack_from(">H", data, cmap_offset + 2)[0]
    subtables: dict[tuple[int, int], int] = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap_offset + 4 + 8 * i)
        subtables.setdefault((platform, encoding), cmap_offset + offset)
    for key in _UNICODE_SUBTABLES:
        if key in subtables:
            start = subtables[key]
            fmt = struct.unpack_from(">H", data, start)[0]
            if fmt == 12:
                return _Format12(data, start)
            if fmt == 4:
                return _Format4(data, start)
    raise ValueError("no Unicode subtable of format 4 or 12")


class _Lookup:
    """Which codepoints a cmap subtable maps to a real glyph (glyph 0 is .notdef)."""

    def __call__(self, codepoint: int) -> bool:
        raise NotImplementedError

    def count(self, codepoints: range) -> int:
        """How many of ``codepoints`` have a glyph."""
        raise NotImplementedError


class _Format12(_Lookup):
    """Segmented coverage: sorted groups of (first, last, first glyph)."""

    def __init__(self, data: bytes, start: int) -> None:
        n_groups = struct.unpack_from(">I", data, start + 12)[0]
        self.groups: list[tuple[int, int, int]] = sorted(
            struct.unpack_from(">III", data, start + 16 + 12 * i) for i in range(n_groups))
        self.lasts = [last for _first, last, _glyph in self.groups]

    def __call__(self, codepoint: int) -> bool:
        i = bisect.bisect_left(self.lasts, codepoint)
        if i == len(self.groups):
            return False
        first, _last, glyph = self.groups[i]
        return first <= codepoint and glyph + codepoint - first != 0

    def count(self, codepoints: range) -> int:
        lo, hi = codepoints.start, codepoints.stop - 1
        return sum(max(0, min(last, hi) - max(first, lo) + 1)
                   for first, last, _glyph in self.groups)


class _Format4(_Lookup):
    """The BMP segment map (sorted by last codepoint, as the spec requires)."""

    def __init__(self, data: bytes, start: int) -> None:
        seg_count = struct.unpack_from(">H", data, start + 6)[0] // 2
        ends = start + 14
        starts = ends + 2 * seg_count + 2  # + reservedPad
        deltas = starts + 2 * seg_count
        self.range_offsets = deltas + 2 * seg_count
        self.data = data
        self.lasts: list[int] = list(struct.unpack_from(f">{seg_count}H", data, ends))
        self.firsts: list[int] = list(struct.unpack_from(f">{seg_count}H", data, starts))
        self.deltas: list[int] = list(struct.unpack_from(f">{seg_count}h", data, deltas))
        self.offsets: list[int] = list(struct.unpack_from(f">{seg_count}H", data,
                                                          self.range_offsets))

    def __call__(self, codepoint: int) -> bool:
        i = bisect.bisect_left(self.lasts, codepoint)
        if i == len(self.lasts) or codepoint < self.firsts[i]:
            return False
        return self._glyph(i, codepoint) != 0

    def _glyph(self, i: int, codepoint: int) -> int:
        if self.offsets[i] == 0:
            return (codepoint + self.deltas[i]) & 0xFFFF
        # idRangeOffset is relative to its own position in the array (spec).
        where = (self.range_offsets + 2 * i + self.offsets[i]
                 + 2 * (codepoint - self.firsts[i]))
        glyph: int = struct.unpack_from(">H", self.data, where)[0]
        return (glyph + self.deltas[i]) & 0xFFFF if glyph else 0

    def count(self, codepoints: range) -> int:
        total = 0
        for i, (first, last) in enumerate(zip(self.firsts, self.lasts, strict=True)):
            lo, hi = max(first, codepoints.start), min(last, codepoints.stop - 1)
            if lo <= hi:
                total += sum(1 for cp in range(lo, hi + 1) if self._glyph(i, cp))
        return total
