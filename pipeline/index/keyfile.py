"""Is the live key file what the engines will find? ``atr index check`` asks before any 403.

The engines read ``https://<host>/<key>.txt`` (or ``keyLocation``) and expect
the key as its whole content (surrounding white space and a BOM are allowed:
editors add them). This module fetches it the way they do and says in one
line whether it matches and, if not, what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import requests

from pipeline.index.indexnow import IndexNowKey

__all__ = ["KeyFileCheck", "check_key_file"]

_TIMEOUT_S: Final = (5.0, 20.0)
#: Bytes of the key file read at most (a key is at most 128 characters).
_MAX_BYTES: Final = 4096


@dataclass(frozen=True)
class KeyFileCheck:
    """The outcome: ``ok``, the URL read, its HTTP status (None: no answer) and one line."""

    ok: bool
    url: str
    status: int | None
    message: str


def check_key_file(site: str, key: IndexNowKey) -> KeyFileCheck:
    """Fetch the key file of ``site`` (``https://example.com``) and compare it with ``key``."""
    parts = urlsplit(site)
    url = key.file_url(parts.scheme, parts.netloc)
    try:
        response = requests.get(url, timeout=_TIMEOUT_S, allow_redirects=True, stream=True)
    except requests.RequestException as exc:
        return KeyFileCheck(False, url, None,
                            f"could not read {url} ({type(exc).__name__}): the engines cannot "
                            "either; check that the site is reachable from the internet")
    with response:
        body = response.raw.read(_MAX_BYTES, decode_content=True) or b""
        status = response.status_code
    if status != 200:
        return KeyFileCheck(False, url, status,
                            f"{url} answered {status}: put a text file holding only the key "
                            f"there (e.g. in the web root), or set ATR_INDEXNOW_KEY_LOCATION "
                            "to where it is")
    text = body.decode("utf-8-sig", errors="replace").strip()
    if text != key.key:
        shown = text[:12] + "…" if len(text) > 12 else text
        return KeyFileCheck(False, url, status,
                            f"{url} holds {shown!r}, not ATR_INDEXNOW_KEY: the engines will "
                            "answer 403; write the key (and nothing else) into the file, or "
                            "set ATR_INDEXNOW_KEY to what it holds")
    if key.location and urlsplit(key.location).netloc != parts.netloc:
        return KeyFileCheck(False, url, status,
                            f"{url} holds the key but is not on {parts.netloc}: the engines "
                            "answer 422; move the file onto the site's own host")
    return KeyFileCheck(True, url, status, f"{url} holds the key: submissions can be verified")
