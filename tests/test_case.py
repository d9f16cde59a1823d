"""The case store's connection settings: memory budget and threads from the environment."""

from __future__ import annotations

import pytest

from cibscan.case import connect, open_case
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
