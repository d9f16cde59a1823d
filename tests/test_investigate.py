"""``investigate``: stage reuse, pseudonymized outputs, and the networks.json schema.

One small ``office`` case (500 accounts, 3 days) is generated once per module; each run of the
pipeline on it takes a few seconds.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cibscan.detect import DetectConfig
from cibscan.errors import ConfigError
from cibscan.investigate import CACHE_DIR, EXPORT_FILES, STAGES, _Store, investigate
from cibscan.pseudonymize import Pseudonymizer
from cibscan.synth import SynthConfig, generate, write_scenario

pytestmark = pytest.mark.slow

OUTPUTS = (*EXPORT_FILES, "report.html")
PLAIN = [s for s in STAGES if s != "pseudonymize"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("office")
    scenario = generate("office", seed=1, config=SynthConfig(accounts=500, days=3, posts=12_000))
    files = write_scenario(scenario, folder)
    return [f for f in files if f.suffix in (".parquet", ".csv") and f.name != "labels.csv"]


def _bytes(folder: Path, name: str) -> bytes:
    data = (folder / name).read_bytes()
    if name == "report.html":
        # The one line that differs between two renderings of the same data.
        data = re.sub(rb"Generated [0-9: -]+UTC", b"Generated", data)
    return data


def _run_json(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    return data


# Stage reuse ----------------------------------------------------------------------------------


def test_rerun_reuses_every_stage_and_changes_nothing(inputs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "case"
    first = investigate(inputs, out)
    assert first.stages == dict.fromkeys(PLAIN, "computed")
    assert first.networks, "the office case must flag a network"
    graphml = (out / "graph.graphml").read_text(encoding="utf-8")
    assert '<key id="e0" for="edge" attr.name="weight" attr.type="long"/>' in graphml
    member = first.networks[0]["accounts"][0]
    assert f'<node id="{member}"><data key="n0">N1</data>' in graphml
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    seen: list[tuple[str, str]] = []
    second = investigate(inputs, out, on_done=lambda name, status, _: seen.append((name, status)))
    assert second.stages == dict.fromkeys(PLAIN, "reused")
    assert seen == [(name, "reused") for name in PLAIN]
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before
    run = _run_json(out)
    assert run["reused"] == PLAIN
    assert {s["status"] for s in run["stages"].values()} == {"reused"}
    # The reused detection is the computed one.
    assert second.networks == first.networks
    assert second.detection.accounts.equals(first.detection.accounts)
    assert second.ingest.as_dict() == first.ingest.as_dict()

    # A damaged output is noticed: its stage runs again and restores it.
    (out / "edges.csv").write_text("tampered", encoding="utf-8")
    third = investigate(inputs, out)
    assert third.stages["export"] == "computed"
    assert third.stages["detect"] == "reused"
    assert (out / "edges.csv").read_bytes() == before["edges.csv"]

    # So is a damaged cache entry.
    (out / CACHE_DIR / "detect" / "fused.parquet").write_bytes(b"")
    fourth = investigate(inputs, out)
    assert fourth.stages["networks"] == "reused"
    assert fourth.stages["detect"] == "computed"
    assert fourth.networks == first.networks

    forced = investigate(inputs, out, force=True)
    assert forced.stages == dict.fromkeys(PLAIN, "computed")


def test_changed_detect_config_recomputes_detect_and_after(
    inputs: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "case"
    investigate(inputs, out)
    stricter = DetectConfig(alpha=0.01)
    changed = investigate(inputs, out, detect_config=stricter)
    assert changed.stages == {
        "ingest": "reused",
        "networks": "reused",
        "detect": "computed",
        "fingerprints": "computed",
        "export": "computed",
        "report": "computed",
    }
    assert json.loads((out / "networks.json").read_text())["config"]["alpha"] == 0.01

    # Reused stages give byte-identical outputs: compare with a run that computes everything.
    fresh = tmp_path / "fresh"
    plain = investigate(inputs, fresh, detect_config=stricter, cache=False)
    assert plain.stages == dict.fromkeys(PLAIN, "computed")
    assert not (fresh / CACHE_DIR).exists()
    for name in OUTPUTS:
        assert _bytes(out, name) == _bytes(fresh, name), name

    # The window is read by the co-action stage: it is computed again, the ingest is not.
    wider = investigate(inputs, out, detect_config=DetectConfig(alpha=0.01, window=900))
    assert wider.stages["ingest"] == "reused"
    assert wider.stages["networks"] == "computed"


def test_changed_input_recomputes_everything(inputs: list[Path], tmp_path: Path) -> None:
    copies = []
    for f in inputs:
        shutil.copy(f, tmp_path / f.name)
        copies.append(tmp_path / f.name)
    out = tmp_path / "case"
    investigate(copies, out)
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(accounts.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    again = investigate(copies, out)
    assert again.stages == dict.fromkeys(PLAIN, "computed")


def test_interrupted_stage_keeps_the_previous_entry(tmp_path: Path) -> None:
    store = _Store(tmp_path)
    with store.write("detect", "k1", {"n": 1}) as staging:
        assert staging is not None
        (staging / "a.parquet").write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), store.write("detect", "k2", {"n": 2}) as staging:
        assert staging is not None
        (staging / "a.parquet").write_bytes(b"half")
        raise KeyboardInterrupt
    found = store.lookup("detect", "k1")
    assert found is not None
    assert found[1]["n"] == 1
    assert (found[0] / "a.parquet").read_bytes() == b"old"
    assert store.lookup("detect", "k2") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["detect"]


# Pseudonymization -----------------------------------------------------------------------------


def _originals(db: Path) -> tuple[set[str], set[str], set[str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        ids = {
            r[0]
            for r in con.execute(
                "SELECT account_id FROM accounts UNION SELECT account_id FROM posts"
            ).fetchall()
        }
        handles = {
            r[0].lower()
            for r in con.execute(
                "SELECT username FROM accounts WHERE username IS NOT NULL "
                "UNION SELECT unnest(mentions) FROM posts"
            ).fetchall()
        }
        names = {
            r[0]
            for r in con.execute(
                "SELECT display_name FROM accounts WHERE display_name IS NOT NULL"
            ).fetchall()
        }
    finally:
        con.close()
    return ids, handles, names


def _text_of(path: Path) -> str:
    if path.suffix == ".parquet":
        return str(pq.read_table(path).to_pandas().to_csv())
    if path.suffix == ".duckdb":
        con = duckdb.connect(str(path), read_only=True)
        try:
            # Hashtags are not handles, even when a tag and a handle are spelled alike.
            queries = ["SELECT * EXCLUDE (hashtags) FROM posts"] + [
                f"SELECT * FROM {t}"
                for t in ("accounts", "memberships", "infra", "labels", "rejects")
            ]
            return "\n".join(json.dumps(con.execute(q).fetchall(), default=str) for q in queries)
        finally:
            con.close()
    return path.read_text(encoding="utf-8")


def _accounts_csv(folder: Path) -> dict[str, tuple[str, str]]:
    with open(folder / "accounts.csv", newline="", encoding="utf-8") as fh:
        return {r["account_id"]: (r["network_id"], r["score"]) for r in csv.DictReader(fh)}


def test_pseudonymized_outputs_name_no_account(inputs: list[Path], tmp_path: Path) -> None:
    plain_out = tmp_path / "plain"
    plain = investigate(inputs, plain_out)
    ids, handles, names = _originals(plain_out / "case.duckdb")
    # A hashtag spelled like a handle (#freevaloria, @FreeValoria) may appear as a hashtag.
    con = duckdb.connect(str(plain_out / "case.duckdb"), read_only=True)
    try:
        hashtags = {
            r[0]
            for r in con.execute("SELECT DISTINCT lower(unnest(hashtags)) FROM posts").fetchall()
        }
    finally:
        con.close()
    assert len(ids) > 400 and len(handles) > 400 and len(names) > 100

    out = tmp_path / "pseudo"
    result = investigate(inputs, out, pseudonymize="pepper")
    assert result.stages["pseudonymize"] == "computed"
    assert _run_json(out)["pseudonymized"] is True
    files = sorted(p for p in out.iterdir() if p.is_file())
    assert {p.name for p in files} >= {*OUTPUTS, "case.duckdb", "run.json"}
    for path in files:
        text = _text_of(path)
        lowered = text.lower()
        # Token sets, not substring scans: a few set lookups per file instead of one scan of
        # the file per id.
        assert not set(re.findall(r"\w+", text)) & ids, path.name
        assert not set(re.findall(r"@(\w+)", lowered)) & handles, path.name
        quoted = set(re.findall(r'"([^"]*)"', text))
        assert not quoted & {*handles - hashtags, *names}, path.name
        assert "pepper" not in text

    # The same pseudonym for an account in every file.
    accounts = _accounts_csv(out)
    assert all(a.startswith("acct_") for a in accounts)
    document = json.loads((out / "networks.json").read_text(encoding="utf-8"))
    members = {a for n in document["networks"] for a in n["accounts"]}
    assert members and members <= set(accounts)
    edges = pq.read_table(out / "edges.parquet")
    ends = set(edges["source"].to_pylist()) | set(edges["target"].to_pylist())
    assert ends <= set(accounts)
    evidence = pq.read_table(out / "evidence.parquet")
    assert set(evidence["source"].to_pylist()) <= set(accounts)
    graphml = (out / "graph.graphml").read_text(encoding="utf-8")
    assert members <= set(re.findall(r'<node id="([^"]+)"', graphml))
    report = (out / "report.html").read_text(encoding="utf-8")
    assert all(m in report for m in members)
    con = duckdb.connect(str(out / "case.duckdb"), read_only=True)
    try:
        case_ids = {r[0] for r in con.execute("SELECT account_id FROM accounts").fetchall()}
        mentioned = con.execute(
            "SELECT count(*) FROM posts WHERE text LIKE '%@user\\_%' ESCAPE '\\'"
        ).fetchone()
    finally:
        con.close()
    assert members <= case_ids
    assert mentioned is not None and mentioned[0] > 0

    # Detection is unchanged modulo renaming.
    names_of = Pseudonymizer("pepper")
    renamed = {names_of.account(a): v for a, v in _accounts_csv(plain_out).items()}
    assert renamed == accounts
    assert [sorted(names_of.account(a) for a in n["accounts"]) for n in plain.networks] == [
        n["accounts"] for n in document["networks"]
    ]

    # explain reads the pseudonymized case and outputs.
    from cibscan.case import open_case
    from cibscan.explain import explain

    with open_case(out / "case.duckdb", create=False, read_only=True) as case:
        lines = explain(case, out, sorted(members)[0])
    assert any("Member of network N" in line for line in lines)
    assert not any(i in line for line in lines for i in ids)


def test_pseudonyms_follow_the_salt(inputs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "case"
    investigate(inputs, out, pseudonymize="salt-a")
    first = _accounts_csv(out)
    again = investigate(inputs, tmp_path / "other", pseudonymize="salt-a", cache=False)
    assert _accounts_csv(tmp_path / "other") == first
    # No original case is left behind without a cache.
    assert not (tmp_path / "other" / CACHE_DIR).exists()
    assert again.stages["pseudonymize"] == "computed"

    other = investigate(inputs, out, pseudonymize="salt-b")
    assert other.stages["detect"] == "reused"
    assert other.stages["pseudonymize"] == "computed"
    assert other.stages["export"] == "computed"
    second = _accounts_csv(out)
    assert not set(first) & set(second)
    assert sorted(first.values()) == sorted(second.values())

    # Back to plain outputs: the original case store moves back, nothing is ingested again.
    plain = investigate(inputs, out)
    assert plain.stages["ingest"] == "reused"
    assert "pseudonymize" not in plain.stages
    ids, _, _ = _originals(out / "case.duckdb")
    assert set(_accounts_csv(out)) <= ids


def test_pseudonymizer_by_hand() -> None:
    names = Pseudonymizer(
        "k", account_ids=frozenset({"42"}), handles=frozenset({"Anna_1"}), names=frozenset({"Anna"})
    )
    anna = names.handle("anna_1")
    assert anna == names.handle("@ANNA_1")
    assert anna.startswith("user_") and len(anna) == 5 + 16
    assert names.text("RT @Anna_1: hi @bob, mail anna@x.org") == (
        f"RT @{anna}: hi @{names.handle('bob')}, mail anna@x.org"
    )
    assert names.value("42") == names.account("42")
    assert names.value("ANNA_1") == anna
    assert names.value("Anna") == names.name("Anna")
    document = names.document(
        {"id": "N1", "accounts": ["42"], "handle_stems": [{"stem": "anna", "examples": ["Anna_1"]}]}
    )
    assert document == {
        "id": "N1",
        "accounts": [names.account("42")],
        "handle_stems": [{"stem": names.stem("anna"), "examples": [anna]}],
    }
    # A hashtag spelled like a handle stays a hashtag; a mention inside a term does not.
    assert names.document({"hashtag": "anna_1", "item": "hi @anna_1"}) == {
        "hashtag": "anna_1",
        "item": f"hi @{anna}",
    }
    assert Pseudonymizer("other").account("42") != names.account("42")
    with pytest.raises(ConfigError, match="salt"):
        Pseudonymizer("")


@given(st.lists(st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True), min_size=1, max_size=6))
def test_no_mentioned_handle_survives(handles: list[str]) -> None:
    names = Pseudonymizer("s")
    text = " ".join(f"@{h}" for h in handles)
    replaced = names.text(text)
    assert replaced == " ".join(f"@{names.handle(h)}" for h in handles)
    assert re.findall(r"@(\w+)", replaced) == [names.handle(h.lower()) for h in handles]


# networks.json schema ----------------------------------------------------------------------------


def test_networks_json_follows_its_schema(inputs: list[Path], tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(
        (resources.files("cibscan") / "data" / "networks.schema.json").read_text("utf-8")
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    investigate(inputs, tmp_path / "o", detect_config=DetectConfig(min_markers=0), cache=False)
    document = json.loads((tmp_path / "o" / "networks.json").read_text(encoding="utf-8"))
    assert document["networks"]
    assert [e.message for e in validator.iter_errors(document)] == []
    # The schema catches what a consumer relies on.
    broken = dict(document, networks=[dict(document["networks"][0], score="high")])
    assert not validator.is_valid(broken)
    assert not validator.is_valid({k: v for k, v in document.items() if k != "config"})


def test_cli_prints_each_stage_computed_then_reused(tmp_path: Path) -> None:
    from cibscan.cli.demo import bundled_sample

    args = [sys.executable, "-m", "cibscan", "investigate", *map(str, bundled_sample())]
    args += ["--out", str(tmp_path / "o")]
    first = subprocess.run(args, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "[detect] computed in" in first.stderr
    second = subprocess.run(args, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr
    assert [line.split(" in ")[0] for line in second.stderr.splitlines() if " in " in line] == [
        f"[{name}] reused" for name in PLAIN
    ]
    forced = subprocess.run([*args, "--force"], capture_output=True, text=True, check=False)
    assert "[ingest] computed in" in forced.stderr
