"""Where settings come from: the process environment over a systemd env file.

The one module (with :mod:`pipeline.settings`) that reads ``os.environ``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from pipeline.errors import ConfigError

__all__ = [
    "ENV_FILE_VARIABLE",
    "load_env_file",
    "process_environ",
    "read_environment",
    "redact_url",
]

#: Variable naming an env file to read; unset means ``./.env.workers`` when it exists.
ENV_FILE_VARIABLE: Final = "ATR_ENV_FILE"
_DEFAULT_ENV_FILE: Final = ".env.workers"


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The env file (``ATR_ENV_FILE`` or ``./.env.workers``) overlaid by the environment.

    Variables set in the process environment win over the file, as with systemd's
    ``EnvironmentFile`` followed by ``Environment``.
    """
    env = dict(process_environ() if environ is None else environ)
    named = env.get(ENV_FILE_VARIABLE, "").strip()
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{ENV_FILE_VARIABLE}={named!r}: no such file; "
                              "point it at your .env.workers or unset it")
    else:
        path = Path(_DEFAULT_ENV_FILE)
    if not path.is_file():
        return env
    merged = load_env_file(path)
    merged.update(env)
    return merged


def load_env_file(path: Path) -> dict[str, str]:
    """Parse a systemd ``EnvironmentFile``: ``NAME=value`` lines, ``#`` comments, quotes."""
    values: dict[str, str] = {}
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("export "):
            raise ConfigError(f"{path}:{number}: systemd's EnvironmentFile does not understand "
                              "'export'; write NAME=value without it")
        name, sep, value = stripped.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"{path}:{number}: expected NAME=value, got {line.strip()[:40]!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def process_environ() -> dict[str, str]:
    """A copy of the process environment (the one place that reads it)."""
    return dict(os.environ)


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``, safe for logs and errors."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
