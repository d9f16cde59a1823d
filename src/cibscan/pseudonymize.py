"""Pseudonyms for account ids and handles, consistent across every output of a run.

A report or an export sometimes has to leave the investigation team (to a platform, a court, a
research partner) without naming the accounts. :class:`Pseudonymizer` replaces

* account ids with ``acct_`` + 16 hex digits of HMAC-SHA256(salt, id),
* handles (``username``, ``@mentions`` in texts and bios, the ``mentions`` lists, the items of
  the ``mention`` signal) with ``user_`` + HMAC of the lowercased handle (handles are
  case-insensitive on the platforms, so ``@Anna`` and ``@anna`` stay one person),
* display names with ``name_`` + HMAC of the name, and handle stems (the creation fingerprint's
  ``handle_stems``) with ``stem_`` + HMAC of the stem.

A pseudonym is a pure function of the salt and the value: the same salt gives the same
pseudonyms in every file and every run; another salt gives unrelated ones, and without the salt
they cannot be reversed by hashing candidate ids. Equal values stay equal, so every finding that
rests on equality (shared display names, who shared whom) reads the same.

What is *not* replaced: names written without ``@`` in free text, handles inside URLs or
profile-image addresses, and infrastructure values (IPs, devices); see ``docs/outputs``.

Detection runs on the original data (handle templates are a marker); only its outputs are
renamed, so the results are the same modulo renaming.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cibscan.errors import ConfigError

__all__ = ["Pseudonymizer", "pseudonymize_case"]

#: Hex digits of the HMAC kept: 64 bits, so a collision among a billion ids is unlikely
#: (about 3%); a collision among the values actually seen is detected and reported.
DIGEST_CHARS: Final = 16

# The ingest's mention rule (cibscan.ingest.load.MENTION_RE) in Python's dialect: an @ not
# preceded by a letter, digit, underscore, dot, @ or slash (so e-mail addresses and URLs stay).
_MENTION: Final = re.compile(r"(?<![\w.@/])@(\w+)")

#: Keys of networks.json whose values are cibscan's own labels (N1, G2), never account data.
_OWN_KEYS: Final = frozenset({"id", "network_id", "group_id", "rank", "signal", "marker"})

#: Keys whose values are hashtags, terms or shapes, never an account: a hashtag spelled like a
#: handle (#freevaloria, @FreeValoria) stays a hashtag; only ``@handles`` inside are replaced.
_TEXT_KEYS: Final = frozenset({"item", "hashtag", "pattern"})

#: Account-id columns of the case store's tables.
_ID_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "posts": ("account_id", "shared_account_id", "reply_to_account_id"),
    "accounts": ("account_id",),
    "infra": ("account_id",),
    "memberships": ("account_id", "asset_id"),
    "labels": ("account_id",),
}


@dataclass
class Pseudonymizer:
    """Maps account ids, handles and display names to keyed pseudonyms.

    Parameters
    ----------
    salt
        The secret key of the HMAC (any non-empty text). Keep it to reproduce the same
        pseudonyms later; without it they cannot be linked back to the accounts.
    account_ids, handles, names
        The values known to be account ids, handles and display names (from the case store):
        a JSON string equal to one of them is replaced whole.

    Examples
    --------
    >>> p = Pseudonymizer("s3cret")
    >>> p.account("12345")
    'acct_0618c8209f504491'
    >>> p.text("thanks @Anna and @anna!") == f"thanks @{p.handle('anna')} and @{p.handle('anna')}!"
    True
    """

    salt: str
    account_ids: frozenset[str] = frozenset()
    handles: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    _memo: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)
    _seen: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.salt:
            raise ConfigError("the pseudonymisation salt must not be empty")
        self.handles = frozenset(h.lower() for h in self.handles)

    @classmethod
    def from_case(cls, con: duckdb.DuckDBPyConnection, salt: str) -> Pseudonymizer:
        """Collect the account ids, handles and display names of a case store."""
        ids = con.execute(
            """
            SELECT account_id FROM accounts UNION SELECT account_id FROM posts
            UNION SELECT shared_account_id FROM posts UNION SELECT reply_to_account_id FROM posts
            UNION SELECT account_id FROM memberships UNION SELECT asset_id FROM memberships
            UNION SELECT account_id FROM infra
            """
        ).fetchall()
        handles = con.execute(
            "SELECT lower(username) FROM accounts UNION SELECT lower(unnest(mentions)) FROM posts"
        ).fetchall()
        names = con.execute("SELECT DISTINCT display_name FROM accounts").fetchall()
        return cls(
            salt,
            account_ids=frozenset(str(r[0]) for r in ids if r[0] is not None),
            handles=frozenset(str(r[0]) for r in handles if r[0]),
            names=frozenset(str(r[0]) for r in names if r[0]),
        )

    def _pseudonym(self, kind: str, prefix: str, value: str) -> str:
        key = (kind, value)
        known = self._memo.get(key)
        if known is not None:
            return known
        digest = hmac.new(
            self.salt.encode("utf-8"), f"{kind}\x00{value}".encode(), hashlib.sha256
        ).hexdigest()
        pseudonym = prefix + digest[:DIGEST_CHARS]
        previous = self._seen.setdefault(pseudonym, key)
        if previous != key:
            raise ConfigError(f"pseudonym collision between two {kind} values; choose another salt")
        self._memo[key] = pseudonym
        return pseudonym

    def account(self, account_id: str) -> str:
        """The pseudonym of an account id."""
        return self._pseudonym("account", "acct_", account_id)

    def handle(self, handle: str) -> str:
        """The pseudonym of a handle (case-insensitive; a leading ``@`` is ignored)."""
        return self._pseudonym("handle", "user_", handle.removeprefix("@").lower())

    def name(self, display_name: str) -> str:
        """The pseudonym of a display name."""
        return self._pseudonym("name", "name_", display_name)

    def stem(self, stem: str) -> str:
        """The pseudonym of a handle stem (a handle without its digits)."""
        return self._pseudonym("stem", "stem_", stem.lower())

    def text(self, text: str) -> str:
        """Free text with every ``@handle`` replaced by ``@`` + its pseudonym."""
        if "@" not in text:
            return text
        return _MENTION.sub(lambda m: "@" + self.handle(m.group(1)), text)

    def value(self, value: str) -> str:
        """A string of unknown role: an account id, handle or name whole, else as text."""
        if value in self.account_ids:
            return self.account(value)
        if value.lower() in self.handles:
            return self.handle(value)
        if value in self.names:
            return self.name(value)
        return self.text(value)

    def document(self, data: Any, key: str | None = None) -> Any:
        """A JSON-like structure (``networks.json``) with every account reference replaced.

        Strings are replaced by :meth:`value`; cibscan's own labels (``id``, ``network_id``,
        ``group_id``, ``signal``, ``marker``) and dictionary keys are kept; hashtags, terms and
        handle shapes (``item``, ``hashtag``, ``pattern``) only have their ``@handles``
        replaced; handle stems become ``stem_`` pseudonyms.
        """
        if isinstance(data, dict):
            out: dict[str, Any] = {}
            for k, v in data.items():
                if k == "stem" and isinstance(v, str):
                    out[k] = self.stem(v)
                else:
                    out[k] = self.document(v, k)
            return out
        if isinstance(data, list):
            return [self.document(v, key) for v in data]
        if isinstance(data, str) and key in _TEXT_KEYS:
            return self.text(data)
        if isinstance(data, str) and key not in _OWN_KEYS:
            return self.value(data)
        return data

    # Arrow columns -------------------------------------------------------------------------

    def _map(self, column: pa.ChunkedArray | pa.Array, fn: Any) -> pa.Array:
        """Apply ``fn`` once per distinct value of a string column (nulls stay null)."""
        strings = pc.cast(column, pa.string())
        if isinstance(strings, pa.ChunkedArray):
            strings = strings.combine_chunks()
        distinct = pc.unique(strings).drop_null()
        mapped = pa.array([fn(v) for v in distinct.to_pylist()], pa.string())
        return pc.take(mapped, pc.index_in(strings, value_set=distinct))

    def accounts_column(self, column: pa.ChunkedArray | pa.Array) -> pa.Array:
        """Account ids → pseudonyms."""
        return self._map(column, self.account)

    def handles_column(self, column: pa.ChunkedArray | pa.Array) -> pa.Array:
        """Handles → pseudonyms."""
        return self._map(column, self.handle)

    def names_column(self, column: pa.ChunkedArray | pa.Array) -> pa.Array:
        """Display names → pseudonyms."""
        return self._map(column, self.name)

    def text_column(self, column: pa.ChunkedArray | pa.Array) -> pa.Array:
        """Free text with ``@handles`` replaced."""
        return self._map(column, self.text)

    def handle_lists(self, column: pa.ChunkedArray | pa.Array) -> pa.Array:
        """A list-of-handles column (``mentions``) → lists of pseudonyms."""
        values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        flat = self.handles_column(pc.list_flatten(values))
        # A sliced list array's offsets start past zero; the flattened values start at zero.
        offsets = pc.subtract(values.offsets, values.offsets[0])
        return pa.ListArray.from_arrays(offsets, flat, mask=values.is_null())

    def table(
        self, table: pa.Table, *, accounts: Iterable[str] = (), texts: Iterable[str] = ()
    ) -> pa.Table:
        """Replace account-id columns and ``@handles`` in text columns of a table."""
        for name in accounts:
            if name in table.column_names:
                i = table.column_names.index(name)
                table = table.set_column(i, name, self.accounts_column(table[name]))
        for name in texts:
            if name in table.column_names:
                i = table.column_names.index(name)
                table = table.set_column(i, name, self.text_column(table[name]))
        return table

    def evidence(self, evidence: pa.Table) -> pa.Table:
        """``evidence.parquet``: both accounts, and the item (a handle for ``mention``)."""
        table = self.table(evidence, accounts=("source", "target"))
        if "item" not in table.column_names:
            return table
        items = table["item"]
        is_mention = pc.fill_null(pc.equal(table["signal"], "mention"), False)
        replaced = pc.if_else(is_mention, self.handles_column(items), self.text_column(items))
        return table.set_column(table.column_names.index("item"), "item", replaced)


def pseudonymize_case(
    source: duckdb.DuckDBPyConnection, target: duckdb.DuckDBPyConnection, names: Pseudonymizer
) -> None:
    """Copy a case store's tables into an empty one, with account references pseudonymized.

    ``target`` must hold the case tables (``open_case`` creates them) and no rows. Rejected
    rows keep their position and reason but not their value, which may be an id or a handle.
    """
    from cibscan.schema import META_TABLES, TABLES

    for name in (*TABLES, *META_TABLES):
        table = source.sql(f'SELECT * FROM "{name}"').to_arrow_table()
        table = names.table(table, accounts=_ID_COLUMNS.get(name, ()))
        if name == "posts":
            table = names.table(table, texts=("text",))
            i = table.column_names.index("mentions")
            table = table.set_column(i, "mentions", names.handle_lists(table["mentions"]))
        elif name == "accounts":
            table = names.table(table, texts=("description",))
            for column, fn in (
                ("username", names.handles_column),
                ("display_name", names.names_column),
            ):
                i = table.column_names.index(column)
                table = table.set_column(i, column, fn(table[column]))
        elif name == "rejects":
            i = table.column_names.index("value")
            table = table.set_column(i, "value", pa.nulls(table.num_rows, pa.string()))
        target.register("_pseudonymized", table)
        try:
            target.execute(f'DELETE FROM "{name}"')
            target.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _pseudonymized')
        finally:
            target.unregister("_pseudonymized")
