"""An embedded PostgreSQL that the hub starts itself when `DATABASE_URL` is not set.

The cluster lives in `<data_dir>/pgdata` and listens on a Unix socket only. The API is synchronous
(it only runs PostgreSQL's own programs), so it works with or without a running event loop.

Every hub process that uses the server holds an exclusive lock on a file of its own in
`<data_dir>/users`; the kernel drops the lock when the process ends, however it ends. The last
user out stops the server, whichever started it, unless `db` asked to keep it running for psql.
"""

import fcntl
import glob
import hashlib
import importlib.util
import logging
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import quote

from hub.config import Settings
from hub.failures import Refused

logger = logging.getLogger(__name__)

DB_NAME = "engagement_hub"
SUPERUSER = "postgres"
SERVICE_USER = "engagement-hub"
PORT = 5432
SYSTEM_BIN_GLOB = "/usr/lib/postgresql/*/bin"
REQUIRED_PROGRAMS = ("initdb", "pg_ctl", "postgres", "psql")
COMMAND_TIMEOUT = 120
# sun_path holds 108 bytes on Linux and 104 on macOS/BSD, the terminating NUL included.
MAX_SOCKET_PATH = 107 if sys.platform.startswith("linux") else 103
WAYS_OUT = (
    "Ways out: set DATABASE_URL to an external PostgreSQL, install the PostgreSQL server "
    "package (e.g. `apt-get install postgresql`), or `pip install pgserver`."
)
SEARCHED = {
    "auto": "on $PATH, via `pg_config --bindir`, in {glob} or in the pgserver package",
    "system": "on $PATH, via `pg_config --bindir` or in {glob}",
    "pgserver": "in the pgserver package (is it installed?)",
}
EXECUTE = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
READ_EXECUTE = (
    stat.S_IRUSR | stat.S_IXUSR,
    stat.S_IRGRP | stat.S_IXGRP,
    stat.S_IROTH | stat.S_IXOTH,
)


class NoPostgresAvailable(Refused, RuntimeError):
    """No PostgreSQL server binaries were found."""


class EmbeddedPostgresError(Refused, RuntimeError):
    """The embedded PostgreSQL could not be prepared, started or stopped."""


class InUse(EmbeddedPostgresError):
    """The embedded PostgreSQL was asked to stop while hub processes use it."""

    def __init__(self, users: list[str]) -> None:
        """Name the `users`, as `pid N (command)`."""
        super().__init__(
            f"the embedded PostgreSQL is in use by {', '.join(users)}; "
            "stop them first, or stop it anyway with --force"
        )


@dataclass(frozen=True)
class PgBinaries:
    """A directory of PostgreSQL server programs, where they came from, and their major version."""

    bindir: Path
    source: str
    version: int


@dataclass(frozen=True)
class _RunAs:
    """The unprivileged system user that runs PostgreSQL when the hub runs as root."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]

    @classmethod
    def of(cls, entry: pwd.struct_passwd) -> "_RunAs":
        """The user of a passwd entry, with all its groups."""
        groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, groups)


def find_binaries(preference: str = "auto", major: int | None = None) -> PgBinaries:
    """The first usable binaries of `preference`, of major version `major` if any has it."""
    candidates = _candidates(preference)
    first = next(candidates, None)
    if first is None:
        raise NoPostgresAvailable(
            f"No PostgreSQL server binaries ({', '.join(REQUIRED_PROGRAMS)}) found "
            f"{SEARCHED[preference].format(glob=SYSTEM_BIN_GLOB)}. {WAYS_OUT}"
        )
    if major is None or first.version == major:
        return first
    return next((found for found in candidates if found.version == major), first)


def _candidates(preference: str) -> Iterator[PgBinaries]:
    """Usable binaries in the order `preference` asks for ("auto": system, then pgserver)."""
    if preference not in SEARCHED:
        raise ValueError(f"pg_binaries must be one of {', '.join(SEARCHED)}, not {preference!r}")
    sources = ("system", "pgserver") if preference == "auto" else (preference,)
    seen: set[Path] = set()
    for source in sources:
        for bindir in _system_bindirs() if source == "system" else _pgserver_bindirs():
            if bindir in seen or not all((bindir / name).is_file() for name in REQUIRED_PROGRAMS):
                continue
            seen.add(bindir)
            version = _major_version(bindir)
            if version is not None:
                yield PgBinaries(bindir, source, version)


def _system_bindirs() -> Iterator[Path]:
    """Directories that may hold the machine's PostgreSQL server programs, best first."""
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry and (Path(entry) / "pg_ctl").is_file():
            # /usr/local/bin may hold symlinks to only some programs; their real home holds all
            yield (Path(entry) / "pg_ctl").resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            found = None
        if found is not None and found.returncode == 0 and found.stdout.strip():
            yield Path(found.stdout.strip()).resolve()
    versioned = sorted(glob.glob(SYSTEM_BIN_GLOB), key=_dir_version, reverse=True)
    yield from (Path(found).resolve() for found in versioned)


