"""Real WordPress on 127.0.0.1: Debian's package, PHP's built-in server, a private MariaDB.

Nothing here is imitated: the PHP that answers is Debian 12's ``wordpress``
package (WordPress 6.1.9) under ``php -S`` with a router, and its database is
a MariaDB server of our own (``mariadb-install-db`` into a fresh data
directory, a unix socket, ``--skip-networking``), never the machine's. The
site makes no outbound requests (``WP_HTTP_BLOCK_EXTERNAL``, cron and updates
off).

Installing WordPress takes a while, so the installed site is prepared once
and kept as a pristine copy under ``~/.cache/atr-workers/real-wordpress``
(``ATR_RWP_CACHE`` overrides). Each :class:`RealWordPress` starts from a copy of
it, so every session sees the same users and an empty blog:

``admin`` (administrator), ``editor`` (editor) and ``reader`` (subscriber),
each with one application password (:attr:`RealWordPress.users`).

Where the package comes from: when ``/usr/share/wordpress`` is installed it
is used; otherwise ``apt-get download wordpress`` fetches Debian's package into
the cache and it is unpacked there, because installing the package itself
would pull in a web server (``apache2 | httpd``) that starts on port 80.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final

import requests

from devkit.redis_server import free_port
from pipeline.errors import AtrError

__all__ = ["RealWordPress", "RealWordPressError", "User", "cache_root", "prepare"]

_HERE: Final = Path(__file__).resolve().parent
_PACKAGE_DIR: Final = Path("/usr/share/wordpress")
#: Files whose content decides the prepared site: a change makes a new cache entry.
_RECIPE: Final = ("bootstrap.php", "wp-config.php", "harness.py")
_PHP_WORKERS: Final = "4"
_START_TIMEOUT_S: Final = 60.0
#: A build directory older than this, in seconds, is a crashed session's leftover.
_STALE_BUILD_S: Final = 3600
#: A prepared site no session used for this long, in seconds, is removed.
_UNUSED_ENTRY_S: Final = 7 * 24 * 3600
_PR_SET_PDEATHSIG: Final = 1
_PHP_INI: Final = ("-d", "memory_limit=256M", "-d", "post_max_size=64M",
                   "-d", "upload_max_filesize=64M", "-d", "max_execution_time=120",
                   "-d", "display_errors=stderr", "-d", "log_errors=1")
_INSTALL_HINT: Final = ("install the system packages with ./dev setup (php-cli php-mysql "
                        "php-gd php-xml php-mbstring php-intl php-getid3 libjs-cropper "
                        "libjs-underscore mariadb-server-core mariadb-client)")


class RealWordPressError(AtrError):
    """Raised when the real WordPress cannot be prepared or started; says what to install."""


@dataclass(frozen=True)
class User:
    """A WordPress user of the prepared site and its application password."""

    login: str
    id: int
    role: str
    application_password: str = field(repr=False)

    @property
    def token(self) -> str:
        """``login:application-password``, the form ``BRIDGE_TOKEN`` takes."""
        return f"{self.login}:{self.application_password}"


def cache_root(environ: Mapping[str, str] = os.environ) -> Path:
    """Where prepared sites are kept: ``ATR_RWP_CACHE``, else under ``~/.cache/atr-workers``."""
    configured = environ.get("ATR_RWP_CACHE")
    if configured:
        return Path(configured)
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "atr-workers" / "real-wordpress"


def _die_with_parent() -> None:
    # Between fork and exec: a killed test session must not leave servers behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _need(binary: str) -> str:
    found = shutil.which(binary) or next(
        (str(p) for p in (Path("/usr/sbin") / binary, Path("/usr/bin") / binary) if p.exists()),
        None)
    if found is None:
        raise RealWordPressError(f"{binary} is not installed: {_INSTALL_HINT}")
    return found


# -------------------------------------------------------------------- the core files

def _package_version() -> str | None:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "wordpress"],
                             capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def _downloaded_deb(cache: Path) -> Path:
    """Debian's wordpress .deb in ``cache/debs``, fetched with ``apt-get download`` once."""
    debs = cache / "debs"
    found = sorted(debs.glob("wordpress_*.deb"))
    if found:
        return found[-1]
    debs.mkdir(parents=True, exist_ok=True)
    apt = _need("apt-get")
    done = subprocess.run([apt, "download", "wordpress"], cwd=debs, capture_output=True,
                          text=True, check=False)
    found = sorted(debs.glob("wordpress_*.deb"))
    if done.returncode != 0 or not found:
        raise RealWordPressError(
            f"apt-get download wordpress failed ({done.stderr.strip()[-300:]}); run "
            "sudo apt-get update, or install the package: sudo apt-get install "
            "--no-install-recommends wordpress")
    return found[-1]


