"""``cibscan investigate`` and ``cibscan demo``: files in, takedown report out."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cibscan.case import open_case, time_resolution
from cibscan.cli.app import app
from cibscan.cli.detect import (
    ATTRIBUTED_NOTE,
    AlphaOption,
    AttributedOption,
    AutomationAloneOption,
    BioAloneOption,
    FlagDeclaredOption,
    MinMarkersOption,
    MinSizeOption,
    OfficeAloneOption,
    SeedOption,
    SignalsOption,
    WindowOption,
    print_evaluation,
    read_labels,
    unflagged_hint,
)
from cibscan.cli.ingest import (
    DateOrderOption,
    FormatOption,
    MapOption,
    OnErrorOption,
    PlatformOption,
    TableOption,
    TzOption,
    ingest_options,
)
from cibscan.detect import DETECT_SIGNALS, DetectConfig
from cibscan.evaluate import evaluate_assignment
from cibscan.investigate import CACHE_DIR, investigate


def bundled_sample() -> list[Path]:
    """Return the paths of the small hand-written sample case shipped inside the package."""
    root = resources.files("cibscan") / "data"
    return [Path(str(root / name)) for name in ("sample_posts.csv", "sample_accounts.csv")]


def stage_printer(console: Console) -> dict[str, Any]:
    """Callbacks that print each stage as it starts and whether it was computed or reused."""

    def started(name: str) -> None:
        console.print(f"[{name}] ...", markup=False)

    def done(name: str, status: str, seconds: float) -> None:
        console.print(f"[{name}] {status} in {seconds:.1f} s", markup=False)

    return {"on_stage": started, "on_done": done}


@app.command("investigate")
def investigate_command(
    sources: Annotated[list[Path], typer.Argument(help="Input files.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("cibscan-out"),
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML config file; its [ingest] table sets the defaults."),
    ] = None,
    fmt: FormatOption = None,
    column_map: MapOption = None,
    table: TableOption = None,
    platform: PlatformOption = None,
    on_error: OnErrorOption = None,
    tz: TzOption = None,
    date_order: DateOrderOption = None,
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
    pseudonymize: Annotated[
        str | None,
        typer.Option(
            "--pseudonymize",
            metavar="SALT",
            help="Name accounts by keyed pseudonyms (HMAC-SHA256 with SALT) in every output.",
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Compute every stage and keep no stage cache."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Compute every stage and refresh the stage cache.")
    ] = False,
) -> None:
    """Ingest, detect, fingerprint and report in one command.

    Writes into OUT: case.duckdb, accounts.csv, networks.json, edges.parquet, edges.csv,
    evidence.parquet, graph.graphml, graph.gexf, report.html and run.json (version, config,
    inputs with sizes and hashes, stages computed or reused, timings, row accounting).

    A rerun with the same inputs and options reuses the finished stages kept in
    OUT/.cibscan-cache/; a changed option recomputes the stages that read it and those after
    them. With --pseudonymize SALT, account ids, handles and display names are replaced by
    keyed pseudonyms in every output (OUT/.cibscan-cache/ keeps the original case: do not
    share it, or add --no-cache). See docs/outputs/.

    The ingest options (--format, --map, --table, --platform, --on-error, --tz,
    --date-order) are those of `cibscan ingest`; with --on-error skip the rejected rows are
    counted in the summary and kept in the rejects table of OUT/case.duckdb.

    Examples:

        cibscan investigate posts.csv accounts.csv --out case1/

        cibscan investigate tweets.csv --map tweet_id=post_id --on-error skip --out case1/
    """
    ingest_config = ingest_options(
        config,
        fmt=fmt,
        column_map=column_map,
        table=table,
        platform=platform,
        on_error=on_error,
        tz=tz,
        date_order=date_order,
    )
    console = Console(stderr=True, highlight=False)
    result = investigate(
        sources,
        out,
        ingest_config=ingest_config,
        detect_config=DetectConfig(
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
        ),
        pseudonymize=pseudonymize,
        cache=not no_cache,
        force=force,
        **stage_printer(console),
    )
    if pseudonymize is not None and not no_cache:
        console.print(
            f"note: {out / CACHE_DIR} holds the original, un-pseudonymized case; share the "
            "files beside it, not the folder itself",
            markup=False,
        )
    with open_case(result.case_path, create=False, read_only=True) as case:
        note = time_resolution(case.con).note(window)
    if note:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
    if result.detection.attributed:
        console.print(ATTRIBUTED_NOTE.strip(), markup=False, soft_wrap=True)
    Console(highlight=False, soft_wrap=True).print(
        f"{result.ingest.summary()}\n{len(result.networks)} networks flagged, "
        f"{len(result.detection.groups)} coordinated groups without markers"
        f"{unflagged_hint(len(result.networks), len(result.detection.groups))}\n"
        f"report: {result.report}",
        markup=False,
    )


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("cibscan-demo"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated case.")] = 1,
) -> None:
    """Generate the `office` scenario, investigate it, and score the result against its truth.

    The scenario is a synthetic case (about 5,000 organic accounts with viral sharers, fans
    and news bots, and one operation of about 300 assets run from an office in UTC+1); see
    docs/synth.md. Writes the generated case into OUT/input/ (replacing that folder if it
    exists) and the investigation's files into OUT (as `cibscan investigate`); prints the
    evaluation and the path of report.html.

    Example:

        cibscan demo --out /tmp/demo
    """
    from cibscan.synth import generate, write_scenario

    console = Console(stderr=True, highlight=False)
    data = out / "input"
    if data.exists():
        shutil.rmtree(data)
    console.print(f"[synth] office scenario, seed {seed}", markup=False)
    files = write_scenario(generate("office", seed=seed), data)
    inputs = [f for f in files if f.suffix in (".parquet", ".csv") and f.name != "labels.csv"]
    result = investigate(inputs, out, **stage_printer(console))
    stdout = Console(highlight=False, soft_wrap=True)
    stdout.print(result.ingest.summary(), markup=False)
    ev = evaluate_assignment(result.detection.assignment(), read_labels(data / "labels.csv"))
    print_evaluation(ev, stdout)
    for network in result.networks[:5]:
        markers = ", ".join(m["marker"] for m in network.get("markers", []))
        stdout.print(
            f"{network['id']}: {network['size']} assets, rhythm "
            f"{network.get('rhythm_label')} at UTC offset "
            f"{network.get('utc_offset_hours')}, markers: {markers}",
            markup=False,
        )
    stdout.print(f"report: {result.report}", markup=False)
