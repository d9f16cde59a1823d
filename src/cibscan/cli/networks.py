"""``cibscan networks``: co-action networks from a case store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cibscan.case import open_case
from cibscan.cli.app import app
from cibscan.errors import ConfigError
from cibscan.networks import EDGE_FORMATS, SEMANTICS, NetworkConfig, networks
from cibscan.traces import DEFAULT_SIGNALS, SIGNALS

__all__ = ["networks_command"]

_HELP = f"""
Build co-action networks: accounts that act on the same item (a shared post, a link, a
hashtag sequence, a copied text, ...) within a time window.

Writes one edge list with the columns `source,target,weight` first, then `signal, events,
min_gap, median_gap` (gaps in seconds). `--semantics cnt` reproduces
coordination-network-toolkit 1.5.2 (directed, one row per direction); `--semantics coortweet`
reproduces CooRTweet (min participation, loop removal, quantile flag).

Signals: {", ".join(SIGNALS)}. Default: {",".join(DEFAULT_SIGNALS)}.

Examples:

    cibscan networks --db case.duckdb --signal share,link --window 60 --out edges.csv

    cibscan networks --db case.duckdb -s share --semantics cnt --window 10 --out cnt.csv

    cibscan networks --db case.duckdb --out edges.gexf --evidence evidence.csv --hot-items hot.csv

    cibscan networks --posts s3a://bucket/posts/ --engine spark --spark-master spark://h:7077 \
        --spark-conf spark.executor.memory=8g --out edges.parquet
