"""The preflight: what image actors need from ImageMagick, checked against the live process.

Used at worker boot and before each image message (``middleware.imagemagick``)
and by ``atr imagemagick check``. Each problem is a :class:`Finding` whose
message names what is refused, where the rule lives and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from pipeline.errors import PermanentError
from pipeline.imagemagick.font import check_font
from pipeline.imagemagick.rights import (
    UNLIMITED,
    Right,
    denying_files,
    is_authorized,
    policy_files,
    resource_limits,
)

__all__ = [
    "FONT_SETTING",
    "Finding",
    "FontRefused",
    "ImageMagickRefused",
    "ImagePolicyDenied",
    "Need",
    "Status",
    "check",
    "check_font_setting",
    "check_limits",
    "check_need",
]

#: ok; denied: the policy refuses a coder right; missing: the font is not set
#: or its file (or the temporary directory) does not exist; refused: a font
#: or a resource limit we will not run with.
Status = Literal["ok", "denied", "missing", "refused"]
#: The setting that names the title font.
FONT_SETTING: Final = "ATR_THUMB_FONT"
_FONT_FIX: Final = ("install fonts-nanum and set ATR_THUMB_FONT=/usr/share/fonts/truetype/"
                    "nanum/NanumGothicBold.ttf, or point it at another single-face Korean "
                    ".ttf/.otf font")


class ImageMagickRefused(PermanentError):
    """Raised when ImageMagick cannot do what an image actor needs; retrying cannot help."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


class ImagePolicyDenied(ImageMagickRefused):
    """Raised when the ImageMagick policy denies a coder right an image actor needs."""


class FontRefused(ImageMagickRefused):
    """Raised when ATR_THUMB_FONT is unset, missing, a collection, or lacks Hangul."""


@dataclass(frozen=True)
class Need:
    """One thing an image actor needs from ImageMagick: reading or writing a coder."""

    coder: str
    right: Right

    def __post_init__(self) -> None:
        if self.right not in ("read", "write"):
            raise ValueError(f"right must be 'read' or 'write', got {self.right!r}")
        if not self.coder or not self.coder.isascii() or not self.coder.isalnum():
            raise ValueError(f"coder must be an ImageMagick coder name like WEBP, "
                             f"got {self.coder!r}")
        object.__setattr__(self, "coder", self.coder.upper())

    def __str__(self) -> str:
        return f"{self.coder} {self.right}"


@dataclass(frozen=True)
class Finding:
    """The outcome of one check; ``message`` is one line for logs, errors and the CLI."""

    kind: Literal["coder", "font", "limit", "path"]
    subject: str  # "WEBP write", the font path, or a resource name
    status: Status
    message: str
    where: tuple[str, ...] = field(default=())  # the policy file(s), or the font file
    value: int | None = None  # a resource limit's value (UNLIMITED: none)

    @property
    def ok(self) -> bool:
        """True when nothing needs fixing."""
        return self.status == "ok"

    def error(self) -> ImageMagickRefused:
        """The exception an image message is failed with for this finding."""
        return FontRefused(self) if self.kind == "font" else ImagePolicyDenied(self)


def check(needs: Iterable[Need], font: Path | None, *,
          environ: Mapping[str, str]) -> list[Finding]:
    """Check every need, the font and the resource limits; one finding each, in that order.

    ``environ`` is the process environment (it says which policy files
    MagickCore loaded). ``font`` is ATR_THUMB_FONT's value.
    """
    findings = [check_need(need, environ=environ) for need in dict.fromkeys(needs)]
    findings.append(check_font_setting(font))
    findings.extend(check_limits())
    temporary = environ.get("MAGICK_TEMPORARY_PATH")
    if temporary:
        findings.append(_check_temporary_path(Path(temporary)))
    return findings


def _check_temporary_path(path: Path) -> Finding:
    """MAGICK_TEMPORARY_PATH must be a writable directory (pixel-cache spill files)."""
    if path.is_dir() and os.access(path, os.W_OK | os.X_OK):
        return Finding("path", "MAGICK_TEMPORARY_PATH", "ok",
                       f"MAGICK_TEMPORARY_PATH={path} is a writable directory", (str(path),))
    return Finding("path", "MAGICK_TEMPORARY_PATH", "missing",
                   f"MAGICK_TEMPORARY_PATH={path} is not a writable directory, so large "
                   f"renders cannot spill to disk; create it (mkdir -p {path}) writable "
                   "by the worker", (str(path),))


def check_need(need: Need, *, environ: Mapping[str, str]) -> Finding:
    """Whether the live policy grants ``need``; a denial names the file and the fix."""
    files = policy_files(environ)
    if is_authorized(need.coder, need.right):
        return Finding("coder", str(need), "ok",
                       f"ImageMagick policy allows {need.right} for coder {need.coder}",
                       tuple(map(str, files)))
    # The file whose rule denies it; all files in force if none can be named.
    where = denying_files(files, need.coder, need.right) or files
    names = ", ".join(map(str, where)) or "built-in defaults"
    fix = "allow it in that policy"
    if need.coder == "WEBP" and need.right == "write":
        fix = "allow it or set ATR_THUMB_FORMAT=jpeg"
    return Finding("coder", str(need), "denied",
                   f"ImageMagick policy denies {need.right} for coder {need.coder} "
                   f"(policy: {names}); {fix}", tuple(map(str, where)))


def check_font_setting(font: Path | None) -> Finding:
    """Whether ATR_THUMB_FONT names a single-face font that covers Hangul."""
    if font is None:
        return Finding("font", "(unset)", "missing",
                       f"{FONT_SETTING} is not set, so Korean titles would silently "
                       f"disappear; {_FONT_FIX}")
    report = check_font(font)
    if report.ok:
        return Finding("font", str(font), "ok",
                       f"{FONT_SETTING}={font} covers {report.hangul_syllables} "
                       "Hangul syllables", (str(font),))
    status: Status = "missing" if not font.exists() else "refused"
    return Finding("font", str(font), status,
                   f"{FONT_SETTING}={font} {report.problem}; {_FONT_FIX}", (str(font),))


def check_limits() -> list[Finding]:
    """One finding per resource limit; only a ``time`` limit is refused.

    A MagickCore time limit, when it expires, kills the whole worker process
    (every thread's message with it); Dramatiq's time_limit bounds a job.
    """
    findings = []
    for name, value in resource_limits().items():
        shown = "unlimited" if value >= UNLIMITED else str(value)
        if name == "time" and value < UNLIMITED:
            findings.append(Finding(
                "limit", name, "refused",
                f"ImageMagick resource limit time={value}s is set: when it expires "
                "ImageMagick kills the whole worker process; remove the time policy "
                "and MAGICK_TIME_LIMIT (Dramatiq's time_limit bounds a job)", value=value))
        else:
            findings.append(Finding("limit", name, "ok", f"{name}={shown}", value=value))
    return findings
