"""The drop folder: the files analysts leave for scoring, and where they go afterwards.

``ATR_GA4_DROP_DIR`` holds GA4 downloads (``*.csv``) and saved runReport
answers (``*.json``). One run scores every pending file together (one
period); then

- scored files move to ``done/`` (the snapshot names them);
- a file that cannot be scored moves to ``refused/`` with
  ``<name>.reason.txt`` beside it (the one-line reason, English and Korean
  column names), and the run imports nothing: no snapshot is written, the
  other files stay in the drop folder for the next run.

Files being written (hidden, ``.part``/``.crdownload``/``.tmp``) are left
alone. A name already in ``done/`` or ``refused/`` gets a numbered suffix, so
nothing is overwritten. :func:`score_drop` is the whole use case behind the
``ga4_score`` job and ``atr ga4 score``: read, score, snapshot, move.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pipeline.ga4.config import Ga4Config
from pipeline.ga4.errors import Ga4InputError
from pipeline.ga4.paths import PostsPort
from pipeline.ga4.reader import Export, read_export
from pipeline.ga4.score import ScoreRun, score_exports
from pipeline.ga4.snapshot import SnapshotDir, write_snapshot

__all__ = ["DONE_DIR", "REFUSED_DIR", "DropFolder", "DropOutcome", "RefusedFilesError",
           "score_drop"]

logger = logging.getLogger(__name__)

DONE_DIR: Final = "done"
REFUSED_DIR: Final = "refused"
REASON_SUFFIX: Final = ".reason.txt"
_SUFFIXES: Final = (".csv", ".json")
_PARTIAL: Final = (".part", ".crdownload", ".tmp", ".download")


class RefusedFilesError(Ga4InputError):
    """Raised when a run refused files: they were moved to ``refused/``; nothing imported."""

    def __init__(self, message: str, refused: Sequence[Path]) -> None:
        super().__init__(message)
        self.refused = tuple(refused)


@dataclass(frozen=True)
class DropOutcome:
    """What one run did: the scores, the snapshot written and the files moved (None: dry run)."""

    run: ScoreRun
    snapshot: Path | None
    moved: tuple[Path, ...]
    duration_ms: int


class DropFolder:
    """``ATR_GA4_DROP_DIR`` and its ``done/`` and ``refused/`` subfolders."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pending(self) -> list[Path]:
        """Files waiting to be scored, by name."""
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir()
                      if p.is_file() and p.suffix.lower() in _SUFFIXES
                      and not p.name.startswith(".") and not p.name.endswith(_PARTIAL))

    def resolve(self, names: Sequence[str]) -> list[Path]:
        """The pending files named (names of files in the folder); ValueError says why not."""
        found = []
        for name in names:
            if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
                raise ValueError(f"{name!r} is not a file name in the drop folder {self.path} "
                                 "(give names like pages_2025-01.csv, no directories)")
            path = self.path / name
            if not path.is_file():
                raise ValueError(f"{name!r} is not in the drop folder {self.path} (already "
                                 f"scored? see {DONE_DIR}/ and {REFUSED_DIR}/)")
            found.append(path)
        return list(dict.fromkeys(found))

    def move_done(self, paths: Sequence[Path]) -> list[Path]:
        """Move scored files into ``done/``; their new paths."""
        return [_move(p, self.path / DONE_DIR) for p in paths if p.parent == self.path]

    def refuse(self, path: Path, reason: str) -> Path:
        """Move ``path`` into ``refused/`` with its reason beside it; its new path.

        The reason file is written first: a refused file is never without one.
        """
        if path.parent != self.path:
            return path
        target = _free_name(self.path / REFUSED_DIR, path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        reason_file = target.with_name(target.name + REASON_SUFFIX)
        reason_file.write_text(reason.rstrip("\n") + "\n", encoding="utf-8")
        os.replace(path, target)
        return target


def _free_name(directory: Path, name: str) -> Path:
    target = directory / name
    stem, suffix = os.path.splitext(name)
    number = 1
    while target.exists():
        number += 1
        target = directory / f"{stem}.{number}{suffix}"
    return target


def _move(path: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = _free_name(directory, path.name)
    os.replace(path, target)
    return target


def score_drop(files: Sequence[Path], posts: PostsPort, root: Path, day: dt.date,
               config: Ga4Config | None = None, *, folder: DropFolder | None = None,
               dry_run: bool = False) -> DropOutcome:
    """Score ``files`` together, write ``<root>/ga4_scores/<day>.csv``, move the files.

    ``folder`` is where refused and scored files are moved (files outside it,
    named at a terminal, stay where they are). A file that cannot be read is
    refused alone; files that cannot be scored together (different periods,
    overlapping rows, runReport pages missing) are all refused with the same
    reason. Either way :class:`RefusedFilesError` is raised and nothing is
    written. ``dry_run`` scores and writes nothing, moves nothing.
    """
    started = time.monotonic()
    exports: list[Export] = []
    refused: list[tuple[Path, str]] = []
    for path in files:
        try:
            exports.append(read_export(path))
        except Ga4InputError as exc:
            refused.append((path, str(exc)))
    if refused:
        _refuse_all(folder, refused, dry_run)
        raise RefusedFilesError("; ".join(reason for _, reason in refused),
                                [p for p, _ in refused])
    snapshots = SnapshotDir(root)
    try:
        run = score_exports(exports, posts, config, snapshots)
    except Ga4InputError as exc:
        reason = str(exc)
        _refuse_all(folder, [(p, reason) for p in files], dry_run)
        raise RefusedFilesError(reason, list(files)) from None
    if dry_run:
        return DropOutcome(run, None, (), _ms(started))
    snapshot = write_snapshot(run, root, day)
    moved = tuple(folder.move_done(list(files))) if folder is not None else ()
    return DropOutcome(run, snapshot, moved, _ms(started))


def _refuse_all(folder: DropFolder | None, refused: Sequence[tuple[Path, str]],
                dry_run: bool) -> None:
    if folder is None or dry_run:
        return
    for path, reason in refused:
        target = folder.refuse(path, reason)
        logger.warning("GA4 export %s refused and moved to %s: %s", path.name, target, reason)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
