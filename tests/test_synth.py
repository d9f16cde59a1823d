"""The scenario generator: determinism, schema, references, rhythms, confounders, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cibscan.cli import main
from cibscan.errors import ConfigError
from cibscan.schema import TABLES, create_tables_sql
from cibscan.synth import (
    SCENARIOS,
    Scenario,
    SynthConfig,
    arrow_schema,
    generate,
    normalize_url,
    write_scenario,
)

SMALL = SynthConfig(accounts=600, days=7, posts=12_000, office_assets=60, botnet_accounts=30)


@pytest.fixture(scope="module")
def default_mixed() -> Scenario:
    """The default-sized case with every operation (about 200k posts, a second or two)."""
    return generate("mixed", seed=11)


@pytest.fixture(scope="module")
def small_cases() -> dict[str, Scenario]:
    return {name: generate(name, seed=3, config=SMALL) for name in SCENARIOS}


def _posts_with_labels(case: Scenario) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in case.tables().items():
        con.register(name, table)
    return con


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"accounts": 10}, "accounts=10: must be between 200"),
        ({"days": 0}, "days=0: must be between 1"),
        ({"posts": 300}, "posts=300: must be between 1000"),
        ({"accounts": 5000, "posts": 2000}, "must be at least accounts=5000"),
        ({"start": "March"}, "start='March': not a date"),
        ({"platform": "myspace"}, "platform='myspace'"),
        ({"days": 2.5}, "days=2.5: must be an integer"),
    ],
)
def test_config_is_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        SynthConfig(**kwargs)


def test_unknown_scenario_and_bad_seed() -> None:
    with pytest.raises(ConfigError, match="unknown scenario 'troll': choose one of office"):
        generate("troll", seed=1, config=SMALL)
    with pytest.raises(ConfigError, match="seed -1"):
        generate("office", seed=-1, config=SMALL)


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_same_tables_other_seed_other_tables(small_cases: dict[str, Scenario]) -> None:
    again = generate("stealth", seed=3, config=SMALL)
    for name, table in small_cases["stealth"].tables().items():
        assert table.equals(again.tables()[name]), name
    other = generate("stealth", seed=4, config=SMALL)
    assert not other.posts.equals(again.posts)
    assert other.accounts.column("account_id") != again.accounts.column("account_id")


def test_same_seed_byte_identical_files(tmp_path: Path) -> None:
    def digests(folder: Path) -> dict[str, str]:
        case = generate("office", seed=9, config=SMALL)
        files = write_scenario(case, folder, fmt="csv")
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    assert digests(tmp_path / "a") == digests(tmp_path / "b")


# --- schema and references ----------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tables_match_the_canonical_schema(small_cases: dict[str, Scenario], scenario: str) -> None:
    case = small_cases[scenario]
    con = duckdb.connect()
    for name, table in case.tables().items():
        assert table.schema == arrow_schema(name)
        assert table.column_names == list(TABLES[name])
        con.register(f"arrow_{name}", table)
    con.execute(create_tables_sql())
    for name, table in case.tables().items():
        con.execute(f"INSERT INTO {name} SELECT * FROM arrow_{name}")
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone() == (table.num_rows,)
    for column in ("account_id", "timestamp", "kind", "post_id", "platform"):
        assert case.posts.column(column).null_count == 0
    assert set(case.posts.column("kind").to_pylist()) == {"post", "share", "reply", "quote"}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_references_are_consistent(small_cases: dict[str, Scenario], scenario: str) -> None:
    con = _posts_with_labels(small_cases[scenario])

    def one(sql: str) -> Any:
        row = con.execute(sql).fetchone()
        assert row is not None
        return row[0]

    assert one("SELECT count(*) - count(DISTINCT post_id) FROM posts") == 0
    assert one("SELECT count(*) - count(DISTINCT account_id) FROM accounts") == 0
    assert (
        one("SELECT count(*) FROM posts WHERE account_id NOT IN (SELECT account_id FROM accounts)")
        == 0
    )
    assert one("SELECT count(*) FROM accounts a ANTI JOIN labels l USING (account_id)") == 0
    assert one("SELECT count(*) FROM labels l ANTI JOIN accounts a USING (account_id)") == 0
    # every reference points at an existing, strictly earlier post by the named account
    for post_col, acct_col in (
        ("shared_post_id", "shared_account_id"),
        ("reply_to_post_id", "reply_to_account_id"),
    ):
        assert (
            one(f"""
            SELECT count(*) FROM posts p LEFT JOIN posts t ON p.{post_col} = t.post_id
            WHERE p.{post_col} IS NOT NULL
              AND (t.post_id IS NULL OR t.timestamp >= p.timestamp
                   OR t.account_id <> p.{acct_col})""")
            == 0
        )
    assert (
        one("""SELECT count(*) FROM posts p JOIN posts t ON p.shared_post_id = t.post_id
                  WHERE p.kind = 'share' AND t.kind = 'share'""")
        == 0
    )
    bad_kind = """
        SELECT count(*) FROM posts WHERE
          (kind IN ('share', 'quote')) <> (shared_post_id IS NOT NULL)
          OR (kind = 'reply') <> (reply_to_post_id IS NOT NULL)"""
    assert one(bad_kind) == 0
    assert (
        one("""SELECT count(*) FROM memberships m ANTI JOIN accounts a
                  ON m.asset_id = a.account_id""")
        == 0
    )


def test_lists_agree_with_the_text(small_cases: dict[str, Scenario]) -> None:
    for case in small_cases.values():
        rows = case.posts.select(
            ["text", "hashtags", "mentions", "urls", "urls_original", "timestamp"]
        ).to_pylist()
        for row in rows:
            low = row["text"].lower()
            for tag in row["hashtags"]:
                assert tag == tag.lower() and not tag.startswith("#")
                assert f"#{tag}" in low, row
            for name in row["mentions"]:
                assert f"@{name}" in low, row
            assert len(row["urls"]) == len(row["urls_original"])
            for url, original in zip(row["urls"], row["urls_original"], strict=True):
                assert original in row["text"], row
                assert url == normalize_url(original)
                assert url.startswith("https://") and "utm_" not in url
        start = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)
        ts = case.posts.column("timestamp")
        assert pc.min(ts).as_py() >= start
        assert pc.max(ts).as_py() < start + dt.timedelta(days=SMALL.days)


def test_ids_look_real(small_cases: dict[str, Scenario]) -> None:
    case = small_cases["botnet"]
    assert case.platform == "twitter"
    ids = case.posts.column("post_id").to_pylist()
    assert all(i.isdigit() and 17 <= len(i) <= 20 for i in ids)
    # snowflake: the id's high bits are the post time in milliseconds
    first = case.posts.slice(0, 1).to_pylist()[0]
    ms = (int(first["post_id"]) >> 22) + 1_288_834_974_657
    assert abs(ms / 1000 - first["timestamp"].timestamp()) < 1
    acc = case.accounts.to_pylist()
    assert all(((int(a["account_id"]) >> 22) + 1_288_834_974_657) // 1000
               == int(a["created_at"].timestamp()) for a in acc)  # fmt: skip
    shares = [t for t in case.posts.column("text").to_pylist() if t.startswith("RT @")]
    assert shares, "twitter reshares carry 'RT @user:'"


# --- labels --------------------------------------------------------------------------------------


def test_label_counts(small_cases: dict[str, Scenario], default_mixed: Scenario) -> None:
    def counts(case: Scenario) -> Counter[str]:
        return Counter(case.labels.column("label").to_pylist())

    assert counts(small_cases["office"])["office"] == SMALL.office_assets
    assert counts(small_cases["botnet"])["botnet"] == SMALL.botnet_accounts
    assert counts(small_cases["stealth"])["stealth"] == SMALL.stealth_accounts
    for name in SCENARIOS:
        c = counts(small_cases[name])
        assert c["organic"] == SMALL.accounts
        expected = {"office", "botnet", "stealth"} if name == "mixed" else {name}
        assert set(c) == {"organic"} | expected

    c = counts(default_mixed)
    assert (c["office"], c["botnet"], c["stealth"], c["organic"]) == (300, 100, 40, 5000)
    roles = Counter(
        zip(default_mixed.labels.column("label").to_pylist(),
            default_mixed.labels.column("role").to_pylist(), strict=True)
    )  # fmt: skip
    for role in ("operator", "amplifier", "persona", "page", "group"):
        assert roles[("office", role)] > 0, role
    for role in ("viral_sharer", "fan", "news_bot", "ordinary"):
        assert roles[("organic", role)] > 0, role
    con = _posts_with_labels(default_mixed)
    kinds = dict(con.execute("""SELECT l.role, any_value(a.kind) FROM labels l JOIN accounts a
        USING (account_id) WHERE l.label = 'office' AND l.role IN ('page', 'group')
        GROUP BY 1""").fetchall())  # fmt: skip
    assert kinds == {"page": "page", "group": "group"}
    admins = con.execute("""SELECT count(DISTINCT m.asset_id) FROM memberships m
        JOIN labels l ON l.account_id = m.asset_id
        WHERE m.role = 'admin' AND l.label = 'office'""").fetchone()  # fmt: skip
    assert admins == (roles[("office", "page")] + roles[("office", "group")],)


# --- behaviour -----------------------------------------------------------------------------------


def test_office_keeps_office_hours_at_utc_plus_1(default_mixed: Scenario) -> None:
    con = _posts_with_labels(default_mixed)
    rows = con.execute("""
        SELECT p.timestamp + INTERVAL 1 HOUR FROM posts p JOIN labels l USING (account_id)
        WHERE l.label = 'office'""").fetchall()
    local = [r[0] for r in rows]
    assert len(local) > 5000
    assert all(t.weekday() < 5 for t in local)
    minutes = np.array([t.hour * 60 + t.minute for t in local])
    assert minutes.min() >= 9 * 60 and minutes.max() < 17 * 60 + 45
    lunch = ((minutes >= 13 * 60 + 10) & (minutes < 14 * 60)).mean()
    assert lunch < 0.01


def test_office_copy_paste_and_fast_amplification(default_mixed: Scenario) -> None:
    con = _posts_with_labels(default_mixed)
    top = con.execute("""
        SELECT count(DISTINCT p.account_id) FROM posts p JOIN labels l USING (account_id)
        WHERE l.label = 'office' AND p.kind = 'post' GROUP BY p.text ORDER BY 1 DESC LIMIT 1
        """).fetchone()  # fmt: skip
    assert top is not None and top[0] >= 5
    median = con.execute("""
        SELECT median(epoch(p.timestamp) - epoch(t.timestamp)) FROM posts p
        JOIN posts t ON p.shared_post_id = t.post_id JOIN labels l ON l.account_id = p.account_id
        WHERE l.label = 'office'""").fetchone()
    assert median is not None and 60 <= median[0] <= 600
    created = con.execute("""
        SELECT count(DISTINCT date_trunc('day', a.created_at)) FROM accounts a
        JOIN labels l USING (account_id) WHERE l.label = 'office' AND l.role <> 'persona'
        """).fetchone()  # fmt: skip
    assert created is not None and created[0] <= 8


def test_botnet_is_fast_and_round_the_clock_stealth_is_slow(default_mixed: Scenario) -> None:
    con = _posts_with_labels(default_mixed)
    delays = dict(con.execute("""
        SELECT l.label, median(epoch(p.timestamp) - epoch(t.timestamp)) FROM posts p
        JOIN posts t ON p.shared_post_id = t.post_id JOIN labels l ON l.account_id = p.account_id
        GROUP BY 1""").fetchall())  # fmt: skip
    assert delays["botnet"] < 15
    assert 120 < delays["stealth"] < 3600
    hours = con.execute("""
        SELECT count(DISTINCT extract(hour FROM p.timestamp)) FROM posts p
        JOIN labels l USING (account_id) WHERE l.label = 'botnet'""").fetchone()
    assert hours == (24,)


def test_viral_items_have_thousands_of_sharers_within_minutes(default_mixed: Scenario) -> None:
    con = _posts_with_labels(default_mixed)
    bursts = con.execute("""
        WITH acts AS (
            SELECT shared_post_id AS item, account_id, timestamp FROM posts WHERE kind = 'share'
            UNION ALL
            SELECT urls[1], account_id, timestamp FROM posts WHERE kind = 'post' AND len(urls) > 0
        ), first AS (SELECT item, min(timestamp) AS t0 FROM acts GROUP BY 1)
        SELECT item, count(DISTINCT account_id) FROM acts JOIN first USING (item)
        WHERE timestamp <= t0 + INTERVAL 10 MINUTE
        GROUP BY 1 HAVING count(DISTINCT account_id) >= 1000
        """).fetchall()  # fmt: skip
    assert len(bursts) >= 2
    sharers = con.execute("""
        SELECT count(*) FROM labels WHERE role = 'viral_sharer'""").fetchone()
    assert sharers is not None and sharers[0] >= 1000


def test_organic_background_looks_real(default_mixed: Scenario) -> None:
    con = _posts_with_labels(default_mixed)
    rows = con.execute("""
        SELECT count(*) FROM posts p JOIN labels l USING (account_id)
        WHERE l.label = 'organic' AND l.role <> 'news_bot' GROUP BY p.account_id""").fetchall()
    per_account = np.array([r[0] for r in rows])
    assert per_account.max() > 10 * np.median(per_account)  # heavy tail
    hours = con.execute("""
        SELECT extract(hour FROM timestamp) h, count(*) FROM posts p JOIN labels l
        USING (account_id) WHERE l.label = 'organic' GROUP BY 1""").fetchall()
    share = np.array([n for _, n in hours]) / sum(n for _, n in hours)
    assert len(hours) == 24 and share.min() > 0.01  # many time zones
    replies = con.execute("""
        SELECT count(*) FROM posts p JOIN posts t ON p.reply_to_post_id = t.post_id
        WHERE t.kind = 'reply'""").fetchone()
    assert replies is not None and replies[0] > 1000  # threads, not only single replies
    fans = con.execute("""
        SELECT max(n) FROM (SELECT h, date_trunc('hour', timestamp), count(DISTINCT account_id) n
        FROM posts, unnest(hashtags) AS u(h) GROUP BY ALL)""").fetchone()
    assert fans is not None and fans[0] >= 100  # a hashtag campaign within one hour
    news = con.execute("""
        SELECT count(*) FROM (SELECT urls[1] FROM posts p JOIN labels l USING (account_id)
        WHERE l.role = 'news_bot' AND len(urls) > 0 GROUP BY 1 HAVING count(*) >= 3)""").fetchone()
    assert news is not None and news[0] > 100  # several bots post the same headline links


# --- URLs ----------------------------------------------------------------------------------------


@given(
    host=st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}\.(com|ORG|net)", fullmatch=True),
    path=st.from_regex(r"(/[A-Za-z0-9_-]{1,8}){0,3}", fullmatch=True),
    www=st.booleans(),
    utm=st.booleans(),
)
@example(host="Example.COM", path="", www=True, utm=True)
def test_normalize_url_is_idempotent(host: str, path: str, www: bool, utm: bool) -> None:
    url = f"http://{'WWW.' if www else ''}{host}{path}" + ("?utm_source=x&a=1" if utm else "")
    once = normalize_url(url)
    assert normalize_url(once) == once
    assert once.startswith(f"https://{host.lower()}")
    assert "utm_" not in once


# --- writing and the command line -----------------------------------------------------------------


def test_cli_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "case"
    args = ["synth", "--scenario", "botnet", "--seed", "3", "--out", str(out),
            "--accounts", "500", "--days", "3", "--posts", "6000", "--format", "csv"]  # fmt: skip
    assert main(args) == 0
    assert "botnet" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert names == {"posts.parquet", "posts.csv", "accounts.csv", "memberships.csv",
                     "infra.csv", "labels.csv", "manifest.json"}  # fmt: skip
    with (out / "labels.csv").open(encoding="utf-8") as fh:
        labels = list(csv.DictReader(fh))
    assert list(labels[0]) == ["account_id", "label", "role", "source"]
    assert {r["label"] for r in labels} == {"organic", "botnet"}
    with (out / "posts.csv").open(encoding="utf-8") as fh:
        posts = list(csv.DictReader(fh))
    assert list(posts[0]) == list(TABLES["posts"])
    assert all(r["timestamp"].endswith("Z") and "T" in r["timestamp"] for r in posts)
    tagged = [r for r in posts if r["hashtags"] != "[]"]
    assert tagged and all(isinstance(json.loads(r["hashtags"]), list) for r in tagged)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["config"]["days"] == 3
    parquet = pa.parquet.read_table(out / "posts.parquet")  # type: ignore[attr-defined]
    assert parquet.num_rows == len(posts)


def test_cli_reports_a_bad_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--scenario", "nope", "--out", str(tmp_path)]) == 2
    assert "Error: unknown scenario 'nope'" in capsys.readouterr().err
    assert main(["synth", "--scenario", "office", "--out", str(tmp_path), "--days", "0"]) == 2
