"""How assets were made: creation bursts, handle templates, reused profile fields."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from scipy import stats

from cibscan.errors import ConfigError
from cibscan.fingerprints.creation import (
    SNOWFLAKE_EPOCH_MS,
    CreationConfig,
    account_creation_times,
    creation_fingerprints,
    day_only_times,
    handle_shape,
)

from ._cases import assignment, new_case

T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _burst_case():  # type: ignore[no-untyped-def]
    """op0-op4 created within 16 minutes, op5 a month later; 40 organic accounts weekly.

    Only op0 is created at midnight: times to the second, not dates (``day_only_times``).
    """
    rows = [
        {
            "account_id": f"op{i}",
            "username": f"anna_{1980 + i}",
            "display_name": "Anna",
            "created_at": T0 + dt.timedelta(minutes=4 * i),
            "description": "Free Valoria",
            "profile_image": "https://img.example/x.jpg?size=normal",
        }
        for i in range(5)
    ]
    rows.append(
        {
            "account_id": "op5",
            "username": "bashir_2291",
            "display_name": "Bashir",
            "created_at": T0 + dt.timedelta(days=30, hours=5),
            "description": "  free   VALORIA ",
            "profile_image": "https://img.example/x.jpg",
        }
    )
    rows += [
        {
            "account_id": f"org{i:02d}",
            "username": f"user{i}x",
            "display_name": f"User {i}",
            "created_at": T0 + dt.timedelta(days=3 + 7 * i, hours=13),
            "description": "Free Valoria" if i == 0 else f"bio {i}",
            "profile_image": "https://abs.twimg.com/sticky/default_profile_images/default.png",
        }
        for i in range(40)
    ]
    return new_case(accounts=rows)


def test_burst_is_counted_and_tested_against_the_background() -> None:
    case = _burst_case()
    fp = creation_fingerprints(case.con, assignment({"n": [f"op{i}" for i in range(6)]}))
    net = fp.networks["n"]
    assert (net.accounts, net.created_known, net.created_from_ids) == (6, 6, 0)
    hour = [b for b in net.bursts if b["window"] == "hour"]
    assert len(hour) == 1  # op5 alone is no burst
    burst = hour[0]
    assert burst["count"] == 5
    assert burst["start"] == "2020-01-01T00:00:00Z"
    assert burst["end"] == "2020-01-01T00:16:00Z"
    assert burst["examples"] == ["op0", "op1", "op2", "op3", "op4"]
    assert burst["background"] == 0
    p = 1 / 41  # (0 background accounts in the hour + 1) / (40 background accounts + 1)
    assert burst["expected"] == pytest.approx(6 * p, abs=1e-4)
    # creation span: 2020-01-01 .. org39 at day 276, 13:00; Bonferroni over hour windows
    windows = (3 + 7 * 39) * 24 + 13
    assert burst["p_value"] == pytest.approx(windows * stats.binom.sf(4, 6, p))
    assert burst["p_value"] < 0.01
    day = [b for b in net.bursts if b["window"] == "day"]
    assert [b["count"] for b in day] == [5]


def test_no_burst_below_min_burst() -> None:
    case = _burst_case()
    fp = creation_fingerprints(
        case.con, assignment({"n": ["op0", "op1", "op5"]}), config=CreationConfig(min_burst=3)
    )
    assert fp.networks["n"].bursts == []


def test_snowflake_ids_give_creation_times_when_created_at_is_missing() -> None:
    ms = 1_596_394_941_698
    snowflake = str((ms - SNOWFLAKE_EPOCH_MS) << 22)
    case = new_case(
        accounts=[
            {"account_id": snowflake, "platform": "twitter"},
            {"account_id": "100004000000000", "platform": "facebook"},  # not a snowflake
            {"account_id": "12345", "platform": "twitter"},  # an old sequential id
            {"account_id": str(((ms + 1000 - SNOWFLAKE_EPOCH_MS) << 22) + 7)},  # platform unknown
            {"account_id": "1290000000000000001", "created_at": T0},  # stored time wins
        ]
    )
    times = {r["account_id"]: r for r in account_creation_times(case.con).to_pylist()}
    assert times[snowflake]["created_ms"] == ms and times[snowflake]["from_id"]
    assert times["100004000000000"]["created_ms"] is None
    assert times["12345"]["created_ms"] is None
    assert sum(r["created_ms"] == ms + 1000 for r in times.values()) == 1
    assert times["1290000000000000001"]["created_ms"] == int(T0.timestamp() * 1000)
    assert not times["1290000000000000001"]["from_id"]
    fp = creation_fingerprints(case.con, assignment({"n": [snowflake, "12345"]}))
    assert (fp.networks["n"].created_known, fp.networks["n"].created_from_ids) == (1, 1)


def test_dates_make_day_bursts_not_hour_bursts() -> None:
    # An archive gives creation dates (Twitter's account_creation_date): five accounts of the
    # network made on one day all read 00:00 of it, which is no evidence that they were made
    # within the hour. 40 other accounts, one a week, are dates too.
    day = T0 + dt.timedelta(days=10)
    rows = [{"account_id": f"h{i}", "created_at": day} for i in range(5)]
    rows += [{"account_id": f"org{i:02d}", "created_at": T0 + dt.timedelta(days=7 * i)}
             for i in range(40)]  # fmt: skip
    case = new_case(accounts=rows)
    created = account_creation_times(case.con)
    assert day_only_times(created).all()
    fp = creation_fingerprints(case.con, assignment({"n": [f"h{i}" for i in range(5)]}))
    bursts = fp.networks["n"].bursts
    assert [(b["window"], b["count"], b["start"]) for b in bursts] == [
        ("day", 5, "2020-01-11T00:00:00Z")
    ]
    # a day window holds one date: three accounts of the next day are a burst of their own
    rows += [{"account_id": f"k{i}", "created_at": day + dt.timedelta(days=1)} for i in range(3)]
    two_days = new_case(accounts=rows)
    members = [f"h{i}" for i in range(5)] + ["k0", "k1", "k2"]
    got = creation_fingerprints(two_days.con, assignment({"n": members})).networks["n"].bursts
    assert [(b["window"], b["count"], b["start"], b["end"]) for b in got] == [
        ("day", 5, "2020-01-11T00:00:00Z", "2020-01-11T00:00:00Z"),
        ("day", 3, "2020-01-12T00:00:00Z", "2020-01-12T00:00:00Z"),
    ]


def test_a_snowflake_id_gives_the_time_within_a_stored_date() -> None:
    ms = 1_596_394_941_698  # 2020-08-02T18:22:21.698Z
    snowflake = str((ms - SNOWFLAKE_EPOCH_MS) << 22)
    late = str((ms + 86_400_000 - SNOWFLAKE_EPOCH_MS) << 22)  # made the next day
    date = dt.datetime(2020, 8, 2, tzinfo=dt.UTC)
    case = new_case(
        accounts=[
            {"account_id": snowflake, "created_at": date},
            {"account_id": late, "created_at": date},  # the id is outside the date: stored wins
        ]
    )
    times = {r["account_id"]: r for r in account_creation_times(case.con).to_pylist()}
    assert (times[snowflake]["created_ms"], times[snowflake]["from_id"]) == (ms, True)
    assert (times[late]["created_ms"], times[late]["from_id"]) == (
        int(date.timestamp() * 1000),
        False,
    )
    assert times[late]["stored_midnight"] and times[snowflake]["stored_midnight"]


def test_a_midnight_among_times_to_the_second_is_a_time() -> None:
    rows = [{"account_id": "m", "created_at": T0}]
    rows += [{"account_id": f"s{i}", "created_at": T0 + dt.timedelta(seconds=1 + 3613 * i)}
             for i in range(200)]  # fmt: skip
    created = account_creation_times(new_case(accounts=rows).con)
    assert not day_only_times(created).any()


def test_handle_shapes() -> None:
    assert handle_shape("anna_1987") == "a+_9999"
    assert handle_shape("bashir_2291") == "a+_9999"
    assert handle_shape("AnnaMuller4821") == "Aa+Aa+9999"
    assert handle_shape("Ömer.ali") == "Aa+.a+"


def test_handle_templates_stems_and_near_duplicates() -> None:
    names = ["anna_1987", "anna_1988", "bashir_2291", "carla_0042", "valoria_news1"]
    names += ["valoria_news22", "Zed"]
    outside = ["dora_1234", "johnsmith", "maryjane", "bob"]
    case = new_case(
        accounts=[{"account_id": f"a{i}", "username": u} for i, u in enumerate(names)]
        + [{"account_id": f"o{i}", "username": u} for i, u in enumerate(outside)]
    )
    net = creation_fingerprints(
        case.con, assignment({"n": [f"a{i}" for i in range(len(names))]})
    ).networks["n"]
    templates = {t["pattern"]: t for t in net.handle_templates}
    assert set(templates) == {"a+_9999"}  # a+_9 and a+_99 have fewer than 3 accounts
    t = templates["a+_9999"]
    assert (t["count"], t["digits"], t["case_count"]) == (4, 4, 5)
    assert t["examples"] == ["anna_1987", "anna_1988", "bashir_2291", "carla_0042"]
    assert t["lift"] == pytest.approx((4 / 7) / (5 / 11), abs=1e-4)
    stems = {s["stem"]: s for s in net.handle_stems}
    assert set(stems) == {"anna", "valoria_news"}
    assert stems["valoria_news"]["count"] == 2
    assert net.near_duplicate_handles == [{"count": 2, "handles": ["anna_1987", "anna_1988"]}]


def test_near_duplicates_chain_into_groups_and_respect_min_length() -> None:
    names = ["valoria01", "valoria02", "valoria2", "xvaloria2", "ab12", "ab13"]
    case = new_case(accounts=[{"account_id": u, "username": u} for u in names])
    net = creation_fingerprints(case.con, assignment({"n": names})).networks["n"]
    assert net.near_duplicate_handles == [
        {"count": 4, "handles": ["valoria01", "valoria02", "valoria2", "xvaloria2"]}
    ]


def test_reused_fields_are_normalised_and_compared_with_the_case() -> None:
    case = _burst_case()
    net = creation_fingerprints(case.con, assignment({"n": [f"op{i}" for i in range(6)]})).networks[
        "n"
    ]
    reused = {(r["field"], r["count"], r["case_count"]) for r in net.reused_fields}
    # the bio is shared by all six (op5's differs only in case and spacing) and by org00
    assert ("description", 6, 7) in reused
    # the image without its query string; default avatars of the organic accounts are ignored
    assert ("profile_image", 6, 6) in reused
    assert ("display_name", 5, 5) in reused
    assert len(reused) == 3
    organic = creation_fingerprints(
        case.con, assignment({"org": [f"org{i:02d}" for i in range(40)]})
    ).networks["org"]
    assert organic.reused_fields == []


def test_network_without_account_rows_is_empty_and_json_ready() -> None:
    case = new_case()
    fp = creation_fingerprints(case.con, assignment({"n": ["x", "y"]}))
    d = json.loads(json.dumps(fp.as_dict()))
    net = d["networks"]["n"]
    assert net["accounts"] == 2 and net["created_known"] == 0
    for key in (
        "bursts",
        "handle_templates",
        "handle_stems",
        "near_duplicate_handles",
        "reused_fields",
    ):
        assert net[key] == []
    assert d["config"]["windows"] == [["hour", 3600], ["day", 86400]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_burst": 1}, "at least 2"),
        ({"windows": (("hour", 0),)}, "windows"),
        ({"max_items": 0}, "max_items=0"),
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CreationConfig(**kwargs)  # type: ignore[arg-type]


def test_reused_profile_fields_are_compared_across_unicode_spaces() -> None:
    import duckdb

    from cibscan.fingerprints.creation import _FIELD_SQL

    values = ["Democracy now", "Democracy\u00a0now", " democracy\u3000\u3000NOW ", "Democracy\tnow"]
    con = duckdb.connect()
    got = {
        con.execute(
            f"SELECT {_FIELD_SQL['description']} FROM (SELECT ? AS description)", [v]
        ).fetchall()[0][0]
        for v in values
    }
    assert got == {"democracy now"}
