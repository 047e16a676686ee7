"""Errors of GA4 scoring: every one is permanent (the same file fails the same way again).

Each message is one line that names the file, what is wrong with it and what
to do, in English with the Korean GA4 label where a column is meant, so an
analyst who exports from the Korean UI recognises it.
"""

from __future__ import annotations

from pipeline.errors import PermanentError

__all__ = [
    "ExportUnreadableError",
    "Ga4InputError",
    "IncompleteExportError",
    "NoPeriodError",
    "NotAPageReportError",
    "OverlappingExportsError",
    "ReportError",
    "SnapshotError",
]


class Ga4InputError(PermanentError):
    """Base of the errors raised when GA4 input cannot be scored; nothing is imported."""


class NotAPageReportError(Ga4InputError):
    """Raised when a file has no page-path table (e.g. exported by ``Page title``)."""


class ExportUnreadableError(Ga4InputError):
    """Raised when a file is not a CSV or runReport JSON we can read (encoding, shape, values)."""


class NoPeriodError(Ga4InputError):
    """Raised when the report period (start and end date) cannot be known for a file."""


class IncompleteExportError(Ga4InputError):
    """Raised when a runReport answer holds fewer rows than its ``rowCount`` (a page missing)."""


class OverlappingExportsError(Ga4InputError):
    """Raised when files scored together cover different periods or list the same rows twice."""


class SnapshotError(PermanentError):
    """Raised when a snapshot CSV is missing the columns this version writes."""


class ReportError(PermanentError):
    """Raised when the monthly report cannot be made (no snapshot for the month, no font)."""
