"""Small synthetic cases, detected and fingerprinted, for the report tests.

A case is generated (``office`` scenario), written to files, ingested, detected with a 10-minute
window, and every fingerprint module is run over the flagged networks and merged into
``networks.json``, the way ``investigate`` does, so every section of the report has content.
The hostile variant plants attacker-controlled strings in handles, names, texts, hashtags, URLs
and one account id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from cibscan.case import Case, open_case
from cibscan.detect import DetectConfig, detect, write_detection
from cibscan.fingerprints import fingerprint_networks
from cibscan.ingest import ingest
from cibscan.synth import Scenario, SynthConfig, generate, write_scenario

SMALL: Final = SynthConfig(accounts=800, days=5, posts=30_000)

#: Payloads planted by :func:`hostile`; each must show as text and run nothing.
SCRIPT: Final = "<script>window.__pwned=1;alert(1)</script>"
IMG: Final = '<img src=x onerror="window.__pwned=1;alert(1)">'
JS_URL: Final = "javascript:window.__pwned=1;alert(1)"
CLOSE_SCRIPT: Final = "</script><script>window.__pwned=1</script><!--"
BIDI: Final = "invoice\u202egnp.exe\u2066x\u2069"
LINE_SEP: Final = "a\u2028b\u2029c"
HOSTILE_ID: Final = "</script><b id=pwn>x"
HOSTILE_TAG: Final = "</script><script>window.__pwned=1</script>"
HOSTILE_STRINGS: Final = (SCRIPT, IMG, JS_URL, CLOSE_SCRIPT)


@dataclasses.dataclass(frozen=True)
class BuiltCase:
    """A case store and the detection folder written for it."""

    db: Path
    detection: Path
    networks: list[dict[str, Any]]

    def open(self) -> Case:
        """Open the case store read-only."""
        return open_case(self.db, create=False, read_only=True)


def hostile(scenario: Scenario) -> Scenario:
    """Plant hostile strings in the operation's accounts and posts (and one account id)."""
    labels = scenario.labels
    # The office staff ("operator") are the accounts detection flags, so the payloads reach
    # every section of the report: summary, graph, tables, evidence, account view.
    operators = sorted(
        a
        for a, role in zip(
            labels["account_id"].to_pylist(), labels["role"].to_pylist(), strict=True
        )
        if role == "operator"
    )
    # Three hostile ids, so that at least one lands in a flagged network whatever detection does.
    renamed = {a: f"{HOSTILE_ID}{n}" for n, a in enumerate(operators[:3])}
    targets = set(operators)

    def rename(table: pa.Table, column: str) -> pa.Table:
        values = [renamed.get(v, v) if v is not None else v for v in table[column].to_pylist()]
        index = table.column_names.index(column)
        return table.set_column(index, column, pa.array(values, table.schema.field(column).type))

    accounts = scenario.accounts
    ids = accounts["account_id"].to_pylist()
    payload_names = [SCRIPT, IMG, BIDI, CLOSE_SCRIPT, LINE_SEP]
    usernames = accounts["username"].to_pylist()
    display = accounts["display_name"].to_pylist()
    descriptions = accounts["description"].to_pylist()
    images = accounts["profile_image"].to_pylist()
    n = 0
    for i, account in enumerate(ids):
        if account in targets:
            usernames[i] = payload_names[n % len(payload_names)] + str(n)
            display[i] = IMG
            descriptions[i] = CLOSE_SCRIPT
            images[i] = JS_URL
            n += 1
    accounts = (
        accounts.set_column(
            accounts.column_names.index("username"), "username", pa.array(usernames)
        )
        .set_column(accounts.column_names.index("display_name"), "display_name", pa.array(display))
        .set_column(
            accounts.column_names.index("description"), "description", pa.array(descriptions)
        )
        .set_column(accounts.column_names.index("profile_image"), "profile_image", pa.array(images))
    )
    posts = scenario.posts
    # Hostile posts are added, not edited in: the copies that link the operators stay intact,
    # so detection still finds them, and each operator gets two posts full of payloads one
    # second after its first two posts (so they show in its account view).
    rows = posts.to_pylist()
    firsts: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: (r["timestamp"], r["post_id"])):
        if row["account_id"] in targets and len(firsts.setdefault(row["account_id"], [])) < 2:
            firsts[row["account_id"]].append(row)
    payload_texts = [SCRIPT, IMG, CLOSE_SCRIPT, BIDI, LINE_SEP, JS_URL]
    added = []
    for k, (_, originals) in enumerate(sorted(firsts.items())):
        for j, row in enumerate(originals):
            added.append(
                {
                    **row,
                    "post_id": f"hostile-{k}-{j}",
                    "timestamp": row["timestamp"] + dt.timedelta(seconds=1),
                    "kind": "post",
                    "text": f"Look {payload_texts[(k + j) % len(payload_texts)]} {BIDI}",
                    "shared_post_id": None,
                    "shared_account_id": None,
                    "reply_to_post_id": None,
                    "reply_to_account_id": None,
                    "urls": [JS_URL],
                    "urls_original": [JS_URL],
                    "hashtags": [HOSTILE_TAG],
                    "mentions": [],
                    "media": [],
                }
            )
    posts = pa.concat_tables([posts, pa.Table.from_pylist(added, schema=posts.schema)])
    return dataclasses.replace(
        scenario,
        accounts=rename(accounts, "account_id"),
        posts=rename(rename(posts, "account_id"), "shared_account_id"),
        memberships=rename(scenario.memberships, "account_id"),
        infra=rename(scenario.infra, "account_id"),
        labels=rename(labels, "account_id"),
    )


def fingerprint(case: Case, networks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run every fingerprint module over the networks and merge their output into them."""
    return fingerprint_networks(case.con, networks)


def build(
    folder: Path, *, scenario: Scenario | None = None, fingerprints: bool = True
) -> BuiltCase:
    """Generate (or take), ingest, detect and fingerprint a case under ``folder``."""
    scenario = scenario or generate("office", seed=1, config=SMALL)
    files = write_scenario(scenario, folder / "input")
    db = folder / "case.duckdb"
    ingest([f for f in files if f.suffix in (".parquet", ".csv")], db)
    out = folder / "detection"
    with open_case(db, create=False) as case:
        detection = detect(case, DetectConfig(window=600))
        write_detection(detection, out)
        document = json.loads((out / "networks.json").read_text(encoding="utf-8"))
        if fingerprints:
            document["networks"] = fingerprint(case, document["networks"])
            (out / "networks.json").write_text(
                json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8"
            )
    return BuiltCase(db=db, detection=out, networks=document["networks"])
