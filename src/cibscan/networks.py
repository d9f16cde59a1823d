"""Co-action networks: which accounts act on the same items within a time window.

:func:`networks` turns the ``posts`` of a case into weighted account-account edges, one network
per signal (see :mod:`cibscan.traces`), with the evidence behind every edge and the list of
"hot" items that were too popular to enumerate pair by pair.

Semantics (``semantics=``)
--------------------------
``default``
    Undirected; one row per account pair (``source < target``). ``weight`` is the number of
    distinct items on which the two accounts co-acted within the window; ``events`` the number
    of co-acting post pairs; ``min_gap`` the smallest gap and ``median_gap`` the median over the
    items of each item's smallest gap (seconds).
``cnt``
    coordination-network-toolkit 1.5.2: directed, one row per direction; ``weight`` of
    ``source -> target`` is the number of distinct ``source`` posts with at least one ``target``
    post on the same key within the window. Self-loops and the peer's two empty-string
    artefacts (co-linking through an empty URL, co-tweeting through an empty text) are not
    reproduced. Exact: no hot-item cap.
``coortweet``
    CooRTweet's ``detect_groups`` + ``generate_coordinated_network``: accounts with fewer than
    ``min_participation`` traces are dropped first; every pair of posts on an item within the
    window is a coordinated content pair; loops (one account with itself, or a post that is its
    own object) are removed unless ``keep_loops``; pairs survive when either account has at least
    ``min_participation`` posts among the coordinated ones; ``weight`` counts the pairs; edges
    get CooRTweet's ``avg_time_delta``, ``n_content_id``, ``n_content_id_y``,
    ``edge_symmetry_score`` and ``weight_threshold`` (weight above the ``edge_weight_quantile``
    quantile of all edge weights).

Hot items
---------
An item co-acted on by k accounts inside one window yields about k²/2 pairs; a breaking-news
link shared by 200,000 accounts within minutes would make a run quadratic. Under ``default``
and ``coortweet`` semantics, an item whose *peak participation* (the most posts of that item
inside any one window) exceeds ``hot_item_cap`` is not enumerated: it contributes no edges and
is listed in :attr:`NetworkResult.hot_items` with its posts, accounts, peak and the number of
post pairs it would have produced. ``hot_item_cap=None`` enumerates everything.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time as _time
import tomllib
import types
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, Literal, cast

import duckdb
import pyarrow as pa

from cibscan.case import Case, open_case, time_resolution
from cibscan.coaction import item_load_sql, pair_events_sql
from cibscan.errors import ConfigError, EmptyInputError
from cibscan.export import write_csv, write_gexf, write_graphml, write_parquet
from cibscan.media import DEFAULT_MEDIA_HASH_DISTANCE, media_hash_map, media_trace_sql
from cibscan.traces import (
    DEFAULT_SIGNALS,
    IS_REPOST,
    SIGNALS,
    Semantics,
    cnt_text_map,
    cnt_tokens,
    near_text_map,
    near_text_trace_sql,
    trace_sql,
)

__all__ = [
    "DEFAULT_SIGNALS",
    "EDGE_COLUMNS",
    "EVIDENCE_COLUMNS",
    "HOT_ITEM_COLUMNS",
    "SEMANTICS",
    "SIGNALS",
    "NetworkConfig",
    "NetworkResult",
    "estimate_coordination_interval",
    "networks",
    "write_network",
]

SEMANTICS: Final[tuple[str, ...]] = ("default", "cnt", "coortweet")

#: Window (seconds), minimum weight and minimum participation of each semantics when not given:
#: cibscan's own, and the defaults of coordination-network-toolkit's CLI and of CooRTweet.
SEMANTICS_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "default": {"window": 60.0, "min_weight": 2, "min_participation": 1},
    "cnt": {"window": 1.0, "min_weight": 2, "min_participation": 1},
    "coortweet": {"window": 10.0, "min_weight": 1, "min_participation": 2},
}

EDGE_COLUMNS: Final = ("source", "target", "weight", "signal", "events", "min_gap", "median_gap")
COORTWEET_COLUMNS: Final = (
    "avg_time_delta",
    "n_content_id",
    "n_content_id_y",
    "edge_symmetry_score",
    "weight_threshold",
)
EVIDENCE_COLUMNS: Final = (
    "signal",
    "source",
    "target",
    "item",
    "source_post",
    "source_time",
    "target_post",
    "target_time",
    "gap",
)
HOT_ITEM_COLUMNS: Final = (
    "signal",
    "item",
    "posts",
    "accounts",
    "peak",
    "pairs",
    "first_time",
    "last_time",
)

_TS = pa.timestamp("us", tz="UTC")
EDGE_SCHEMA: Final = pa.schema(
    [
        ("source", pa.string()),
        ("target", pa.string()),
        ("weight", pa.int64()),
        ("signal", pa.string()),
        ("events", pa.int64()),
        ("min_gap", pa.float64()),
        ("median_gap", pa.float64()),
    ]
)
COORTWEET_SCHEMA: Final = pa.schema(
    [
        ("avg_time_delta", pa.float64()),
        ("n_content_id", pa.int64()),
        ("n_content_id_y", pa.int64()),
        ("edge_symmetry_score", pa.float64()),
        ("weight_threshold", pa.int8()),
    ]
)
EVIDENCE_SCHEMA: Final = pa.schema(
    [
        ("signal", pa.string()),
        ("source", pa.string()),
        ("target", pa.string()),
        ("item", pa.string()),
        ("source_post", pa.string()),
        ("source_time", _TS),
        ("target_post", pa.string()),
        ("target_time", _TS),
        ("gap", pa.float64()),
    ]
)
HOT_ITEM_SCHEMA: Final = pa.schema(
    [
        ("signal", pa.string()),
        ("item", pa.string()),
        ("posts", pa.int64()),
        ("accounts", pa.int64()),
        ("peak", pa.int64()),
        ("pairs", pa.int64()),
        ("first_time", _TS),
        ("last_time", _TS),
    ]
)

Window = float | Literal["auto"]


@dataclass(frozen=True)
class NetworkConfig:
    """Every option of a network run; validated when built, echoed into the result.

    ``None`` for ``window``, ``min_weight`` or ``min_participation`` means the default of the
    chosen semantics (:data:`SEMANTICS_DEFAULTS`); :meth:`resolved` fills them in.

    Parameters
    ----------
    signals
        Signals to compute, see :data:`cibscan.traces.SIGNALS`.
    window
        Seconds (inclusive), or ``"auto"`` for CooRnet's coordination interval estimated per
        signal (see :func:`estimate_coordination_interval`).
    min_weight
        Keep edges with at least this weight.
    semantics
        ``"default"``, ``"cnt"`` or ``"coortweet"`` (see the module documentation).
    min_participation
        Accounts with fewer traces of a signal are left out of its network (and, under
        ``coortweet``, CooRTweet's second participation filter).
    keep_loops
        ``coortweet`` only: keep an account's co-action with itself (self-loop edges).
    hot_item_cap
        Items whose peak participation in one window exceeds this are listed, not enumerated
        (``default`` and ``coortweet``); ``None`` enumerates every item.
    evidence_limit
        Evidence rows kept per edge, the closest in time first; ``None`` keeps all, ``0`` none.
    min_text_chars
        Shortest normalised text for ``text`` and ``near_text`` items.
    near_text_threshold, num_perm, bands, shingle, seed
        MinHash/LSH options of ``near_text`` (Jaccard of character shingles).
    cjk_shingle
        Characters per shingle of texts written mostly in Han, Kana or Hangul, whose words
        are one to three characters (``None``: ``shingle``).
    similarity_threshold, min_tokens
        ``near_text`` under ``cnt``: the peer's token-set Jaccard threshold and minimum
        document size (its CLI defaults, 0.8 and 1).
    edge_weight_quantile
        ``coortweet``: the quantile of the edge weights that ``weight_threshold`` flags above.
    partitions
        Run the kernel on this many partitions of the items, one after the other, to bound the
        memory of one step; results do not depend on it.
    media_hash_distance
        ``media`` under ``default`` semantics: perceptual hashes (16 hex digits) within this
        Hamming distance are one item (:mod:`cibscan.media`); 0 keeps every hash apart.
    memory_limit, temp_directory
        DuckDB settings for this run; DuckDB spills to ``temp_directory`` beyond the limit.
    """

    signals: tuple[str, ...] = DEFAULT_SIGNALS
    window: Window | None = None
    min_weight: int | None = None
    semantics: Semantics = "default"
    min_participation: int | None = None
    keep_loops: bool = False
    hot_item_cap: int | None = 1000
    evidence_limit: int | None = 10
    min_text_chars: int = 10
    near_text_threshold: float = 0.8
    num_perm: int = 64
    bands: int = 16
    shingle: int = 5
    cjk_shingle: int | None = 2
    seed: int = 0
    similarity_threshold: float = 0.8
    min_tokens: int = 1
    edge_weight_quantile: float = 0.5
    partitions: int = 1
    memory_limit: str | None = None
    temp_directory: str | None = None
    media_hash_distance: int = DEFAULT_MEDIA_HASH_DISTANCE

    def __post_init__(self) -> None:
        signals = self.signals
        if isinstance(signals, str):
            signals = tuple(s.strip() for s in signals.split(",") if s.strip())
        signals = tuple(dict.fromkeys(signals))
        object.__setattr__(self, "signals", signals)
        if not signals:
            raise ConfigError("no signal given; choose from " + ", ".join(SIGNALS))
        for signal in signals:
            if signal not in SIGNALS:
                raise ConfigError(f"unknown signal {signal!r}; choose from {', '.join(SIGNALS)}")
        if self.semantics not in SEMANTICS:
            raise ConfigError(
                f"unknown semantics {self.semantics!r}; choose from {', '.join(SEMANTICS)}"
            )
        window = self.window
        if isinstance(window, str) and window != "auto":
            try:
                window = float(window)
            except ValueError:
                raise ConfigError(
                    f"window must be a number of seconds or 'auto', got {window!r}"
                ) from None
            object.__setattr__(self, "window", window)
        if isinstance(window, (int, float)) and not isinstance(window, bool):
            if not window >= 0 or window == float("inf"):
                raise ConfigError(f"window must be a finite number of seconds >= 0, got {window}")
            object.__setattr__(self, "window", float(window))
        if window == "auto" and "co_post" in signals:
            raise ConfigError(
                "window 'auto' estimates the interval from shares of items; co_post has no "
                "items. Give --window in seconds or drop co_post."
            )
        if window == "auto" and self.semantics == "cnt" and "near_text" in signals:
            raise ConfigError(
                "window 'auto' estimates the interval from shares of items; near_text under "
                "semantics 'cnt' compares posts pairwise and has no items. "
                "Give --window in seconds."
            )
        _positive("min_weight", self.min_weight, allow_none=True)
        _positive("min_participation", self.min_participation, allow_none=True)
        _positive("hot_item_cap", self.hot_item_cap, allow_none=True)
        if self.evidence_limit is not None and self.evidence_limit < 0:
            raise ConfigError(f"evidence_limit must be >= 0 or None, got {self.evidence_limit}")
        _positive("num_perm", self.num_perm)
        _positive("bands", self.bands)
        _positive("shingle", self.shingle)
        if self.cjk_shingle is not None:
            _positive("cjk_shingle", self.cjk_shingle)
        _positive("partitions", self.partitions)
        if self.num_perm % self.bands:
            raise ConfigError(
                f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})"
            )
        for name in ("near_text_threshold", "similarity_threshold"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ConfigError(f"{name} must be in (0, 1], got {value}")
        if not 0 <= self.edge_weight_quantile <= 1:
            raise ConfigError(
                f"edge_weight_quantile must be in [0, 1], got {self.edge_weight_quantile}"
            )
        if not 0 <= self.media_hash_distance <= 31:
            raise ConfigError(
                f"media_hash_distance must be 0 to 31 bits, got {self.media_hash_distance}"
            )
        if self.min_tokens < 0 or self.min_text_chars < 0:
            raise ConfigError("min_tokens and min_text_chars must be >= 0")
        if self.keep_loops and self.semantics != "coortweet":
            raise ConfigError("keep_loops applies to semantics 'coortweet' only")

    def resolved(self) -> NetworkConfig:
        """Return a copy with the semantics' defaults filled in for ``None`` options."""
        defaults = SEMANTICS_DEFAULTS[self.semantics]
        return replace(
            self,
            window=defaults["window"] if self.window is None else self.window,
            min_weight=defaults["min_weight"] if self.min_weight is None else self.min_weight,
            min_participation=(
                defaults["min_participation"]
                if self.min_participation is None
                else self.min_participation
            ),
        )

    def as_dict(self) -> dict[str, Any]:
        """The options as plain JSON-compatible data."""
        data = asdict(self)
        data["signals"] = list(self.signals)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkConfig:
        """Build a config from a mapping (for example a TOML ``[networks]`` table)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown network option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values = dict(data)
        if "signals" in values and not isinstance(values["signals"], str):
            values["signals"] = tuple(values["signals"])
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> NetworkConfig:
        """Read a config from a TOML file: its ``[networks]`` table, or the whole file."""
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read network config {path}: {exc}") from exc
        table = data.get("networks", data)
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [networks] must be a table")
        return cls.from_dict(table)


def _positive(name: str, value: int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")


@dataclass
class NetworkResult:
    """The outcome of :func:`networks`.

    Attributes
    ----------
    edges
        ``source, target, weight, signal, events, min_gap, median_gap`` (+ CooRTweet's columns
        under ``coortweet``); gaps in seconds. Sorted by signal (as requested), weight
        descending, source, target.
    evidence
        The post pairs behind each edge: ``signal, source, target, item, source_post,
        source_time, target_post, target_time, gap``; at most ``evidence_limit`` per edge, the
        closest first. The edge's ``events`` column holds the total.
    hot_items
        Items left out by the hot-item policy: ``signal, item, posts, accounts, peak, pairs,
        first_time, last_time``.
    windows
        The window used for each signal, in seconds (estimated when ``window="auto"``).
    config
        The resolved configuration of the run.
    stats
        Per signal: ``traces``, ``accounts``, ``items``, ``hot_items``, ``edges``, ``seconds``.
    notes
        Warnings about the data the run read: post times cut to the minute under a window
        shorter than two minutes (:class:`~cibscan.case.TimeResolution`).
    """

    edges: pa.Table
    evidence: pa.Table
    hot_items: pa.Table
    windows: dict[str, float]
    config: NetworkConfig
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def directed(self) -> bool:
        """Whether edges are directed (``cnt`` semantics)."""
        return self.config.semantics == "cnt"

    def metadata(self) -> dict[str, Any]:
        """The run's configuration, windows and counts, for writing next to the outputs.

        Timings are left out: the same run must write the same bytes.
        """
        return {
            "config": self.config.as_dict(),
            "windows": self.windows,
            "stats": {
                signal: {k: v for k, v in stats.items() if k != "seconds"}
                for signal, stats in self.stats.items()
            },
            "directed": self.directed,
            "notes": self.notes,
        }

    def write(
        self,
        edges: str | os.PathLike[str],
        evidence: str | os.PathLike[str] | None = None,
        hot_items: str | os.PathLike[str] | None = None,
    ) -> None:
        """Write the outputs; see :func:`write_network`."""
        write_network(self, edges, evidence=evidence, hot_items=hot_items)


# --- the engine ----------------------------------------------------------------------------------


_STEMS: Final = (
    "raw",
    "acc",
    "post",
    "item",
    "tr",
    "hot",
    "ev",
    "edges",
    "tok",
    "active",
    "units",
    "pairrows",
    "cand",
    "per_unit",
    "ranked",
    "pairs",
    "hashed",
    "live",
)
_UNITS_PER_CHUNK: Final = 4_000_000
_MIN_UNITS_PER_CHUNK: Final = 100_000
# Memory limit budgeted per unit of one median aggregation. Measured on DuckDB 2.0, four units
# per pair: 4 million units aggregate within a 192 MB limit and fail within 128 MB, at one
# thread as at two (more threads need no more), so the state takes 32-48 bytes a unit. About
# three times that leaves room for the rest of the query and the run's other tables.
_BYTES_PER_MEDIAN_UNIT: Final = 128


def _size_bytes(value: str) -> float | None:
    """A size as DuckDB prints it, in bytes, or None if its form is unknown.

    DuckDB reports e.g. ``'244.1 MiB'``, ``'16383.9 PiB'`` (no limit) or ``'512 bytes'``.
    """
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*(BYTES|(?:[KMGTP]I?)?B?)\s*", value.upper())
    if not m:
        return None
    unit = m.group(2)
    power = "KMGTP".find(unit[:1]) + 1  # 0 for bytes: "", "B", "BYTES"
    base = 1024.0 if unit[1:2] == "I" else 1000.0
    return float(m.group(1)) * base**power


def _units_per_chunk(con: duckdb.DuckDBPyConnection) -> int:
    """Units per median aggregation: a few million, fewer when DuckDB's memory is tight.

    DuckDB cannot spill the state of a median, so the units of one aggregation must fit in
    memory beside the rest of the query. A limit DuckDB reports in a form not known here
    gives the fewest units per aggregation: slower, never out of memory for this reason.
    """
    limit = _size_bytes(str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]))
    if limit is None:
        return _MIN_UNITS_PER_CHUNK
    return int(max(_MIN_UNITS_PER_CHUNK, min(_UNITS_PER_CHUNK, limit / _BYTES_PER_MEDIAN_UNIT)))


class _Run:
    """Temporary tables of one run on one connection, dropped at the end."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.prefix = f"_cibnet_{uuid.uuid4().hex[:8]}_"
        self.tables: list[str] = []
        self.views: list[str] = []

    def name(self, stem: str) -> str:
        return self.prefix + stem

    def create(self, stem: str, sql: str) -> str:
        table = self.name(stem)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}")
        if table not in self.tables:
            self.tables.append(table)
        return table

    def register(self, stem: str, data: pa.Table) -> str:
        view = self.name(stem)
        self.con.register(view, data)
        self.views.append(view)
        return view

    def scalar(self, sql: str) -> Any:
        rows = self.con.execute(sql).fetchall()
        return rows[0][0] if rows else None

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def drop(self, stems: Iterable[str]) -> None:
        for stem in stems:
            table = self.name(stem)
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
            if table in self.tables:
                self.tables.remove(table)

    def close(self) -> None:
        for table in reversed(self.tables):
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        for view in self.views:
            self.con.unregister(view)


