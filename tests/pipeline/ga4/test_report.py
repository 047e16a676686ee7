"""The monthly report: a self-contained HTML file, rendered by headless Chromium in Korean."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from pipeline.ga4 import Ga4Config, ReportError, score_files
from pipeline.ga4.report import TIER_COLOURS, report, tier_chart
from pipeline.ga4.snapshot import SnapshotDir, write_snapshot
from tests.pipeline.ga4.conftest import DATA, POSTS

CHROMIUM = Path("/usr/bin/chromium")
NANUM = Ga4Config().report_font
DEJAVU = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def december_export(tmp_path: Path) -> Path:
    """December 2024: the same site, 제주 (103) with twice the views, 여수 (109) with fewer."""
    text = (DATA / "pages_and_screens_ko.csv").read_text(encoding="utf-8-sig")
    text = text.replace("20250101", "20241201").replace("20250131", "20241231")
    text = text.replace('/제주-한-달-살기/,"2,450","1,300"', '/제주-한-달-살기/,"4,900","2,600"')
    text = text.replace('/여수-밤바다/,420,400', '/여수-밤바다/,"1,420",900')
    path = tmp_path / "december.csv"
    path.write_text(text, encoding="utf-8-sig")
    return path


@pytest.fixture
def two_months(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    december = score_files([december_export(tmp_path)], list(POSTS))
    write_snapshot(december, root, dt.date(2025, 1, 2))
    january = score_files([DATA / "pages_and_screens_en.csv"], list(POSTS),
                          previous=SnapshotDir(root))
    assert january.previous_day == dt.date(2025, 1, 2)
    write_snapshot(january, root, dt.date(2025, 2, 1))
    return root


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--no-proxy-server", f"--user-data-dir={profile}"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")
    return subprocess.run([str(CHROMIUM), *flags, *args], capture_output=True, text=True,
                          timeout=90, check=False)


def _blobs(png: bytes, top: float, bottom: float) -> list[Image.Image]:
    """The glyphs of a text band of a chart: ink columns split at empty columns."""
    image = Image.open(io.BytesIO(png)).convert("L")
    band = image.crop((0, int(image.height * top), image.width, int(image.height * bottom)))
    ink = band.point(lambda v: 255 if v < 128 else 0)
    columns = [any(ink.getpixel((x, y)) for y in range(ink.height)) for x in range(ink.width)]
    runs, start = [], None
    for x, on in enumerate([*columns, False]):
        if on and start is None:
            start = x
        elif not on and start is not None:
            runs.append(ink.crop((start, 0, x, ink.height)))
            start = None
    return runs


def test_the_charts_draw_hangul_not_tofu_boxes() -> None:
    title = "가 나 다 라 마 바"
    png = tier_chart({"promote": 3}, None, NANUM, title=title)
    korean = _blobs(png, 0.0, 0.09)
    assert len(korean) >= 6
    assert len({blob.tobytes() for blob in korean}) >= 5  # six different glyphs
    # The control: the same title in a font without Hangul is six identical boxes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph ... missing from font(s) DejaVu Sans"
        figure = Figure(figsize=(7.0, 3.4))
        figure.suptitle(title, fontproperties=matplotlib.font_manager.FontProperties(
            fname=str(DEJAVU)), y=0.97)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110)
    tofu = _blobs(buffer.getvalue(), 0.0, 0.09)
    assert len(tofu) == 6 and len({blob.tobytes() for blob in tofu}) == 1


def test_a_font_without_hangul_is_refused(two_months: Path) -> None:
    with pytest.raises(ReportError, match="has no Hangul"):
        report(two_months, "2025-01", Ga4Config(report_font=DEJAVU))
    with pytest.raises(ReportError, match="no GA4 snapshot of a period ending in 2024-07"):
        report(two_months, "2024-07")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_the_report_in_headless_chromium(two_months: Path, tmp_path: Path) -> None:
    path = report(two_months, "2025-01")
    assert path == two_months / "ga4_reports" / "2025-01.html"
    text = path.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 3

    dom = _chromium(tmp_path / "p-dom", "--dump-dom", path.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert 'data-charts-loaded="true"' in page  # every embedded chart decoded
    assert "GA4 월간 리포트 2025-01" in page
    # Tiers this month against last month: 제주 (103) left promote, 여수 (109) fell to refresh.
    assert "<td>승격</td><td>promote</td><td>1</td><td>2</td>" in page
    assert "<td>보강</td><td>refresh</td><td>3</td><td>1</td>" in page
    decliners = page.split('class="decliners"')[1].split("</table>")[0]
    assert decliners.index("<td>109</td><td>여수 밤바다 산책</td><td>33.33</td><td>18.00</td>"
                           "<td>-15.33</td><td>유지 → 보강</td>") > 0  # the first decliner
    # 제주 (103) kept its score but lost half its views per day: decaying, severe.
    decaying = page.split('class="decaying"')[1].split("</table>")[0]
    assert ("<td>103</td><td>제주 한 달 살기, 비용 정리</td><td>severe</td><td>0.5000</td>"
            in decaying)
    assert "<td>105</td>" not in decaying  # new in December: no baseline to decay from
    unmatched = page.split('class="unmatched"')[1].split("</table>")[0]
    assert "<td>/old-deleted-post/</td><td>글 없음 (no post)</td><td>77</td>" in unmatched

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "ga4_report.png"
    shot.unlink(missing_ok=True)
    done = _chromium(tmp_path / "p-shot", f"--screenshot={shot}", "--window-size=1100,2600",
                     "--hide-scrollbars", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    # The heading (Korean text in HTML) has ink in the top band.
    pixels = np.asarray(image)
    assert int((pixels[:120].sum(axis=2) < 200).sum()) > 300
    # The tier chart is on screen: bars in the promote and refresh colours.
    colours = {tuple(int(TIER_COLOURS[t][i:i + 2], 16) for i in (1, 3, 5))
               for t in ("promote", "refresh")}
    seen = {c for c in colours if bool((pixels == np.array(c, dtype=np.uint8)).all(axis=2).any())}
    assert seen == colours
