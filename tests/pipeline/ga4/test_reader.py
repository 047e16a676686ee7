"""Reading GA4 exports: every quirk of the web-UI CSV downloads and of runReport JSON.

Each test asserts what an analyst would see of the rows: the paths and their
views, users, engagement and key events, the period, and the one-line refusal.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.errors import PermanentError
from pipeline.ga4 import (
    ExportUnreadableError,
    NoPeriodError,
    NotAPageReportError,
    Period,
    read_export,
)
from tests.pipeline.ga4.conftest import DATA

JANUARY = Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
HEAD_EN = ("# ----------------------------------------\n"
           "# Pages and screens: Page path and screen class\n"
           "# Account: Seoulmake\n# Property: seoulmake.com - GA4\n"
           "# ----------------------------------------\n#\n# All Users\n"
           "# Start date: 20250101\n# End date: 20250131\n")


def rows(path: Path, **kwargs: object) -> dict[str, dict[str, float]]:
    """path -> {views, users, engagement_total_s, key_events, ...} of an export."""
    export = read_export(path, **kwargs)  # type: ignore[arg-type]
    table = export.table.set_index("path")
    return {str(k): {c: float(v) for c, v in row.items()} for k, row in table.iterrows()}


def write(tmp_path: Path, text: str, name: str = "export.csv", *, bom: bool = True,
          crlf: bool = False, encoding: str = "utf-8") -> Path:
    if crlf:
        text = text.replace("\n", "\r\n")
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def test_english_download_comment_block_chart_and_totals_row() -> None:
    export = read_export(DATA / "pages_and_screens_en.csv")
    assert export.language == "en"
    assert export.period == JANUARY
    assert (export.report_name, export.account, export.ga_property) == (
        "Pages and screens: Page path and screen class", "Seoulmake", "seoulmake.com - GA4")
    # The 'Nth day' series (155 rows, with page paths in it) is not counted.
    assert export.ignored_tables == ("a 'Nth day' chart",)
    assert export.totals_rows == 1
    assert export.rows == 24
    assert float(export.table["views"].sum()) == 31_419  # the totals row is not counted twice
    got = rows(DATA / "pages_and_screens_en.csv")
    assert got["/서울-여행-코스/"]["views"] == 5210
    assert got["/서울-여행-코스/"]["users"] == 3120
    # Average engagement per active user becomes a total: 95.4 s x 3,120 users.
    assert got["/서울-여행-코스/"]["engagement_total_s"] == pytest.approx(95.4 * 3120)
    assert got["/서울-여행-코스/"]["key_events"] == 41


def test_korean_download_reads_the_same_rows_as_the_english_one() -> None:
    korean = read_export(DATA / "pages_and_screens_ko.csv")
    assert korean.language == "ko"
    assert korean.period == JANUARY
    assert korean.report_name == "페이지 및 화면: 페이지 경로 및 화면 클래스"
    assert korean.ignored_tables == ("a 'N일' chart",)
    assert rows(DATA / "pages_and_screens_ko.csv") == rows(DATA / "pages_and_screens_en.csv")


def test_2023_labels_users_conversions_and_a_total_row() -> None:
    # Users / Views per user / Average engagement time / Conversions, LF, 'Total' row,
    # and an extra column (Unique user scrolls) that is ignored.
    export = read_export(DATA / "pages_and_screens_2023_en.csv")
    assert export.totals_rows == 1
    assert export.available == frozenset({"users", "engagement", "key_events"})
    old = rows(DATA / "pages_and_screens_2023_en.csv")
    new = rows(DATA / "pages_and_screens_en.csv")
    assert {p: (r["views"], r["users"], r["key_events"]) for p, r in old.items()} == \
        {p: (r["views"], r["users"], r["key_events"]) for p, r in new.items()}


def test_a_page_title_report_is_refused_in_one_line_naming_the_column() -> None:
    with pytest.raises(NotAPageReportError) as caught:
        read_export(DATA / "pages_and_screens_by_title_en.csv")
    message = str(caught.value)
    assert "\n" not in message
    assert "not a GA4 page report" in message
    assert "Page path and screen class" in message and "페이지 경로 및 화면 클래스" in message
    assert "'Page title and screen class' table" in message
    assert isinstance(caught.value, PermanentError)  # rejected, never retried


def test_a_korean_page_title_report_is_refused_too(tmp_path: Path) -> None:
    path = write(tmp_path, "# 시작일: 20250101\n# 종료일: 20250131\n"
                 "페이지 제목 및 화면 클래스,조회수,활성 사용자\n서울 여행,10,5\n")
    with pytest.raises(NotAPageReportError, match="'페이지 제목 및 화면 클래스' table"):
        read_export(path)


def test_a_page_table_without_views_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD_EN + "Page path and screen class,Active users\n/a/,5\n")
    with pytest.raises(NotAPageReportError, match=r"no Views \(조회수\) column"):
        read_export(path)


def test_crlf_quoted_thousands_quoted_path_with_commas_unknown_columns(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD_EN
                 + "Page path and screen class,Views,Active users,Some new column,Key events\n"
                 + ',"1,240,000","900,001",x,7\n'
                 + '"/a/?q=서울,부산",\"1,234,567\",\"1,000\",whatever,3\n'
                 + '/b/,12,3,,4\n', crlf=True)
    got = rows(path)
    assert set(got) == {"/a/?q=서울,부산", "/b/"}  # the totals row is gone
    assert got["/a/?q=서울,부산"]["views"] == 1_234_567
    assert got["/a/?q=서울,부산"]["users"] == 1000
    assert got["/b/"]["key_events"] == 4


@pytest.mark.parametrize("label", ["", "Total", "Totals", "합계", "총계"])
def test_totals_row_labels(tmp_path: Path, label: str) -> None:
    path = write(tmp_path, HEAD_EN + "Page path and screen class,Views\n"
                 f"{label},30\n/a/,10\n/b/,20\n")
    export = read_export(path)
    assert export.totals_rows == 1
    assert sorted(export.table["path"]) == ["/a/", "/b/"]


def test_percent_strings_and_durations(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD_EN
                 + "Page path and screen class,Views,Users,Sessions,Engagement rate,"
                 "Average engagement time\n"
                 "/a/,100,50,80,52.5%,1m 02s\n/b/,10,10,10,10%,1분 5초\n/c/,10,10,10,0%,00:00:30\n")
    got = rows(path)
    # A rate is kept as rate x sessions so that merged rows re-weight it.
    assert got["/a/"]["engaged_w"] == pytest.approx(0.525 * 80)
    assert got["/a/"]["rate_w"] == 80
    assert got["/a/"]["engagement_total_s"] == pytest.approx(62 * 50)
    assert got["/b/"]["engagement_total_s"] == pytest.approx(65 * 10)
    assert got["/c/"]["engagement_total_s"] == pytest.approx(30 * 10)


def test_bounce_rate_stands_in_for_engagement_rate(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD_EN + "페이지 경로,조회수,이탈률\n/a/,100,40%\n")
    assert rows(path)["/a/"]["engaged_w"] == pytest.approx(0.6 * 100)


def test_the_reports_own_table_wins_over_a_bar_chart_of_top_pages(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD_EN + "Page path and screen class,Views\n/a/,100\n\n"
                 "Page path and screen class,Views,Active users,Key events\n"
                 "/a/,100,50,1\n/b/,40,30,0\n")
    export = read_export(path)
    assert sorted(export.table["path"]) == ["/a/", "/b/"]
    assert export.notes == ("the page table at line 10 was ignored (a chart)",)


def test_a_comment_block_between_tables_without_blank_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD_EN + "Nth day,Views\n0000,5\n0001,6\n"
                 "# ----------------------------------------\n"
                 "Page path and screen class,Views\n/a/,11\n")
    assert rows(path)["/a/"]["views"] == 11


def test_a_cell_that_is_no_number_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD_EN + "Page path and screen class,Views\n/a/,10\n/b/,ten\n")
    with pytest.raises(ExportUnreadableError) as caught:
        read_export(path)
    assert str(caught.value) == (
        f"{path} line 12: Views (조회수) is 'ten', not a number; download the report again "
        "from GA4 (do not edit it in a spreadsheet)")


def test_a_csv_resaved_by_korean_excel_in_cp949(tmp_path: Path) -> None:
    path = write(tmp_path, "# 시작일: 20250101\n# 종료일: 20250131\n"
                 "페이지 경로 및 화면 클래스,조회수\n/서울/,5\n", bom=False, encoding="cp949")
    assert rows(path) == {"/서울/": {"views": 5.0, "users": 0.0, "engagement_total_s": 0.0,
                                     "key_events": 0.0, "sessions": 0.0, "engaged_w": 0.0,
                                     "rate_w": 0.0}}


def test_binary_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\x80\x81\xff\xfe\x00" * 3)
    with pytest.raises(ExportUnreadableError):
        read_export(path)


def test_no_period_anywhere_is_refused_and_a_file_name_or_argument_gives_one(
        tmp_path: Path) -> None:
    text = "Page path and screen class,Views\n/a/,1\n"
    with pytest.raises(NoPeriodError, match="no report period"):
        read_export(write(tmp_path, text, "pages.csv"))
    named = write(tmp_path, text, "pages_20250101-20250131.csv")
    assert read_export(named).period == JANUARY
    assert read_export(write(tmp_path, text, "p.csv"), period=JANUARY).period == JANUARY
    with pytest.raises(NoPeriodError, match=r"the file covers 2025-01-01\.\.2025-01-31"):
        read_export(named, period=Period(dt.date(2025, 2, 1), dt.date(2025, 2, 28)))


def test_runreport_json_every_value_a_string_engagement_rate_a_fraction() -> None:
    export = read_export(DATA / "runreport_20250101-20250131.json")
    assert (export.kind, export.language, export.period) == ("runreport", "api", JANUARY)
    assert export.row_count == 24
    got = rows(DATA / "runreport_20250101-20250131.json")
    seoul = got["/서울-여행-코스/"]
    assert (seoul["views"], seoul["users"], seoul["key_events"]) == (5210, 3120, 41)
    # userEngagementDuration is a total already; engagementRate 0.45.. is a fraction.
    assert seoul["engagement_total_s"] == round(95.4 * 3120)
    assert 0 < seoul["engaged_w"] / seoul["rate_w"] < 1


def test_runreport_saved_with_its_request_takes_the_request_dates(tmp_path: Path) -> None:
    answer = json.loads((DATA / "runreport_20250101-20250131.json").read_text())
    path = tmp_path / "pull.json"
    path.write_text(json.dumps({"request": {"dateRanges": [
        {"startDate": "2025-01-01", "endDate": "2025-01-31"}]}, "response": answer}))
    assert read_export(path).period == JANUARY


def test_batch_runreports_and_the_date_dimension(tmp_path: Path) -> None:
    report = {"dimensionHeaders": [{"name": "date"}, {"name": "unifiedPagePathScreen"}],
              "metricHeaders": [{"name": "screenPageViews", "type": "TYPE_INTEGER"}],
              "rows": [{"dimensionValues": [{"value": "20250103"}, {"value": "/a/"}],
                        "metricValues": [{"value": "3"}]},
                       {"dimensionValues": [{"value": "20250109"}, {"value": "/a/"}],
                        "metricValues": [{"value": "4"}]}]}
    other = {"dimensionHeaders": [{"name": "country"}], "metricHeaders": [], "rows": []}
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"reports": [other, report]}))
    export = read_export(path)
    assert export.period == Period(dt.date(2025, 1, 3), dt.date(2025, 1, 9))
    assert list(export.table["views"]) == [3.0, 4.0]


def test_runreport_without_a_page_dimension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pages_20250101-20250131.json"
    path.write_text(json.dumps({"dimensionHeaders": [{"name": "pageTitle"}],
                                "metricHeaders": [{"name": "screenPageViews"}], "rows": []}))
    with pytest.raises(NotAPageReportError, match="dimensions: pageTitle"):
        read_export(path)


def test_json_that_is_not_a_runreport_answer(tmp_path: Path) -> None:
    path = tmp_path / "x_20250101-20250131.json"
    path.write_text('{"error": {"code": 403}}')
    with pytest.raises(ExportUnreadableError, match="not a GA4 runReport answer"):
        read_export(path)
    path.write_text("{not json")
    with pytest.raises(ExportUnreadableError, match="not valid JSON"):
        read_export(path)