@contextmanager
def _connection(
    case: Case | duckdb.DuckDBPyConnection | str | os.PathLike[str], cfg: NetworkConfig
) -> Iterator[duckdb.DuckDBPyConnection]:
    opened: Case | None = None
    if isinstance(case, Case):
        con = case.con
    elif isinstance(case, duckdb.DuckDBPyConnection):
        con = case
    else:
        opened = open_case(case, create=False, read_only=True)
        con = opened.con
    settings = {
        "memory_limit": cfg.memory_limit,
        "temp_directory": cfg.temp_directory,
        "preserve_insertion_order": "false",
        "TimeZone": "UTC",
    }
    previous: dict[str, Any] = {}
    try:
        for key, value in settings.items():
            if value is None:
                continue
            previous[key] = con.execute(f"SELECT current_setting('{key}')").fetchall()[0][0]
            con.execute(f"SET {key} = '{value}'")
        yield con
    finally:
        try:
            for key, value in previous.items():
                # DuckDB refuses to move a temporary directory it has used; the caller's
                # connection then keeps ours, which is harmless.
                with suppress(duckdb.Error):
                    con.execute(f"SET {key} = '{value}'")
        finally:
            if opened is not None:
                opened.close()


def networks(
    case: Case | duckdb.DuckDBPyConnection | str | os.PathLike[str],
    signals: Sequence[str] | str = DEFAULT_SIGNALS,
    *,
    window: Window | None = None,
    min_weight: int | None = None,
    semantics: Semantics = "default",
    min_participation: int | None = None,
    keep_loops: bool = False,
    hot_item_cap: int | None = 1000,
    evidence_limit: int | None = 10,
    config: NetworkConfig | None = None,
    engine: Literal["duckdb", "spark"] = "duckdb",
    spark_master: str | None = None,
    spark_conf: Mapping[str, str] | None = None,
    spark_staging: str | None = None,
    **options: Any,
) -> NetworkResult:
    """Build co-action networks from the posts of a case.

    Parameters
    ----------
    case
        A :class:`~cibscan.case.Case`, a DuckDB connection with a ``posts`` table, or the path
        of a case store (opened read-only).
    signals
        Signals to compute (a sequence, or comma-separated text); see
        :data:`cibscan.traces.SIGNALS`. Default :data:`~cibscan.traces.DEFAULT_SIGNALS`.
    window
        Co-action window in seconds, inclusive; ``"auto"`` estimates CooRnet's coordination
        interval per signal. Default: 60 (``default``), 1 (``cnt``), 10 (``coortweet``).
    min_weight
        Keep edges of at least this weight. Default: 2 (``default``, ``cnt``), 1
        (``coortweet``).
    semantics
        ``"default"``, ``"cnt"`` (coordination-network-toolkit 1.5.2) or ``"coortweet"``
        (CooRTweet).
    min_participation
        Drop accounts with fewer traces of the signal. Default 1; 2 under ``coortweet``.
    keep_loops
        ``coortweet``: keep an account's co-action with itself.
    hot_item_cap
        Peak participation (posts of one item inside one window) above which an item is listed
        in ``hot_items`` instead of enumerated; ``None`` for no cap. Not applied under ``cnt``.
    evidence_limit
        Evidence rows kept per edge (closest in time first); ``None`` for all, ``0`` for none.
    config
        A :class:`NetworkConfig`; when given, the other keyword arguments are ignored.
    engine
        ``"spark"`` runs on Apache Spark (:mod:`cibscan.spark`, ``pip install cibscan[spark]``);
        ``case`` may then also be Parquet posts at any URI Spark reads. Same result.
    spark_master, spark_conf, spark_staging
        With ``engine="spark"``: the master URL (``local[2]``, ``spark://host:7077``), Spark
        settings, and where a case store's posts are exported as Parquet for the executors (a
        path or URI every executor reads; a temporary folder on this machine when ``None``,
        which only a local master reads).
    **options
        Further :class:`NetworkConfig` fields (``near_text_threshold``, ``partitions``, ...).

    Returns
    -------
    NetworkResult
        Edges, evidence and hot items as Arrow tables, with the windows and the configuration.

    Raises
    ------
    ConfigError
        An option is invalid.
    EmptyInputError
        The case has no posts, or ``window="auto"`` finds no item shared twice.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00', 'share', 'x'),"
    ...     "('2', 'b', '2024-05-01 10:00:20+00', 'share', 'x'),"
    ...     "('3', 'a', '2024-05-01 12:00:00+00', 'share', 'y'),"
    ...     "('4', 'b', '2024-05-01 12:01:00+00', 'share', 'y')")
    >>> result = networks(case, ["share"], window=60, min_weight=2)
    >>> result.edges.select(["source", "target", "weight", "events"]).to_pylist()
    [{'source': 'a', 'target': 'b', 'weight': 2, 'events': 2}]
    """
    if config is None:
        config = NetworkConfig(
            signals=tuple(signals) if not isinstance(signals, str) else cast(Any, signals),
            window=window,
            min_weight=min_weight,
            semantics=semantics,
            min_participation=min_participation,
            keep_loops=keep_loops,
            hot_item_cap=hot_item_cap,
            evidence_limit=evidence_limit,
            **options,
        )
    if engine == "spark":
        from cibscan.spark import spark_networks

        return spark_networks(
            case, config, master=spark_master, conf=spark_conf, staging=spark_staging
        )
    if engine != "duckdb":
        raise ConfigError(f"unknown engine {engine!r}; choose duckdb or spark")
    cfg = config.resolved()
    with _connection(case, cfg) as con:
        posts = con.execute("SELECT count(*) FROM posts").fetchall()[0][0]
        if not posts:
            raise EmptyInputError(
                "the case has no posts; add some with `cibscan ingest FILES --db CASE`"
            )
        resolution = time_resolution(con)
        run = _Run(con)
        try:
            edges: list[pa.Table] = []
            evidence: list[pa.Table] = []
            hot: list[pa.Table] = []
            windows: dict[str, float] = {}
            stats: dict[str, dict[str, Any]] = {}
            for signal in cfg.signals:
                started = _time.perf_counter()
                out = _signal_network(run, signal, cfg)
                windows[signal] = out.window_us / 1_000_000
                edges.append(out.edges)
                evidence.append(out.evidence)
                hot.append(out.hot_items)
                out.stats["seconds"] = round(_time.perf_counter() - started, 3)
                stats[signal] = out.stats
        finally:
            run.close()
        note = resolution.note(min(windows.values(), default=None))
    edge_schema = _edge_schema(cfg)
    return NetworkResult(
        edges=_concat(edges, edge_schema),
        evidence=_concat(evidence, EVIDENCE_SCHEMA),
        hot_items=_concat(hot, HOT_ITEM_SCHEMA),
        windows=windows,
        config=cfg,
        stats=stats,
        notes=[note] if note else [],
    )


