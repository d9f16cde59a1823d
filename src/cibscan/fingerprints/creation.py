"""How a network's assets were made: creation bursts, handle templates, reused profile fields.

Operators create accounts in batches, name them from a template and dress them with the same
stock pictures and bios. Per network this module reports (see ``docs/fingerprints-a.md``):

* **Creation bursts.** ``accounts.created_at``, or, where it is missing, the time encoded in a
  Twitter snowflake id: ``ms = (id >> 22) + 1288834974657`` (the snowflake epoch,
  2010-11-04T01:42:54.657Z). Ids are decoded only for accounts whose platform is ``twitter``,
  ``x`` or unknown, with 15-20 digits and a value of at least ``2**22 * 30 days in ms`` (about
  1.1e16, so older sequential user ids and Facebook's 15-digit ids are never read as times),
  and only when the decoded time is not in the future. For each window (an hour, a day) the
  densest window of the network's creation times is found, its accounts removed, and so on while
  at least ``min_burst`` accounts remain in a window. Each burst is tested against the case's
  background: if the network's ``n`` accounts were drawn from the creation times of the other
  accounts of the case, the number in the window is binomial with ``p`` = the (smoothed) share of
  other accounts created in it; the p-value of ``k`` or more is multiplied by the number of
  windows of that length in the case's creation span (a Bonferroni bound for having picked the
  densest window).
* **Handle templates.** Each username is reduced to its *shape*: digits become ``9``, capitals
  ``A``, and a run of other letters ``a+`` (``anna_1987`` and ``bashir_2291`` both become
  ``a+_9999``; ``AnnaMuller4821`` becomes ``Aa+Aa+9999``). Shapes shared by at least
  ``min_template`` accounts are reported with how common they are in the whole case. Handles
  that differ only in a digit suffix share a *stem* (``valoria_news1``, ``valoria_news22``).
  Handles within one edit of each other (``anna_1987``, ``anna_1988``) are found through their
  one-deletion neighbourhoods (two handles within one edit share a handle-or-deletion key), a
  grouping rather than a comparison of all pairs.
* **Reused fields.** Display names, bios and profile images that at least two of the network's
  accounts share exactly after normalisation (lower case, collapsed white space; images without
  their query string), with the number of accounts of the whole case that carry the value.
  Empty values and default avatars are ignored. Images are compared as given (URL or hash):
  two uploads of the same picture under different URLs are not found.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from scipy import sparse, stats
from scipy.sparse.csgraph import connected_components

from cibscan.errors import ConfigError
from cibscan.fingerprints._assignment import (
    fetch_arrow,
    network_ids,
    registered,
    validated_assignment,
)
from cibscan.traces import WHITE_SPACE

__all__ = [
    "SNOWFLAKE_EPOCH_MS",
    "CreationConfig",
    "CreationFingerprints",
    "NetworkCreation",
    "account_creation_times",
    "creation_fingerprints",
    "day_only_times",
    "handle_shape",
]

#: Twitter's snowflake epoch, 2010-11-04T01:42:54.657Z, in Unix milliseconds.
SNOWFLAKE_EPOCH_MS: Final = 1_288_834_974_657
#: Smallest id read as a snowflake: 30 days after the epoch.
_MIN_SNOWFLAKE: Final = (30 * 86_400_000) << 22
_ISO: Final = "%Y-%m-%dT%H:%M:%SZ"
_DAY_MS: Final = 86_400_000
#: Significance at which a case's midnights are taken for dates (:func:`day_only_times`).
_DATE_EVIDENCE: Final = 1e-6

#: ``handle_shape`` in SQL: digits -> 9, capitals -> A, runs of other letters -> a+.
_SHAPE_SQL: Final = (
    "regexp_replace(regexp_replace(regexp_replace({x}, '[0-9]', '9', 'g'), "
    "'\\p{{Lu}}', 'A', 'g'), '[\\p{{Ll}}\\p{{Lo}}\\p{{Lm}}]+', 'a+', 'g')"
)
_STEM_SQL: Final = "regexp_replace(lower({x}), '[._-]*[0-9]+$', '')"
_FIELD_SQL: Final = {
    # Unicode white space (RE2's \s is ASCII only): "Democracy\u00a0now" is "democracy now".
    "display_name": f"lower(trim(regexp_replace(display_name, '{WHITE_SPACE}+', ' ', 'g')))",
    "description": f"lower(trim(regexp_replace(description, '{WHITE_SPACE}+', ' ', 'g')))",
    "profile_image": "lower(trim(regexp_replace(profile_image, '[?#].*$', '')))",
}


@dataclass(frozen=True)
class CreationConfig:
    """What counts as a creation burst, a handle template and a reused field.

    Parameters
    ----------
    windows
        Burst windows: ``(name, seconds)`` pairs.
    min_burst
        Minimum accounts created within one window for a burst.
    max_bursts
        Bursts reported per window and network, densest first.
    min_template
        Minimum accounts of the network sharing a handle shape or stem to report it.
    min_near_length
        Handles shorter than this are left out of the one-edit grouping (short handles are
        near each other by chance).
    max_items
        Items reported per list (templates, stems, near-duplicates, reused values).
    examples
        Example handles or accounts listed per item.

    Examples
    --------
    >>> CreationConfig(min_burst=5).windows
    (('hour', 3600), ('day', 86400))
    """

    windows: tuple[tuple[str, int], ...] = (("hour", 3600), ("day", 86400))
    min_burst: int = 3
    max_bursts: int = 10
    min_template: int = 3
    min_near_length: int = 6
    max_items: int = 20
    examples: int = 5

    def __post_init__(self) -> None:
        for name in ("min_burst", "max_bursts", "min_template", "max_items", "examples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"creation config {name}={value!r}: must be an integer >= 1")
        if self.min_burst < 2 or self.min_template < 2:
            raise ConfigError(
                "creation config: min_burst and min_template must be at least 2 (one account "
                "is not a pattern)"
            )
        if not self.windows or any(s <= 0 for _, s in self.windows):
            raise ConfigError(
                f"creation config windows={self.windows!r}: give (name, seconds > 0) pairs"
            )

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as plain JSON-compatible data."""
        data = asdict(self)
        data["windows"] = [list(w) for w in self.windows]
        return data


