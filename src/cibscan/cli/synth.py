"""``cibscan synth``: write a synthetic case with known operations and labels."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from cibscan.cli.app import app
from cibscan.errors import ConfigError
from cibscan.synth import SCENARIOS, SynthConfig, generate, write_scenario

__all__ = ["synth"]


@app.command()
def synth(
    scenario: str = typer.Option(
        ..., "--scenario", help=f"Which operation to plant: {', '.join(SCENARIOS)}."
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the tables into."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same files."),
    accounts: int = typer.Option(5000, "--accounts", help="Organic accounts."),
    days: int = typer.Option(14, "--days", help="Days in the observed window."),
    posts: int = typer.Option(200_000, "--posts", help="Approximate total number of posts."),
    start: str = typer.Option("2024-03-04", "--start", help="First day, YYYY-MM-DD (UTC)."),
    platform: str | None = typer.Option(
        None, "--platform", help="twitter or facebook (default: the scenario's own)."
    ),
    fmt: str = typer.Option(
        "parquet", "--format", help="parquet, or csv to write posts.csv as well."
    ),
) -> None:
    """Generate a synthetic case (organic background plus a planted operation) with labels.

    Writes posts.parquet, accounts.csv, memberships.csv, infra.csv, labels.csv and
    manifest.json. The scenarios are not tuned to cibscan's detectors.

    Example:

        cibscan synth --scenario office --seed 1 --out data/office
    """
    if fmt not in ("parquet", "csv"):
        raise ConfigError(f"--format {fmt!r}: use 'parquet' or 'csv'")
    if platform not in (None, "twitter", "facebook"):
        raise ConfigError(f"--platform {platform!r}: use 'twitter' or 'facebook'")
    config = SynthConfig(
        accounts=accounts,
        days=days,
        posts=posts,
        start=start,
        platform=platform,  # type: ignore[arg-type]
    )
    began = time.perf_counter()
    case = generate(scenario, seed=seed, config=config)
    files = write_scenario(case, out, fmt=fmt)  # type: ignore[arg-type]
    console = Console(highlight=False)
    labels = case.labels.column("label").to_pylist()
    counts = {name: labels.count(name) for name in sorted(set(labels))}
    by_label = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    console.print(
        f"synth {scenario} seed={seed}: {case.posts.num_rows:,} posts, "
        f"{case.accounts.num_rows:,} accounts ({by_label}) "
        f"in {time.perf_counter() - began:.1f} s",
        markup=False,
    )
    for path in files:
        console.print(f"  {path}", markup=False)