def _edge_schema(cfg: NetworkConfig) -> pa.Schema:
    if cfg.semantics == "coortweet":
        return pa.schema(list(EDGE_SCHEMA) + list(COORTWEET_SCHEMA))
    return EDGE_SCHEMA


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    if not tables:
        return schema.empty_table()
    return pa.concat_tables([t.select(schema.names).cast(schema) for t in tables])


@dataclass
class _SignalOutput:
    edges: pa.Table
    evidence: pa.Table
    hot_items: pa.Table
    window_us: int
    stats: dict[str, Any]


def _signal_network(run: _Run, signal: str, cfg: NetworkConfig) -> _SignalOutput:
    assert cfg.min_weight is not None and cfg.min_participation is not None
    run.drop(_STEMS)
    con = run.con
    cnt_similar = cfg.semantics == "cnt" and signal == "near_text"
    raw = run.create("raw", _raw_trace_sql(run, signal, cfg))
    stats: dict[str, Any] = {"traces": int(run.scalar(f"SELECT count(*) FROM {raw}"))}

    if cfg.min_participation > 1:
        # CooRTweet's pre-filter: an account needs this many traces before it can co-act.
        con.execute(
            f"""DELETE FROM {raw} WHERE account IN (
                    SELECT account FROM {raw} GROUP BY account
                    HAVING count(*) < {cfg.min_participation})"""
        )
    if cfg.semantics == "coortweet" and not cfg.keep_loops:
        # A post that is its own object is a loop in CooRTweet; none of its pairs survive.
        con.execute(f"DELETE FROM {raw} WHERE item = post")

    # Dense integer codes, ordered like the labels, make the join and the aggregations cheap
    # and keep "least(code)" equal to "least(label)" for canonical undirected pairs.
    acc = run.create(
        "acc",
        f"SELECT account, row_number() OVER (ORDER BY account) AS aid "
        f"FROM (SELECT DISTINCT account FROM {raw})",
    )
    stats["accounts"] = int(run.scalar(f"SELECT count(*) FROM {acc}"))
    live = raw
    if not cnt_similar:
        # Items with one post cannot pair. Most items of a signal such as text have one post:
        # find them by a 64-bit hash first, so that the exact grouping of the item strings,
        # the post codes and the joins below only see the rows of items whose hash repeats.
        hashed = run.create(
            "hashed", f"SELECT hash(item) AS h, count(*) AS n FROM {raw} GROUP BY 1"
        )
        live = run.create(
            "live",
            f"SELECT * FROM {raw} WHERE hash(item) IN (SELECT h FROM {hashed} WHERE n > 1)",
        )
    # Post codes ordered like the labels break ties in evidence and CooRTweet's "older post";
    # nothing else depends on their order, so other runs skip sorting every post id.
    ordered_posts = cfg.semantics == "coortweet" or cfg.evidence_limit != 0
    post = run.create(
        "post",
        f"SELECT post, time, epoch_us(time) AS t, "
        f"row_number() OVER ({'ORDER BY post' if ordered_posts else ''}) AS pid "
        f"FROM (SELECT post, min(time) AS time FROM {live} GROUP BY post)",
    )
    if cnt_similar:
        # Items are the rare-first prefix tokens of each message (prefix filtering); pairs are
        # verified against the full token sets afterwards.
        item = run.create(
            "item",
            f"SELECT token AS item, row_number() OVER (ORDER BY token) AS iid "
            f"FROM (SELECT DISTINCT unnest(tokens) AS token FROM {raw})",
        )
        stats["items"] = int(run.scalar(f"SELECT count(*) FROM {raw}"))
        tr = _cnt_similar_traces(run, raw, acc, post, item, cfg)
    else:
        item = run.create(
            "item",
            f"SELECT item, row_number() OVER (ORDER BY item) AS iid "
            f"FROM {live} GROUP BY item HAVING count(*) > 1",
        )
        # Items whose hash is unique are distinct; only the others need comparing as strings.
        stats["items"] = int(
            run.scalar(
                f"SELECT (SELECT count(*) FROM {run.name('hashed')} WHERE n = 1)"
                f" + (SELECT count(DISTINCT item) FROM {live})"
            )
        )
        tr = run.create(
            "tr",
            f"""SELECT i.iid AS item, a.aid AS account, p.pid AS post, epoch_us(r.time) AS t
                FROM {live} r JOIN {item} i ON i.item = r.item
                JOIN {acc} a ON a.account = r.account JOIN {post} p ON p.post = r.post""",
        )
        run.drop(["hashed", "live"])

    if cfg.window == "auto":
        window_us = _auto_window_us(run, tr, signal)
    else:
        window_us = round(float(cast(float, cfg.window)) * 1_000_000)

    hot_items = HOT_ITEM_SCHEMA.empty_table()
    if cfg.hot_item_cap is not None and cfg.semantics != "cnt" and not cnt_similar:
        hot_items = _hot_items(run, tr, item, signal, window_us, cfg.hot_item_cap)
    stats["hot_items"] = hot_items.num_rows

    if cfg.semantics == "coortweet":
        edges, evidence = _coortweet(run, tr, signal, window_us, cfg)
    else:
        edges, evidence = _default_or_cnt(run, tr, signal, window_us, cfg, cnt_similar, stats)
    stats["edges"] = edges.num_rows
    run.drop(_STEMS)
    return _SignalOutput(edges, evidence, hot_items, window_us, stats)


