"""SQLite's SQL, as the stores write it, in PostgreSQL's dialect: one pure function, cached per statement.

What it rewrites (outside string literals where it matters): `?` and `:name` placeholders to `%s` and
`%(name)s` (a literal `%` doubles); `BEGIN IMMEDIATE` to `BEGIN`; `INSERT OR IGNORE` to `ON CONFLICT DO
NOTHING`; `INSERT OR REPLACE INTO t (cols)` to an upsert on t's primary key (`PRIMARY_KEYS`);
`json_extract(x, '$.a.b')` to `(x::jsonb #>> '{a,b}')`; `SUM(col = 'v')` (a boolean sum) to a CASE;
`(SELECT 1) LEFT JOIN` gets the alias PostgreSQL 15 requires; an INSERT into a table with an identity id
returns it (`lastrowid`); and the PRAGMAs the code reads (`user_version`, `journal_mode`,
`database_list`) become queries; other PRAGMAs are no-ops. A statement it does not know passes as is.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

# Every table's primary key, for INSERT OR REPLACE. A new table that is upserted must be listed here.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "queue": ("idea_id",),
    "sessions": ("id",),
    "days": ("session", "persona", "day"),
    "epochs": ("session", "persona", "epoch"),
    "ratings": ("idea_id",),
    "tournaments": ("id",),
    "questions": ("id",),
    "pairwise_judgements": ("id",),
}
IDENTITY_TABLES = {"pairwise_judgements"}  # INTEGER PRIMARY KEY AUTOINCREMENT: `lastrowid` via RETURNING

LOCK_CLASS = 0x47524448  # 'GRDH', the first key of every groundhog advisory lock


def lock_key(name: str) -> int:
    """The second advisory-lock key (a signed 32-bit integer) for a name such as a session id."""
    return zlib.crc32(name.encode()) - (1 << 31)


_PRAGMAS = {
    "user_version": "SELECT version FROM schema_version",
    "journal_mode": "SELECT 'postgresql'",
    "database_list": (
        "SELECT 0, 'main', 'postgresql://' || current_user || '@' || COALESCE(host(inet_server_addr()), "
        "'localhost') || ':' || current_setting('port') || '/' || current_database()"
    ),
}
_PRAGMA = re.compile(r"^\s*PRAGMA\s+(\w+)\s*(=.*)?;?\s*$", re.IGNORECASE | re.DOTALL)
_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_OR_REPLACE = re.compile(r"\bINSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
_INSERT_INTO = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)\b", re.IGNORECASE)
_JSON_EXTRACT = re.compile(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.([\w.]+)'\s*\)", re.IGNORECASE)
_BOOL_SUM = re.compile(r"\bSUM\(\s*([\w.]+)\s*(=|!=|<>)\s*('[^']*')\s*\)", re.IGNORECASE)
_SELECT_ONE = re.compile(r"\(SELECT 1\)(\s+(?:LEFT\s+)?JOIN)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def translate(sql: str, has_params: bool) -> tuple[str, bool]:
    """(PostgreSQL SQL, whether its first result column is the new row's id)."""
    pragma = _PRAGMA.match(sql)
    if pragma:
        name, assigned = pragma.group(1).lower(), pragma.group(2)
        return (_PRAGMAS.get(name, "SELECT 1") if not assigned else "SELECT 1"), False
    if re.match(r"^\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED)\s*;?\s*$", sql, re.IGNORECASE):
        return "BEGIN", False
    out = sql.rstrip().rstrip(";")
    suffix = ""
    if _OR_IGNORE.search(out):
        out = _OR_IGNORE.sub("INSERT INTO", out)
        suffix = " ON CONFLICT DO NOTHING"
    replace = _OR_REPLACE.search(out)
    if replace:
        table, cols = replace.group(1), [c.strip() for c in replace.group(2).split(",")]
        key = PRIMARY_KEYS.get(table)
        if key is None:
            raise ValueError(f"INSERT OR REPLACE into {table}: add its primary key to core/pg_sql.PRIMARY_KEYS")
        out = out[: replace.start()] + f"INSERT INTO {table} ({replace.group(2)})" + out[replace.end() :]
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in key)
        suffix = f" ON CONFLICT ({', '.join(key)}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
    out = _JSON_EXTRACT.sub(lambda m: f"({m.group(1)}::jsonb #>> '{{{m.group(2).replace('.', ',')}}}')", out)
    out = _BOOL_SUM.sub(r"SUM(CASE WHEN \1 \2 \3 THEN 1 ELSE 0 END)", out)
    out = _SELECT_ONE.sub(r"(SELECT 1) AS _one\1", out)
    returning = False
    insert = _INSERT_INTO.match(out)
    if insert and insert.group(1) in IDENTITY_TABLES and not re.search(r"\bRETURNING\b", out, re.IGNORECASE):
        suffix += " RETURNING id"
        returning = True
    out += suffix
    if has_params:
        out = _placeholders(out)
    return out, returning


def _placeholders(sql: str) -> str:
    """`?` -> `%s`, `:name` -> `%(name)s`, `%` -> `%%`, leaving string literals and `::` casts alone."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i : j + 1].replace("%", "%%"))
            i = j + 1
            continue
        if ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        elif ch == ":" and i + 1 < n and sql[i + 1] == ":":
            out.append("::")
            i += 2
            continue
        elif ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def translate_params(params: Sequence[Any] | dict[str, Any] | None) -> Any:
    if params is None or len(params) == 0:
        return None
    if isinstance(params, dict):
        return {k: _value(v) for k, v in params.items()}
    return [_value(v) for v in params]
