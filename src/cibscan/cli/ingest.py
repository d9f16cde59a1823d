"""``cibscan ingest`` and ``cibscan info``: build and inspect a case store."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cibscan.case import open_case
from cibscan.cli.app import app
from cibscan.config import IngestConfig, load_config, parse_column_map
from cibscan.errors import CibscanError, ConfigError
from cibscan.ingest import FORMATS, ingest, run_rejects

_FORMAT_HELP = "Input format; detected from each file's content when omitted. One of: " + ", ".join(
    f.name for f in FORMATS
)


#: Options that ``ingest`` and ``investigate`` share.
TzOption = Annotated[
    str | None,
    typer.Option("--tz", help="IANA time zone of timestamps without one (default UTC)."),
]
DateOrderOption = Annotated[
    str | None,
    typer.Option(
        "--date-order",
        help="Slash dates such as 03/04/2024: dmy (day first), mdy (month first) or auto "
        "(default: told from the values; an error when a file cannot tell).",
    ),
]

FormatOption = Annotated[str | None, typer.Option("--format", help=_FORMAT_HELP)]
MapOption = Annotated[
    list[str] | None,
    typer.Option("--map", help="Rename a column: SOURCE=CANONICAL (repeatable)."),
]
TableOption = Annotated[
    str | None,
    typer.Option(
        "--table",
        help="Canonical table of generic files: posts, accounts, infra, memberships, "
        "labels (guessed from the columns when omitted).",
    ),
]
PlatformOption = Annotated[
    str | None,
    typer.Option("--platform", help="Platform of rows that do not say (twitter, facebook, ...)."),
]
OnErrorOption = Annotated[
    str | None,
    typer.Option(
        "--on-error",
        help="strict (default): stop at the first bad row, case unchanged. skip: "
        "store bad rows in the rejects table and go on.",
    ),
]


def ingest_options(
    config: Path | None,
    *,
    fmt: str | None = None,
    column_map: list[str] | None = None,
    table: str | None = None,
    platform: str | None = None,
    on_error: str | None = None,
    tz: str | None = None,
    date_order: str | None = None,
) -> IngestConfig:
    """The ingest config of a command: the config file's ``[ingest]`` table, then the options."""
    base = load_config(config).ingest
    mapping = {**base.column_map, **parse_column_map(column_map or [])}
    if on_error not in (None, "strict", "skip"):
        raise ConfigError(f"--on-error must be strict or skip, got {on_error!r}")
    overrides = {
        "format": fmt,
        "table": table,
        "platform": platform,
        "on_error": on_error,
        "tz": tz,
        "date_order": date_order,
    }
    chosen: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(base, column_map=mapping, **chosen)


@app.command("ingest")
def ingest_command(
    sources: Annotated[
        list[Path],
        typer.Argument(help="Input files (gzip/zstd read transparently).", show_default=False),
    ],
    db: Annotated[Path, typer.Option("--db", help="Case store to create or append to.")] = Path(
        "case.duckdb"
    ),
    fmt: FormatOption = None,
    column_map: MapOption = None,
    table: TableOption = None,
    platform: PlatformOption = None,
    on_error: OnErrorOption = None,
    tz: TzOption = None,
    date_order: DateOrderOption = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML config file; its [ingest] table sets the defaults."),
    ] = None,
    rejects_out: Annotated[
        Path | None,
        typer.Option("--rejects-out", help="Also write this ingest's rejected rows to a CSV file."),
    ] = None,
) -> None:
    """Ingest input files into a case store (created if missing).

    Every input row is accounted for: the summary line states
    `read = ingested + rejected + duplicates`. Ingesting the same file twice adds nothing.

    Examples:

        cibscan ingest posts.csv accounts.csv --db case.duckdb

        cibscan ingest tweets.jsonl.gz --db case.duckdb --map user_id=account_id --on-error skip

        cibscan ingest archive_tweets.csv --format io-archive --db case.duckdb
    """
    cfg = ingest_options(
        config,
        fmt=fmt,
        column_map=column_map,
        table=table,
        platform=platform,
        on_error=on_error,
        tz=tz,
        date_order=date_order,
    )
    console = Console(stderr=True)
    created = not db.exists()
    case = open_case(db)
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task("reading", total=None)

            def progress(file: str, rows: int) -> None:
                bar.update(task, description=f"{file}: {rows:,} rows")

            try:
                report = ingest(sources, case, cfg, progress=progress)
            except CibscanError:
                if created:  # a case store this command created holds nothing: leave none
                    case.close()
                    for leftover in (db, db.with_name(db.name + ".wal")):
                        leftover.unlink(missing_ok=True)
                raise
        out = Console(highlight=False, soft_wrap=True)
        for f in report.files:
            out.print(
                f"{f.file} [{f.format} -> {f.table}]: read {f.read} = ingested "
                f"{f.ingested} + rejected {f.rejected} + duplicates {f.duplicates}",
                markup=False,
            )
        out.print(report.summary(), markup=False)
        if report.rejected:
            out.print(
                f"{report.rejected} rejected rows are in the rejects table of {db} "
                "(`cibscan info --db` shows them)",
                markup=False,
            )
        if report.ambiguous_times:
            out.print(
                f"{report.ambiguous_times} rows have a local time that happened twice in {tz}"
                " (the clocks went back): read in the offset after the change",
                markup=False,
            )
        if rejects_out is not None:
            _write_rejects(
                run_rejects(case.con),
                rejects_out,
            )
    finally:
        case.close()


