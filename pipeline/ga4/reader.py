"""Read GA4 exports: web-UI CSV downloads and Data API ``runReport`` answers saved as JSON.

A web-UI download ("Pages and screens", Share this report > Download File >
CSV) is UTF-8 with a BOM, CRLF or LF, and looks like this (English UI; the
Korean UI translates the comment keys and the headers)::

    # ----------------------------------------
    # Pages and screens: Page path and screen class
    # Account: Example
    # Property: example.com - GA4
    # ----------------------------------------
    #
    # All Users
    # Start date: 20250101
    # End date: 20250131
    Nth day,Views
    0000,"1,234"
    ...

    Page path and screen class,Views,Active users,...,Key events,Total revenue
    ,"152,300","40,112",...
    /2025/01/some-post/,"1,234",567,...

Tables are separated by blank lines or ``#`` lines. Only the table with a
page-path column counts; the chart series (first column ``Nth day``,
``Date``, ``N일``...) and tables of other dimensions are ignored. The totals
row (an empty first cell, or ``Total``/``합계``/``총계``) is dropped.
Numbers may be quoted with thousands separators, rates may be percent
strings, engagement time may be seconds or ``1m 02s``/``1분 02초``.

A file with no page-path table is refused as a whole
(:class:`~pipeline.ga4.errors.NotAPageReportError`, one line naming the
missing column in English and Korean).

Every metric is turned into something that sums: averages per user become
totals (average x users), rates become rate x weight (weight: sessions when
the table has them, else views), so that merging path variants and files is
one ``groupby().sum()`` and every average is recomputed from sums.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from pipeline.ga4.columns import (
    DATE_DIMENSIONS,
    METRICS,
    PAGE_DIMENSIONS,
    TOTAL_LABELS,
    canonical_header,
    match_columns,
)
from pipeline.ga4.errors import (
    ExportUnreadableError,
    NoPeriodError,
    NotAPageReportError,
)

__all__ = ["SUMMABLE", "Export", "Period", "read_export"]

#: The summable columns of :attr:`Export.table` (besides ``path``).
SUMMABLE: Final = ("views", "users", "engagement_total_s", "key_events", "sessions",
                   "engaged_w", "rate_w")

_PAGE_LABEL: Final = "Page path and screen class (페이지 경로 및 화면 클래스)"
_HOW_TO_EXPORT: Final = ("in GA4 open Reports > Engagement > Pages and screens with the first "
                         "column set to Page path and screen class (페이지 경로 및 화면 클래스), "
                         "then Share this report > Download File > Download CSV")
# A piece ends at a blank line or where a '#' line starts (GA4 puts a comment
# block between tables, sometimes without a blank line before it).
_SEPARATOR: Final = re.compile(r"\n(?:[ \t]*\r?\n)+|\n(?=#)")
_META: Final = {
    "start date": "start", "시작일": "start", "시작 날짜": "start",
    "end date": "end", "종료일": "end", "종료 날짜": "end",
    "account": "account", "계정": "account",
    "property": "ga_property", "속성": "ga_property",
}
_DAY: Final = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")
_FILENAME_PERIOD: Final = re.compile(
    r"(\d{4}-?\d{2}-?\d{2})\s*(?:-|_|~|\.\.|to)\s*(\d{4}-?\d{2}-?\d{2})")
_DURATION: Final = re.compile(
    r"^(?:(?P<h>\d+)\s*(?:h|시간)\s*)?(?:(?P<m>\d+)\s*(?:m|분)\s*)?(?:(?P<s>\d+(?:\.\d+)?)\s*(?:s|초))?$")
_CLOCK: Final = re.compile(r"^(?:(?P<h>\d+):)?(?P<m>\d{1,2}):(?P<s>\d{2}(?:\.\d+)?)$")


@dataclass(frozen=True, order=True)
class Period:
    """The report period: ``start`` to ``end``, both days included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Days in the period (both ends included)."""
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Export:
    """One file, read: where it came from, its period and its page rows as summable columns.

    ``table`` has ``path`` (the raw GA4 value, str) and the :data:`SUMMABLE`
    columns (float); ``available`` names the metrics the file really had
    (``users``, ``engagement``, ``key_events``, ``sessions``, ``engagement_rate``).
    ``language`` is ``en`` or ``ko`` for the web UI, ``api`` for runReport JSON.
    """

    source: Path
    kind: str
    language: str
    period: Period
    table: pd.DataFrame = field(repr=False)
    available: frozenset[str]
    report_name: str | None = None
    account: str | None = None
    ga_property: str | None = None
    totals_rows: int = 0
    ignored_tables: tuple[str, ...] = ()
    row_count: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """Page rows read (totals rows not counted)."""
        return len(self.table)


@dataclass
class _Header:
    """What the comment lines above a table said."""

    start: date | None = None
    end: date | None = None
    report_name: str | None = None
    account: str | None = None
    ga_property: str | None = None


def read_export(path: Path, *, period: Period | None = None) -> Export:
    """Read one GA4 export (CSV download or runReport JSON) into an :class:`Export`.

    ``period`` is used when the file does not say its own (a runReport answer
    saved without its request); a file that says a different one is refused.
    Raises a :class:`~pipeline.ga4.errors.Ga4InputError` for anything that
    cannot be scored, with a one-line message.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExportUnreadableError(f"{path}: cannot read the file ({exc.strerror or exc}); "
                                    "check the path and its permissions") from None
    text, codec = _decode(data, path)
    if text.lstrip()[:1] in ("{", "["):
        return _read_runreport(path, text, period)
    # The bytes of a UTF-8 file are handed to pandas as they are (no re-encoding).
    return _read_csv(path, text, period, data if codec == "utf-8" else None)


