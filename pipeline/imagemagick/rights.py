"""What the live ImageMagick allows: coder rights, the policy files in force, resource limits.

The rights come from MagickCore itself (``IsRightsAuthorized``, exported by
libMagickCore-6 and reached through ``wand.api.libmagick`` with ctypes, about
1-4 µs a call), so they are exactly what a render would meet. MagickCore reads
its policy once, when it initialises: a process sees the policy files that
existed, under the ``MAGICK_CONFIGURE_PATH`` it had, when it first used Wand.

Which *file* denies a right is not exposed by MagickCore; :func:`denying_files`
reads the policy files in force to name it in error messages.
"""

from __future__ import annotations

import ctypes
import fnmatch
import functools
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Literal

__all__ = [
    "LIMIT_NAMES",
    "SYSTEM_POLICY",
    "UNLIMITED",
    "Right",
    "denying_files",
    "is_authorized",
    "policy_files",
    "resource_limits",
]

Right = Literal["read", "write"]

#: The policy every Debian 12 ImageMagick 6 process loads after MAGICK_CONFIGURE_PATH's.
SYSTEM_POLICY: Final = Path("/etc/ImageMagick-6/policy.xml")
#: The resource limits worth showing for a worker, in MagickCore's names.
LIMIT_NAMES: Final = ("memory", "map", "disk", "area", "width", "height", "thread", "time")
#: MagickCore's "no limit" (MagickResourceInfinity, 2**63 - 1).
UNLIMITED: Final = 2**63 - 1

# MagickCore 6 enums, from /usr/include/ImageMagick-6/magick/policy.h.
_CODER_POLICY_DOMAIN: Final = 1  # PolicyDomain.CoderPolicyDomain
_RIGHTS: Final[dict[str, int]] = {"read": 0x01, "write": 0x02}  # Read/WritePolicyRights
_RIGHT_BITS: Final[dict[str, int]] = {"none": 0, "read": 0x01, "write": 0x02,
                                      "execute": 0x04, "all": 0xFF}
_BRACES: Final = re.compile(r"\{([^{}]*)\}")
_COMMENT: Final = re.compile(r"<!--.*?-->", re.DOTALL)
_POLICY: Final = re.compile(r"<policy\b([^>]*)>")
_ATTRIBUTE: Final = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


@functools.cache
def _is_rights_authorized() -> Callable[[int, int, bytes], int]:
    """The ctypes binding, made on first use (no library is loaded at import time)."""
    from wand.api import libmagick
    from wand.resource import genesis

    genesis()  # MagickWandGenesis: idempotent, and it loads the policy now
    fn = libmagick.IsRightsAuthorized
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p]
    fn.restype = ctypes.c_int  # MagickBooleanType
    bound: Callable[[int, int, bytes], int] = fn
    return bound


def is_authorized(coder: str, right: Right) -> bool:
    """Whether the live policy lets ImageMagick ``right`` (read/write) images of ``coder``.

    Coder names are matched as MagickCore spells them (upper case), so
    ``"webp"`` and ``"WEBP"`` give the same answer.
    """
    return bool(_is_rights_authorized()(_CODER_POLICY_DOMAIN, _RIGHTS[right],
                                        coder.upper().encode("ascii")))


def policy_files(environ: Mapping[str, str]) -> list[Path]:
    """The policy.xml files MagickCore loads here, in its order, that exist.

    ``MAGICK_CONFIGURE_PATH``'s directories (colon-separated) first, then the
    system policy. The files add up: a later one cannot relax a denial.
    """
    dirs = [d for d in environ.get("MAGICK_CONFIGURE_PATH", "").split(":") if d]
    candidates = [Path(d) / "policy.xml" for d in dirs] + [SYSTEM_POLICY]
    seen: list[Path] = []
    for path in candidates:
        if path.is_file() and path not in seen:
            seen.append(path)
    return seen


def denying_files(files: list[Path], coder: str, right: Right) -> list[Path]:
    """The files among ``files`` whose coder rules deny ``right`` for ``coder``.

    Within one file the last matching rule wins, as in MagickCore. A file that
    cannot be read is skipped.
    """
    return [path for path in files if _file_denies(path, coder.upper(), _RIGHTS[right])]


def _file_denies(path: Path, coder: str, right_bit: int) -> bool:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    allowed: bool | None = None
    for rule in _policy_rules(text):
        if rule.get("domain") != "coder" or not _glob(coder, rule.get("pattern", "")):
            continue
        bits = 0
        for word in rule.get("rights", "none").replace(" ", "").lower().split("|"):
            bits |= _RIGHT_BITS.get(word, 0)
        allowed = bool(bits & right_bit)
    return allowed is False


def _policy_rules(text: str) -> list[dict[str, str]]:
    """The attributes of each ``<policy>`` element outside comments, in order.

    Not an XML parser on purpose: Debian's own policy.xml is not well-formed
    (a comment opened inside another), and MagickCore's lenient parser reads
    it the way this does: a comment ends at the first ``-->``.
    """
    text = _COMMENT.sub("", text)
    return [{m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
             for m in _ATTRIBUTE.finditer(element.group(1))}
            for element in _POLICY.finditer(text)]


def _glob(name: str, pattern: str) -> bool:
    """MagickCore's GlobExpression for coder patterns: fnmatch plus ``{A,B}`` alternatives."""
    match = _BRACES.search(pattern)
    if match is None:
        return fnmatch.fnmatchcase(name, pattern)
    head, tail = pattern[:match.start()], pattern[match.end():]
    return any(_glob(name, head + alt + tail) for alt in match.group(1).split(","))


def resource_limits() -> dict[str, int]:
    """The live resource limits of this process (bytes, pixels, threads or seconds).

    :data:`UNLIMITED` means no limit.
    """
    from wand.resource import genesis, limits

    genesis()
    return {name: int(limits[name]) for name in LIMIT_NAMES}
