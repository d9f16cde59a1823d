"""The takedown report: one self-contained HTML file per detection.

:func:`render_report` reads what ``cibscan detect`` wrote (``networks.json`` with the
fingerprints merged in when they ran, ``accounts.csv``, ``edges.parquet``,
``evidence.parquet``) and the case store, and writes ``report.html``:

* a summary in the form platforms use for takedowns (assets by kind, followers reached, where
  and when the network was run, what it said, and how sure the detection is);
* an interactive graph of the flagged networks among a sample of the other accounts (WebGL
  through sigma.js, with a canvas fallback), laid out here so the browser only draws;
* per network: activity timeline, hour-of-week heatmap, hijacked hashtags, narratives, style,
  creation, infrastructure, and the post pairs behind its links;
* an account view (profile, score, signals, posts, partners) opened from the graph or tables.

The file needs nothing from the network: scripts and styles are inlined (sigma.js and
graphology from npm, licences in the report), a Content-Security-Policy allows only those
inline blocks (by hash) and forbids every fetch, and attacker-written text (posts, handles,
hashtags, URLs) is escaped, never run, and shown with direction controls neutralised; see
:mod:`cibscan.report._safety` and ``docs/report.md``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jinja2
from markupsafe import Markup

from cibscan import __version__
from cibscan.case import Case
from cibscan.errors import ConfigError
from cibscan.export import atomic_path
from cibscan.report._casedata import read_case_facts
from cibscan.report._graph import build_graph
from cibscan.report._inputs import load_detection
from cibscan.report._safety import clean_data, csp_hash, neutralise, script_json
from cibscan.report._view import graph_payload, network_views, summary_view

__all__ = ["render_report"]


@dataclass(frozen=True)
class _Vendored:
    """A third-party script inlined into the report."""

    name: str
    version: str
    file: str
    licence_files: tuple[str, ...]


#: Vendored scripts in load order (graphology first: sigma's UMD bundle expects a graph).
_VENDOR: Final = (
    _Vendored("graphology", "0.26.0", "graphology-0.26.0.umd.min.js", ("graphology-LICENSE.txt",)),
    _Vendored(
        "sigma",
        "3.0.2",
        "sigma-3.0.2.min.js",
        (
            "sigma-LICENSE.txt",
            "events-LICENSE.txt",
            "graphology-utils-LICENSE.txt",
            "regenerator-runtime-LICENSE.txt",
        ),
    ),
)


def _resource(*parts: str) -> str:
    return (resources.files("cibscan.report").joinpath(*parts)).read_text(encoding="utf-8")


def _number(value: Any, digits: int = 0) -> str:
    if value is None or isinstance(value, bool):
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:,.{digits}f}"
    return str(value)


def _percent(value: Any, digits: int = 0) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "–"
    return f"{100 * value:.{digits}f}%"


def _scientific(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "–"
    return f"{value:.2g}" if value >= 0.001 or value == 0 else f"{value:.1e}"


def _finalize(value: Any) -> Any:
    # Every string a template prints passes here before autoescape: direction controls in
    # attacker-written text become visible markers instead of reordering the page.
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return neutralise(value)
    return value


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cibscan.report", "templates"),
        autoescape=True,
        # Fingerprint dicts may lack keys (older outputs, partial runs): a missing key prints
        # as nothing instead of failing the whole report.
        undefined=jinja2.ChainableUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _number
    env.filters["pct"] = _percent
    env.filters["sci"] = _scientific
    return env


def _script_source(text: str) -> str:
    # The vendored files were checked to hold no "</script" or "<!--"; check again so that an
    # update cannot silently break the page.
    lowered = text.lower()
    if "</script" in lowered or "<!--" in lowered:
        raise ConfigError("a vendored script contains '</script' or '<!--'; it cannot be inlined")
    return text


def render_report(
    case: Case,
    detection_dir: Path,
    out: Path,
    *,
    title: str | None = None,
    max_background_nodes: int = 5000,
    seed: int = 0,
) -> Path:
    """Write the takedown report of a detection as one self-contained HTML file.

    Parameters
    ----------
    case
        The open case store the detection ran on (read for profiles, posts and texts).
    detection_dir
        The folder ``cibscan detect`` wrote: ``networks.json`` (with fingerprints merged into
        each network when they ran), ``accounts.csv``, ``edges.parquet``, ``evidence.parquet``.
    out
        The HTML file to write (written atomically; its folder is created).
    title
        The report's title; defaults to "Coordinated inauthentic behaviour: N networks".
    max_background_nodes
        Accounts outside the flagged networks drawn in the graph at most (flagged accounts are
        always all drawn).
    seed
        Seed of the background sample and of the graph layout.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    BadInputError
        If a detect output is missing or unreadable.
    ConfigError
        If ``max_background_nodes`` is negative.

    Examples
    --------
    >>> from pathlib import Path
    >>> from cibscan import open_case
    >>> with open_case("case.duckdb", read_only=True) as case:  # doctest: +SKIP
    ...     render_report(case, Path("out/detection"), Path("out/report.html"))
    PosixPath('out/report.html')
    """
    if max_background_nodes < 0:
        raise ConfigError(f"max_background_nodes must be >= 0, got {max_background_nodes}")
    outputs = load_detection(Path(detection_dir))
    graph = build_graph(outputs, max_background_nodes=max_background_nodes, seed=seed)
    facts = read_case_facts(case, outputs, graph)
    views = network_views(outputs, graph, facts)
    summary = summary_view(outputs, views, graph, facts)
    payload = script_json(clean_data(graph_payload(outputs, graph, facts)))

    vendor_scripts = []
    licences = []
    for item in _VENDOR:
        banner = (
            f"/*! {item.name} {item.version} (npm) | MIT licence, see 'Third-party software' */"
        )
        # sigma's bundle probes WebGL while it loads and throws where WebGL is off; caught
        # here, the page goes on and report.js draws with its canvas fallback instead.
        vendor_scripts.append(
            f"{banner}\ntry {{\n{_script_source(_resource('vendor', item.file))}\n;}} catch (err) "
            f'{{ console.warn("{item.name} unavailable:", err && err.message); }}'
        )
        for name in item.licence_files:
            licences.append((name.removesuffix("-LICENSE.txt"), _resource("vendor", name)))
    app_script = _script_source(_resource("static", "report.js"))
    style = _resource("static", "report.css")
    scripts = [*vendor_scripts, app_script]
    csp = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(csp_hash(s) for s in scripts),
            f"style-src {csp_hash(style)}",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    if title is None:
        count = len(views)
        title = f"Coordinated inauthentic behaviour: {count} network{'s' if count != 1 else ''}"
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            version=__version__,
            csp=csp,
            style=Markup(style),
            scripts=[Markup(s) for s in scripts],
            payload=Markup(payload),
            summary=summary,
            networks=views,
            licences=licences,
        )
    )
    target = Path(out)
    with atomic_path(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return target
