"""``cibscan detect`` and ``cibscan evaluate``: find networks, score them against labels."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cibscan.baselines import BASELINE_NAMES, BASELINES, BaselineConfig
from cibscan.case import open_case
from cibscan.cli.app import app
from cibscan.detect import DETECT_SIGNALS, DetectConfig, detect, write_detection
from cibscan.errors import BadInputError, ConfigError
from cibscan.evaluate import Evaluation, evaluate_assignment
from cibscan.export import atomic_path, restore_formula

# Options of the detection that `detect` and `investigate` share.
SignalsOption = Annotated[str, typer.Option("--signal", help="Comma-separated signals to test.")]
WindowOption = Annotated[
    float, typer.Option("--window", help="Co-action window in seconds (inclusive).")
]
AlphaOption = Annotated[
    float, typer.Option("--alpha", help="False-discovery rate of the significant edges.")
]
MinSizeOption = Annotated[int, typer.Option("--min-size", help="Smallest network reported.")]
MinMarkersOption = Annotated[
    int,
    typer.Option(
        "--min-markers", help="Inauthenticity markers a group needs to be flagged (0: all)."
    ),
]
OfficeAloneOption = Annotated[
    bool,
    typer.Option(
        "--office-alone",
        help="Let an office-hours rhythm flag a group on its own even when its members "
        "also post outside working hours.",
    ),
]
BioAloneOption = Annotated[
    bool,
    typer.Option(
        "--bio-alone",
        help="Let a bio shared by the group flag it on its own (by default it supports a flag: "
        "communities declare what they belong to in their bios).",
    ),
]
FlagDeclaredOption = Annotated[
    bool,
    typer.Option(
        "--flag-declared",
        help="Count accounts that declare they are automated (bot in the handle or name, "
        "automated in the bio) like any other; by default their markers do not count and a "
        "group mostly of them is listed among the coordinated groups.",
    ),
]
AutomationAloneOption = Annotated[
    bool,
    typer.Option(
        "--automation-alone", help="Let round-the-clock activity flag a group on its own."
    ),
]
AttributedOption = Annotated[
    str,
    typer.Option(
        "--attributed",
        help="yes: every account was attributed to an operation by a platform (a takedown "
        "archive): report the operation's structure (communities of co-action) instead of "
        "testing it against the case. auto: yes when every posts file is a takedown archive "
        "(io-archive, ira-tweets). no: always test.",
    ),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the clustering.")]


@app.command("detect")
def detect_command(
    db: Annotated[Path, typer.Option("--db", help="The case store.")] = Path("case.duckdb"),
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("cibscan-out"),
    signals: SignalsOption = ",".join(DETECT_SIGNALS),
    window: WindowOption = DetectConfig.window,
    alpha: AlphaOption = DetectConfig.alpha,
    min_size: MinSizeOption = DetectConfig.min_size,
    min_markers: MinMarkersOption = DetectConfig.min_markers,
    office_alone: OfficeAloneOption = DetectConfig.office_alone,
    automation_alone: AutomationAloneOption = DetectConfig.automation_alone,
    bio_alone: BioAloneOption = DetectConfig.bio_alone,
    flag_declared: FlagDeclaredOption = DetectConfig.flag_declared,
    attributed: AttributedOption = DetectConfig.attributed,
    seed: SeedOption = 0,
    engine: Annotated[
        str,
        typer.Option("--engine", help="duckdb, or spark for the networks and significance."),
    ] = "duckdb",
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="Spark master URL, e.g. local[2].")
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option("--spark-conf", help="Spark setting KEY=VALUE (repeatable)."),
    ] = None,
    spark_staging: Annotated[
        str | None,
        typer.Option(
            "--spark-staging",
            help="With --engine spark: where the case's posts are exported for the executors "
            "(a path every executor reads; default: a temporary folder on this machine).",
        ),
    ] = None,
) -> None:
    """Find networks of coordinated accounts and rank them.

    Writes OUT/accounts.csv (account_id, network_id, score, top_signals, ...),
    OUT/networks.json (networks with their accounts, score, rank and estimated false-discovery
    rate, and the config used), OUT/edges.parquet (per-signal edges with p- and q-values) and
    OUT/evidence.parquet (the post pairs behind the edges).

    Example:

        cibscan detect --db case.duckdb --out results/ --window 600
    """
    cfg = DetectConfig(
        signals=tuple(s for s in signals.split(",") if s),
        window=window,
        alpha=alpha,
        min_size=min_size,
        min_markers=min_markers,
        office_alone=office_alone,
        automation_alone=automation_alone,
        bio_alone=bio_alone,
        flag_declared=flag_declared,
        attributed=attributed,
        seed=seed,
        engine=engine,
        spark_master=spark_master,
        spark_conf=tuple(_key_value(item) for item in spark_conf or []),
        spark_staging=spark_staging,
    )
    case = open_case(db, create=False, read_only=True)
    try:
        result = detect(case, cfg)
    finally:
        case.close()
    write_detection(result, out)
    flagged = sum(1 for n in result.accounts.column("network_id").to_pylist() if n)
    Console(highlight=False, soft_wrap=True).print(
        f"{len(result.networks)} networks, {flagged} accounts flagged; "
        f"{len(result.groups)} coordinated groups without markers; outputs in {out}"
        + unflagged_hint(len(result.networks), len(result.groups))
        + (ATTRIBUTED_NOTE if result.attributed else ""),
        markup=False,
    )


#: Printed when a case was read as attributed to an operation (``--attributed``).
ATTRIBUTED_NOTE = (
    "\nnote: attributed case (every posts file is a takedown archive, or --attributed yes): "
    "the networks are the communities of the operation's co-action graph, not tested against "
    "the case; --attributed no tests them"
)


def unflagged_hint(networks: int, groups: int) -> str:
    """A line for runs that flag nothing although groups co-acted beyond chance."""
    if networks or not groups:
        return ""
    return (
        "\nnote: the groups co-acted more than chance allows but showed no inauthenticity "
        "marker that flags a group on its own (reposts alone show none); --min-markers 0 "
        "reports them as networks"
    )


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--spark-conf expects KEY=VALUE, got {item!r}")
    return key.strip(), value.strip()


def read_assignment(path: Path, *, groups: bool = False) -> dict[str, str | None]:
    """Read ``account_id, network_id`` from an ``accounts.csv`` written by ``detect``.

    With ``groups``, an account in a coordinated group (column ``coordinated_group``) and no
    network is assigned to its group.
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if (
                reader.fieldnames is None
                or "account_id" not in reader.fieldnames
                or "network_id" not in reader.fieldnames
            ):
                raise BadInputError(
                    "expected the columns account_id and network_id", file=str(path)
                )
            # The cells were guarded against spreadsheet formulas; the ids are what they guard.
            return {
                restore_formula(row["account_id"]): (
                    restore_formula(row["network_id"])
                    or (restore_formula(row.get("coordinated_group") or "") if groups else "")
                    or None
                )
                for row in reader
            }
    except FileNotFoundError as exc:
        raise BadInputError("no such file; run `cibscan detect` first", file=str(path)) from exc


