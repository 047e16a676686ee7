"""The thumbnail renderer, judged on the pixels, sizes and files a user would see."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from wand.image import Image

from pipeline.errors import PermanentError
from pipeline.thumbnails import (
    ELLIPSIS,
    MAX_LINES,
    RenderError,
    ThumbSpec,
    clear_background_cache,
    layout_title,
    render_thumbnail,
    title_box,
    write_atomic,
)
from pipeline.thumbnails.layout import WandMeasure
from pipeline.thumbnails.spec import font_size_bounds

ROOT = Path(__file__).resolve().parents[2]
BACKGROUND = ROOT / "ops" / "assets" / "thumb-bg.jpg"
NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

TITLE = "워드프레스 자동화 파이프라인의 대표 이미지를 한국어로 만드는 방법 정리"
HANGUL_ONLY = "한국어 제목 썸네일"
LONG_TITLE = " ".join(["검색엔진 최적화를 위한 워드프레스 글쓰기 전략"] * 6)

needs_nanum = pytest.mark.skipif(not NANUM.is_file(), reason="fonts-nanum is not installed")
needs_dejavu = pytest.mark.skipif(not DEJAVU.is_file(), reason="fonts-dejavu-core is not installed")


@pytest.fixture(autouse=True)
def _fresh_background_cache() -> None:
    """Each test decodes its own backgrounds (tmp_path files reuse names across tests)."""
    clear_background_cache()


@pytest.fixture
def spec() -> ThumbSpec:
    """The default 1200x630 JPEG spec on the shipped background."""
    return ThumbSpec(background=BACKGROUND, font=NANUM)


@pytest.fixture
def black_background(tmp_path: Path) -> Path:
    """A plain black 1600x900 PNG: any bright pixel in a render is title ink."""
    path = tmp_path / "black.png"
    with Image(width=1600, height=900, pseudo="xc:black") as image:
        image.save(filename=str(path))
    return path


def pixels(blob: bytes) -> np.ndarray:
    """The image's RGB pixels as a (height, width, 3) uint8 array."""
    with Image(blob=blob) as image:
        flat = image.export_pixels(channel_map="RGB", storage="char")
        return np.asarray(flat, dtype=np.uint8).reshape(image.height, image.width, 3)


