"""The monthly GA4 report: one self-contained HTML file with its charts embedded.

``report(root, "2025-01")`` reads the newest snapshot whose period ends in that
month, and the one of the month before, under ``<root>/ga4_scores/`` and writes
``<root>/ga4_reports/2025-01.html``: tier distribution (this month against
the last), top movers and decliners by score, score against views, decaying
posts and the paths that are no post. Charts are PNGs drawn with matplotlib
in the configured Korean font (``Ga4Config.report_font``) and embedded as
``data:`` URIs, so the file opens from disk in any browser, with no server
and nothing fetched. Headings are Korean (the analysts' language) with the
English term beside them.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from pipeline.ga4.config import Ga4Config
from pipeline.ga4.errors import ReportError
from pipeline.ga4.score import TIERS
from pipeline.ga4.snapshot import SnapshotDir, load_paths, load_snapshot

__all__ = ["REPORT_DIR", "TIER_COLOURS", "TIER_LABELS", "report", "tier_chart"]

#: Directory under the doclog root for the monthly reports.
REPORT_DIR: Final = "ga4_reports"
#: Korean names of the tiers, as the report shows them.
TIER_LABELS: Final = {"promote": "승격", "keep": "유지", "refresh": "보강", "prune": "정리",
                      "insufficient-data": "데이터 부족"}
#: One colour per tier (the charts and the table use the same).
TIER_COLOURS: Final = {"promote": "#2e7d32", "keep": "#1565c0", "refresh": "#ef6c00",
                       "prune": "#c62828", "insufficient-data": "#9e9e9e"}
_REASONS: Final = {"home": "홈 (home)", "archive": "목록 (archive)", "page": "페이지 (page)",
                   "not_set": "(not set)", "other": "(other)", "no_post": "글 없음 (no post)"}
_TOP: Final = 10


def _font_name(font: Path) -> str:
    """Register ``font`` with matplotlib and return its family name; ReportError without Hangul."""
    from matplotlib import font_manager, ft2font

    if not font.is_file():
        raise ReportError(f"the report font {font} does not exist; install fonts-nanum "
                          "(apt-get install fonts-nanum) or set the GA4 report font to a "
                          "TrueType font with Hangul")
    if ft2font.FT2Font(str(font)).get_char_index(ord("한")) == 0:
        raise ReportError(f"the report font {font} has no Hangul: the charts would show "
                          "boxes; use a Korean font such as NanumGothic")
    font_manager.fontManager.addfont(str(font))
    return str(font_manager.FontProperties(fname=str(font)).get_name())


def _png(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)  # type: ignore[attr-defined]
    return buffer.getvalue()


def _rc(font: Path) -> Any:
    # NanumGothic has no U+2212 MINUS SIGN: negative tick labels would be boxes.
    return {"font.family": _font_name(font), "axes.unicode_minus": False,
            "svg.fonttype": "none"}


def tier_chart(counts: dict[str, int], previous: dict[str, int] | None, font: Path,
               title: str = "등급 분포 (Tier distribution)") -> bytes:
    """A PNG bar chart of posts per tier, this month (and last month beside it)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc(font)):
        figure = Figure(figsize=(7.0, 3.4))
        axes = figure.subplots()
        x = np.arange(len(TIERS))
        width = 0.38 if previous is not None else 0.6
        if previous is not None:
            axes.bar(x - width / 2, [previous.get(t, 0) for t in TIERS], width,
                     color="#cfd8dc", label="지난달 (last month)")
        bars = axes.bar(x + (width / 2 if previous is not None else 0),
                        [counts.get(t, 0) for t in TIERS], width,
                        color=[TIER_COLOURS[t] for t in TIERS], label="이번 달 (this month)")
        axes.bar_label(bars, padding=2)
        axes.set_xticks(x, [TIER_LABELS[t] for t in TIERS])
        axes.set_ylabel("글 수 (posts)")
        axes.set_title(title)
        axes.legend(loc="upper right", frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        return _png(figure)


def _movers_chart(movers: pd.DataFrame, font: Path) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc(font)):
        figure = Figure(figsize=(7.0, 0.45 * max(len(movers), 2) + 1.2))
        axes = figure.subplots()
        labels = [_short(t) for t in movers["title"]]
        change = movers["change"].to_numpy(dtype=float)
        axes.barh(np.arange(len(movers)), change,
                  color=["#2e7d32" if c >= 0 else "#c62828" for c in change])
        axes.set_yticks(np.arange(len(movers)), labels)
        axes.invert_yaxis()
        axes.axvline(0, color="#455a64", linewidth=0.8)
        axes.set_xlabel("점수 변화 (score change vs last month)")
        axes.set_title("상승·하락 글 (Top movers and decliners)")
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        return _png(figure)


