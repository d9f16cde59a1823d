"""The canonical data model: the tables of a case store (``case.duckdb``).

Every reader produces rows of these tables; every later stage reads only these tables. The
model is documented for users in ``docs/data-model.md``; keep the two in step.

Timestamps are stored as ``TIMESTAMPTZ`` in UTC. List columns are ``VARCHAR[]``. Identifiers are
strings, whatever the source used, so that ids from different platforms never collide silently.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "ACCOUNT_KINDS",
    "LIST_COLUMNS",
    "POST_KINDS",
    "REQUIRED_COLUMNS",
    "SCHEMA_VERSION",
    "TABLES",
    "TableName",
    "create_tables_sql",
]

SCHEMA_VERSION: Final = 1

TableName = Literal["posts", "accounts", "infra", "memberships", "labels"]

POST_KINDS: Final = ("post", "share", "reply", "quote")
ACCOUNT_KINDS: Final = ("user", "page", "group", "channel")

#: Column name -> DuckDB type, in order, for every input table.
TABLES: Final[dict[str, dict[str, str]]] = {
    "posts": {
        "post_id": "VARCHAR",
        "account_id": "VARCHAR",
        "timestamp": "TIMESTAMPTZ",
        "kind": "VARCHAR",
        "text": "VARCHAR",
        "shared_post_id": "VARCHAR",
        "shared_account_id": "VARCHAR",
        "reply_to_post_id": "VARCHAR",
        "reply_to_account_id": "VARCHAR",
        "urls": "VARCHAR[]",
        "urls_original": "VARCHAR[]",
        "hashtags": "VARCHAR[]",
        "mentions": "VARCHAR[]",
        "media": "VARCHAR[]",
        "platform": "VARCHAR",
        "lang": "VARCHAR",
        "engagement": "BIGINT",
        "source": "VARCHAR",
    },
    "accounts": {
        "account_id": "VARCHAR",
        "kind": "VARCHAR",
        "username": "VARCHAR",
        "display_name": "VARCHAR",
        "created_at": "TIMESTAMPTZ",
        "followers": "BIGINT",
        "description": "VARCHAR",
        "location": "VARCHAR",
        "profile_image": "VARCHAR",
        "platform": "VARCHAR",
        "source": "VARCHAR",
    },
    "infra": {
        "account_id": "VARCHAR",
        "timestamp": "TIMESTAMPTZ",
        "ip": "VARCHAR",
        "asn": "VARCHAR",
        "country": "VARCHAR",
        "device_id": "VARCHAR",
        "user_agent": "VARCHAR",
        "source": "VARCHAR",
    },
    "memberships": {
        "account_id": "VARCHAR",
        "asset_id": "VARCHAR",
        "role": "VARCHAR",
        "source": "VARCHAR",
    },
    "labels": {
        "account_id": "VARCHAR",
        "label": "VARCHAR",
        "role": "VARCHAR",
        "source": "VARCHAR",
    },
}

#: Columns an input table must have (after column mapping) to be ingested.
REQUIRED_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "posts": ("post_id", "account_id", "timestamp"),
    "accounts": ("account_id",),
    "infra": ("account_id",),
    "memberships": ("account_id", "asset_id"),
    "labels": ("account_id", "label"),
}

#: The key that identifies a row; a second row with the same key is a duplicate (same content)
#: or a conflict (different content).
KEYS: Final[dict[str, tuple[str, ...]]] = {
    "posts": ("post_id",),
    "accounts": ("account_id",),
    "infra": ("account_id", "timestamp", "ip", "asn", "country", "device_id", "user_agent"),
    "memberships": ("account_id", "asset_id", "role"),
    "labels": ("account_id",),
}

LIST_COLUMNS: Final = frozenset(
    name for cols in TABLES.values() for name, typ in cols.items() if typ.endswith("[]")
)

#: Bookkeeping tables: input files seen, and every rejected input row.
META_TABLES: Final[dict[str, dict[str, str]]] = {
    "sources": {
        "path": "VARCHAR",
        "sha256": "VARCHAR",
        "size": "BIGINT",
        "format": "VARCHAR",
        "table_name": "VARCHAR",
        "rows_read": "BIGINT",
        "rows_ingested": "BIGINT",
        "rows_rejected": "BIGINT",
        "rows_duplicate": "BIGINT",
        "ingested_at": "TIMESTAMPTZ",
    },
    "rejects": {
        "file": "VARCHAR",
        "row": "BIGINT",
        "table_name": "VARCHAR",
        "column": "VARCHAR",
        "value": "VARCHAR",
        "reason": "VARCHAR",
    },
    "meta": {"key": "VARCHAR", "value": "VARCHAR"},
}


def create_tables_sql() -> str:
    """Return the DDL that creates every case-store table that does not exist yet.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute(create_tables_sql())
    >>> sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())[:3]
    ['accounts', 'infra', 'labels']
    """
    statements = []
    for name, cols in {**TABLES, **META_TABLES}.items():
        body = ", ".join(f'"{c}" {t}' for c, t in cols.items())
        statements.append(f'CREATE TABLE IF NOT EXISTS "{name}" ({body});')
    return "\n".join(statements)
