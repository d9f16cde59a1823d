"""Writing tables to files that people open: CSV, Parquet, GraphML and GEXF.

Every writer is atomic: it writes a temporary file next to the target and renames it, so a
crashed or interrupted run never leaves half a file under the final name.

CSV files are opened in spreadsheets, which run a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula; post texts, handles and URLs come from
adversaries, so :func:`write_csv` prefixes such text cells with ``'`` (:func:`neutralise_formula`).
Numbers are written as numbers and left alone. A cell that starts with ``'`` gets one more, so
the guard can be taken off exactly (:func:`restore_formula`) by whoever reads the file back.
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TextIO
from xml.sax.saxutils import escape, quoteattr

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "FORMULA_PREFIXES",
    "TEMP_PREFIX",
    "atomic_path",
    "neutralise_formula",
    "neutralise_formulas",
    "remove_stale_temps",
    "restore_formula",
    "write_csv",
    "write_gexf",
    "write_graphml",
    "write_parquet",
]

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
# ... and the guard itself, so that guarded and original cells never look the same.
_GUARDED: Final = (*FORMULA_PREFIXES, "'")
_FORMULA_RE: Final = "^[=+\\-@\t\r']"
# Characters XML 1.0 cannot carry at all, even escaped (and lone surrogates, which UTF-8
# cannot encode), and a literal "[" opening "[U+", escaped too so that the markers stay
# unambiguous: "x\x01" and the text "x[U+0001]" remain two node ids.
_XML_INVALID: Final = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|\\[(?=U\\+)"
)


def neutralise_formula(value: str) -> str:
    """Return ``value`` with a leading ``'`` if a spreadsheet would run it as a formula.

    A value that already starts with ``'`` gets one too, so :func:`restore_formula` undoes
    this exactly (and a spreadsheet, which hides one leading ``'``, shows the value as it is).

    Examples
    --------
    >>> neutralise_formula("=HYPERLINK(\\"http://evil\\")")
    '\\'=HYPERLINK("http://evil")'
    >>> neutralise_formula("plain text")
    'plain text'
    """
    return "'" + value if value.startswith(_GUARDED) else value


def restore_formula(cell: str) -> str:
    """Undo :func:`neutralise_formula`: the value a cell of a cibscan CSV stands for.

    Examples
    --------
    >>> restore_formula("'-100123"), restore_formula("''quoted"), restore_formula("plain")
    ('-100123', "'quoted", 'plain')
    """
    return cell[1:] if cell.startswith("'") else cell


def neutralise_formulas(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Vectorised :func:`neutralise_formula` over an Arrow string array (nulls stay null)."""
    risky = pc.match_substring_regex(array, _FORMULA_RE)
    # The quote and separator take the array's type: large_string arrays have no kernel
    # that joins them with plain strings.
    quote, nothing = pa.scalar("'", array.type), pa.scalar("", array.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, array, nothing), array)


#: Prefix of the temporary files writers use; a file named so is never a finished output.
TEMP_PREFIX: Final = ".tmp-"


def _temp_name(target: Path) -> str:
    # The writer's process id is in the name so that a later run can tell an orphan (its
    # writer was killed) from a file another live process is still writing.
    return f"{TEMP_PREFIX}{target.name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temps(folder: str | os.PathLike[str], name: str | None = None) -> list[Path]:
    """Delete temporary files left in ``folder`` by writers that were killed.

    Parameters
    ----------
    folder
        The output folder.
    name
        Only the temporaries of this output file name (all when ``None``).

    Returns
    -------
    list of Path
        The files removed. Temporaries of writers still running are kept.
    """
    removed: list[Path] = []
    pattern = f"{TEMP_PREFIX}{glob.escape(name)}.*" if name is not None else f"{TEMP_PREFIX}*"
    try:
        candidates = sorted(Path(folder).glob(pattern))
    except OSError:
        return removed
    for path in candidates:
        parts = path.name.rsplit(".", 3)
        # .tmp-<name>.<pid>.<random>.tmp
        if len(parts) != 4 or parts[3] != "tmp" or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if pid == os.getpid() or _alive(pid):
            continue  # still being written
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse directory fsync
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; move it to ``path`` when the block ends.

    The temporary file is named ``.tmp-<name>.<pid>.<random>.tmp``, so a file left by a killed
    run can never be taken for an output; the next write of the same output removes such
    orphans (see :func:`remove_stale_temps`). On success the file is flushed to disk
    (``fsync``), given the permissions of a newly created file (the umask's), and renamed over
    the target in one step (``os.replace``), so readers see the old file or the whole new one.
    On an exception the temporary file is removed and the target is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("done")
    >>> out.read_text(), sorted(p.name for p in out.parent.iterdir())
    ('done', ['notes.txt'])
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_name(target), suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        # mkstemp creates the file readable by its owner only; an output is an ordinary file.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    remove_stale_temps(target.parent, target.name)


def _umask() -> int:
    try:  # Linux shows the umask without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # Elsewhere it can only be read by setting it; put back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _plain_csv_type(kind: pa.DataType) -> bool:
    """Types whose cells are numbers, booleans, dates or empty: nothing a spreadsheet runs."""
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_temporal(kind)
        or pa.types.is_null(kind)
    )


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _csv_ready(table: pa.Table) -> pa.Table:
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_timestamp(kind):
            if kind.tz is not None:
                column = pc.cast(column, pa.timestamp(kind.unit, tz="UTC"))
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")  # %S has the fraction
            column = pc.replace_substring_regex(column, pattern=r"\.0+Z$", replacement="Z")
        elif pa.types.is_large_string(kind) or pa.types.is_string(kind):
            column = neutralise_formulas(column)
        elif pa.types.is_dictionary(kind):
            column = neutralise_formulas(pc.cast(column, pa.string()))
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            column = neutralise_formulas(
                pa.array(
                    [None if v is None else " ".join(map(str, v)) for v in column.to_pylist()],
                    pa.string(),
                )
            )
        elif not _plain_csv_type(kind):
            # Bytes, structs, maps...: written as text, so neutralised like text.
            column = neutralise_formulas(
                pa.array([_cell_text(v) for v in column.to_pylist()], pa.string())
            )
        columns.append((name, column))
    return pa.table(dict(columns))


def write_csv(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write a table as UTF-8 CSV with a header, atomically, formulas neutralised.

    Timestamps are written as ISO 8601 in UTC (``2024-05-01T10:00:00Z``, with the fraction when
    there is one); lists as space-separated text; nulls as empty cells.

    Examples
    --------
    >>> import pyarrow as pa, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "edges.csv"
    >>> write_csv(pa.table({"source": ["=cmd()"], "weight": [-3]}), out)
    >>> print(out.read_text().strip())
    "source","weight"
    "'=cmd()",-3
    >>> from datetime import datetime, UTC
    >>> times = [datetime(2024, 5, 1, 10, tzinfo=UTC), datetime(2024, 5, 1, 10, 0, 0, 250000, UTC)]
    >>> write_csv(pa.table({"t": pa.array(times, pa.timestamp("us", tz="UTC"))}), out)
    >>> print(out.read_text().strip())
    "t"
    "2024-05-01T10:00:00Z"
    "2024-05-01T10:00:00.250000Z"
    """
    ready = _csv_ready(table)
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    with atomic_path(path) as tmp:
        pacsv.write_csv(ready, str(tmp), write_options=options)


def write_parquet(
    table: pa.Table, path: str | os.PathLike[str], *, metadata: Mapping[str, str] | None = None
) -> None:
    """Write a table as Parquet (zstd), atomically, with optional key-value metadata."""
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({k.encode(): v.encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    with atomic_path(path) as tmp:
        pq.write_table(table, str(tmp), compression="zstd")


def _xml_safe(value: Any) -> str:
    # A visible marker instead of deletion: "a\x00" and "a\x01" stay two different node ids.
    return _XML_INVALID.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(value))


def _xml_text(value: Any) -> str:
    return escape(_xml_safe(value))


def _xml_attr(value: Any) -> str:
    return quoteattr(_xml_safe(value))


def _attribute_type(kind: pa.DataType, *, gexf: bool) -> str:
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "long"
    if pa.types.is_floating(kind):
        return "double"
    return "string"


def _rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    for batch in table.to_batches(max_chunksize=65_536):
        yield from batch.to_pylist()


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _nodes(table: pa.Table) -> list[str]:
    ends = pa.concat_arrays(
        [
            pc.cast(table.column("source"), pa.string()).combine_chunks(),
            pc.cast(table.column("target"), pa.string()).combine_chunks(),
        ]
    )
    return sorted(str(v) for v in pc.unique(ends).to_pylist() if v is not None)


def write_graphml(
    edges: pa.Table,
    path: str | os.PathLike[str],
    *,
    directed: bool = False,
    graph_attributes: Mapping[str, str] | None = None,
    nodes: pa.Table | None = None,
) -> None:
    """Write an edge table (``source``, ``target`` and attribute columns) as GraphML.

    Every column other than ``source`` and ``target`` becomes a typed edge attribute; nodes are
    the accounts named in the edges, plus those of ``nodes`` (an ``id`` column and node
    attribute columns such as ``network``, ``score``, ``kind``). Opens in Gephi, Cytoscape,
    igraph and networkx.
    """
    attrs = [name for name in edges.column_names if name not in ("source", "target")]
    node_attrs, node_rows = _node_table(nodes)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write('<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n')
        for key in graph_attributes or {}:
            out.write(f'  <key id="g_{_xml_text(key)}" for="graph" attr.name={_xml_attr(key)}')
            out.write(' attr.type="string"/>\n')
        for i, name in enumerate(attrs):
            kind = _attribute_type(edges.schema.field(name).type, gexf=False)
            out.write(f'  <key id="e{i}" for="edge" attr.name={_xml_attr(name)}')
            out.write(f' attr.type="{kind}"/>\n')
        for i, name in enumerate(node_attrs):
            assert nodes is not None
            kind = _attribute_type(nodes.schema.field(name).type, gexf=False)
            out.write(f'  <key id="n{i}" for="node" attr.name={_xml_attr(name)}')
            out.write(f' attr.type="{kind}"/>\n')
        default = "directed" if directed else "undirected"
        out.write(f'  <graph id="G" edgedefault="{default}">\n')
        for key, value in (graph_attributes or {}).items():
            out.write(f'    <data key="g_{_xml_text(key)}">{_xml_text(value)}</data>\n')
        for node in _all_nodes(edges, node_rows):
            row = node_rows.get(node)
            if not row:
                out.write(f"    <node id={_xml_attr(node)}/>\n")
                continue
            out.write(f"    <node id={_xml_attr(node)}>")
            for i, name in enumerate(node_attrs):
                if row.get(name) is not None:
                    out.write(f'<data key="n{i}">{_xml_text(_value(row[name]))}</data>')
            out.write("</node>\n")
        for row in _rows(edges):
            _graphml_edge(out, row, attrs)
        out.write("  </graph>\n</graphml>\n")


def _node_table(nodes: pa.Table | None) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Node attribute names and rows keyed by ``id``."""
    if nodes is None:
        return [], {}
    names = [n for n in nodes.column_names if n != "id"]
    return names, {str(r["id"]): r for r in nodes.to_pylist()}


def _all_nodes(edges: pa.Table, node_rows: Mapping[str, Any]) -> list[str]:
    """The edges' nodes, then attributed nodes without edges, each once."""
    seen = list(_nodes(edges))
    known = set(seen)
    return seen + sorted(n for n in node_rows if n not in known)


def _graphml_edge(out: TextIO, row: dict[str, Any], attrs: list[str]) -> None:
    out.write(f"    <edge source={_xml_attr(row['source'])} target={_xml_attr(row['target'])}>")
    for i, name in enumerate(attrs):
        value = row[name]
        if value is not None:
            out.write(f'<data key="e{i}">{_xml_text(_value(value))}</data>')
    out.write("</edge>\n")


def write_gexf(
    edges: pa.Table,
    path: str | os.PathLike[str],
    *,
    directed: bool = False,
    description: str | None = None,
    nodes: pa.Table | None = None,
) -> None:
    """Write an edge table as GEXF 1.3, Gephi's native format.

    ``nodes`` (an ``id`` column and attribute columns) adds node attributes such as the
    network, score and kind, for colouring and filtering in Gephi.

    ``weight`` becomes the edges' weight; when a ``signal`` column is present it becomes the
    edge ``kind``, so Gephi keeps one edge per signal between two accounts instead of merging
    them; every other column is an edge attribute.
    """
    attrs = [n for n in edges.column_names if n not in ("source", "target", "weight")]
    node_attrs, node_rows = _node_table(nodes)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write('<gexf xmlns="http://gexf.net/1.3" version="1.3">\n')
        out.write("  <meta><creator>cibscan</creator>")
        if description:
            out.write(f"<description>{_xml_text(description)}</description>")
        out.write("</meta>\n")
        default = "directed" if directed else "undirected"
        out.write(f'  <graph mode="static" defaultedgetype="{default}">\n')
        out.write('    <attributes class="edge">\n')
        for i, name in enumerate(attrs):
            kind = _attribute_type(edges.schema.field(name).type, gexf=True)
            out.write(f'      <attribute id="{i}" title={_xml_attr(name)} type="{kind}"/>\n')
        out.write("    </attributes>\n")
        if node_attrs:
            assert nodes is not None
            out.write('    <attributes class="node">\n')
            for i, name in enumerate(node_attrs):
                kind = _attribute_type(nodes.schema.field(name).type, gexf=True)
                out.write(f'      <attribute id="{i}" title={_xml_attr(name)} type="{kind}"/>\n')
            out.write("    </attributes>\n")
        out.write("    <nodes>\n")
        for node in _all_nodes(edges, node_rows):
            row = node_rows.get(node)
            out.write(f"      <node id={_xml_attr(node)} label={_xml_attr(node)}>")
            if row:
                out.write("<attvalues>")
                for i, name in enumerate(node_attrs):
                    if row.get(name) is not None:
                        out.write(f'<attvalue for="{i}" value={_xml_attr(_value(row[name]))}/>')
                out.write("</attvalues>")
            out.write("</node>\n")
        out.write("    </nodes>\n    <edges>\n")
        for n, row in enumerate(_rows(edges)):
            kind_attr = f" kind={_xml_attr(row['signal'])}" if "signal" in row else ""
            weight = f' weight="{row["weight"]}"' if row.get("weight") is not None else ""
            out.write(
                f'      <edge id="{n}" source={_xml_attr(row["source"])}'
                f" target={_xml_attr(row['target'])}{weight}{kind_attr}><attvalues>"
            )
            for i, name in enumerate(attrs):
                value = row[name]
                if value is not None:
                    out.write(f'<attvalue for="{i}" value={_xml_attr(_value(value))}/>')
            out.write("</attvalues></edge>\n")
        out.write("    </edges>\n  </graph>\n</gexf>\n")