def _copy_core(source: Path, dest: Path) -> None:
    """Copy a WordPress tree to ``dest``, replacing Debian's symlinks by the files they name.

    A relative link is resolved as if the tree were installed in
    /usr/share/wordpress, then followed on this system (getID3 and the
    JavaScript libraries are ordinary packages). Debian's
    host-based ``wp-config.php`` and ``.htaccess`` are left out.
    """
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if rel.parts[0] in ("wp-config.php", ".htaccess"):
            continue
        target = dest / rel
        if path.is_symlink():
            link = Path(os.readlink(path))
            installed = _PACKAGE_DIR / rel
            resolved = link if link.is_absolute() else Path(
                os.path.normpath(installed.parent / link))
            if not resolved.exists():
                continue  # /etc/ssl/certs and the like: nothing the loopback site needs
            target.parent.mkdir(parents=True, exist_ok=True)
            if resolved.is_dir():
                shutil.copytree(resolved, target, dirs_exist_ok=True)
            else:
                shutil.copy2(resolved, target)
        elif path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _core(cache: Path, into: Path) -> str:
    """Put WordPress's files into ``into``; return the package version."""
    version = _package_version()
    if version and (_PACKAGE_DIR / "wp-load.php").exists():
        _copy_core(_PACKAGE_DIR, into)
        return version
    deb = _downloaded_deb(cache)
    with tempfile.TemporaryDirectory(prefix="atr-rwp-deb-") as unpack:
        subprocess.run([_need("dpkg-deb"), "-x", str(deb), unpack], check=True)
        _copy_core(Path(unpack) / _PACKAGE_DIR.relative_to("/"), into)
    return deb.name.split("_")[1]


def _recipe_hash() -> str:
    digest = hashlib.sha256()
    for name in _RECIPE:
        digest.update((_HERE / name).read_bytes())
    return digest.hexdigest()[:10]


# -------------------------------------------------------------------- the servers