# -- CSV -------------------------------------------------------------------------------


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """The text of ``data`` and the codec it was in (``utf-8``, ``utf-16`` or ``cp949``)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # Korean Excel saves "CSV" in CP949: an analyst who opened and re-saved a download.
        return data.decode("cp949"), "cp949"
    except UnicodeDecodeError:
        raise ExportUnreadableError(
            f"{path}: not text in UTF-8 (nor UTF-16 or CP949); download the report again from "
            "GA4 as CSV, or save it from Excel as 'CSV UTF-8'") from None


def _pieces(text: str) -> Iterator[tuple[int, int, str]]:
    """(line number of its first line, offset in ``text``, piece) per comment block or table."""
    start, line = 0, 1
    for match in _SEPARATOR.finditer(text):
        yield from _split_comments(line, start, text[start:match.start()])
        line += text.count("\n", start, match.start()) + match.group().count("\n")
        start = match.end()
    yield from _split_comments(line, start, text[start:])


def _split_comments(line: int, offset: int, piece: str) -> Iterator[tuple[int, int, str]]:
    """A piece, with its leading '#' lines apart from the table that follows them."""
    # isspace() stops at the first other character: no copy of a big table.
    if not piece or piece.isspace():
        return
    if not piece.startswith("#"):
        yield line, offset, piece
        return
    lines = piece.split("\n")
    body = next((i for i, text in enumerate(lines) if not text.startswith("#")), len(lines))
    head = "\n".join(lines[:body])
    yield line, offset, head
    if body < len(lines) and "\n".join(lines[body:]).strip():
        yield line + body, offset + len(head) + 1, "\n".join(lines[body:])


def _read_header_comment(comment: str, header: _Header, path: Path) -> None:
    body = comment.lstrip("#").strip()
    if not body or set(body) <= {"-", "="}:
        return
    key, sep, value = body.partition(":")
    slot = _META.get(canonical_header(key)) if sep else None
    if slot in ("start", "end"):
        day = _parse_day(value.strip())
        if day is None:
            raise ExportUnreadableError(f"{path}: the comment line {comment.strip()!r} has no "
                                        "date as YYYYMMDD; download the report again from GA4")
        setattr(header, slot, day)
    elif slot is not None:
        setattr(header, slot, value.strip())
    elif header.report_name is None:
        header.report_name = body


def _parse_day(value: str) -> date | None:
    match = _DAY.match(value)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _read_csv(path: Path, text: str, period: Period | None, utf8: bytes | None) -> Export:
    """The page table of a CSV download; ``utf8`` is the file's bytes if it is UTF-8.

    Only the chosen table's offset and length are kept while looking, so a
    big table is not held twice (as text and as the bytes pandas reads).
    """
    header = _Header()
    seen: list[str] = []
    chosen: tuple[int, int, int, list[str], _Header] | None = None
    chosen_rank = (0, 0)
    notes: list[str] = []
    for line, offset, piece in _pieces(text):
        if piece.startswith("#"):
            for comment in piece.splitlines():
                _read_header_comment(comment, header, path)
            continue
        end = piece.find("\n")
        first = (piece if end < 0 else piece[:end]).rstrip("\r")
        names = next(csv.reader([first]))
        canon = [canonical_header(n) for n in names]
        label = repr(names[0].strip())
        if any(c in DATE_DIMENSIONS for c in canon):
            seen.append(f"a {label} chart")
            continue
        path_index, metrics = match_columns(names)
        if path_index is None:
            seen.append(f"a {label} table")
            continue
        # A bar chart of the top pages is a page table too: the report's own
        # table is the one with the most metrics, then the most rows.
        rank = (len(metrics), piece.count("\n"))
        if chosen is None or rank > chosen_rank:
            if chosen is not None:
                notes.append(f"the page table at line {chosen[0]} was ignored (a chart)")
            chosen = (line, offset, len(piece), names, _Header(**vars(header)))
            chosen_rank = rank
        else:
            notes.append(f"the page table at line {line} was ignored (a chart)")
    if chosen is None:
        tables = ", ".join(seen) or "no table at all"
        raise NotAPageReportError(
            f"{path}: not a GA4 page report: no {_PAGE_LABEL} column (it has {tables}); "
            f"nothing imported; {_HOW_TO_EXPORT}")
    line, offset, length, names, at = chosen
    if utf8 is None:
        payload = text[offset:offset + length].encode("utf-8")
    else:
        # The piece's bytes, found by encoding only what is around it (usually a few lines).
        first_byte = len(text[:offset].encode("utf-8"))
        first_byte += 3 if utf8.startswith(b"\xef\xbb\xbf") else 0
        payload = utf8[first_byte:len(utf8) - len(text[offset + length:].encode("utf-8"))]
    table, available, totals = _table_from_csv(path, line, payload, names)
    own = Period(at.start, at.end) if at.start and at.end else None
    language = "ko" if any(_is_korean(n) for n in names) else "en"
    return Export(source=path, kind="csv", language=language,
                  period=_settle_period(path, own, period), table=table, available=available,
                  report_name=at.report_name, account=at.account, ga_property=at.ga_property,
                  totals_rows=totals, ignored_tables=tuple(seen), notes=tuple(notes))


def _is_korean(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def _table_from_csv(path: Path, line: int, piece: bytes, names: list[str]
                    ) -> tuple[pd.DataFrame, frozenset[str], int]:
    path_index, metrics = match_columns(names)
    assert path_index is not None
    if "views" not in metrics:
        raise NotAPageReportError(
            f"{path}: not a GA4 page report: its page table (line {line}) has no Views "
            f"(조회수) column; {_HOW_TO_EXPORT}")
    wanted = {"path": path_index, **metrics}
    try:
        # Bytes, not a StringIO: pandas would re-encode text in small chunks, slowly.
        raw = pd.read_csv(io.BytesIO(piece), header=0, encoding="utf-8",
                          usecols=sorted(set(wanted.values())),
                          dtype={names[path_index]: object}, thousands=",",
                          keep_default_na=False, na_values=[""], skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ExportUnreadableError(f"{path}: the page table at line {line} is not valid CSV "
                                    f"({reason}); download the report again from GA4") from None
    columns = {field: raw.iloc[:, sorted(set(wanted.values())).index(i)]
               for field, i in wanted.items()}
    # Empty cells are NaN here: a NaN is no path, so it is a totals row below.
    first = columns["path"].to_numpy(dtype=object)
    # A path starts with '/' (or is '(not set)'): only other cells can be a totals row,
    # and only those few are looked at one by one.
    heads = first.astype("U1")
    is_total = np.zeros(len(first), dtype=bool)
    for k in np.flatnonzero((heads != "/") & (heads != "(")):
        v = first[k]
        is_total[k] = (not isinstance(v, str) or not v.strip()
                       or v.strip().casefold() in TOTAL_LABELS)
    totals = int(is_total.sum())
    keep = ~is_total
    # Line in the file of each kept row, for error messages (header is `line`).
    row_lines = np.flatnonzero(keep) + line + 1
    values = {f: _number(columns[f][keep], f, path, row_lines) for f in metrics}
    table, available = _summable(first[keep], values)
    return table, available, totals


def _number(series: pd.Series, field: str, path: Path, row_lines: np.ndarray) -> np.ndarray:
    """The column as float64: text (``1,234``, ``52.3%``, ``1m 02s``) parsed, bad values refused."""
    metric = next(m for m in METRICS if m.field == field)
    if pd.api.types.is_numeric_dtype(series.dtype):
        out = series.to_numpy(dtype=float, na_value=0.0)
        percent = False
    else:
        text = series.astype(object).where(series.notna(), "").astype(str)
        uniques = pd.unique(text.to_numpy())
        parsed = {u: _parse_value(u, metric.kind) for u in uniques}
        bad = [u for u, v in parsed.items() if v is None]
        if bad:
            position = int(np.flatnonzero(text.to_numpy() == bad[0])[0])
            raise ExportUnreadableError(
                f"{path} line {int(row_lines[position])}: {metric.english} ({metric.korean}) "
                f"is {bad[0]!r}, not a number; download the report again from GA4 "
                "(do not edit it in a spreadsheet)")
        out = text.map({u: v[0] for u, v in parsed.items() if v is not None}).to_numpy(
            dtype=float)
        percent = any(v is not None and v[1] for v in parsed.values())
    if metric.kind == "rate" and (percent or (out.size and np.nanmax(out) > 1.0)):
        out = out / 100.0
    if out.size and np.nanmin(out) < 0:
        position = int(np.flatnonzero(out < 0)[0])
        raise ExportUnreadableError(
            f"{path} line {int(row_lines[position])}: {metric.english} ({metric.korean}) is "
            "negative; download the report again from GA4")
    return out


def _parse_value(text: str, kind: str) -> tuple[float, bool] | None:
    """(value, was a percent) of one cell, or None when it is no number."""
    value = text.strip().replace(",", "").replace("\u00a0", "")
    if not value:
        return 0.0, False
    percent = value.endswith("%")
    if percent:
        value = value[:-1].strip()
    try:
        return float(value), percent
    except ValueError:
        pass
    if kind == "average":
        duration = _DURATION.match(value) or _CLOCK.match(value)
        if duration is not None and any(duration.groupdict().values()):
            parts = duration.groupdict()
            seconds = (float(parts["h"] or 0) * 3600 + float(parts["m"] or 0) * 60
                       + float(parts["s"] or 0))
            return seconds, False
    return None


def _summable(paths: np.ndarray, values: dict[str, np.ndarray]
              ) -> tuple[pd.DataFrame, frozenset[str]]:
    """The summable table from per-row metrics (see the module docstring)."""
    n = len(paths)
    zeros = np.zeros(n)
    views = values["views"]
    users = values.get("users")
    available: set[str] = set()
    if users is not None:
        available.add("users")
    total_s = values.get("engagement_total_s")
    if total_s is None and "engagement_s" in values and users is not None:
        total_s = values["engagement_s"] * users
    if total_s is not None and users is not None:
        available.add("engagement")
    rate = values.get("engagement_rate")
    if rate is None and "bounce_rate" in values:
        rate = 1.0 - values["bounce_rate"]
    sessions = values.get("sessions")
    weight = sessions if sessions is not None else views
    if rate is not None:
        available.add("engagement_rate")
    if sessions is not None:
        available.add("sessions")
    if "key_events" in values:
        available.add("key_events")
    table = pd.DataFrame({
        "path": pd.Series(paths, dtype=object).astype(str).to_numpy(dtype=object),
        "views": views,
        "users": users if users is not None else zeros,
        "engagement_total_s": total_s if total_s is not None else zeros,
        "key_events": values.get("key_events", zeros),
        "sessions": sessions if sessions is not None else zeros,
        "engaged_w": rate * weight if rate is not None else zeros,
        "rate_w": weight if rate is not None else zeros,
    })
    return table, frozenset(available)


# -- runReport JSON --------------------------------------------------------------------


def _read_runreport(path: Path, text: str, period: Period | None) -> Export:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ExportUnreadableError(f"{path}: not valid JSON ({exc}); save the runReport "
                                    "answer again") from None
    candidates = _reports(document)
    if not candidates:
        raise ExportUnreadableError(
            f"{path}: JSON but not a GA4 runReport answer (no dimensionHeaders/metricHeaders); "
            "save the body of POST .../properties/<id>:runReport")
    dims_seen: list[str] = []
    for report in candidates:
        dims = [str(h.get("name", "")) for h in report.get("dimensionHeaders") or []]
        dims_seen.extend(dims)
        page = next((dims.index(d) for d in dims if canonical_header(d) in PAGE_DIMENSIONS),
                    None)
        if page is not None:
            return _export_from_report(path, document, report, dims, page, period)
    raise NotAPageReportError(
        f"{path}: not a GA4 page report: no pagePath/unifiedPagePathScreen dimension, i.e. "
        f"no {_PAGE_LABEL} column (dimensions: {', '.join(dims_seen) or 'none'}); ask "
        "runReport for the dimension unifiedPagePathScreen or pagePath")


def _reports(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict) and isinstance(document.get("response"), dict):
        document = document["response"]  # {"request": ..., "response": ...} as we save it
    if isinstance(document, dict) and isinstance(document.get("reports"), list):
        items: Sequence[Any] = document["reports"]  # batchRunReports
    elif isinstance(document, list):
        items = document
    else:
        items = [document]
    return [r for r in items if isinstance(r, dict)
            and ("dimensionHeaders" in r or "metricHeaders" in r)]


def _export_from_report(path: Path, document: Any, report: dict[str, Any], dims: list[str],
                        page: int, period: Period | None) -> Export:
    metric_names = [str(h.get("name", "")) for h in report.get("metricHeaders") or []]
    rows = report.get("rows") or []
    try:
        paths = np.array([str(r["dimensionValues"][page]["value"]) for r in rows], dtype=object)
        raw = [[str(v["value"]) for v in r["metricValues"]] for r in rows]
    except (KeyError, IndexError, TypeError):
        raise ExportUnreadableError(f"{path}: a runReport row lacks dimensionValues or "
                                    "metricValues; save the answer again") from None
    _, fields = match_columns(metric_names)
    if "views" not in fields:
        raise NotAPageReportError(
            f"{path}: not a GA4 page report: no screenPageViews metric, i.e. no Views "
            f"(조회수) column (metrics: {', '.join(metric_names) or 'none'}); ask runReport "
            "for screenPageViews")
    row_lines = np.arange(len(rows)) + 1
    values = {}
    for field_name, index in fields.items():
        column = pd.Series([r[index] if index < len(r) else "" for r in raw], dtype=object)
        values[field_name] = _number(column, field_name, path, row_lines)
    table, available = _summable(paths, values)
    own = _runreport_period(document, report, dims)
    row_count = report.get("rowCount")
    return Export(source=path, kind="runreport", language="api",
                  period=_settle_period(path, own, period), table=table, available=available,
                  row_count=int(row_count) if isinstance(row_count, (int, str))
                  and str(row_count).isdigit() else None)


def _runreport_period(document: Any, report: dict[str, Any], dims: list[str]) -> Period | None:
    request = document.get("request") if isinstance(document, dict) else None
    for holder in (request, document, report):
        ranges = holder.get("dateRanges") if isinstance(holder, dict) else None
        if isinstance(ranges, list) and ranges and isinstance(ranges[0], dict):
            start = _parse_day(str(ranges[0].get("startDate", "")))
            end = _parse_day(str(ranges[0].get("endDate", "")))
            if start and end:
                return Period(start, end)
    if "date" in dims:
        index = dims.index("date")
        days = sorted(d for d in (_parse_day(str(r["dimensionValues"][index]["value"]))
                                  for r in report.get("rows") or []) if d)
        if days:
            return Period(days[0], days[-1])
    return None


def _settle_period(path: Path, own: Period | None, given: Period | None) -> Period:
    if own is None:
        match = _FILENAME_PERIOD.search(path.name)
        if match:
            start, end = _parse_day(match[1]), _parse_day(match[2])
            if start and end:
                own = Period(start, end)
    if own is not None and given is not None and own != given:
        raise NoPeriodError(f"{path}: the file covers {own} but the period given is {given}; "
                            "score it without a period or with the file's own")
    chosen = own or given
    if chosen is None:
        raise NoPeriodError(
            f"{path}: no report period: the file has no '# Start date'/'# End date' "
            "(# 시작일/# 종료일) lines nor dateRanges; name it like "
            "pages_20250101-20250131.csv or give the period")
    if chosen.end < chosen.start:
        raise NoPeriodError(f"{path}: the period {chosen} ends before it starts; download the "
                            "report again from GA4")
    return chosen
