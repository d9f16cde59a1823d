"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="cibscan",
    help=(
        "Expose coordinated inauthentic behaviour in social-media data.\n\n"
        "Start with `cibscan demo`, or `cibscan ingest FILES --db case.duckdb` then "
        "`cibscan info --db case.duckdb`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
