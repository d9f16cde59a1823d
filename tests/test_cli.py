"""The command line: exit codes, error lines, help, ingest and info."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from cibscan.case import open_case
from cibscan.cli import main

HEADER = "post_id,account_id,timestamp,text\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cibscan", *args], capture_output=True, text=True, check=False
    )


def test_ingest_then_info(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "p.csv"
    src.write_text(HEADER + "1,a,2024-01-01T10:00:00Z,hi #x\n2,b,2024-01-02T10:00:00Z,yo\n")
    db = tmp_path / "case.duckdb"
    assert main(["ingest", str(src), "--db", str(db)]) == 0
    assert "read 2 = ingested 2 + rejected 0 + duplicates 0" in capsys.readouterr().out
    assert main(["info", "--db", str(db), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"]["posts"] == 2
    assert info["first_post"] == "2024-01-01T10:00:00Z"
    assert info["post_kinds"] == {"post": 2}
    assert info["time_resolution"]["whole_seconds"] == 2


def test_times_cut_to_the_minute_are_noted(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 60 shares, every time on a whole minute (a social-listening export): info says so, and a
    # network run under a 10 s window warns that it cannot tell seconds from a minute.
    src = tmp_path / "p.csv"
    rows = [f"{i},a{i % 6},2024-01-01T{10 + i // 60:02d}:{i % 60:02d}:00Z,x,share,s{i % 4}"
            for i in range(60)]  # fmt: skip
    src.write_text("post_id,account_id,timestamp,text,kind,shared_post_id\n" + "\n".join(rows))
    db = tmp_path / "case.duckdb"
    assert main(["ingest", str(src), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["info", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Post times: 100% on whole seconds, 100% on whole minutes" in out
    assert "note: 100% of post times fall on whole minutes" in out
    edges = tmp_path / "edges.csv"
    args = ["networks", "--db", str(db), "--signal", "share", "--out", str(edges)]
    assert main([*args, "--window", "10"]) == 0
    assert "a window under 120 s cannot tell seconds from a minute" in capsys.readouterr().out
    assert main([*args, "--window", "300"]) == 0
    assert "note:" not in capsys.readouterr().out


def test_user_error_is_one_line_exit_2(tmp_path: Path) -> None:
    src = tmp_path / "p.csv"
    src.write_text(HEADER + "1,a,whenever,hi\n")
    proc = run("ingest", str(src), "--db", str(tmp_path / "c.duckdb"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"Error: {src}, row 2, column 'timestamp', value 'whenever': unparseable timestamp "
        "(expected ISO-8601, epoch seconds or milliseconds, or a day/month/year date)"
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "c.duckdb").exists()  # the store it created holds nothing: gone
    debug = run("ingest", str(src), "--db", str(tmp_path / "c.duckdb"), "--debug")
    assert "Traceback" in debug.stderr


def test_skip_mode_writes_rejects_and_counts(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "p.csv"
    src.write_text(HEADER + "1,a,2024-01-01T10:00:00Z,ok\n2,a,=cmd|calc,bad\n")
    db = tmp_path / "case.duckdb"
    assert main(["ingest", str(src), "--db", str(db), "--on-error", "skip"]) == 0
    assert "read 2 = ingested 1 + rejected 1 + duplicates 0" in capsys.readouterr().out
    assert main(["info", "--db", str(db), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rejects"] == 1
    assert info["rejects_sample"][0]["row"] == 3
    assert info["rejects_sample"][0]["value"] == "=cmd|calc"
    assert info["rejects_sample"][0]["reason"].startswith("unparseable timestamp")


def test_rejects_out_writes_this_ingests_rejects(tmp_path: Path) -> None:
    src = tmp_path / "p.csv"
    src.write_text(HEADER + "1,a,2024-01-01T10:00:00Z,ok\n2,a,=cmd|calc,bad\n3,,2024-01-01,x\n")
    db, first, second = tmp_path / "c.duckdb", tmp_path / "r1.csv", tmp_path / "r2.csv"
    assert (
        main(
            ["ingest", str(src), "--db", str(db), "--on-error", "skip", "--rejects-out", str(first)]
        )
        == 0
    )
    lines = first.read_text().splitlines()
    assert lines[0] == "file,row,table,column,value,reason"
    # row 3's value neutralised for spreadsheets; row 4's id empty
    assert [line.split(",")[1:5] for line in lines[1:]] == [
        ["3", "posts", "timestamp", "'=cmd|calc"],
        ["4", "posts", "account_id", ""],
    ]
    other = tmp_path / "q.csv"
    other.write_text(HEADER + "9,b,2024-01-01T10:00:00Z,ok\n")
    assert main(["ingest", str(other), "--db", str(db), "--rejects-out", str(second)]) == 0
    assert second.read_text().splitlines() == ["file,row,table,column,value,reason"]
    # the same file again: the run's rejects file lists its rejections, though the case's
    # rejects table holds them once
    args = ["ingest", str(src), "--db", str(db), "--on-error", "skip", "--rejects-out"]
    assert main([*args, str(second)]) == 0
    assert second.read_text() == first.read_text()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rejects").fetchall() == [(2,)]


def test_usage_errors_are_clicks_messages_exit_2() -> None:
    for args, message in (
        (("export",), "No such command 'export'"),
        (("ingest", "--bogus", "x"), "No such option: --bogus"),
        (("synth", "--out", "x"), "Missing option '--scenario'"),
    ):
        proc = run(*args)
        assert proc.returncode == 2, args
        assert message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    bare = run()
    assert bare.returncode == 2
    assert "Usage: cibscan" in bare.stdout + bare.stderr
    assert "Traceback" not in bare.stderr


def test_help_has_examples() -> None:
    for command in (
        "ingest",
        "info",
        "demo",
        "investigate",
        "detect",
        "evaluate",
        "networks",
        "synth",
        "explain",
    ):
        proc = run(command, "--help")
        assert proc.returncode == 0
        assert "Example" in proc.stdout, command


def test_info_on_missing_case(tmp_path: Path) -> None:
    proc = run("info", "--db", str(tmp_path / "none.duckdb"))
    assert proc.returncode == 2
    assert "no case store at" in proc.stderr


def test_demo_finds_the_office(tmp_path: Path) -> None:
    proc = run("demo", "--out", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    assert "rejected 0 + duplicates 0" in proc.stdout
    assert "office_hours" in proc.stdout
    for name in (
        "report.html",
        "accounts.csv",
        "networks.json",
        "edges.parquet",
        "edges.csv",
        "evidence.parquet",
        "graph.graphml",
        "graph.gexf",
        "run.json",
    ):
        assert (tmp_path / "demo" / name).is_file(), name
    evaluation = next(line for line in proc.stdout.splitlines() if line.startswith("│"))
    f1 = float(evaluation.split("│")[3])
    assert f1 >= 0.95
    db = str(tmp_path / "demo" / "case.duckdb")
    explained = run("explain", "--db", db, "N1")
    assert explained.returncode == 0, explained.stderr
    assert (
        "posted only between 09:00 and 17:30 UTC+01:00 on working days (Monday to Friday)"
        in explained.stdout
    )
    assert "accounts with enough posts to tell posted nothing outside 08:30-18:00" in (
        explained.stdout
    )
    assert "significant links between its accounts" in explained.stdout
    networks = json.loads((tmp_path / "demo" / "networks.json").read_text())
    member = networks["networks"][0]["accounts"][0]
    account = run("explain", "--db", db, member)
    assert account.returncode == 0, account.stderr
    assert "Member of network N1" in account.stdout
    missing = run("explain", "--db", db, "no-such-account")
    assert missing.returncode == 2
    assert "no network or account 'no-such-account'" in missing.stderr


def test_investigate_bundled_sample(tmp_path: Path) -> None:
    from cibscan.cli.demo import bundled_sample

    proc = run("investigate", *map(str, bundled_sample()), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "read 18 = ingested 18 + rejected 0 + duplicates 0" in proc.stdout
    run_json = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run_json["rows"]["ingested"] == 18
    assert all(len(i["sha256"]) == 64 for i in run_json["inputs"])


def test_date_order_and_tz_on_ingest_and_investigate(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "p.csv"
    src.write_text(HEADER + "1,a,01/02/2024 10:00,hi\n2,b,03/04/2024 10:00,yo\n")
    db = tmp_path / "case.duckdb"
    proc = run("ingest", str(src), "--db", str(db))
    assert proc.returncode == 2 and "pass --date-order dmy or mdy" in proc.stderr
    args = ["ingest", str(src), "--db", str(db), "--date-order", "mdy", "--tz", "Europe/Tirane"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["info", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["first_post"] == "2024-01-02T09:00:00Z"
    out = tmp_path / "o"
    proc = run("investigate", str(src), "--out", str(out), "--date-order", "dmy", "--tz", "UTC")
    assert proc.returncode == 0, proc.stderr
    config = json.loads((out / "run.json").read_text())["config"]["ingest"]
    assert (config["date_order"], config["tz"]) == ("dmy", "UTC")


def test_investigate_takes_the_ingest_options(tmp_path: Path) -> None:
    src = tmp_path / "tweets.csv"
    src.write_text(
        "tweet_id,account_id,timestamp,text\n1,a,2024-01-02T10:00:00Z,hi\n"
        "2,b,soon,yo\n3,c,2024-01-02T10:00:05Z,hey\n"
    )
    out = tmp_path / "o"
    strict = run("investigate", str(src), "--out", str(out), "--map", "tweet_id=post_id")
    assert strict.returncode == 2
    assert f"{src}, row 3, column 'timestamp', value 'soon'" in strict.stderr
    proc = run(
        "investigate", str(src), "--out", str(out), "--map", "tweet_id=post_id",
        "--on-error", "skip", "--platform", "mastodon", "--table", "posts", "--format", "csv",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "read 3 = ingested 2 + rejected 1 + duplicates 0" in proc.stdout
    config = json.loads((out / "run.json").read_text())["config"]["ingest"]
    assert config["column_map"] == {"tweet_id": "post_id"} and config["on_error"] == "skip"
    assert (config["platform"], config["table"], config["format"]) == ("mastodon", "posts", "csv")
    with open_case(out / "case.duckdb") as case:
        assert case.con.execute("SELECT DISTINCT platform FROM posts").fetchall() == [("mastodon",)]
        assert case.count("rejects") == 1


def test_investigate_names_a_missing_input_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("investigate", str(tmp_path / "nope.csv"), "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"Error: {tmp_path / 'nope.csv'}: no such file"
    assert not out.exists()


def test_evaluate_refuses_empty_labels_and_notes_accounts_not_in_the_case(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "accounts.csv").write_text('"account_id","network_id"\n"a","N1"\n"b",""\n')
    empty = tmp_path / "empty.csv"
    empty.write_text("account_id,label\n")
    proc = run("evaluate", "--out", str(out), "--labels", str(empty))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"Error: {empty}: no labelled account (a header and no rows)"
    labels = tmp_path / "labels.csv"
    labels.write_text("account_id,label\na,op\nz,op\n")
    proc = run("evaluate", "--out", str(out), "--labels", str(labels))
    assert proc.returncode == 0, proc.stderr
    assert "note: 1 of 2 labelled accounts are not in the detection's accounts.csv" in proc.stdout


def test_evaluate_also_counts_the_coordinated_groups(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "accounts.csv").write_text(
        "account_id,network_id,coordinated_group\na,N1,\nb,,G1\nc,,G1\nd,,\n"
    )
    labels = tmp_path / "labels.csv"
    labels.write_text("account_id,label\na,op\nb,op\nc,organic\nd,op\n")
    proc = run("evaluate", "--out", str(out), "--labels", str(labels))
    assert proc.returncode == 0, proc.stderr
    # networks only: a found, b and d missed; with the groups: a and b found, c organic
    assert "precision 0.667, recall 0.667 (2 operation and 1 organic accounts)" in proc.stdout
    document = json.loads((out / "evaluation.json").read_text())
    assert (document["true_positives"], document["false_negatives"]) == (1, 2)
    groups = document["with_coordinated_groups"]
    assert (groups["true_positives"], groups["false_positives"]) == (2, 1)


def test_detect_takes_the_marker_rules_and_records_them(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "p.csv"
    src.write_text(HEADER + "1,a,2024-01-01T10:00:00Z,hi\n2,b,2024-01-01T10:00:05Z,hi\n")
    db, out = tmp_path / "c.duckdb", tmp_path / "out"
    assert main(["ingest", str(src), "--db", str(db)]) == 0
    args = ["detect", "--db", str(db), "--out", str(out), "--min-markers", "2"]
    assert main([*args, "--office-alone", "--automation-alone", "--flag-declared"]) == 0
    config = json.loads((out / "networks.json").read_text())["config"]
    assert config["flag_declared"] is True
    assert (config["min_markers"], config["office_alone"], config["automation_alone"]) == (
        2,
        True,
        True,
    )
    assert "0 networks, 0 accounts flagged" in capsys.readouterr().out


def test_the_ingest_table_documented_in_formats_md_loads(tmp_path: Path) -> None:
    import re

    from cibscan.config import load_config

    doc = (Path(__file__).parents[1] / "docs" / "formats.md").read_text(encoding="utf-8")
    match = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert match is not None
    path = tmp_path / "cibscan.toml"
    path.write_text(match.group(1), encoding="utf-8")
    cfg = load_config(path).ingest
    assert cfg.column_map == {"tweet_id": "post_id", "user": "account_id"}
    assert (cfg.format, cfg.table, cfg.on_error, cfg.date_order) == ("csv", "posts", "skip", "dmy")