def _dir_version(bindir: str) -> tuple[int, ...]:
    """The version in a path like /usr/lib/postgresql/15/bin, for sorting."""
    return tuple(int(part) for part in re.findall(r"\d+", Path(bindir).parent.name))


def _pgserver_bindirs() -> Iterator[Path]:
    """The bin directory of the pgserver wheel, located without importing it."""
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        yield Path(next(iter(spec.submodule_search_locations))).resolve() / "pginstall" / "bin"


def _major_version(bindir: Path) -> int | None:
    """The major version `postgres --version` reports, or None if it does not run."""
    try:
        output = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", output)
    if found is None:
        logger.debug("ignoring %s: unexpected `postgres --version` output %r", bindir, output)
        return None
    return int(found.group(1))


def _cluster_version(pgdata: Path) -> int | None:
    """The major version of the cluster in `pgdata`, or None if there is none yet."""
    try:
        return int((pgdata / "PG_VERSION").read_text().strip().split(".")[0])
    except (OSError, ValueError):
        return None


def _socket_dir(data_dir: Path) -> Path:
    """`<data_dir>/run`, or a short deterministic directory in /tmp if that path is too long."""
    preferred = data_dir / "run"
    if len(os.fsencode(preferred / f".s.PGSQL.{PORT}")) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path("/tmp") / f"ehub-{digest}"


def _service_user(pgdata: Path) -> _RunAs | None:
    """The user to run PostgreSQL as: None (ourselves) unless we are root, who may not."""
    if os.geteuid() != 0:
        return None
    try:
        if pgdata.exists() and pgdata.stat().st_uid != 0:
            # An existing cluster can only be run by the user that owns it.
            return _RunAs.of(pwd.getpwuid(pgdata.stat().st_uid))
        entry = pwd.getpwnam(os.environ.get("HUB_PG_SYSTEM_USER") or _default_service_user())
    except KeyError as error:
        raise EmbeddedPostgresError(
            f"System user to run PostgreSQL as does not exist: {error}. "
            "Set HUB_PG_SYSTEM_USER to an existing unprivileged user."
        ) from None
    if entry.pw_uid == 0:
        raise EmbeddedPostgresError(
            f"PostgreSQL refuses to run as root; {entry.pw_name!r} has uid 0. "
            "Set HUB_PG_SYSTEM_USER to an unprivileged user."
        )
    return _RunAs.of(entry)