def _raw_trace_sql(run: _Run, signal: str, cfg: NetworkConfig) -> str:
    window = cfg.window if isinstance(cfg.window, float) else 60.0
    if signal == "near_text" and cfg.semantics == "cnt":
        tokens = _cnt_token_map(run.con)
        view = run.register("cnt_tokens", tokens)
        return f"""
            SELECT p.account_id AS account, p.post_id AS post, p.timestamp AS time,
                   m.tokens, m.n
            FROM posts p JOIN {view} m ON m.text = p.text
            WHERE p.account_id IS NOT NULL AND p.post_id IS NOT NULL
              AND p.timestamp IS NOT NULL AND NOT {IS_REPOST}
              AND m.n >= greatest({cfg.min_tokens}, 1)
        """
    if signal == "near_text":
        cluster_map = near_text_map(
            run.con,
            threshold=cfg.near_text_threshold,
            num_perm=cfg.num_perm,
            bands=cfg.bands,
            shingle=cfg.shingle,
            seed=cfg.seed,
            min_text_chars=cfg.min_text_chars,
            cjk_shingle=cfg.cjk_shingle,
        )
        view = run.register("near_text_map", cluster_map)
        return near_text_trace_sql(view, min_text_chars=cfg.min_text_chars)
    if signal == "media" and cfg.semantics == "default" and cfg.media_hash_distance > 0:
        media_map = media_hash_map(run.con, max_distance=cfg.media_hash_distance)
        view = run.register("media_map", media_map)
        return media_trace_sql(view)
    if signal == "text" and cfg.semantics == "cnt":
        view = run.register("cnt_text_map", cnt_text_map(run.con))
        return trace_sql("text", semantics="cnt", text_map=view)
    return trace_sql(
        signal,
        semantics=cfg.semantics,
        min_text_chars=cfg.min_text_chars,
        bin_us=round(window * 1_000_000),
    )


