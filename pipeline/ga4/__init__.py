"""GA4 scoring: read exports, map paths to posts, score, snapshot, and the monthly report.

Domain code (no Dramatiq): the ``ga4_score`` actor and the ``atr ga4`` CLI
are thin wrappers over :func:`score_files`, :func:`write_snapshot` and
:func:`report`.

Importing this package costs nothing: the settings read :class:`Ga4Config`
for their defaults in every process, while pandas (readers, scoring) loads
only when one of those names is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

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

if TYPE_CHECKING:
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

_LAZY: Final = {
    "PostLike": "paths", "PostsPort": "paths", "SitePost": "paths", "normalise_path": "paths",
    "Export": "reader", "Period": "reader", "read_export": "reader",
    "TIERS": "score", "ScoredPost": "score", "ScoreRun": "score", "explain": "score",
    "score_files": "score",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