def _default_service_user() -> str:
    """`postgres` if the machine has it, else our own system user, created on first use."""
    for name in (SUPERUSER, SERVICE_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    try:
        subprocess.run([*command, SERVICE_USER], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        try:
            pwd.getpwnam(SERVICE_USER)  # another process may have created it meanwhile
        except KeyError:
            detail = getattr(error, "stderr", None) or error
            raise EmbeddedPostgresError(
                f"Could not create the system user {SERVICE_USER!r} to run PostgreSQL as "
                f"({detail}). Create an unprivileged user and set HUB_PG_SYSTEM_USER to it."
            ) from None
    return SERVICE_USER


def _allowed(path: Path, user: _RunAs, bits: tuple[int, int, int]) -> bool:
    """Whether `user` has all permission `bits` (owner, group, other) on `path`."""
    info = path.stat()
    if info.st_uid == user.uid:
        wanted = bits[0]
    elif info.st_gid in user.groups:
        wanted = bits[1]
    else:
        wanted = bits[2]
    return info.st_mode & wanted == wanted


def _check_traversable(path: Path, user: _RunAs, hint: str) -> None:
    """Raise unless `user` can traverse `path` and each of its existing ancestors."""
    for directory in (*reversed(path.parents), path):
        if directory.exists() and not _allowed(directory, user, EXECUTE):
            raise EmbeddedPostgresError(
                f"The system user {user.name!r}, which runs PostgreSQL, cannot traverse "
                f"{directory} (no 'x' permission for it), so it cannot reach {path}. {hint}"
            )


def _check_binaries_usable(binaries: PgBinaries, user: _RunAs) -> None:
    """Raise unless `user` can run the programs and read their libraries and data files."""
    hint = (
        f"Install the {binaries.source} binaries where it can reach them (pip normally installs "
        "them with mode 0o755), or choose other ones with HUB_PG_BINARIES."
    )
    _check_traversable(binaries.bindir, user, hint)
    for directory in (
        binaries.bindir,
        binaries.bindir.parent / "lib",
        binaries.bindir.parent / "share",
    ):
        if directory.is_dir() and not _allowed(directory, user, READ_EXECUTE):
            raise EmbeddedPostgresError(f"{user.name!r} cannot read {directory}. {hint}")
    for name in REQUIRED_PROGRAMS:
        if not _allowed(binaries.bindir / name, user, EXECUTE):
            raise EmbeddedPostgresError(
                f"{user.name!r} cannot run {binaries.bindir / name}. {hint}"
            )


def _make_dir(path: Path, user: _RunAs | None) -> None:
    """Create `path` (mode 0o755, missing parents too) owned by `user`; refuse a stranger's."""
    for parent in reversed(path.parents):
        if not parent.exists():
            parent.mkdir(exist_ok=True)
            parent.chmod(0o755)  # the umask must not lock the service user out
    try:
        path.mkdir()
        path.chmod(0o755)
    except FileExistsError:
        pass
    info = path.lstat()
    owner = user.uid if user else os.geteuid()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (owner, os.geteuid()):
        raise EmbeddedPostgresError(
            f"{path} is not a directory owned by {user.name if user else 'this user'}; "
            "remove it or set HUB_DATA_DIR elsewhere."
        )
    if user is not None and info.st_uid != user.uid:
        os.chown(path, user.uid, user.gid)


def _live_user(path: Path) -> str | None:
    """What the user file at `path` says (`pid N (command)`) while its process holds its lock;
    None, and the file removed, once the process has ended."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.read(descriptor, 4096).decode(errors="replace")
    else:
        path.unlink(missing_ok=True)
        return None
    finally:
        os.close(descriptor)


def _server_env() -> dict[str, str]:
    """Our environment without PG* variables, which would redirect PostgreSQL's programs."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


class EmbeddedPostgres:
    """A PostgreSQL cluster in a data directory, started (or reused) on a private Unix socket.

    `started_here` tells whether `start()` started the server (rather than reusing one); it is
    stopped by whoever `release()`s it last.
    """

    def __init__(self, data_dir: Path, binaries: PgBinaries) -> None:
        """Describe the cluster in `data_dir`; nothing happens until `start()`."""
        self.data_dir = Path(data_dir).resolve()
        self.binaries = binaries
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgresql.log"
        self.socket_dir = _socket_dir(self.data_dir)
        self.users_dir = self.data_dir / "users"
        self.keep_file = self.data_dir / "keep-running"
        self.started_here = False
        self._registration: tuple[int, Path] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "EmbeddedPostgres":
        """The cluster of `settings.data_dir`, with binaries matching its version if possible."""
        data_dir = settings.data_dir.resolve()
        major = _cluster_version(data_dir / "pgdata")
        return cls(data_dir, find_binaries(settings.pg_binaries, major=major))

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the application database, over the Unix socket."""
        return f"postgresql+asyncpg://{SUPERUSER}@/{DB_NAME}?host={quote(str(self.socket_dir))}"

    @cached_property
    def _user(self) -> _RunAs | None:
        """The system user PostgreSQL runs as (None: this process's own user)."""
        return _service_user(self.pgdata)

    def start(self) -> str:
        """Init the cluster if needed, start or reuse it, create the database, and count this
        object among the server's users until `release()`; return the URL."""
        self._prepare()
        with self._locked():
            if not self.is_running():
                self._check_cluster_version()
                if not (self.pgdata / "PG_VERSION").exists():
                    self._initdb()
                self._pg_ctl("start", "-w", "-l", str(self.log_file), "-o", self._server_options())
                self.started_here = True
            self._ensure_database()
            self._register()
        self._log_binaries()
        return self.url

    def release(self) -> None:
        """Stop counting this object among the users; the last one out stops the server,
        unless it is kept running (`keep_running`)."""
        with self._locked():
            self._unregister()
            users = self._users()
            if users or self.keep_file.exists():
                why = ", ".join(users) or f"kept running ({self.keep_file} exists)"
                logger.info("leaving the embedded PostgreSQL running: %s", why)
                return
            self.stop()

    def keep_running(self) -> None:
        """Have the server outlive its users, until it is stopped (`db --stop`)."""
        self.keep_file.touch()

    def stop_unless_used(self, force: bool = False) -> bool:
        """Stop the server, refusing while hubs use it unless `force`; whether it was running."""
        if not self.data_dir.is_dir():
            return False
        with self._locked():
            users = self._users()
            if users and not force:
                raise InUse(users)
            running = self.is_running()
            self.stop()
        return running

    def stop(self) -> None:
        """Stop the server (fast shutdown: open transactions are rolled back)."""
        self._unregister()
        self.keep_file.unlink(missing_ok=True)
        if self.is_running():
            self._pg_ctl("stop", "-w", "-m", "fast")

    def _users(self) -> list[str]:
        """The processes using the server, as `pid N (command)`; files of ended ones go.
        Under the lock only: a file is locked just after it is made."""
        if not self.users_dir.is_dir():
            return []
        return [
            user
            for path in sorted(self.users_dir.iterdir())
            if (user := _live_user(path)) is not None
        ]

    def is_running(self) -> bool:
        """Whether the postmaster recorded in `pgdata/postmaster.pid` is alive."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # alive, but run by another user
        return True

    def _prepare(self) -> None:
        """Check permissions, then create the data and socket directories for the service user."""
        user = self._user
        if user is not None:
            hint = (
                "Set HUB_DATA_DIR to a directory it can reach (e.g. below /var/lib); the hub does "
                "not change the permissions of directories it did not create."
            )
            _check_traversable(self.data_dir.parent, user, hint)
            _check_binaries_usable(self.binaries, user)
        _make_dir(self.data_dir, user)
        _make_dir(self.socket_dir, user)

    def _register(self) -> None:
        """Count this object among the users: an exclusively locked file of its own."""
        if self._registration is not None:
            return
        _make_dir(self.users_dir, self._user)
        descriptor, path = tempfile.mkstemp(dir=self.users_dir, prefix=f"{os.getpid()}-")
        os.fchmod(descriptor, 0o644)  # `db --stop` of another user may read it
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
        os.write(descriptor, f"pid {os.getpid()} ({command})".encode())
        self._registration = (descriptor, Path(path))

    def _unregister(self) -> None:
        """No longer count this object among the users."""
        if self._registration is None:
            return
        descriptor, path = self._registration
        path.unlink(missing_ok=True)
        os.close(descriptor)
        self._registration = None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on the data directory, so concurrent starts do not race."""
        # Read-only, so a lock file left by root does not lock out a later unprivileged hub.
        descriptor = os.open(self.data_dir / ".lock", os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def _check_cluster_version(self) -> None:
        """Raise if the cluster was created by another major version than our binaries."""
        found = _cluster_version(self.pgdata)
        if found is not None and found != self.binaries.version:
            raise EmbeddedPostgresError(
                f"{self.pgdata} holds a PostgreSQL {found} cluster, but the {self.binaries.source} "
                f"binaries in {self.binaries.bindir} are PostgreSQL {self.binaries.version}. "
                f"Make PostgreSQL {found} available (or pick it with HUB_PG_BINARIES), upgrade "
                "the cluster with pg_upgrade, or set HUB_DATA_DIR to a new directory."
            )

    def _initdb(self) -> None:
        """Create the cluster, with the C.UTF-8 locale where the system supports it."""
        command = [str(self.binaries.bindir / "initdb"), "-D", str(self.pgdata), "-U", SUPERUSER]
        command += ["--auth=trust", "--encoding=UTF8"]
        try:
            self._run([*command, "--locale=C.UTF-8"])
        except EmbeddedPostgresError as error:
            logger.info("initdb with locale C.UTF-8 failed, retrying with --no-locale: %s", error)
            self._run([*command, "--no-locale"])

    def _server_options(self) -> str:
        """Server settings for `pg_ctl -o`: socket only, in our directory, for its owner only."""
        # In postgresql.conf lists, a double-quoted element may hold spaces and commas.
        socket_dirs = '"' + str(self.socket_dir).replace('"', '""') + '"'
        settings = {
            "listen_addresses": "",
            "unix_socket_directories": socket_dirs,
            "unix_socket_permissions": "0700",
            "port": str(PORT),
        }
        # pg_ctl hands these to a shell.
        return shlex.join(
            part for key, value in settings.items() for part in ("-c", f"{key}={value}")
        )

    def _pg_ctl(self, *args: str) -> None:
        """Run pg_ctl on our cluster; a failure shows the end of the server log."""
        try:
            self._run([str(self.binaries.bindir / "pg_ctl"), "-D", str(self.pgdata), *args])
        except EmbeddedPostgresError as error:
            raise EmbeddedPostgresError(f"{error}\n{self._log_tail()}") from None

    def _ensure_database(self) -> None:
        """Create the application database unless it exists."""
        sql = (
            f"SELECT 'CREATE DATABASE {DB_NAME}' "
            f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DB_NAME}') \\gexec\n"
        )
        psql = [str(self.binaries.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        socket = ["-h", str(self.socket_dir), "-p", str(PORT)]
        self._run([*psql, *socket, "-U", SUPERUSER, "-d", "postgres"], stdin=sql)

    def _run(self, command: list[str], stdin: str = "") -> None:
        """Run a PostgreSQL program as the service user; raise with its output if it fails."""
        user = self._user
        # A file, not a pipe: the server started by pg_ctl could keep a pipe open forever.
        with tempfile.TemporaryFile() as output:
            try:
                finished = subprocess.run(
                    command,
                    input=stdin.encode(),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    env=_server_env(),
                    timeout=COMMAND_TIMEOUT,
                    user=user.uid if user else None,
                    group=user.gid if user else None,
                    # replaces root's supplementary groups with the user's own
                    extra_groups=list(user.groups) if user else None,
                )
            except subprocess.TimeoutExpired:
                raise EmbeddedPostgresError(f"{shlex.join(command)} timed out") from None
            output.seek(0)
            text = output.read().decode(errors="replace")
        if finished.returncode != 0:
            raise EmbeddedPostgresError(
                f"{shlex.join(command)} failed (exit {finished.returncode}):\n{text.strip()}"
            )

    def _log_tail(self, lines: int = 20) -> str:
        """The last lines of the server log, for error messages."""
        try:
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"(no server log at {self.log_file})"
        return f"Last lines of {self.log_file}:\n" + "\n".join(tail)

    def _log_binaries(self) -> None:
        """Say which binaries serve the hub, and what the pgserver build lacks."""
        binaries = self.binaries
        logger.info(
            "%s embedded PostgreSQL %d (%s binaries in %s), data in %s, socket in %s",
            "Started" if self.started_here else "Reusing already running",
            binaries.version,
            binaries.source,
            binaries.bindir,
            self.pgdata,
            self.socket_dir,
        )
        if binaries.source == "pgserver":
            logger.warning(
                "The pgserver binaries lack the contrib extensions pg_trgm and unaccent, so "
                "trigram search degrades; install the PostgreSQL server package for full search."
            )