class _MariaDB:
    """A mariadbd on a data directory, listening on a unix socket only."""

    def __init__(self, datadir: Path, rundir: Path) -> None:
        self.datadir = datadir
        self.socket = rundir / "mysqld.sock"
        self._rundir = rundir
        self._proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def install(datadir: Path, log: Path) -> None:
        datadir.mkdir(parents=True)
        args = [_need("mariadb-install-db"), "--no-defaults", f"--datadir={datadir}",
                "--auth-root-authentication-method=normal", "--skip-test-db",
                "--innodb-log-file-size=8M"]
        if os.geteuid() == 0:
            args.append("--user=root")
        with log.open("ab") as out:
            done = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            raise RealWordPressError(f"mariadb-install-db failed; its output ends: "
                                     f"{log.read_text(errors='replace')[-400:]}")

    def start(self) -> None:
        self._rundir.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        log = self._rundir / "mysqld.err"
        args = [_need("mariadbd"), "--no-defaults", f"--datadir={self.datadir}",
                f"--socket={self.socket}", f"--pid-file={self._rundir / 'mysqld.pid'}",
                "--skip-networking", f"--log-error={log}", "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci", "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=8M", "--skip-log-bin", "--performance-schema=off"]
        if os.geteuid() == 0:
            args.append("--user=root")
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        tail = log.read_text(errors="replace")[-600:] if log.exists() else "(no log)"
        raise RealWordPressError(f"MariaDB did not start on {self.socket}; its log ends: {tail}")

    def _answers(self) -> bool:
        """Whether the server sends its handshake (protocol 10) on the socket."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(str(self.socket))
                greeting = sock.recv(64)
        except OSError:
            return False
        return len(greeting) > 4 and greeting[4] == 10

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), so the data directory can be copied or reused."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None


def _php_env(url: str, db: _MariaDB, logdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATR_", "BRIDGE_"))}
    env.update(ATR_RWP_URL=url, ATR_RWP_DB_SOCKET=str(db.socket), ATR_RWP_LOG_DIR=str(logdir))
    return env


def _install_site(site: Path, db: _MariaDB, logdir: Path) -> dict[str, object]:
    """Run bootstrap.php against the running database; the credentials it prints."""
    url = "http://127.0.0.1:1"  # only stored as a default; WP_HOME follows the real port
    done = subprocess.run([_need("php"), *_PHP_INI, str(_HERE / "bootstrap.php"), str(site)],
                          capture_output=True, text=True, env=_php_env(url, db, logdir),
                          check=False)
    if done.returncode != 0:
        raise RealWordPressError(f"installing WordPress failed: {done.stderr.strip()[-800:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RealWordPressError(f"bootstrap.php printed no credentials: {done.stdout[-400:]}")
    result: dict[str, object] = json.loads(lines[-1])
    return result


def prepare(environ: Mapping[str, str] = os.environ) -> Path:
    """The prepared pristine site (``site/``, ``mysql/``, ``credentials.json``), built once.

    The first call installs WordPress (about half a minute); later calls find
    it in the cache and return at once.
    """
    cache = cache_root(environ)
    cache.mkdir(parents=True, exist_ok=True)
    recipe = _recipe_hash()
    ready = sorted(p for p in cache.glob(f"*-{recipe}") if (p / "credentials.json").exists())
    if ready:
        os.utime(ready[-1])  # in use: not pruned
        return ready[-1]
    _prune(cache)
    for stale in cache.glob("build-*"):
        # Another session may be building right now: only old leftovers go.
        if time.time() - stale.stat().st_mtime > _STALE_BUILD_S:
            shutil.rmtree(stale, ignore_errors=True)
    build = Path(tempfile.mkdtemp(prefix="build-", dir=cache))
    # A short path of its own: a unix socket path must stay under ~100 bytes.
    with tempfile.TemporaryDirectory(prefix="atr-rwp-", dir="/tmp") as run:
        db = _MariaDB(build / "mysql", Path(run))
        try:
            version = _core(cache, build / "site")
            shutil.copy2(_HERE / "wp-config.php", build / "site" / "wp-config.php")
            for sub in ("uploads", "mu-plugins", "upgrade"):
                (build / "site" / "wp-content" / sub).mkdir(parents=True, exist_ok=True)
            (build / "log").mkdir()
            _MariaDB.install(build / "mysql", build / "log" / "mariadb-install-db.log")
            db.start()
            credentials = _install_site(build / "site", db, build / "log")
        except BaseException:
            db.stop()
            shutil.rmtree(build, ignore_errors=True)
            raise
        db.stop()
    credentials["package_version"] = version
    (build / "credentials.json").write_text(json.dumps(credentials, indent=1))
    final = cache / f"{version.replace('+', '_').replace(':', '_')}-{recipe}"
    try:
        build.rename(final)
    except OSError:
        # A session that built at the same time got there first: use its copy.
        shutil.rmtree(build, ignore_errors=True)
        if not (final / "credentials.json").exists():
            raise
    return final


def _prune(cache: Path) -> None:
    """Remove prepared sites of other recipes that no session used for a week."""
    for entry in cache.glob("*-*"):
        if entry.name.startswith("build-") or not (entry / "credentials.json").exists():
            continue
        if time.time() - entry.stat().st_mtime > _UNUSED_ENTRY_S:
            shutil.rmtree(entry, ignore_errors=True)


def _copy_tree(source: Path, dest: Path, *, link: bool) -> None:
    """Copy a tree; with ``link``, hard links where the file system allows (core files)."""
    def copy(src: str, dst: str) -> object:
        if link:
            try:
                os.link(src, dst)
                return dst
            except OSError:
                pass
        return shutil.copy2(src, dst)
    shutil.copytree(source, dest, copy_function=copy, symlinks=True)


class RealWordPress:
    """A running copy of the prepared site on ``http://127.0.0.1:<free port>``.

    ``mu_plugins`` are copied into ``wp-content/mu-plugins`` before the start
    (the project's ``ops/wordpress/atr-seo-meta.php`` among them). The copy
    lives in ``workdir`` (a temporary directory when None) and is removed by
    :meth:`stop` when the directory was temporary.
    """

    def __init__(self, workdir: Path | None = None, *, mu_plugins: Iterable[Path] = (),
                 environ: Mapping[str, str] = os.environ) -> None:
        self._environ = environ
        self._mu_plugins = tuple(mu_plugins)
        self._workdir = workdir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._sockdir: tempfile.TemporaryDirectory[str] | None = None
        self._web: subprocess.Popen[bytes] | None = None
        self._db: _MariaDB | None = None
        self.port = 0
        self.version = ""
        self.users: dict[str, User] = {}

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the site's home."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_root(self) -> str:
        """``<url>/wp-json``: what ``BRIDGE_BASE`` is set to."""
        return f"{self.url}/wp-json"

    @property
    def site_dir(self) -> Path:
        """The running copy's document root."""
        assert self._workdir is not None
        return self._workdir / "site"

    @property
    def log_dir(self) -> Path:
        """PHP's, WordPress's and MariaDB's logs of the running copy."""
        assert self._workdir is not None
        return self._workdir / "log"

    def start(self) -> RealWordPress:
        """Copy the pristine site, start MariaDB and the web server, wait for ``/wp-json/``."""
        pristine = prepare(self._environ)
        if self._workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="atr-rwp-site-")
            self._workdir = Path(self._tmp.name)
        self._workdir.mkdir(parents=True, exist_ok=True)
        _copy_tree(pristine / "site", self.site_dir, link=True)
        _copy_tree(pristine / "mysql", self._workdir / "mysql", link=False)
        self.log_dir.mkdir(exist_ok=True)
        uploads = self.site_dir / "wp-content" / "uploads"
        # Uploads are written here: never into files shared with the cache by hard links.
        shutil.rmtree(uploads)
        uploads.mkdir()
        for plugin in self._mu_plugins:
            shutil.copy(plugin, self.site_dir / "wp-content" / "mu-plugins" / plugin.name)
        credentials = json.loads((pristine / "credentials.json").read_text())
        self.version = str(credentials["wordpress"])
        self.users = {login: User(login, int(u["id"]), str(u["role"]),
                                  str(u["application_password"]))
                      for login, u in credentials["users"].items()}
        self._sockdir = tempfile.TemporaryDirectory(prefix="atr-rwp-", dir="/tmp")
        self._db = _MariaDB(self._workdir / "mysql", Path(self._sockdir.name))
        try:
            self._db.start()
            self.port = free_port()
            self.start_web()
        except BaseException:
            self.stop()
            raise
        return self

    def start_web(self) -> None:
        """(Re)start the web server on :attr:`port` and wait until the REST root answers."""
        assert self._db is not None
        self._web = subprocess.Popen(
            [_need("php"), *_PHP_INI, "-d", f"error_log={self.log_dir / 'php-errors.log'}",
             "-S", f"127.0.0.1:{self.port}", "-t", str(self.site_dir),
             str(_HERE / "router.php")],
            env={**_php_env(self.url, self._db, self.log_dir),
                 "PHP_CLI_SERVER_WORKERS": _PHP_WORKERS},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=(self.log_dir / "php-server.log").open("ab"),
            start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._web.poll() is not None:
                break
            try:
                if requests.get(f"{self.rest_root}/", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        tail = (self.log_dir / "php-server.log").read_text(errors="replace")[-600:]
        self.stop_web()
        raise RealWordPressError(f"WordPress did not answer {self.rest_root}/; "
                                 f"php -S log ends: {tail}")

    def stop_web(self) -> None:
        """Stop the web server (its whole process group: the master and its workers)."""
        if self._web is not None:
            if self._web.poll() is None:
                os.killpg(self._web.pid, signal.SIGTERM)
                try:
                    self._web.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self._web.pid, signal.SIGKILL)
                    self._web.wait()
            self._web = None

    def stop_database(self) -> None:
        """Stop MariaDB only (WordPress then answers every request with a database error)."""
        if self._db is not None:
            self._db.stop()

    def start_database(self) -> None:
        """Start MariaDB again after :meth:`stop_database`."""
        if self._db is not None and not self._db.running:
            self._db.start()

    def stop(self) -> None:
        """Stop both servers and remove a temporary working copy."""
        self.stop_web()
        if self._db is not None:
            self._db.stop()
            self._db = None
        for tmp in (self._sockdir, self._tmp):
            if tmp is not None:
                tmp.cleanup()
        if self._tmp is not None:
            self._workdir = None
        self._sockdir = self._tmp = None

    def __enter__(self) -> RealWordPress:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