@dataclass(frozen=True)
class NetworkCreation:
    """How one network's accounts were made.

    Attributes
    ----------
    network_id, accounts
        The network and its number of accounts.
    created_known, created_from_ids
        Accounts with a creation time, and of those, how many were decoded from snowflake ids.
    bursts
        ``window, start, end, count, known, background, expected, p_value, examples``:
        ``count`` of the ``known`` accounts created between ``start`` and ``end`` (ISO UTC);
        ``background`` other accounts of the case created in that window, ``expected`` the
        count if the network's accounts were like the rest, ``p_value`` (Bonferroni-bounded).
    handle_templates
        ``pattern, count, digits, examples, case_count, lift``: a handle shape shared by
        ``count`` accounts (``digits``: length of the trailing digit run), held by
        ``case_count`` accounts of the whole case; ``lift`` = share in the network / share in
        the case.
    handle_stems
        ``stem, count, examples, case_count``: handles equal up to a digit suffix.
    near_duplicate_handles
        ``count, handles``: groups of handles linked by single edits.
    reused_fields
        ``field, value, count, case_count, examples``: a display name, bio or profile image
        shared by ``count`` accounts of the network and ``case_count`` of the case.
    """

    network_id: str
    accounts: int
    created_known: int
    created_from_ids: int
    bursts: list[dict[str, Any]] = field(default_factory=list)
    handle_templates: list[dict[str, Any]] = field(default_factory=list)
    handle_stems: list[dict[str, Any]] = field(default_factory=list)
    near_duplicate_handles: list[dict[str, Any]] = field(default_factory=list)
    reused_fields: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class CreationFingerprints:
    """Creation fingerprints of every network of an assignment."""

    networks: dict[str, NetworkCreation]
    config: CreationConfig

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data: the config and one entry per network."""
        return {
            "config": self.config.as_dict(),
            "networks": {k: v.as_dict() for k, v in self.networks.items()},
        }


def handle_shape(username: str) -> str:
    """The shape of a handle, as the creation fingerprint groups them.

    Examples
    --------
    >>> handle_shape("anna_1987"), handle_shape("AnnaMuller4821")
    ('a+_9999', 'Aa+Aa+9999')
    """
    con = duckdb.connect()
    row = con.sql(f"SELECT {_SHAPE_SQL.format(x='?')}", params=[username]).fetchall()[0]
    con.close()
    return str(row[0]) if row else ""


def account_creation_times(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Creation time of every account of the case: stored, or decoded from a snowflake id.

    A stored time at midnight UTC may be a date only (Twitter's archives give
    ``account_creation_date`` as a day): where the account's id is a snowflake whose time falls
    within that day, the id's time is taken (``from_id``).

    Returns
    -------
    pyarrow.Table
        ``account_id``, ``created_ms`` (Unix ms, null when unknown), ``from_id`` (bool: the
        time is the id's), ``stored_midnight`` (bool: a stored time at 00:00:00.000 UTC, null
        when none is stored).

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute("INSERT INTO accounts (account_id) VALUES ('1290000000000000000')")
    >>> account_creation_times(case.con)["created_ms"].to_pylist()
    [1596394941698]
    """
    return fetch_arrow(
        con,
        f"""
        WITH decoded AS (
            SELECT account_id, epoch_ms(created_at) AS stored_ms,
                   CASE WHEN coalesce(lower(platform), 'twitter') IN ('twitter', 'x')
                         AND regexp_full_match(account_id, '[0-9]{{15,20}}')
                         AND TRY_CAST(account_id AS UBIGINT) >= {_MIN_SNOWFLAKE}
                        THEN CAST((TRY_CAST(account_id AS UBIGINT) >> 22) AS BIGINT)
                             + {SNOWFLAKE_EPOCH_MS}
                   END AS raw_ms
            FROM accounts
        ),
        checked AS (
            SELECT account_id, stored_ms, stored_ms % {_DAY_MS} = 0 AS stored_midnight,
                   CASE WHEN raw_ms <= epoch_ms(now()) THEN raw_ms END AS id_ms
            FROM decoded
        ),
        chosen AS (
            SELECT *, id_ms IS NOT NULL AND (
                       stored_ms IS NULL OR (stored_midnight AND id_ms >= stored_ms
                                             AND id_ms < stored_ms + {_DAY_MS})
                   ) AS from_id
            FROM checked
        )
        SELECT account_id, CASE WHEN from_id THEN id_ms ELSE stored_ms END AS created_ms,
               from_id, stored_midnight
        FROM chosen
        ORDER BY account_id
        """,
    )