def _cnt_token_map(con: duckdb.DuckDBPyConnection) -> pa.Table:
    texts = con.sql(
        f"SELECT DISTINCT p.text FROM posts p WHERE p.text IS NOT NULL AND NOT {IS_REPOST}"
    ).to_arrow_table()
    raw = texts.column(0).to_pylist()
    token_sets = [sorted(cnt_tokens(t)) for t in raw]
    return pa.table(
        {
            "text": pa.array(raw, pa.string()),
            "tokens": pa.array(token_sets, pa.list_(pa.string())),
            "n": pa.array([len(s) for s in token_sets], pa.int64()),
        }
    )


def _cnt_similar_traces(
    run: _Run, raw: str, acc: str, post: str, item: str, cfg: NetworkConfig
) -> str:
    # Prefix filtering (Chaudhuri et al. 2006; Bayardo et al. 2007): order tokens rarest first;
    # if Jaccard(A, B) >= s then |A & B| >= ceil(s * |A|), so the first |A| - ceil(s|A|) + 1
    # tokens of A and of B share one. The epsilon makes float rounding lengthen, never shorten,
    # a prefix.
    s = cfg.similarity_threshold
    tok = run.create(
        "tok",
        f"""SELECT p.pid AS post, list(i.iid ORDER BY i.iid) AS toks, any_value(r.n) AS n
            FROM (SELECT post, n, unnest(tokens) AS token FROM {raw}) r
            JOIN {post} p ON p.post = r.post JOIN {item} i ON i.item = r.token
            GROUP BY p.pid""",
    )
    return run.create(
        "tr",
        f"""WITH df AS (
                SELECT token, count(*) AS df FROM (SELECT unnest(toks) AS token FROM {tok})
                GROUP BY token
            ),
            ranked AS (
                SELECT k.post, k.n, k.token,
                       row_number() OVER (PARTITION BY k.post ORDER BY df.df, k.token) AS r
                FROM (SELECT post, n, unnest(toks) AS token FROM {tok}) k
                JOIN df ON df.token = k.token
            )
            SELECT r.token AS item, a.aid AS account, r.post AS post, p.t AS t
            FROM ranked r JOIN {post} p ON p.pid = r.post
            JOIN {raw} w ON w.post = p.post JOIN {acc} a ON a.account = w.account
            WHERE r.r <= r.n - CAST(ceil({s} * r.n - 1e-9) AS BIGINT) + 1""",
    )


