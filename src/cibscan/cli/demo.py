"""``cibscan demo``: run cibscan end to end on data it ships or generates."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cibscan.cli.app import app
from cibscan.cli.ingest import info_command
from cibscan.ingest import ingest


def bundled_sample() -> list[Path]:
    """Return the paths of the small sample case shipped inside the package."""
    root = resources.files("cibscan") / "data"
    return [Path(str(root / name)) for name in ("sample_posts.csv", "sample_accounts.csv")]


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("cibscan-demo"),
) -> None:
    """Run cibscan on the bundled sample: ingest it into OUT/case.duckdb and show the case.

    Example:

        cibscan demo --out /tmp/demo
    """
    out.mkdir(parents=True, exist_ok=True)
    db = out / "case.duckdb"
    if db.exists():
        db.unlink()
    report = ingest(bundled_sample(), db)
    Console(highlight=False).print(report.summary(), markup=False)
    info_command(db=db, as_json=False, rejects=10)
