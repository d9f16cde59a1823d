"""Ingest: read inputs of every supported format into a case store, accounting for every row.

The data's path: :mod:`~cibscan.ingest.source` opens and sniffs a file,
:mod:`~cibscan.ingest.formats` picks its reader (:mod:`~cibscan.ingest.readers` for generic
files, :mod:`~cibscan.ingest.platforms` for peer tools and platform exports), and
:mod:`~cibscan.ingest.load` validates, deduplicates and inserts the rows in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cibscan.case import Case, open_case
from cibscan.config import IngestConfig
from cibscan.errors import BadInputError
from cibscan.ingest.formats import FORMATS, detect_format, get_format
from cibscan.ingest.load import (
    FileCounts,
    TableLoader,
    derive_accounts,
    drop_ingest_state,
    run_rejects,
    start_ingest_state,
)
from cibscan.ingest.readers import ParseReject, RawBatch, ReadOptions, SqlSource
from cibscan.ingest.source import sample_input

__all__ = ["FORMATS", "FileCounts", "IngestReport", "ingest", "run_rejects"]

ProgressCallback = Callable[[str, int], None]


@dataclass
class IngestReport:
    """What an ingest did: row accounting per input file and table."""

    files: list[FileCounts] = field(default_factory=list)
    accounts_derived: int = 0
    inputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Rows read from all inputs."""
        return sum(f.read for f in self.files)

    @property
    def ingested(self) -> int:
        """Rows added to the case."""
        return sum(f.ingested for f in self.files)

    @property
    def rejected(self) -> int:
        """Rows rejected (stored in the ``rejects`` table)."""
        return sum(f.rejected for f in self.files)

    @property
    def duplicates(self) -> int:
        """Rows already in the case with the same content."""
        return sum(f.duplicates for f in self.files)

    @property
    def ambiguous_times(self) -> int:
        """Ingested rows whose local time happened twice in the zone (see ``FileCounts``)."""
        return sum(f.ambiguous_times for f in self.files)

    def summary(self) -> str:
        """The accounting line: ``read N = ingested A + rejected B + duplicates C``."""
        return (
            f"read {self.read} = ingested {self.ingested} + rejected {self.rejected} + "
            f"duplicates {self.duplicates}"
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-compatible data."""
        return {
            "read": self.read,
            "ingested": self.ingested,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "ambiguous_times": self.ambiguous_times,
            "accounts_derived": self.accounts_derived,
            "files": [vars(f) for f in self.files],
            "inputs": self.inputs,
        }


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _ingest_file(
    case: Case,
    path: Path,
    config: IngestConfig,
    max_ts: dt.datetime,
    file_index: int,
    progress: ProgressCallback | None,
) -> list[FileCounts]:
    sample = sample_input(path)
    fmt = get_format(config.format) if config.format else detect_format(sample)
    options = ReadOptions(
        column_map=dict(config.column_map),
        table=config.table,
        platform=config.platform,
        max_decompressed_bytes=config.max_decompressed_bytes,
        max_decompression_ratio=config.max_decompression_ratio,
        tz=config.tz,
    )
    label = str(path)
    loaders: dict[tuple[str, bool], TableLoader] = {}
    strict = config.on_error == "strict"

    def loader(table: str, embedded: bool) -> TableLoader:
        key = (table, embedded)
        if key not in loaders:
            loaders[key] = TableLoader(
                case.con,
                table,
                file_label=label,
                fmt=fmt.name,
                row_label=fmt.row_label,
                tz=config.tz,
                date_order=config.date_order,
                max_timestamp=max_ts,
                embedded=embedded,
                stage_id=file_index * 100 + len(loaders),
                column_sources=options.column_sources,
            )
        return loaders[key]

    read = 0
    for item in fmt.read(path, sample, options):
        if isinstance(item, ParseReject):
            loader(item.table, False).add_reject(item)
            if strict:
                break  # the first bad record; rows staged before it are checked below
            continue
        if isinstance(item, SqlSource):
            defaults = (
                {"platform": config.platform}
                if config.platform and item.table in ("posts", "accounts")
                else {}
            )
            loader(item.table, False).add_sql(
                item.relation, error_prefix=item.error_prefix, defaults=defaults
            )
            read += item.rows
            if progress is not None:
                progress(label, read)
            continue
        assert isinstance(item, RawBatch)
        if (
            config.platform
            and "platform" not in item.data.schema.names
            and item.table in ("posts", "accounts")
        ):
            import pyarrow as pa

            item = RawBatch(
                item.table,
                item.data.append_column(
                    "platform", pa.array([config.platform] * item.data.num_rows, pa.string())
                ),
                item.embedded,
            )
        loader(item.table, item.embedded).add(item)
        read += item.data.num_rows
        if progress is not None:
            progress(label, read)
    counts: list[FileCounts] = []
    # Real rows first, then side information, so that real account rows win.
    for (_table, embedded), table_loader in sorted(loaders.items(), key=lambda kv: kv[0][1]):
        result = table_loader.finish(strict=strict)
        if not embedded:
            counts.append(result)
    if not counts:
        counts.append(FileCounts(label, config.table or "posts", fmt.name))
    return counts


def ingest(
    sources: Iterable[str | os.PathLike[str]],
    case: Case | str | os.PathLike[str],
    config: IngestConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest input files into a case store, in one transaction.

    Parameters
    ----------
    sources
        Input files (CSV, TSV, JSON lines, Parquet, peer-tool and platform formats; gzip or
        zstd compressed or not). The format of each is detected from its content unless
        ``config.format`` names it.
    case
        An open :class:`~cibscan.case.Case`, or the path of a case store to create or append to.
    config
        How to read the inputs; see :class:`~cibscan.config.IngestConfig`.
    progress
        Called with (file, rows read so far) while reading.

    Returns
    -------
    IngestReport
        Row accounting: for every file, ``read = ingested + rejected + duplicates``.

    Raises
    ------
    BadInputError
        In strict mode (the default), for the first bad row; the case is left unchanged.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (tmp / "posts.csv").write_text(
    ...     "post_id,account_id,timestamp,text\\n1,a,2024-01-01T10:00:00Z,hello #World\\n")
    >>> report = ingest([tmp / "posts.csv"], tmp / "case.duckdb")
    >>> report.summary()
    'read 1 = ingested 1 + rejected 0 + duplicates 0'
    """
    config = config or IngestConfig()
    owned = not isinstance(case, Case)
    store = open_case(case) if not isinstance(case, Case) else case
    max_ts = config.max_timestamp or (dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    report = IngestReport()
    paths: Sequence[Path] = [Path(s) for s in sources]
    con = store.con
    # The files' SHA-256 (for `sources` and run.json) is computed on a thread beside the
    # ingest, which mostly waits in DuckDB: hashlib releases the GIL.
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cibscan-sha256")
    digests = [hashing.submit(file_sha256, p) if p.is_file() else None for p in paths]
    start_ingest_state(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for index, path in enumerate(paths):
            counts = _ingest_file(store, path, config, max_ts, index, progress)
            digest = digests[index]
            sha = digest.result() if digest is not None else ""
            size = path.stat().st_size
            report.inputs.append({"path": str(path), "size": size, "sha256": sha})
            for c in counts:
                con.execute(
                    "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [
                        str(path),
                        sha,
                        size,
                        c.format,
                        c.table,
                        c.read,
                        c.ingested,
                        c.rejected,
                        c.duplicates,
                    ],
                )
            report.files.extend(counts)
        drop_ingest_state(con)
        report.accounts_derived = derive_accounts(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        hashing.shutdown(wait=True, cancel_futures=True)
        if owned:
            store.close()
    for file_counts in report.files:
        if not file_counts.balanced:  # pragma: no cover - an internal accounting bug
            raise BadInputError(
                f"row accounting does not add up: {file_counts}", file=file_counts.file
            )
    return report