def _auto_window_us(run: _Run, tr: str, signal: str) -> int:
    """CooRnet's coordination interval (q = 0.1, p = 0.5) of one signal's traces."""
    row = run.con.execute(
        f"""
        WITH ranked AS (
            SELECT item, t - min(t) OVER (PARTITION BY item) AS since_first,
                   row_number() OVER (PARTITION BY item ORDER BY t, post) AS rank,
                   count(*) OVER (PARTITION BY item) AS n
            FROM {tr}
        ),
        second AS (SELECT item, since_first FROM ranked WHERE n > 1 AND rank = 2),
        quick AS (
            SELECT item FROM second
            WHERE since_first <= (SELECT quantile_cont(since_first, 0.1) FROM second)
        ),
        half AS (
            SELECT r.item, min(r.since_first) AS since_first
            FROM ranked r JOIN quick q ON q.item = r.item
            WHERE r.rank / r.n > 0.5 GROUP BY r.item
        )
        SELECT quantile_cont(since_first, 0.5), count(*) FROM half
        """
    ).fetchall()
    value, n = row[0]
    if not n:
        raise EmptyInputError(
            f"window 'auto' found no item of signal {signal!r} acted on twice; "
            "give --window in seconds"
        )
    # CooRnet falls back to one second when the fastest items reach half their shares at once
    # (an interval of zero); a sub-second interval of data with sub-second times stands.
    interval = round(float(value))
    return interval if interval > 0 else 1_000_000


def estimate_coordination_interval(
    case: Case | duckdb.DuckDBPyConnection | str | os.PathLike[str],
    signal: str = "link",
    *,
    semantics: Semantics = "default",
) -> float:
    """Estimate CooRnet's coordination interval, in seconds, from one signal's traces.

    Among items acted on at least twice, keep the 10% whose second action came fastest after
    the first; for each, take the time from its first action to the first action past half of
    its actions; return the median of those times (one second if it is zero).

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00', 'share', 'x'),"
    ...     "('2', 'b', '2024-05-01 10:00:20+00', 'share', 'x'),"
    ...     "('3', 'c', '2024-05-01 10:00:50+00', 'share', 'x')")
    >>> estimate_coordination_interval(case, "share")
    20.0
    """
    cfg = NetworkConfig(signals=(signal,), window="auto", semantics=semantics).resolved()
    with _connection(case, cfg) as con:
        run = _Run(con)
        try:
            raw = run.create("raw", _raw_trace_sql(run, signal, cfg))
            tr = run.create(
                "tr",
                f"SELECT item, account, post, epoch_us(time) AS t FROM {raw}",
            )
            return _auto_window_us(run, tr, signal) / 1_000_000
        finally:
            run.close()


def _hot_items(run: _Run, tr: str, item: str, signal: str, window_us: int, cap: int) -> pa.Table:
    # Peak participation cannot exceed an item's post count, so only items with more posts
    # than the cap need the windowed count.
    load = item_load_sql(
        f"(SELECT * FROM {tr} WHERE item IN "
        f"(SELECT item FROM {tr} GROUP BY item HAVING count(*) > {cap}))",
        window_us,
    )
    hot = run.create("hot", f"SELECT * FROM ({load}) WHERE peak > {cap}")
    if not run.scalar(f"SELECT count(*) FROM {hot}"):
        return HOT_ITEM_SCHEMA.empty_table()
    run.con.execute(f"DELETE FROM {tr} WHERE item IN (SELECT item FROM {hot})")
    return run.arrow(
        f"""SELECT '{signal}' AS signal, i.item, h.posts, h.accounts, h.peak, h.pairs,
                   {_ts("h.first_t")} AS first_time, {_ts("h.last_t")} AS last_time
            FROM {hot} h JOIN {run.name("item")} i ON i.iid = h.item
            ORDER BY h.peak DESC, i.item"""
    )


def _ts(column: str) -> str:
    return f"(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds({column}))"


def _partitions(tr: str, n: int) -> list[str]:
    if n <= 1:
        return [tr]
    return [f"(SELECT * FROM {tr} WHERE item % {n} = {k})" for k in range(n)]


def _verified_similar_sql(run: _Run, candidates: str, cfg: NetworkConfig) -> str:
    tok = run.name("tok")
    s = cfg.similarity_threshold
    # The same post pair can share several prefix tokens; verify it once.
    return f"""
        SELECT c.*, j.inter::DOUBLE / (ta.n + tb.n - j.inter)::DOUBLE AS jaccard
        FROM (
            SELECT min(item) AS item, account_a, post_a, t_a, account_b, post_b, t_b,
                   any_value(gap) AS gap
            FROM ({candidates}) GROUP BY account_a, post_a, t_a, account_b, post_b, t_b
        ) c
        JOIN {tok} ta ON ta.post = c.post_a JOIN {tok} tb ON tb.post = c.post_b
        CROSS JOIN LATERAL (SELECT len(list_intersect(ta.toks, tb.toks)) AS inter) j
        WHERE j.inter::DOUBLE / (ta.n + tb.n - j.inter)::DOUBLE >= {s}
    """


