"""GA4 scoring: read exports, map paths to posts, score, snapshot, and the monthly report.

Domain code (no Dramatiq): the ``ga4_score`` actor and the ``atr ga4`` CLI
are thin wrappers over :func:`score_files`, :func:`write_snapshot` and
:func:`report`.
"""

from pipeline.ga4.config import Ga4Config
from pipeline.ga4.errors import (
    ExportUnreadableError,
    Ga4InputError,
    IncompleteExportError,
    NoPeriodError,
    NotAPageReportError,
    OverlappingExportsError,
    ReportError,
    SnapshotError,
)
from pipeline.ga4.paths import PostLike, PostsPort, SitePost, normalise_path
from pipeline.ga4.reader import Export, Period, read_export
from pipeline.ga4.score import TIERS, ScoredPost, ScoreRun, explain, score_files

__all__ = [
    "TIERS",
    "Export",
    "ExportUnreadableError",
    "Ga4Config",
    "Ga4InputError",
    "IncompleteExportError",
    "NoPeriodError",
    "NotAPageReportError",
    "OverlappingExportsError",
    "Period",
    "PostLike",
    "PostsPort",
    "ReportError",
    "ScoreRun",
    "ScoredPost",
    "SitePost",
    "SnapshotError",
    "explain",
    "normalise_path",
    "read_export",
    "score_files",
]