def day_only_times(created: pa.Table) -> NDArray[np.bool_]:
    """Which accounts' creation times are only days: midnights of a case that gives dates.

    A case whose stored creation times are at midnight UTC far more often than chance holds
    dates (a binomial test of the midnights among the stored times against 1 in 86,400, the
    share a clock to the second gives, at ``1e-6``). Its midnights, where no id gave the time,
    are then dates: an account created at 17:42 and one at 00:05 of that day both read 00:00.
    Elsewhere a midnight is a time like any other.

    Parameters
    ----------
    created
        :func:`account_creation_times`.

    Returns
    -------
    numpy.ndarray
        One flag per row of ``created``.
    """
    midnight = np.asarray(
        pc.fill_null(created["stored_midnight"], False).to_numpy(zero_copy_only=False),
        dtype=np.bool_,
    )
    stored = int(pc.count(created["stored_midnight"]).as_py())
    k = int(midnight.sum())
    dates = k > 0 and float(stats.binom.sf(k - 1, stored, 1 / 86_400)) < _DATE_EVIDENCE
    if not dates:
        return np.zeros(len(midnight), dtype=np.bool_)
    from_id = np.asarray(created["from_id"].to_numpy(zero_copy_only=False), dtype=np.bool_)
    return midnight & ~from_id


# ---------------------------------------------------------------------------------------------
# Bursts


def _iso(ms: int) -> str:
    return str(np.datetime64(int(ms), "ms").astype("datetime64[s]").item().strftime(_ISO))