def _default_or_cnt(
    run: _Run,
    tr: str,
    signal: str,
    window_us: int,
    cfg: NetworkConfig,
    cnt_similar: bool,
    stats: dict[str, Any] | None = None,
) -> tuple[pa.Table, pa.Table]:
    directed = cfg.semantics == "cnt"
    assert cfg.min_weight is not None

    def events(source: str) -> str:
        sql = pair_events_sql(source, window_us, same_account=False)
        return _verified_similar_sql(run, sql, cfg) if cnt_similar else sql

    # A unit is what the weight counts: (pair, item) for default, (pair, source post) for cnt.
    # Packing pair and unit into one integer key makes the two aggregations below group on a
    # single column, much faster than on three; HUGEINT when BIGINT would overflow.
    n_acc = int(run.scalar(f"SELECT count(*) FROM {run.name('acc')}")) + 1
    n_unit = int(run.scalar(f"SELECT max({'post' if directed else 'item'}) FROM {tr}") or 0) + 1
    key_type = "BIGINT" if n_acc * n_acc * n_unit < 2**62 else "HUGEINT"
    parts = _partitions(tr, cfg.partitions)
    if directed:
        per_unit = _cnt_units(run, parts, events, n_acc, n_unit, key_type, cfg.min_weight)
    else:
        unit = f"""
            SELECT (least(e.account_a, e.account_b)::{key_type} * {n_acc}
                    + greatest(e.account_a, e.account_b)) * {n_unit} + e.item AS k,
                   e.gap AS g
            FROM ({{events}}) e
        """
        units = run.create("units", unit.format(events=events(parts[0])))
        for part in parts[1:]:
            run.con.execute(f"INSERT INTO {units} {unit.format(events=events(part))}")
        # Every pair with min_weight distinct units has at least min_weight unit rows:
        # counting rows per pair is a cheap upper bound that discards most coincidental
        # pairs (weight 1) before the exact count of distinct units. The same aggregation
        # counts the pairs that co-acted at all: the number of tests the significance stage
        # corrects for, edges below min_weight included (stats "co_acting_pairs").
        candidates = ""
        pair_rows = run.create(
            "pairrows", f"SELECT k // {n_unit} AS pair, count(*) AS n FROM {units} GROUP BY 1"
        )
        if stats is not None:
            stats["co_acting_pairs"] = int(run.scalar(f"SELECT count(*) FROM {pair_rows}"))
        if cfg.min_weight > 1:
            run.create("cand", f"SELECT pair FROM {pair_rows} WHERE n >= {cfg.min_weight}")
            candidates = f"WHERE k // {n_unit} IN (SELECT pair FROM {run.name('cand')})"
        run.drop(["pairrows"])
        per_unit = run.create(
            "per_unit",
            f"SELECT k, count(*) AS n, min(g) AS g FROM {units} {candidates} GROUP BY k",
        )
        run.drop(["units", "cand"])
    # DuckDB cannot spill the state of a median; aggregating at most a few million units at a
    # time, fewer under a tight memory limit (_units_per_chunk), keeps a run inside its limit.
    rows = int(run.scalar(f"SELECT count(*) FROM {per_unit}"))
    chunks = max(1, -(-rows // _units_per_chunk(run.con)))
    edges = run.name("edges")
    for chunk in range(chunks):
        select = f"""
            SELECT (pair // {n_acc})::BIGINT AS src, (pair % {n_acc})::BIGINT AS dst,
                   weight, events, min_gap, median_gap
            FROM (
                SELECT k // {n_unit} AS pair, count(*) AS weight, sum(n)::BIGINT AS events,
                       min(g) / 1e6 AS min_gap, median(g) / 1e6 AS median_gap
                FROM {per_unit} WHERE (k // {n_unit}) % {chunks} = {chunk}
                GROUP BY 1 HAVING count(*) >= {cfg.min_weight}
            )"""
        if chunk == 0:
            run.create("edges", select)
        else:
            run.con.execute(f"INSERT INTO {edges} {select}")
    run.drop(["per_unit"])
    acc = run.name("acc")
    edge_table = run.arrow(
        f"""SELECT s.account AS source, d.account AS target, e.weight, '{signal}' AS signal,
                   e.events, e.min_gap, e.median_gap
            FROM {edges} e JOIN {acc} s ON s.aid = e.src JOIN {acc} d ON d.aid = e.dst
            ORDER BY e.weight DESC, e.src, e.dst"""
    )
    if cfg.evidence_limit == 0 or edge_table.num_rows == 0:
        return edge_table, EVIDENCE_SCHEMA.empty_table()
    # Re-run the kernel on the traces of accounts that have an edge: far fewer rows than a
    # materialised table of every event, which the edges did not need.
    sub = (
        f"(SELECT * FROM {tr} WHERE account IN "
        f"(SELECT src FROM {edges} UNION SELECT dst FROM {edges}))"
    )
    ev = events(sub)
    if directed:
        oriented = f"""
            SELECT e.item, d.x AS flip,
                   CASE WHEN d.x = 0 THEN e.account_a ELSE e.account_b END AS src,
                   CASE WHEN d.x = 0 THEN e.account_b ELSE e.account_a END AS dst,
                   CASE WHEN d.x = 0 THEN e.post_a ELSE e.post_b END AS src_post,
                   CASE WHEN d.x = 0 THEN e.post_b ELSE e.post_a END AS dst_post,
                   e.gap {", e.jaccard" if cnt_similar else ""}
            FROM ({ev}) e CROSS JOIN (VALUES (0), (1)) d(x)
        """
    else:
        oriented = f"""
            SELECT e.item,
                   least(e.account_a, e.account_b) AS src,
                   greatest(e.account_a, e.account_b) AS dst,
                   CASE WHEN e.account_a < e.account_b THEN e.post_a ELSE e.post_b END
                       AS src_post,
                   CASE WHEN e.account_a < e.account_b THEN e.post_b ELSE e.post_a END
                       AS dst_post,
                   e.gap
            FROM ({ev}) e
        """
    return edge_table, _evidence(run, oriented, edges, signal, cfg, similar=cnt_similar)


def _cnt_units(
    run: _Run,
    parts: list[str],
    events: Callable[[str], str],
    n_acc: int,
    n_unit: int,
    key_type: str,
    min_weight: int,
) -> str:
    """Per ``cnt`` unit (directed pair, source post): its events and smallest gap.

    Every event counts once in each direction, so a directed pair has exactly as many
    (source post) rows as its undirected pair has events. The cheap bound on the weight (rows
    per pair) is therefore taken on the undirected events, half the rows, and only the events
    of the pairs that pass it are doubled into directed units.
    """
    pair_type = "BIGINT" if n_acc * n_acc < 2**62 else "HUGEINT"
    pair_sql = f"""
        SELECT least(e.account_a, e.account_b)::{pair_type} * {n_acc}
                   + greatest(e.account_a, e.account_b) AS pair,
               e.account_a < e.account_b AS a_lo, e.post_a, e.post_b, e.gap AS g
        FROM ({{events}}) e
    """
    pairs = run.create("pairs", pair_sql.format(events=events(parts[0])))
    for part in parts[1:]:
        run.con.execute(f"INSERT INTO {pairs} {pair_sql.format(events=events(part))}")
    keep = ""
    if min_weight > 1:
        cand = run.create(
            "cand",
            f"SELECT pair FROM {pairs} GROUP BY pair HAVING count(*) >= {min_weight}",
        )
        keep = f"WHERE p.pair IN (SELECT pair FROM {cand})"
    # d.x = 0: the lower account is the source; its post is post_a when a is the lower one.
    per_unit = run.create(
        "per_unit",
        f"""SELECT k, count(*) AS n, min(g) AS g FROM (
                SELECT ((CASE WHEN d.x = 0 THEN p.pair // {n_acc} ELSE p.pair % {n_acc} END)
                            ::{key_type} * {n_acc}
                        + CASE WHEN d.x = 0 THEN p.pair % {n_acc} ELSE p.pair // {n_acc} END)
                       * {n_unit}
                       + CASE WHEN (d.x = 0) = p.a_lo THEN p.post_a ELSE p.post_b END AS k,
                       p.g
                FROM {pairs} p CROSS JOIN (VALUES (0), (1)) d(x) {keep}
            ) GROUP BY k""",
    )
    run.drop(["pairs", "cand"])
    return per_unit


def _evidence(
    run: _Run, oriented: str, edges: str, signal: str, cfg: NetworkConfig, *, similar: bool = False
) -> pa.Table:
    """Rank the oriented events of the kept edges, keep the closest, then attach labels."""
    acc, post, item = run.name("acc"), run.name("post"), run.name("item")
    n_acc = int(run.scalar(f"SELECT count(*) FROM {acc}")) + 1
    keep = "" if cfg.evidence_limit is None else f"QUALIFY rank <= {cfg.evidence_limit}"

    def edge_key(alias: str) -> str:
        return f"{alias}.src::BIGINT * {n_acc} + {alias}.dst"

    # One integer key per edge makes the filter a single-column hash lookup; ranking before
    # decoding keeps the string joins to the rows actually returned.
    ranked = run.create(
        "ranked",
        f"""SELECT o.*, row_number() OVER (
                       PARTITION BY o.src, o.dst ORDER BY o.gap, o.src_post, o.dst_post, o.item
                   ) AS rank
            FROM ({oriented}) o
            WHERE {edge_key("o")} IN (SELECT {edge_key("e")} FROM {edges} e)
            {keep}""",
    )
    label = "printf('jaccard=%.4f', o.jaccard)" if similar else "i.item"
    item_join = "" if similar else f"JOIN {item} i ON i.iid = o.item"
    # Account codes are ordered like the labels, so ordering by codes orders by labels.
    table = run.arrow(
        f"""
        SELECT '{signal}' AS signal, sa.account AS source, da.account AS target,
               {label} AS item,
               sp.post AS source_post, sp.time AS source_time,
               dp.post AS target_post, dp.time AS target_time, o.gap / 1e6 AS gap
        FROM {ranked} o {item_join}
        JOIN {acc} sa ON sa.aid = o.src JOIN {acc} da ON da.aid = o.dst
        JOIN {post} sp ON sp.pid = o.src_post JOIN {post} dp ON dp.pid = o.dst_post
        ORDER BY o.src, o.dst, o.rank
        """
    )
    run.drop(["ranked"])
    return table


def _coortweet(
    run: _Run, tr: str, signal: str, window_us: int, cfg: NetworkConfig
) -> tuple[pa.Table, pa.Table]:
    assert cfg.min_weight is not None and cfg.min_participation is not None
    ev = run.create("ev", pair_events_sql(tr, window_us, same_account=cfg.keep_loops) + " LIMIT 0")
    for part in _partitions(tr, cfg.partitions):
        run.con.execute(
            f"INSERT INTO {ev} {pair_events_sql(part, window_us, same_account=cfg.keep_loops)}"
        )
    if cfg.min_participation >= 1:
        # CooRTweet keeps a pair when either account has at least min_participation traces
        # among the posts that take part in some pair.
        active = run.create(
            "active",
            f"""SELECT account FROM {tr}
                WHERE post IN (SELECT post_a FROM {ev} UNION SELECT post_b FROM {ev})
                GROUP BY account HAVING count(*) >= {cfg.min_participation}""",
        )
        run.con.execute(
            f"""DELETE FROM {ev} WHERE account_a NOT IN (SELECT account FROM {active})
                                   AND account_b NOT IN (SELECT account FROM {active})"""
        )
    q = cfg.edge_weight_quantile
    edges = run.create(
        "edges",
        f"""
        WITH agg AS (
            SELECT least(account_a, account_b) AS src, greatest(account_a, account_b) AS dst,
                   count(*) AS weight, count(*) AS events,
                   min(gap) / 1e6 AS min_gap, median(gap) / 1e6 AS median_gap,
                   avg(gap) / 1e6 AS avg_time_delta,
                   count(DISTINCT post_a) AS n_content_id,
                   count(DISTINCT post_b) AS n_content_id_y
            FROM {ev} GROUP BY 1, 2
        )
        SELECT *, least(n_content_id, n_content_id_y)::DOUBLE
                  / greatest(n_content_id, n_content_id_y) AS edge_symmetry_score,
               CAST(weight > (SELECT quantile_cont(weight, {q}) FROM agg) AS TINYINT)
                   AS weight_threshold
        FROM agg
        """,
    )
    run.con.execute(f"DELETE FROM {edges} WHERE weight < {cfg.min_weight}")
    acc = run.name("acc")
    edge_table = run.arrow(
        f"""SELECT s.account AS source, d.account AS target, e.weight, '{signal}' AS signal,
                   e.events, e.min_gap, e.median_gap, e.avg_time_delta, e.n_content_id,
                   e.n_content_id_y, e.edge_symmetry_score, e.weight_threshold
            FROM {edges} e JOIN {acc} s ON s.aid = e.src JOIN {acc} d ON d.aid = e.dst
            ORDER BY e.weight DESC, e.src, e.dst"""
    )
    if cfg.evidence_limit == 0 or edge_table.num_rows == 0:
        return edge_table, EVIDENCE_SCHEMA.empty_table()
    oriented = f"""
        SELECT e.item,
               least(e.account_a, e.account_b) AS src, greatest(e.account_a, e.account_b) AS dst,
               CASE WHEN e.account_a <= e.account_b THEN e.post_a ELSE e.post_b END AS src_post,
               CASE WHEN e.account_a <= e.account_b THEN e.post_b ELSE e.post_a END AS dst_post,
               e.gap
        FROM {ev} e
    """
    return edge_table, _evidence(run, oriented, edges, signal, cfg)


# --- writers -------------------------------------------------------------------------------------

EDGE_FORMATS: Final = (".csv", ".parquet", ".graphml", ".gexf")


def write_network(
    result: NetworkResult,
    edges: str | os.PathLike[str],
    *,
    evidence: str | os.PathLike[str] | None = None,
    hot_items: str | os.PathLike[str] | None = None,
) -> None:
    """Write a network's edges (and optionally evidence and hot items) to files.

    The edges' format follows the suffix: ``.csv`` (spreadsheet formulas neutralised),
    ``.parquet`` (the run's configuration in the file's metadata), ``.graphml`` or ``.gexf``
    (for Gephi; directed under ``cnt``). Evidence and hot items are written as CSV or Parquet.
    Every file is written atomically (temporary file, then rename).

    Raises
    ------
    ConfigError
        A path has an unsupported suffix.
    """
    meta = result.metadata()
    _write_table(result.edges, edges, EDGE_FORMATS, meta, directed=result.directed)
    if evidence is not None:
        _write_table(result.evidence, evidence, (".csv", ".parquet"), meta)
    if hot_items is not None:
        _write_table(result.hot_items, hot_items, (".csv", ".parquet"), meta)


def _write_table(
    table: pa.Table,
    path: str | os.PathLike[str],
    allowed: tuple[str, ...],
    meta: dict[str, Any],
    *,
    directed: bool = False,
) -> None:
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise ConfigError(f"cannot write {path}: the file name must end in {', '.join(allowed)}")
    text = json.dumps(meta, sort_keys=True, default=str)
    if suffix == ".csv":
        write_csv(table, path)
    elif suffix == ".parquet":
        write_parquet(table, path, metadata={"cibscan.networks": text})
    elif suffix == ".graphml":
        write_graphml(table, path, directed=directed, graph_attributes={"cibscan": text})
    else:
        write_gexf(table, path, directed=directed, description=text)


class _CallableModule(types.ModuleType):
    """This module, callable as its function: ``cibscan.networks(case, ...)``.

    ``import cibscan.networks`` binds the package's attribute ``networks`` to the module, so
    the module itself forwards calls to :func:`networks`.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> NetworkResult:
        return networks(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