def read_labels(path: Path) -> dict[str, tuple[str, str | None]]:
    """Read ``account_id, label[, role]`` from a CSV file."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if (
                reader.fieldnames is None
                or "account_id" not in reader.fieldnames
                or "label" not in reader.fieldnames
            ):
                raise BadInputError("expected the columns account_id and label", file=str(path))
            return {row["account_id"]: (row["label"], row.get("role") or None) for row in reader}
    except FileNotFoundError as exc:
        raise BadInputError("no such file", file=str(path)) from exc


def print_evaluation(ev: Evaluation, console: Console) -> None:
    """Print an evaluation as tables."""
    table = Table(title="Account-level detection")
    for col in ("precision", "recall", "F1", "TP", "FP", "FN", "ARI", "NMI"):
        table.add_column(col, justify="right")

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    table.add_row(
        fmt(ev.precision),
        fmt(ev.recall),
        fmt(ev.f1),
        str(ev.true_positives),
        str(ev.false_positives),
        str(ev.false_negatives),
        fmt(ev.adjusted_rand),
        fmt(ev.nmi),
    )
    console.print(table)
    ops = Table(title="Recall per operation")
    ops.add_column("operation")
    ops.add_column("recall", justify="right")
    for op, r in ev.recall_by_operation.items():
        ops.add_row(op, f"{r:.3f}")
    console.print(ops)
    roles = Table(title="Organic accounts flagged, by role")
    roles.add_column("role")
    roles.add_column("flagged", justify="right")
    roles.add_column("accounts", justify="right")
    for role, (hit, n) in ev.flagged_by_role.items():
        roles.add_row(role, str(hit), str(n))
    console.print(roles)
    console.print(
        f"Confounders flagged: {ev.confounders_flagged} of {ev.confounders} "
        f"({ev.confounder_rate:.2%})",
        markup=False,
    )


@app.command("evaluate")
def evaluate_command(
    labels: Annotated[Path, typer.Option("--labels", help="CSV: account_id,label[,role].")],
    out: Annotated[Path | None, typer.Option("--out", help="A detect output directory.")] = None,
    baselines: Annotated[
        bool,
        typer.Option(
            "--baselines",
            help="Also run the peers' recipes (coordination-network-toolkit, CooRTweet, "
            "OSoMe) on --db and print one row per method.",
        ),
    ] = False,
    db: Annotated[
        Path | None, typer.Option("--db", help="The case store (needed by --baselines).")
    ] = None,
) -> None:
    """Score a detection against ground-truth labels.

    Prints and writes OUT/evaluation.json: account-level precision, recall and F1, recall per
    operation, organic confounders flagged per role (viral sharers, fans, news bots), and the
    agreement of networks with operations (adjusted Rand index, NMI). The same scores counting
    the coordinated groups without markers as found are printed on one line and written under
    "with_coordinated_groups": what the co-action statistics found before the markers.

    With --baselines, also runs the baselines of `cibscan.baselines` on the case --db, prints a
    comparison with one row per method (the detection in OUT first, when given) and writes
    OUT/baselines.json.

    Example:

        cibscan evaluate --out results/ --labels labels.csv --baselines --db case.duckdb
    """
    if out is None and not baselines:
        raise ConfigError("give --out (a detect output directory) or --baselines --db CASE")
    if baselines and db is None:
        raise ConfigError("--baselines runs on a case store; give --db CASE")
    if out is not None and not out.is_dir():
        raise ConfigError(f"{out} is not a directory; run `cibscan detect --out {out}` first")
    truth = read_labels(labels)
    console = Console(highlight=False, soft_wrap=True)
    rows: dict[str, tuple[Evaluation, float | None]] = {}
    if not truth:
        raise BadInputError("no labelled account (a header and no rows)", file=str(labels))
    if out is not None:
        assignment = read_assignment(out / "accounts.csv")
        ev = evaluate_assignment(assignment, truth)
        print_evaluation(ev, console)
        absent = sum(1 for a in truth if a not in assignment)
        if absent:
            console.print(
                f"note: {absent} of {len(truth)} labelled accounts are not in the detection's "
                "accounts.csv (not in the case): they count as not flagged",
                markup=False,
            )
        # coordination without markers: how much of each operation the co-action statistics
        # found, flagged or not, and what the markers then kept out
        coordinated = evaluate_assignment(read_assignment(out / "accounts.csv", groups=True), truth)
        console.print(
            "Counting the coordinated groups too (networks and groups without markers): "
            f"precision {coordinated.precision:.3f}, recall {coordinated.recall:.3f} "
            f"({coordinated.true_positives} operation and {coordinated.false_positives} organic "
            "accounts)",
            markup=False,
        )
        with atomic_path(out / "evaluation.json") as tmp:
            document = {**ev.as_dict(), "with_coordinated_groups": coordinated.as_dict()}
            tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        rows["cibscan"] = (ev, None)
    if not baselines:
        return
    assert db is not None
    cfg = BaselineConfig()
    case = open_case(db, create=False, read_only=True)
    try:
        for name in BASELINE_NAMES:
            started = time.perf_counter()
            assignment = BASELINES[name](case, cfg)
            rows[name] = (evaluate_assignment(assignment, truth), time.perf_counter() - started)
    finally:
        case.close()
    print_comparison(rows, console)
    if out is not None:
        document = {
            "config": cfg.as_dict(),
            "methods": {
                name: {**ev.as_dict(), "seconds": seconds} for name, (ev, seconds) in rows.items()
            },
        }
        with atomic_path(out / "baselines.json") as tmp:
            tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def print_comparison(rows: dict[str, tuple[Evaluation, float | None]], console: Console) -> None:
    """Print one row per method: precision, recall, F1, confounders, ARI, NMI, seconds."""
    table = Table(title="Methods compared")
    table.add_column("method", no_wrap=True)
    for col in ("precision", "recall", "F1", "confounders", "ARI", "NMI", "seconds"):
        table.add_column(col, justify="right")

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    for name, (ev, seconds) in rows.items():
        table.add_row(
            name,
            fmt(ev.precision),
            fmt(ev.recall),
            fmt(ev.f1),
            f"{ev.confounders_flagged}/{ev.confounders}",
            fmt(ev.adjusted_rand),
            fmt(ev.nmi),
            "" if seconds is None else f"{seconds:.1f}",
        )
    # Method names are what a reader copies into a command: never cut them (the piped default
    # of 80 columns would).
    console.print(table, width=max(console.width, 100))


@app.command("explain")
def explain_command(
    subject: Annotated[str, typer.Argument(help="A network id (N1) or an account id.")],
    db: Annotated[Path, typer.Option("--db", help="The case store.")] = Path("case.duckdb"),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output directory of detect/investigate (default: the case's folder)."
        ),
    ] = None,
) -> None:
    """State the evidence behind a network or an account in plain words, with numbers.

    Example:

        cibscan explain --db case1/case.duckdb N1
    """
    from cibscan.explain import explain

    case = open_case(db, create=False, read_only=True)
    try:
        lines = explain(case, out or db.parent, subject)
    finally:
        case.close()
    console = Console(highlight=False, soft_wrap=True)
    from cibscan.report._safety import neutralise

    for line in lines:  # handles and texts are the adversary's: no escape sequences through
        console.print(neutralise(line), markup=False)
