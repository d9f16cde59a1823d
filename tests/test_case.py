"""The case store: connection settings from the environment, time resolution, reopening."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pytest

from cibscan.case import Case, TimeResolution, connect, open_case, time_resolution
from cibscan.errors import ConfigError


def _setting(con: object, name: str) -> str:
    return str(con.execute(f"SELECT current_setting('{name}')").fetchone()[0])  # type: ignore[attr-defined]


def test_memory_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIBSCAN_MEMORY_LIMIT", "300MB")
    con = connect()
    try:
        assert _setting(con, "memory_limit") == "286.1 MiB"  # DuckDB prints 300 MB in MiB
    finally:
        con.close()
    with open_case() as case:
        assert _setting(case.con, "memory_limit") == "286.1 MiB"


def test_an_explicit_memory_limit_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CIBSCAN_MEMORY_LIMIT", "300MB")
    con = connect(memory_limit="1GiB")
    try:
        assert _setting(con, "memory_limit") == "1.0 GiB"
    finally:
        con.close()


@pytest.mark.parametrize("value", ["lots", "2 GB; DROP TABLE posts", "-1GB"])
def test_a_bad_memory_limit_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CIBSCAN_MEMORY_LIMIT", value)
    with pytest.raises(ConfigError, match="memory limit"):
        connect()


def test_threads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIBSCAN_THREADS", "1")
    con = connect()
    try:
        assert _setting(con, "threads") == "1"
    finally:
        con.close()
    monkeypatch.setenv("CIBSCAN_THREADS", "two")
    with pytest.raises(ConfigError, match="CIBSCAN_THREADS"):
        connect()


# -- how finely post times are given ---------------------------------------------------------


def _case_with_times(seconds: list[float]) -> Case:
    """Posts at the given seconds after 2024-05-01 00:00 UTC."""
    case = open_case()
    rows = [(str(i), f"a{i % 7}", 1714521600 + s) for i, s in enumerate(seconds)]
    case.con.executemany(
        "INSERT INTO posts (post_id, account_id, timestamp) VALUES (?, ?, to_timestamp(?))", rows
    )
    return case


def test_times_cut_to_the_minute_are_told_from_times_to_the_second() -> None:
    rng = random.Random(1)
    to_seconds = [float(rng.randrange(86_400)) for _ in range(600)]
    cut = time_resolution(_case_with_times([s - s % 60 for s in to_seconds]).con)
    assert (cut.posts, cut.whole_minutes, cut.whole_seconds) == (600, 600, 600)
    assert cut.minute_cut == 1.0 and cut.cut_to_minutes
    assert cut.note(10) is not None and "100% of post times fall on whole minutes" in cut.note(10)
    assert cut.note(120) is None  # a window of two minutes or more is not blurred
    fine = time_resolution(_case_with_times(to_seconds).con)
    assert not fine.cut_to_minutes and fine.note(10) is None  # about 1 in 60 by chance
    millis = time_resolution(_case_with_times([s + rng.random() for s in to_seconds]).con)
    assert millis.whole_seconds < 5 and not millis.cut_to_minutes
    # a fifth of the times cut (one source of several): about 0.2 estimated, and noted
    mixed = [s - s % 60 if i % 5 == 0 else s for i, s in enumerate(to_seconds)]
    some = time_resolution(_case_with_times(mixed).con)
    assert 0.15 < some.minute_cut < 0.25 and some.cut_to_minutes
    assert time_resolution(open_case().con) == TimeResolution(0, 0, 0)
    assert not TimeResolution(0, 0, 0).cut_to_minutes


def test_a_reopened_case_leaves_its_connection_free(tmp_path: Path) -> None:
    # DuckDB 2 keeps a result open after fetchone(); opening an existing case (its schema
    # check) or counting a table must not then make register, sql or from_arrow refuse to run.
    path = tmp_path / "case.duckdb"
    open_case(path).close()
    with open_case(path) as case:
        case.con.register("extra", pa.table({"a": [1, 2]}))
        assert case.count("posts") == 0
        assert case.con.sql("SELECT sum(a) FROM extra").fetchall() == [(3,)]
        case.info()
        assert case.con.from_arrow(pa.table({"b": [5]})).fetchall() == [(5,)]


def test_the_package_reads_no_result_with_fetchone() -> None:
    # The reason is first_row's: keep it from coming back in new code.
    import cibscan

    root = Path(cibscan.__file__).parent
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ".fetchone()" in line and "``fetchone()``" not in line
    ]
    assert offenders == []