def _cell(value: str) -> Text:
    """Data for the terminal: never read as Rich markup, control characters made visible.

    Rejected values come from the inputs, i.e. from the adversary: as markup, ``[link=...]``
    would print a hyperlink and ``[/x]`` would crash the command; escape sequences would drive
    the terminal.
    """
    from cibscan.report._safety import neutralise

    return Text(neutralise(value))


def _write_rejects(rows: list[tuple[object, ...]], path: Path) -> None:
    """Write rejected rows as CSV; cells that a spreadsheet would run as formulas are quoted."""
    from cibscan.export import atomic_path, neutralise_formula

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "row", "table", "column", "value", "reason"])
        for row in rows:
            writer.writerow(["" if v is None else neutralise_formula(str(v)) for v in row])


@app.command("info")
def info_command(
    db: Annotated[Path, typer.Option("--db", help="The case store.")] = Path("case.duckdb"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    rejects: Annotated[
        int, typer.Option("--rejects", help="Show up to this many rejected rows.")
    ] = 10,
) -> None:
    """Show what a case store holds: counts per table, time span, platforms, kinds, rejects.

    Also how finely the post times are given (on whole seconds, on whole minutes), with a note
    when many are cut to the minute.

    Examples:

        cibscan info --db case.duckdb

        cibscan info --db case.duckdb --json
    """
    case = open_case(db, create=False, read_only=True)
    try:
        info = case.info()
        sample = case.con.execute(
            'SELECT file, row, table_name, "column", value, reason FROM rejects '
            "ORDER BY file, row LIMIT ?",
            [rejects],
        ).fetchall()
    finally:
        case.close()
    if as_json:
        data = info.as_dict()
        data["rejects_sample"] = [
            dict(zip(("file", "row", "table", "column", "value", "reason"), r, strict=True))
            for r in sample
        ]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    out = Console(highlight=False, soft_wrap=True)
    counts = Table(title=f"Case {info.path}")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    for name, n in info.counts.items():
        counts.add_row(name, f"{n:,}")
    counts.add_row("rejects", f"{info.rejects:,}")
    out.print(counts)
    out.print(f"Posts from {info.first_post} to {info.last_post}", markup=False)
    resolution = info.time_resolution
    if resolution is not None and resolution.posts:
        line = (
            f"Post times: {resolution.whole_seconds / resolution.posts:.0%} on whole seconds, "
            f"{resolution.whole_minutes / resolution.posts:.0%} on whole minutes"
        )
        out.print(line, markup=False)
        note = resolution.note()
        if note:
            out.print(f"note: {note}", markup=False)
    for title, tally in (
        ("Platforms", info.platforms),
        ("Post kinds", info.post_kinds),
        ("Account kinds", info.account_kinds),
    ):
        text = ", ".join(f"{k} {v:,}" for k, v in tally.items()) or "none"
        out.print(f"{title}: {_cell(text)}", markup=False)
    if info.sources:
        src = Table(title="Inputs")
        for col in ("file", "format", "table", "read", "ingested", "rejected", "duplicates"):
            src.add_column(col)
        for s in info.sources:
            src.add_row(
                *(
                    _cell(str(s[k]))
                    for k in (
                        "path",
                        "format",
                        "table",
                        "read",
                        "ingested",
                        "rejected",
                        "duplicates",
                    )
                )
            )
        out.print(src)
    if sample:
        rej = Table(title=f"Rejected rows (first {len(sample)} of {info.rejects})")
        for col in ("file", "row", "table", "column", "value", "reason"):
            rej.add_column(col)
        for r in sample:
            rej.add_row(*(_cell("" if v is None else str(v)[:60]) for v in r))
        out.print(rej)