def _scatter_chart(table: pd.DataFrame, font: Path) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc(font)):
        figure = Figure(figsize=(7.0, 4.0))
        axes = figure.subplots()
        for tier in TIERS[:-1]:
            part = table[table["tier"] == tier]
            if not part.empty:
                axes.scatter(part["views"].clip(lower=1), part["score"], s=18, alpha=0.8,
                             color=TIER_COLOURS[tier], label=TIER_LABELS[tier])
        axes.set_xscale("log")
        axes.set_xlabel("조회수 (views, log scale)")
        axes.set_ylabel("점수 (score)")
        axes.set_ylim(0, 100)
        axes.set_title("점수와 조회수 (Score vs views)")
        axes.legend(loc="lower right", frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        return _png(figure)


def _tier(value: object) -> str:
    return TIER_LABELS.get(str(value), str(value))


def _short(title: str, limit: int = 22) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def _img(png: bytes, alt: str, chart_id: str) -> str:
    data = base64.b64encode(png).decode()
    return (f'<img id="{chart_id}" class="chart" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{data}">')


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(header)}">없음 (none)</td></tr>'
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _numbers(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column in ("score", "views", "previous_score"):
        out[column] = pd.to_numeric(out[column].replace("", np.nan), errors="coerce")
    return out


def _month(month: str) -> tuple[int, int]:
    try:
        day = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ReportError(f"month {month!r} is not YYYY-MM (e.g. 2025-01)") from None
    return day.year, day.month


def report(root: Path, month: str, config: Ga4Config | None = None, *,
           out: Path | None = None) -> Path:
    """Write the report of ``month`` (``YYYY-MM``) and return its path.

    ReportError when the month has no snapshot or the font cannot draw Hangul.
    """
    config = config or Ga4Config()
    year, number = _month(month)
    snapshots = SnapshotDir(root)
    day = snapshots.latest_for_month(year, number)
    if day is None:
        raise ReportError(f"no GA4 snapshot of a period ending in {month} under "
                          f"{snapshots.directory}; score a {month} export first")
    before = dt.date(year, number, 1) - dt.timedelta(days=1)
    previous_day = snapshots.latest_for_month(before.year, before.month)
    now = _numbers(load_snapshot(snapshots.path(day)))
    then = _numbers(load_snapshot(snapshots.path(previous_day))) if previous_day else None
    paths = load_paths(root, day)
    font = config.report_font

    counts = {t: int((now["tier"] == t).sum()) for t in TIERS}
    last = {t: int((then["tier"] == t).sum()) for t in TIERS} if then is not None else None
    charts = [_img(tier_chart(counts, last, font), "등급 분포 (tier distribution)", "tiers")]

    movers_html = "<p>지난달 스냅샷이 없어 비교할 수 없습니다 (no snapshot of last month).</p>"
    if then is not None:
        joined = now.merge(then[["post_id", "score", "tier"]], on="post_id",
                           suffixes=("", "_then"))
        joined = joined[joined["score"].notna() & joined["score_then"].notna()].copy()
        joined["change"] = (joined["score"] - joined["score_then"]).round(2)
        up = joined.sort_values(["change", "post_id"], ascending=[False, True]).head(_TOP)
        up = up[up["change"] > 0]
        down = joined.sort_values(["change", "post_id"], ascending=[True, True]).head(_TOP)
        down = down[down["change"] < 0]
        header = ["글 (post)", "제목 (title)", "지난달 (then)", "이번 달 (now)", "변화 (change)",
                  "등급 (tier)"]

        def rows(part: pd.DataFrame) -> list[list[object]]:
            return [[r.post_id, r.title, f"{r.score_then:.2f}", f"{r.score:.2f}",
                     f"{r.change:+.2f}",
                     f"{_tier(r.tier_then)} → {_tier(r.tier)}"] for r in part.itertuples()]

        movers_html = ("<h3>상승 (top movers)</h3>" + _table(header, rows(up), "movers")
                       + "<h3>하락 (top decliners)</h3>" + _table(header, rows(down), "decliners"))
        both = pd.concat([up, down])
        if not both.empty:
            charts.append(_img(_movers_chart(both, font), "상승·하락 (movers)", "movers-chart"))
    scored = now[now["score"].notna()]
    if not scored.empty:
        charts.append(_img(_scatter_chart(scored, font), "점수와 조회수 (score vs views)",
                           "scatter"))

    decaying = now[now["decaying"] == "yes"]
    decaying_rows = [[r.post_id, r.title, r.decay, r.reach_share, r.score_change,
                      _tier(r.tier)] for r in decaying.itertuples()]
    unmatched = paths[paths["reason"] != "merged"].head(20)
    unmatched_rows = [[r.path, _REASONS.get(str(r.reason), str(r.reason)), r.views, r.variants]
                      for r in unmatched.itertuples()]
    tier_rows = [[TIER_LABELS[t], t, counts[t], "" if last is None else last[t]] for t in TIERS]
    period = f"{now['period_start'].iat[0]} ~ {now['period_end'].iat[0]}" if len(now) else ""
    weights = ", ".join(f"{k} {v:g}" for k, v in config.weights.items())
    body = f"""
<h1>GA4 월간 리포트 {html.escape(month)} <small>(GA4 monthly report)</small></h1>
<p class="meta">스냅샷 (snapshot) {day.isoformat()} · 기간 (period) {html.escape(period)} ·
지난달 (last month) {previous_day.isoformat() if previous_day else "없음 (none)"} ·
글 {len(now)}개 (posts)</p>
<h2>등급 분포 (Tier distribution)</h2>
{_table(["등급", "tier", "이번 달 (now)", "지난달 (then)"], tier_rows, "tiers")}
{charts[0]}
<h2>상승·하락 (Movers vs last month)</h2>
{movers_html}
{"".join(c for c in charts[1:] if 'id="movers-chart"' in c)}
<h2>점수와 조회수 (Score vs views)</h2>
{"".join(c for c in charts[1:] if 'id="scatter"' in c) or "<p>없음 (none)</p>"}
<h2>하락 중인 글 (Decaying posts)</h2>
{_table(["글 (post)", "제목 (title)", "정도 (decay)", "조회 비율 (reach share)",
         "점수 변화 (score change)", "등급 (tier)"], decaying_rows, "decaying")}
<h2>글이 아닌 경로 (Paths that are no post)</h2>
{_table(["경로 (path)", "이유 (reason)", "조회수 (views)", "변형 (variants)"], unmatched_rows,
        "unmatched")}
<p class="meta">점수 = 구성 요소 백분위의 가중합 (score = weighted sum of percentiles): {weights};
승격 ≥ {config.promote_score:g}, 보강 ≤ {config.refresh_score:g}, 정리 ≤ {config.prune_score:g}.</p>
"""
    document = f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8">
<title>GA4 월간 리포트 {html.escape(month)}</title>
<style>
body {{ font-family: "NanumGothic", "Nanum Gothic", "Noto Sans KR", "Malgun Gothic",
       sans-serif; margin: 2em auto; max-width: 60em; color: #263238; }}
h1 small, .meta {{ color: #607d8b; font-size: 0.85em; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1em; }}
th, td {{ border: 1px solid #cfd8dc; padding: 0.25em 0.6em; text-align: left; }}
th {{ background: #eceff1; }}
img.chart {{ display: block; max-width: 100%; margin: 0.5em 0 1.5em; }}
</style></head>
<body>{body}
<script>
window.addEventListener("load", function () {{
  var images = Array.prototype.slice.call(document.images);
  document.body.setAttribute("data-charts-loaded", String(images.length > 0 &&
    images.every(function (i) {{ return i.complete && i.naturalWidth > 0; }})));
}});
</script>
</body></html>
"""
    target = out or root / REPORT_DIR / f"{month}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(document, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