def ink_rows_and_cols(blob: bytes, threshold: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Indices of rows and columns holding a bright (text) pixel."""
    mask = pixels(blob).max(axis=2) > threshold
    return np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))


def bands(rows: np.ndarray) -> int:
    """How many separate horizontal bands (text lines) the inked rows form."""
    return 0 if rows.size == 0 else 1 + int(np.count_nonzero(np.diff(rows) > 1))


# --- size and format -------------------------------------------------------------------


@needs_nanum
@pytest.mark.parametrize(("fmt", "magic", "wand_format"), [
    ("jpeg", b"\xff\xd8\xff", "JPEG"),
    ("webp", b"RIFF", "WEBP"),
])
@pytest.mark.parametrize(("width", "height"), [(1200, 630), (800, 800)])
def test_output_has_the_requested_size_and_format(
        fmt: str, magic: bytes, wand_format: str, width: int, height: int) -> None:
    spec = ThumbSpec(background=BACKGROUND, font=NANUM, width=width, height=height, fmt=fmt)
    blob = render_thumbnail(TITLE, spec)
    assert blob.startswith(magic)
    if fmt == "webp":
        assert blob[8:12] == b"WEBP"
    with Image(blob=blob) as image:
        assert (image.format, image.width, image.height) == (wand_format, width, height)


# --- what is drawn ---------------------------------------------------------------------


@needs_nanum
def test_title_area_differs_from_the_bare_background(spec: ThumbSpec) -> None:
    with_title = pixels(render_thumbnail(TITLE, spec)).astype(np.int16)
    bare = pixels(render_thumbnail("", spec)).astype(np.int16)
    box = title_box(spec)
    inside = np.abs(with_title - bare)[box.top:box.bottom, box.left:box.right].max(axis=2)
    # White text on a background darkened to at most 45%: many pixels change a lot.
    assert np.count_nonzero(inside > 100) > 0.05 * inside.size
    assert with_title[box.top:box.bottom, box.left:box.right].mean() > \
        bare[box.top:box.bottom, box.left:box.right].mean() + 10
    # Outside the title box only JPEG noise differs.
    outside = np.abs(with_title - bare)[: box.top // 2].max(axis=2)
    assert outside.max() < 24


@needs_nanum
def test_overlay_darkens_the_background(spec: ThumbSpec, tmp_path: Path) -> None:
    white = tmp_path / "white.png"
    with Image(width=1600, height=900, pseudo="xc:white") as image:
        image.save(filename=str(white))
    bare = pixels(render_thumbnail("", ThumbSpec(background=white, font=NANUM)))
    # Dark enough for white text to keep a 4.5:1 contrast ratio on any background.
    assert 100 < bare.mean() < 130


@needs_nanum
@needs_dejavu
def test_hangul_is_drawn_only_by_a_font_that_covers_it(black_background: Path) -> None:
    """Why the preflight checks coverage: a Latin-only font drops Hangul without an error."""
    nanum = ThumbSpec(background=black_background, font=NANUM)
    dejavu = ThumbSpec(background=black_background, font=DEJAVU)
    nanum_ink = (pixels(render_thumbnail(HANGUL_ONLY, nanum)).max(axis=2) > 96).sum()
    dejavu_ink = (pixels(render_thumbnail(HANGUL_ONLY, dejavu)).max(axis=2) > 96).sum()
    assert nanum_ink > 5_000
    assert dejavu_ink < nanum_ink / 100


@needs_nanum
@pytest.mark.parametrize("title", [TITLE, LONG_TITLE, "짧은 제목",
                                   "초장문단어" * 12 + " 끝",
                                   "Featured images for a Korean WordPress site, rendered " * 3])
def test_title_ink_stays_inside_the_margins_in_at_most_three_lines(
        title: str, black_background: Path) -> None:
    spec = ThumbSpec(background=black_background, font=NANUM)
    rows, cols = ink_rows_and_cols(render_thumbnail(title, spec))
    box = title_box(spec)
    assert rows.size and cols.size
    assert box.top <= rows.min() and rows.max() < box.bottom
    assert box.left <= cols.min() and cols.max() < box.right
    assert 1 <= bands(rows) <= MAX_LINES


@needs_nanum
def test_the_shipped_background_is_small_and_full_size() -> None:
    assert BACKGROUND.stat().st_size < 150_000
    with Image(filename=str(BACKGROUND)) as image:
        assert (image.format, image.width, image.height) == ("JPEG", 1600, 900)


@needs_nanum
def test_replacing_the_background_file_takes_effect(tmp_path: Path) -> None:
    path = tmp_path / "bg.png"
    for colour, expected in (("xc:black", 0), ("xc:white", 115)):
        with Image(width=320, height=200, pseudo=colour) as image:
            image.save(filename=str(path))
        os.utime(path, ns=(0, 10**9 * (expected + 1)))  # distinct mtimes, even within 1 s
        blob = render_thumbnail("", ThumbSpec(background=path, font=NANUM))
        assert abs(pixels(blob).mean() - expected) < 3


# --- layout ----------------------------------------------------------------------------


@needs_nanum
def test_a_short_title_gets_the_largest_size_on_one_line(spec: ThumbSpec) -> None:
    layout = layout_title("짧은 제목", spec)
    assert layout.lines == ("짧은 제목",)
    assert layout.font_size == font_size_bounds(spec)[0]
    assert not layout.truncated


@needs_nanum
def test_lines_break_at_spaces_and_keep_every_word_in_order(spec: ThumbSpec) -> None:
    layout = layout_title(TITLE, spec)
    assert 1 < len(layout.lines) <= MAX_LINES
    assert " ".join(layout.lines).split() == TITLE.split()


@needs_nanum
def test_too_long_a_title_ends_in_an_ellipsis_at_the_smallest_size(spec: ThumbSpec) -> None:
    layout = layout_title(LONG_TITLE, spec)
    assert layout.font_size == font_size_bounds(spec)[1]
    assert len(layout.lines) == MAX_LINES
    assert layout.lines[-1].endswith(ELLIPSIS) and layout.truncated
    shown = " ".join(layout.lines).removesuffix(ELLIPSIS).split()
    # Every word shown is the title's, in order; only the last one may be cut short.
    assert shown[:-1] == LONG_TITLE.split()[: len(shown) - 1]


@needs_nanum
@pytest.mark.parametrize("title", [LONG_TITLE, "초장문단어" * 12 + " 끝", "가" * 200])
def test_every_line_measures_within_the_title_box(title: str, spec: ThumbSpec) -> None:
    layout = layout_title(title, spec)
    box = title_box(spec)
    with WandMeasure(spec.font) as measure:
        widths = [measure.width(line, layout.font_size) for line in layout.lines]
    assert len(layout.lines) <= MAX_LINES
    assert max(widths) <= box.width


@needs_nanum
def test_a_word_wider_than_the_box_is_broken_between_characters(spec: ThumbSpec) -> None:
    word = "초장문단어" * 12
    layout = layout_title(word, spec)
    assert len(layout.lines) > 1
    assert "".join(layout.lines) == word


@needs_nanum
def test_an_empty_title_has_no_lines(spec: ThumbSpec) -> None:
    assert layout_title("  \n ", spec).lines == ()


# --- bad inputs ------------------------------------------------------------------------


@needs_nanum
def test_a_missing_background_is_a_permanent_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jpg"
    with pytest.raises(RenderError, match="ATR_BG_PATH") as caught:
        render_thumbnail(TITLE, ThumbSpec(background=missing, font=NANUM))
    assert str(missing) in str(caught.value)
    assert isinstance(caught.value, PermanentError)


@needs_nanum
def test_an_unreadable_background_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "bg.jpg"
    junk.write_bytes(b"this is not an image\n" * 10)
    with pytest.raises(RenderError, match="not a readable image") as caught:
        render_thumbnail(TITLE, ThumbSpec(background=junk, font=NANUM))
    assert str(junk) in str(caught.value)


def test_a_missing_font_is_refused_instead_of_falling_back(tmp_path: Path) -> None:
    missing = tmp_path / "NoSuchFont.ttf"
    with pytest.raises(RenderError, match="ATR_THUMB_FONT") as caught:
        render_thumbnail(TITLE, ThumbSpec(background=BACKGROUND, font=missing))
    assert str(missing) in str(caught.value)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(RenderError, match="ATR_THUMB_FORMAT"):
        ThumbSpec(background=BACKGROUND, font=NANUM, fmt="png")


# --- write_atomic ----------------------------------------------------------------------


def test_write_atomic_writes_the_whole_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "1.jpg"
    write_atomic(target, b"new image")
    assert target.read_bytes() == b"new image"
    assert [p.name for p in tmp_path.iterdir()] == ["1.jpg"]


@pytest.mark.parametrize("failing", ["replace", "fsync"])
@pytest.mark.parametrize("previous", [b"old image", None])
def test_a_failed_write_leaves_the_previous_file_or_none(
        failing: str, previous: bytes | None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "1.jpg"
    if previous is not None:
        target.write_bytes(previous)

    def disk_fault(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, disk_fault)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, b"new image")
    monkeypatch.undo()
    if previous is None:
        assert list(tmp_path.iterdir()) == []
    else:
        assert target.read_bytes() == previous
        assert [p.name for p in tmp_path.iterdir()] == ["1.jpg"]


def test_write_atomic_refuses_empty_data(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="0 bytes"):
        write_atomic(tmp_path / "1.jpg", b"")
    assert list(tmp_path.iterdir()) == []