_NO_TIMES: Final = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _aside_times(
    con: duckdb.DuckDBPyConnection, created: pa.Table, exclude: pa.Table | None
) -> dict[str, tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """Per network, the sorted creation times of its accounts set aside: all, and those whose
    time is more than a day."""
    if exclude is None or exclude.num_rows == 0:
        return {}
    table = validated_assignment(exclude)
    with registered(con, table, "aside") as aside, registered(con, created, "made") as made:
        rows = fetch_arrow(
            con,
            f"""SELECT x.network_id, m.created_ms, coalesce(m.day_only, false) AS day_only
                FROM {aside} x JOIN {made} m USING (account_id)
                WHERE m.created_ms IS NOT NULL""",
        ).to_pylist()
    times: dict[str, tuple[list[int], list[int]]] = {}
    for r in rows:
        every, timed = times.setdefault(str(r["network_id"]), ([], []))
        every.append(int(r["created_ms"]))
        if not r["day_only"]:
            timed.append(int(r["created_ms"]))
    return {
        nid: (np.sort(np.array(a, dtype=np.int64)), np.sort(np.array(t, dtype=np.int64)))
        for nid, (a, t) in times.items()
    }


def _bursts(
    times: NDArray[np.int64],
    ids: NDArray[np.object_],
    day_only: NDArray[np.bool_],
    case_times: tuple[NDArray[np.int64], NDArray[np.int64]],
    span_ms: int,
    config: CreationConfig,
    aside: tuple[NDArray[np.int64], NDArray[np.int64]] = _NO_TIMES,
) -> list[dict[str, Any]]:
    """Greedy densest windows of one network's sorted creation times.

    ``case_times`` are the sorted creation times of every account of the case, and of those
    whose time is more than a day (:func:`day_only_times`); the background of a window is those
    minus the network's own and minus ``aside`` (the same two arrays for the network's accounts
    set aside). A window shorter than a day counts only the accounts whose time is more than a
    day, in the network and in the background.
    """
    out: list[dict[str, Any]] = []
    for name, seconds in config.windows:
        width = seconds * 1000
        if seconds < _DAY_MS // 1000:
            times_w, ids_w, background = times[~day_only], ids[~day_only], case_times[1]
            aside_w = aside[1]
        else:
            times_w, ids_w, background = times, ids, case_times[0]
            aside_w = aside[0]
        n = len(times_w)
        alive = np.ones(n, dtype=np.bool_)
        windows = max(1.0, span_ms / width)
        for _ in range(config.max_bursts):
            t = times_w[alive]
            if len(t) < config.min_burst:
                break
            # half-open windows [t, t + width): a day of dates is one midnight, not two
            ends = np.searchsorted(t, t + width, side="left")
            counts = ends - np.arange(len(t))
            i = int(np.argmax(counts))
            k = int(counts[i])
            if k < config.min_burst:
                break
            lo, hi = int(t[i]), int(t[ends[i] - 1])

            def in_window(sorted_ms: NDArray[np.int64], lo: int = lo, width: int = width) -> int:
                return int(
                    np.searchsorted(sorted_ms, lo + width, side="left")
                    - np.searchsorted(sorted_ms, lo, side="left")
                )

            m = max(0, in_window(background) - in_window(times_w) - in_window(aside_w))
            p = (m + 1) / (max(0, len(background) - n - len(aside_w)) + 1)
            p_value = min(1.0, windows * float(stats.binom.sf(k - 1, n, p)))
            positions = np.flatnonzero(alive)[i : i + k]
            out.append(
                {
                    "window": name,
                    "start": _iso(lo),
                    "end": _iso(hi),
                    "count": k,
                    "known": n,
                    "background": m,
                    "expected": round(n * p, 4),
                    "p_value": p_value,
                    "examples": sorted(str(a) for a in ids_w[positions])[: config.examples],
                }
            )
            alive[positions] = False
    return out


# ---------------------------------------------------------------------------------------------
# Handles and fields


def _handle_templates(
    con: duckdb.DuckDBPyConnection, assign: str, config: CreationConfig
) -> dict[str, list[dict[str, Any]]]:
    rows = fetch_arrow(
        con,
        f"""
        WITH shaped AS (
            SELECT account_id, username, {_SHAPE_SQL.format(x="username")} AS pattern
            FROM accounts WHERE coalesce(username, '') <> ''
        ),
        case_counts AS (SELECT pattern, count(*) AS case_count FROM shaped GROUP BY pattern),
        total AS (SELECT count(*) AS n FROM shaped),
        net AS (
            SELECT a.network_id, s.pattern, count(*) AS count,
                   list(s.username ORDER BY s.username)[1:{config.examples}] AS examples
            FROM shaped s JOIN {assign} a USING (account_id)
            GROUP BY ALL HAVING count(*) >= {config.min_template}
        ),
        net_size AS (
            SELECT a.network_id, count(*) AS n FROM shaped s JOIN {assign} a USING (account_id)
            GROUP BY ALL
        )
        SELECT net.network_id, net.pattern, net.count,
               length(regexp_extract(net.pattern, '9*$')) AS digits, net.examples,
               c.case_count,
               (net.count / ns.n) / (c.case_count / total.n) AS lift
        FROM net JOIN case_counts c USING (pattern) JOIN net_size ns USING (network_id), total
        ORDER BY network_id, count DESC, lift DESC, pattern
        """,
    )
    return _group_rows(rows, config.max_items, round_keys=("lift",))


def _handle_stems(
    con: duckdb.DuckDBPyConnection, assign: str, config: CreationConfig
) -> dict[str, list[dict[str, Any]]]:
    rows = fetch_arrow(
        con,
        f"""
        WITH stemmed AS (
            SELECT account_id, username, {_STEM_SQL.format(x="username")} AS stem
            FROM accounts
            WHERE regexp_matches(coalesce(username, ''), '[0-9]$')
              AND length({_STEM_SQL.format(x="username")}) >= 2
        ),
        case_counts AS (SELECT stem, count(*) AS case_count FROM stemmed GROUP BY stem)
        SELECT a.network_id, s.stem, count(*) AS count,
               list(s.username ORDER BY s.username)[1:{config.examples}] AS examples,
               any_value(c.case_count) AS case_count
        FROM stemmed s JOIN {assign} a USING (account_id) JOIN case_counts c USING (stem)
        GROUP BY ALL HAVING count(*) >= 2
        ORDER BY network_id, count DESC, stem
        """,
    )
    return _group_rows(rows, config.max_items)


def _near_duplicates(
    con: duckdb.DuckDBPyConnection, assign: str, config: CreationConfig
) -> dict[str, list[dict[str, Any]]]:
    # key = the handle itself and each one-character deletion; two handles within one edit
    # (substitution, insertion or deletion) share a key
    pairs = fetch_arrow(
        con,
        f"""
        WITH handles AS (
            SELECT DISTINCT a.network_id, lower(c.username) AS handle
            FROM accounts c JOIN {assign} a USING (account_id)
            WHERE length(c.username) >= {config.min_near_length}
        ),
        keys AS (
            SELECT network_id, handle, handle AS key FROM handles
            UNION ALL
            SELECT network_id, handle, handle[:i - 1] || handle[i + 1:] AS key
            FROM handles, range(1, length(handle) + 1) r(i)
        ),
        linked AS (
            SELECT DISTINCT k1.network_id, k1.handle AS h1, k2.handle AS h2
            FROM keys k1 JOIN keys k2
              ON k1.network_id = k2.network_id AND k1.key = k2.key AND k1.handle < k2.handle
        )
        SELECT * FROM linked ORDER BY network_id, h1, h2
        """,
    )
    out: dict[str, list[dict[str, Any]]] = {}
    nets = np.asarray(pairs["network_id"].to_pylist(), dtype=object)
    h1 = np.asarray(pairs["h1"].to_pylist(), dtype=object)
    h2 = np.asarray(pairs["h2"].to_pylist(), dtype=object)
    for nid in sorted(set(nets.tolist())):
        sel = nets == nid
        names, codes = np.unique(np.concatenate([h1[sel], h2[sel]]), return_inverse=True)
        k = int(sel.sum())
        graph = sparse.coo_matrix(
            (np.ones(k), (codes[:k], codes[k:])), shape=(len(names), len(names))
        )
        _, comp = connected_components(graph, directed=False)
        groups = [sorted(str(h) for h in names[comp == c]) for c in np.unique(comp)]
        groups.sort(key=lambda g: (-len(g), g))
        out[str(nid)] = [
            {"count": len(g), "handles": g[: config.examples]} for g in groups[: config.max_items]
        ]
    return out


def _reused_fields(
    con: duckdb.DuckDBPyConnection, assign: str, config: CreationConfig
) -> dict[str, list[dict[str, Any]]]:
    parts = [
        f"""
        SELECT account_id, '{name}' AS field, {expr} AS norm, {name} AS original FROM accounts
        WHERE coalesce({expr}, '') <> ''
        """
        for name, expr in _FIELD_SQL.items()
    ]
    rows = fetch_arrow(
        con,
        f"""
        WITH vals AS ({" UNION ALL ".join(parts)}),
        clean AS (
            SELECT * FROM vals
            WHERE NOT (field = 'profile_image'
                       AND regexp_matches(norm, 'default_profile|default[-_]avatar|/default\\.'))
        ),
        case_counts AS (
            SELECT field, norm, count(DISTINCT account_id) AS case_count FROM clean GROUP BY ALL
        )
        SELECT a.network_id, v.field, min(v.original) AS value,
               count(DISTINCT v.account_id) AS count, any_value(c.case_count) AS case_count,
               list(DISTINCT v.account_id ORDER BY v.account_id)[1:{config.examples}] AS examples
        FROM clean v JOIN {assign} a USING (account_id) JOIN case_counts c USING (field, norm)
        GROUP BY a.network_id, v.field, v.norm
        HAVING count(DISTINCT v.account_id) >= 2
        ORDER BY network_id, count DESC, field, value
        """,
    )
    return _group_rows(rows, config.max_items)


def _group_rows(
    rows: pa.Table, limit: int, round_keys: tuple[str, ...] = ()
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows.to_pylist():
        nid = str(row.pop("network_id"))
        for key in round_keys:
            row[key] = round(float(row[key]), 4)
        items = out.setdefault(nid, [])
        if len(items) < limit:
            items.append(row)
    return out


# ---------------------------------------------------------------------------------------------


def creation_fingerprints(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    *,
    config: CreationConfig | None = None,
    exclude: pa.Table | None = None,
) -> CreationFingerprints:
    """Creation bursts, handle templates and reused profile fields of every network.

    Parameters
    ----------
    con
        A case-store connection (its ``accounts`` table is read).
    assignment
        ``account_id, network_id``: one row per account.
    config
        Thresholds; :class:`CreationConfig` defaults when ``None``.
    exclude
        ``account_id, network_id``: accounts set aside from a network's creation bursts,
        neither in the network nor in its background (the assessment sets aside a group's
        accounts that declare automation when it measures the others). Other networks count
        them as usual; handle and profile counts are unaffected.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> fp = creation_fingerprints(open_case().con,
    ...                            pa.table({"account_id": ["a"], "network_id": ["n"]}))
    >>> fp.networks["n"].as_dict()["bursts"]
    []
    """
    config = config or CreationConfig()
    table = validated_assignment(assignment)
    networks = network_ids(table)
    created = account_creation_times(con)
    created = created.append_column("day_only", pa.array(day_only_times(created)))
    aside = _aside_times(con, created, exclude)
    with (
        registered(con, table, "assignment") as assign,
        registered(con, created, "created") as made,
    ):
        joined = fetch_arrow(
            con,
            f"""
            SELECT a.network_id, a.account_id, m.created_ms, coalesce(m.from_id, false) AS from_id,
                   coalesce(m.day_only, false) AS day_only
            FROM {assign} a LEFT JOIN {made} m USING (account_id)
            ORDER BY a.network_id, m.created_ms, a.account_id
            """,
        )
        templates = _handle_templates(con, assign, config)
        stems = _handle_stems(con, assign, config)
        near = _near_duplicates(con, assign, config)
        reused = _reused_fields(con, assign, config)

    all_ms = np.sort(created["created_ms"].drop_null().to_numpy().astype(np.int64))
    timed = created.filter(pc.invert(created["day_only"]))
    timed_ms = np.sort(timed["created_ms"].drop_null().to_numpy().astype(np.int64))
    span_ms = int(all_ms[-1] - all_ms[0]) if len(all_ms) else 0
    net_col = np.asarray(joined["network_id"].to_pylist(), dtype=object)
    acc_col = np.asarray(joined["account_id"].to_pylist(), dtype=object)
    ms_list = joined["created_ms"].to_pylist()
    known = np.array([m is not None for m in ms_list], dtype=np.bool_)
    ms_col = np.array([m if m is not None else 0 for m in ms_list], dtype=np.int64)
    from_id = np.asarray(joined["from_id"].to_pylist(), dtype=np.bool_)
    day_only = np.asarray(joined["day_only"].to_pylist(), dtype=np.bool_)
    # rows come sorted by network: one slice per network
    change = np.flatnonzero(net_col[1:] != net_col[:-1]) + 1 if len(net_col) else np.array([])
    starts = np.concatenate([[0], change]).astype(np.int64)
    ends = np.concatenate([change, [len(net_col)]]).astype(np.int64)
    slices = {str(net_col[a]): slice(int(a), int(b)) for a, b in zip(starts, ends, strict=True)}
    out: dict[str, NetworkCreation] = {}
    for nid in networks:
        part = slices[nid]
        mine = known[part]
        out[nid] = NetworkCreation(
            network_id=nid,
            accounts=part.stop - part.start,
            created_known=int(mine.sum()),
            created_from_ids=int((mine & from_id[part]).sum()),
            bursts=_bursts(
                ms_col[part][mine],
                acc_col[part][mine],
                day_only[part][mine],
                (all_ms, timed_ms),
                span_ms,
                config,
                aside.get(nid, _NO_TIMES),
            ),
            handle_templates=templates.get(nid, []),
            handle_stems=stems.get(nid, []),
            near_duplicate_handles=near.get(nid, []),
            reused_fields=reused.get(nid, []),
        )
    return CreationFingerprints(networks=out, config=config)