"""


def _signals(values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return DEFAULT_SIGNALS
    return tuple(s.strip() for value in values for s in value.split(",") if s.strip())


def _window(value: str | None) -> float | str | None:
    if value is None or value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise ConfigError(
            f"--window must be a number of seconds or 'auto', got {value!r}"
        ) from None


def _evidence_limit(value: str) -> int | None:
    if value == "all":
        return None
    try:
        limit = int(value)
    except ValueError:
        raise ConfigError(
            f"--evidence-limit must be a whole number or 'all', got {value!r}"
        ) from None
    if limit < 0:
        raise ConfigError(f"--evidence-limit must be >= 0 or 'all', got {value!r}")
    return limit


@app.command("networks", help=_HELP)
def networks_command(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", help="The case store to read (no default; or --posts with --engine spark)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Edge list to write (required); the suffix picks the format "
            f"({', '.join(EDGE_FORMATS)}).",
        ),
    ] = None,
    signal: Annotated[
        list[str] | None,
        typer.Option("--signal", "-s", help="Signals, comma-separated or repeated."),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            help="Window in seconds (inclusive), or 'auto' for CooRnet's estimate per signal. "
            "Default: 60, or 1 with cnt, 10 with coortweet."
        ),
    ] = None,
    min_weight: Annotated[
        int | None,
        typer.Option(help="Keep edges of at least this weight. Default 2 (1 with coortweet)."),
    ] = None,
    semantics: Annotated[
        str | None, typer.Option(help=f"Edge semantics: {', '.join(SEMANTICS)} [default: default].")
    ] = None,
    min_participation: Annotated[
        int | None,
        typer.Option(help="Drop accounts with fewer traces of a signal (default 1; 2 coortweet)."),
    ] = None,
    keep_loops: Annotated[
        bool, typer.Option("--keep-loops", help="coortweet: keep an account's loops.")
    ] = False,
    hot_item_cap: Annotated[
        int | None,
        typer.Option(
            help="Items with more posts than this inside one window are listed in --hot-items, "
            "not enumerated pair by pair; 0 enumerates everything. Not applied with cnt. "
            "[default: 1000]"
        ),
    ] = None,
    evidence: Annotated[
        Path | None,
        typer.Option(help="Write the post pairs behind each edge here (.csv or .parquet)."),
    ] = None,
    evidence_limit: Annotated[
        str | None,
        typer.Option(help="Evidence rows per edge, closest first, or 'all'. [default: 10]"),
    ] = None,
    hot_items: Annotated[
        Path | None,
        typer.Option(help="Write the items left out as too popular here (.csv or .parquet)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="TOML file with a [networks] table; options given on the command line win."
        ),
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option(help="Process the items in this many partitions to bound memory."),
    ] = None,
    memory_limit: Annotated[
        str | None, typer.Option(help="DuckDB memory limit, e.g. 4GB; it spills beyond.")
    ] = None,
    temp_directory: Annotated[
        Path | None, typer.Option(help="Where DuckDB spills to disk.")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="duckdb (one machine) or spark (pip install 'cibscan[spark]').")
    ] = "duckdb",
    posts: Annotated[
        str | None,
        typer.Option(
            help="With --engine spark, instead of --db: Parquet posts (a path or any URI "
            "Spark reads, e.g. s3a://, hdfs://) in the canonical posts columns."
        ),
    ] = None,
    spark_master: Annotated[
        str | None, typer.Option(help="Spark master URL, e.g. local[2] or spark://host:7077.")
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(help="Spark setting KEY=VALUE (repeatable), e.g. spark.executor.memory=8g."),
    ] = None,
    spark_staging: Annotated[
        str | None,
        typer.Option(
            help="With --engine spark and --db: where the case's posts are exported as Parquet "
            "for the executors (a path or URI every executor reads; default: a temporary "
            "folder on this machine, which only a local master reads)."
        ),
    ] = None,
) -> None:
    if out is None:
        raise ConfigError("give --out EDGES (.csv, .parquet, .graphml or .gexf)")
    if engine not in ("duckdb", "spark"):
        raise ConfigError(f"--engine must be duckdb or spark, got {engine!r}")
    if (db is None) == (posts is None) or (posts is not None and engine != "spark"):
        raise ConfigError("give --db CASE, or --posts PARQUET with --engine spark")
    conf: dict[str, str] = {}
    for item in spark_conf or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--spark-conf expects KEY=VALUE, got {item!r}")
        conf[key.strip()] = value.strip()
    options: dict[str, Any] = {}
    if config is not None:
        options.update(NetworkConfig.from_toml(config).as_dict())
    given: dict[str, Any] = {
        "signals": _signals(signal) if signal else None,
        "window": _window(window),
        "min_weight": min_weight,
        "semantics": semantics,
        "min_participation": min_participation,
        "keep_loops": True if keep_loops else None,
        "partitions": partitions,
        "memory_limit": memory_limit,
        "temp_directory": str(temp_directory) if temp_directory else None,
    }
    options.update({key: value for key, value in given.items() if value is not None})
    if hot_item_cap is not None:
        options["hot_item_cap"] = hot_item_cap or None
    if evidence_limit is not None:
        options["evidence_limit"] = _evidence_limit(evidence_limit)
    elif evidence is None:
        # Evidence costs a second pass of the kernel; skip it when nobody will read it.
        options["evidence_limit"] = 0
    cfg = NetworkConfig.from_dict(options)

    # Check the output names before the (possibly long) run.
    for path, allowed in ((out, EDGE_FORMATS), (evidence, (".csv", ".parquet")),
                          (hot_items, (".csv", ".parquet"))):  # fmt: skip
        if path is not None and path.suffix.lower() not in allowed:
            raise ConfigError(
                f"cannot write {path}: the file name must end in {', '.join(allowed)}"
            )
    if evidence is not None and cfg.evidence_limit == 0:
        raise ConfigError("--evidence was given with --evidence-limit 0; raise the limit or 'all'")

    if posts is not None:
        result = networks(
            posts, config=cfg, engine="spark", spark_master=spark_master, spark_conf=conf
        )
    else:
        assert db is not None
        with open_case(db, create=False, read_only=True) as case:
            result = networks(
                case,
                config=cfg,
                engine="spark" if engine == "spark" else "duckdb",
                spark_master=spark_master,
                spark_conf=conf,
                spark_staging=spark_staging,
            )
    result.write(out, evidence=evidence, hot_items=hot_items)

    console = Console(highlight=False)
    table = Table(title=f"co-action networks ({result.config.semantics})")
    for column in ("signal", "window s", "traces", "items", "hot items", "edges", "seconds"):
        table.add_column(column, justify="left" if column == "signal" else "right")
    for name, stats in result.stats.items():
        table.add_row(
            name,
            f"{result.windows[name]:g}",
            f"{stats['traces']:,}",
            f"{stats['items']:,}",
            f"{stats['hot_items']:,}",
            f"{stats['edges']:,}",
            f"{stats['seconds']:.2f}",
        )
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
    console.print(f"edges: {out}", markup=False)
    if evidence is not None:
        console.print(f"evidence: {evidence}", markup=False)
    if hot_items is not None:
        console.print(f"hot items: {hot_items}", markup=False)
