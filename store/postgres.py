"""PostgreSQL (`database_url = "postgresql://..."`) through SQLAlchemy's psycopg 3 dialect.

The same tables and migrations as SQLite. A connection that fails when opening is one line naming
`database_url` (BadInput, exit 2), before any work starts, with the password redacted. The pool checks
a connection before handing it out (`pool_pre_ping`), so a restarted server is reconnected to on the next
transaction, and a new connection is retried for `RECONNECT_S` seconds while the server comes back (the
engine's `do_connect` hook; only after the first open, which fails at once); a connection lost inside a
transaction raises StoreError (nothing of it was committed).
psycopg is imported by SQLAlchemy only when an engine is made, so `groundhog --help` stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from groundhog.core.errors import BadInput, StoreError
from groundhog.store.database import Database

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

SETTING = "database_url"
CONNECT_TIMEOUT_S = 5
RECONNECT_S = 30.0


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    except ValueError:
        return "<unparsable URL>"


def check_url(url: str) -> None:
    if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise BadInput(f"{SETTING}: '{redact(url)}' is not a PostgreSQL URL (expected postgresql://USER@HOST:PORT/DB)")


def engine_url(url: str) -> str:
    """The URL for SQLAlchemy's psycopg 3 dialect."""
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def translate(err: DBAPIError, where: str) -> Exception | None:
    """A lost or refused connection is one line naming the setting; anything else stays as it is."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(err, OperationalError | InterfaceError):
        if err.connection_invalidated:
            return StoreError(
                f"{SETTING}: lost the connection to {where} ({first_line(err)}); nothing of that transaction "
                "was committed"
            )
        return StoreError(f"{SETTING}: {where}: {first_line(err)}")
    return None


def postgres_engine(url: str) -> Any:
    from sqlalchemy import create_engine, event

    engine = create_engine(engine_url(url), pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    opened = False

    @event.listens_for(engine, "first_connect")
    def _first(_dbapi_connection: Any, _record: Any) -> None:
        nonlocal opened
        opened = True

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        if not opened:
            return None  # the first open fails at once: one BadInput line before any work
        return _retrying(lambda: dialect.loaded_dbapi.connect(*cargs, **cparams))

    return engine


def _retrying(connect: Any) -> Any:
    """A server restarting mid-session: keep trying to connect for RECONNECT_S seconds."""
    import psycopg
    from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

    policy = retry(
        retry=retry_if_exception_type(psycopg.OperationalError),
        stop=stop_after_delay(RECONNECT_S),
        wait=wait_fixed(0.5),
        reraise=True,
    )
    return policy(connect)()


def open_postgres(url: str) -> Database:
    """Connect and bring the schema up to date; BadInput naming `database_url` when that fails."""
    from sqlalchemy.exc import DBAPIError

    from groundhog.store.migrate import migrate

    check_url(url)
    where = redact(url)
    try:
        engine = postgres_engine(url)
    except ImportError as err:
        raise BadInput(f"{SETTING}: PostgreSQL needs psycopg: pip install 'psycopg[binary]' ({err})") from err
    db = Database(engine, where, lambda err: translate(err, where))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except DBAPIError as err:
        db.close()
        raise BadInput(f"{SETTING}: cannot connect to {where}: {first_line(err)}") from err
    try:
        migrate(db)
    except DBAPIError as err:
        db.close()
        raise BadInput(f"{SETTING}: {where}: {first_line(err)}") from err
    except BaseException:
        db.close()
        raise
    return db
