"""Rhythm and location: UTC offset and label from posting times."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cibscan.errors import BadInputError, ConfigError
from cibscan.fingerprints.rhythm import (
    COVERAGE_GAP_QUARTERS,
    OFFSET_QUARTERS,
    TELLING_POSTS,
    WEEK_PRIOR,
    WORKING_WEEKS,
    RhythmConfig,
    account_rhythms,
    coverage_week,
    evaluate_rhythm,
    format_offset,
    network_rhythms,
    office_templates,
    rhythm_templates,
    synthetic_rhythm_posts,
    telling_events,
)

from ._cases import assignment, new_case

ALL_OFFSETS = [q / 4 for q in OFFSET_QUARTERS.tolist()]


def _posts_at(times: list[tuple[str, dt.datetime]]) -> list[dict[str, object]]:
    return [
        {"post_id": f"p{i}", "account_id": a, "timestamp": t, "kind": "post"}
        for i, (a, t) in enumerate(times)
    ]


def test_offsets_tried_are_the_civil_offsets_from_minus_12_to_plus_14() -> None:
    assert len(ALL_OFFSETS) == 40
    assert sorted(set(ALL_OFFSETS)) == ALL_OFFSETS
    assert ALL_OFFSETS[0] == -12.0 and ALL_OFFSETS[-1] == 14.0
    assert set(range(-12, 15)) <= set(ALL_OFFSETS)  # every whole hour
    assert {5.75, 3.5, 5.5, -9.5, -3.5, -2.5, 8.75, 12.75, 13.75} <= set(ALL_OFFSETS)
    assert not {7.75, 1.25, -5.5, 2.5} & set(ALL_OFFSETS)


def test_templates_are_distributions_in_local_time() -> None:
    t = rhythm_templates(noise=0.05)
    for name in ("office", "leisure", "uniform"):
        assert t[name].shape == (672,)
        assert t[name].sum() == pytest.approx(1.0)
    office = t["office"].reshape(7, 96)
    assert office[:5, 36].max() > 10 * office[5:].max()  # weekdays 09:00 >> weekends
    assert office[0, 52] < office[0, 51]  # lunch dip at 13:00
    assert office[0, 8] == office[6, 8]  # nights and weekends: the noise floor only
    leisure = t["leisure"].reshape(7, 96)
    assert leisure[5:].sum() / 2 > leisure[:5].sum() / 5  # more per day at weekends
    assert leisure[0, 80] > 5 * leisure[0, 16]  # 20:00 >> 04:00


def test_office_networks_at_every_offset() -> None:
    """20 accounts x 10 posts over three weeks, one network per civil offset."""
    ev = evaluate_rhythm(offsets=ALL_OFFSETS, kinds=("office",), seed=11)
    row = ev.rows[0]
    assert row["networks"] == 40
    assert row["exact"] >= 0.9
    assert row["within_15min"] >= 0.97
    assert row["within_1h"] == 1.0
    assert row["label_correct"] == 1.0
    assert row["mean_confidence"] > 0.95


def test_leisure_crowds_at_every_offset() -> None:
    ev = evaluate_rhythm(offsets=ALL_OFFSETS, kinds=("leisure",), seed=12)
    row = ev.rows[0]
    assert row["label_correct"] >= 0.97
    assert row["within_1h"] >= 0.85


def test_uniform_automation_is_round_the_clock_without_offset() -> None:
    ev = evaluate_rhythm(offsets=ALL_OFFSETS[::4], kinds=("uniform",), seed=13)
    row = ev.rows[0]
    assert row["label_correct"] >= 0.95
    assert row["exact"] is None
    assert row["mean_confidence"] < 0.05


def test_single_account_with_enough_posts() -> None:
    rng = np.random.default_rng(5)
    office = synthetic_rhythm_posts(
        "office", 5.75, accounts=1, posts_per_account=80, rng=rng, prefix="kathmandu"
    )
    leisure = synthetic_rhythm_posts(
        "leisure", -3.0, accounts=1, posts_per_account=150, rng=rng, prefix="rio"
    )
    case = new_case(posts=pa.concat_tables([office, leisure]))
    fits = account_rhythms(case.con).accounts
    assert sorted(fits) == ["kathmandu0000", "rio0000"]
    assert fits["kathmandu0000"].rhythm == "office"
    assert fits["kathmandu0000"].utc_offset_hours is not None
    assert abs(fits["kathmandu0000"].utc_offset_hours - 5.75) <= 0.25
    assert fits["kathmandu0000"].utc_offset_label in ("UTC+05:30", "UTC+05:45", "UTC+06:00")
    assert fits["rio0000"].rhythm == "leisure"
    assert abs(fits["rio0000"].utc_offset_hours - -3.0) <= 1.0  # type: ignore[operator]


def test_network_pools_accounts_with_few_posts_each() -> None:
    """40 accounts with 3 posts each: no account alone has an answer, the network has."""
    posts = synthetic_rhythm_posts(
        "office", 1.0, accounts=40, posts_per_account=3, rng=np.random.default_rng(7)
    )
    case = new_case(posts=posts)
    members = sorted(set(posts["account_id"].to_pylist()))
    net = network_rhythms(case.con, assignment({"n": members})).networks["n"]
    assert net.fit.rhythm == "office"
    assert net.fit.utc_offset_hours is not None and abs(net.fit.utc_offset_hours - 1.0) <= 0.25
    assert net.accounts == net.accounts_active == 40
    singles = account_rhythms(case.con, members[:5]).accounts
    assert {f.rhythm for f in singles.values()} == {"unknown"}
    assert all(f.utc_offset_hours is None for f in singles.values())


def test_too_few_posts_is_unknown() -> None:
    posts = synthetic_rhythm_posts(
        "office", 2.0, accounts=2, posts_per_account=10, rng=np.random.default_rng(1)
    )
    case = new_case(posts=posts)
    fp = network_rhythms(case.con, assignment({"n": ["acc0000", "acc0001"], "empty": ["x"]}))
    for nid in ("n", "empty"):
        fit = fp.networks[nid].fit
        assert fit.rhythm == "unknown"
        assert fit.utc_offset_hours is None
        assert fit.utc_offset_confidence == 0.0
        assert fit.profile_local is None
        assert fp.networks[nid].accounts_in_working_hours is None
    assert fp.networks["n"].fit.posts == 20
    assert fp.networks["empty"].fit.posts == 0
    assert fp.networks["empty"].accounts_active == 0
    # the same posts get an answer with a lower threshold
    events = fp.networks["n"].fit.events
    low = network_rhythms(
        case.con,
        assignment({"n": ["acc0000", "acc0001"]}),
        config=RhythmConfig(min_posts=events),
    )
    assert low.networks["n"].fit.rhythm == "office"


def test_posts_in_one_quarter_hour_count_as_one_event_and_profiles_count_posts() -> None:
    t = dt.datetime(2024, 3, 4, 10, 0, tzinfo=dt.UTC)  # a Monday
    case = new_case(
        posts=_posts_at(
            [
                ("a", t),
                ("a", t + dt.timedelta(minutes=5)),  # same account, same quarter: one event
                ("b", t + dt.timedelta(minutes=5)),  # another account: its own event
                ("a", t + dt.timedelta(days=6, hours=3)),  # Sunday 13:00 UTC
            ]
        )
    )
    fit = network_rhythms(case.con, assignment({"n": ["a", "b"]})).networks["n"].fit
    assert (fit.posts, fit.events) == (4, 3)
    assert fit.profile_utc[10] == 3  # Monday 10:00-11:00 UTC
    assert fit.profile_utc[6 * 24 + 13] == 1  # Sunday 13:00-14:00 UTC
    assert sum(fit.profile_utc) == 4 and len(fit.profile_utc) == 168
    assert fit.time_basis == "utc"  # too few events for an offset: shares in UTC
    assert fit.weekday_share == 0.75
    assert fit.working_hours_share == 0.75
    assert fit.active_window is not None and fit.active_window["share"] >= 0.9


@pytest.mark.parametrize("offset", [1.0, -3.5, 5.75])
def test_local_profile_and_shares_follow_the_offset_across_midnight_and_weekends(
    offset: float,
) -> None:
    posts = synthetic_rhythm_posts(
        "office", offset, accounts=20, posts_per_account=10, rng=np.random.default_rng(3)
    )
    case = new_case(posts=posts)
    members = sorted(set(posts["account_id"].to_pylist()))
    net = network_rhythms(case.con, assignment({"n": members})).networks["n"]
    fit = net.fit
    assert fit.utc_offset_hours is not None
    shift = dt.timedelta(hours=fit.utc_offset_hours)
    expected = [0] * 168
    weekday = 0
    for t in posts["timestamp"].to_pylist():
        local = t + shift  # local wall time, weekday of the local date
        expected[local.weekday() * 24 + local.hour] += 1
        weekday += local.weekday() < 5
    assert fit.profile_local == expected
    assert fit.weekday_share == round(weekday / posts.num_rows, 4)
    assert fit.time_basis == "local"
    assert fit.weekday_share > 0.9 and fit.working_hours_share > 0.9
    assert fit.lunch_share is not None and fit.lunch_share < 0.05
    assert fit.night_share is not None and fit.night_share < 0.05
    # 5% of posts are stray, so most but not all accounts stayed within office hours
    assert net.accounts_in_working_hours is not None
    assert 5 <= net.accounts_in_working_hours < net.accounts_active == 20


def test_accounts_in_working_hours_counts_accounts_not_posts() -> None:
    """Three accounts post weekdays 10:00/15:00 at UTC+2; one also posts on a Saturday."""
    monday = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)
    times = []
    for week in range(3):
        for day in range(5):
            for hour in (10, 15, 16):
                for acc in ("a", "b", "c"):
                    local = monday + dt.timedelta(days=7 * week + day, hours=hour, minutes=7)
                    times.append((acc, local - dt.timedelta(hours=2)))
    times.append(("c", monday + dt.timedelta(days=5, hours=9)))  # Saturday 11:00 local
    case = new_case(posts=_posts_at(times))
    net = network_rhythms(case.con, assignment({"n": ["a", "b", "c", "d"]})).networks["n"]
    assert net.fit.rhythm == "office"
    assert (net.accounts, net.accounts_active, net.accounts_in_working_hours) == (4, 3, 2)


def test_office_and_leisure_are_fitted_jointly() -> None:
    """Office data is never read as leisure at another offset, nor the reverse."""
    rng = np.random.default_rng(21)
    office = synthetic_rhythm_posts("office", -5.0, accounts=20, posts_per_account=10, rng=rng)
    leisure = synthetic_rhythm_posts(
        "leisure", 4.0, accounts=20, posts_per_account=10, rng=rng, prefix="lei"
    )
    case = new_case(posts=pa.concat_tables([office, leisure]))
    fp = network_rhythms(
        case.con,
        assignment(
            {
                "office": sorted(set(office["account_id"].to_pylist())),
                "leisure": sorted(set(leisure["account_id"].to_pylist())),
            }
        ),
    )
    o, lei = fp.networks["office"].fit, fp.networks["leisure"].fit
    assert o.rhythm == "office" and o.label_probabilities["office"] > 0.99
    assert lei.rhythm == "leisure" and lei.label_probabilities["leisure"] > 0.99
    assert o.utc_offset_hours is not None and abs(o.utc_offset_hours + 5.0) <= 0.25


def test_a_night_shift_pattern_is_unknown_not_round_the_clock() -> None:
    """Posts only 02:00-04:00 UTC, every day: no template fits, and the day is not flat."""
    start = dt.datetime(2024, 3, 4, 2, tzinfo=dt.UTC)
    rng = np.random.default_rng(2)
    times = [
        ("bot", start + dt.timedelta(days=int(d), minutes=int(m)))
        for d, m in zip(rng.integers(0, 21, 200), rng.integers(0, 120, 200), strict=True)
    ]
    case = new_case(posts=_posts_at(times))
    fit = network_rhythms(case.con, assignment({"n": ["bot"]})).networks["n"].fit
    assert fit.rhythm == "unknown"
    assert fit.utc_offset_hours is None
    assert fit.quiet_share == 0.0


@settings(max_examples=8, deadline=None)
@given(shift_hours=st.integers(min_value=-6, max_value=6))
def test_shifting_every_post_shifts_the_offset(shift_hours: int) -> None:
    """Moving all posts later by s hours makes the inferred local time zone s hours further west.

    (From UTC+02:00, every whole hour within six is a civil offset.)
    """
    shift_quarters = 4 * shift_hours
    posts = synthetic_rhythm_posts(
        "office", 2.0, accounts=10, posts_per_account=10, rng=np.random.default_rng(99)
    )
    moved = posts.set_column(
        2,
        "timestamp",
        pa.array(
            [t + dt.timedelta(minutes=15 * shift_quarters) for t in posts["timestamp"].to_pylist()],
            pa.timestamp("ms", tz="UTC"),
        ),
    )
    members = sorted(set(posts["account_id"].to_pylist()))
    before = network_rhythms(new_case(posts=posts).con, assignment({"n": members}))
    after = network_rhythms(new_case(posts=moved).con, assignment({"n": members}))
    b, a = before.networks["n"].fit, after.networks["n"].fit
    assert b.utc_offset_hours is not None and a.utc_offset_hours is not None
    assert a.utc_offset_hours == b.utc_offset_hours - shift_quarters / 4
    assert a.profile_local == b.profile_local


def test_result_is_json_ready_with_the_documented_keys() -> None:
    posts = synthetic_rhythm_posts(
        "office", 1.0, accounts=5, posts_per_account=10, rng=np.random.default_rng(0)
    )
    case = new_case(posts=posts)
    data = network_rhythms(case.con, assignment({"n": ["acc0000", "acc0001", "acc0002"]}))
    d = json.loads(json.dumps(data.as_dict()))
    assert d["config"]["min_posts"] == 30
    net = d["networks"]["n"]
    for key in (
        "network_id",
        "accounts",
        "accounts_active",
        "accounts_in_working_hours",
        "posts",
        "events",
        "rhythm",
        "utc_offset_hours",
        "utc_offset",
        "utc_offset_confidence",
        "label_probabilities",
        "quiet_share",
        "time_basis",
        "working_week",
        "weekday_share",
        "working_hours_share",
        "lunch_share",
        "night_share",
        "active_window",
        "profile_utc",
        "profile_local",
    ):
        assert key in net
    assert net["utc_offset"] == "UTC+01:00" and net["working_week"] == "Mon-Fri"
    table = account_rhythms(case.con).to_arrow()
    assert table.num_rows == 5
    assert table.column_names[:4] == ["account_id", "posts", "events", "rhythm"]


def test_account_rhythms_lists_requested_accounts_without_posts() -> None:
    case = new_case()
    fits = account_rhythms(case.con, ["ghost", "ghost"]).accounts
    assert list(fits) == ["ghost"]
    assert fits["ghost"].rhythm == "unknown" and fits["ghost"].posts == 0


def test_format_offset() -> None:
    assert format_offset(-9.5) == "UTC-09:30"
    assert format_offset(5.75) == "UTC+05:45"
    assert format_offset(14) == "UTC+14:00"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_posts": 0}, "min_posts=0"),
        ({"noise": 0.0}, "noise=0.0"),
        ({"flat_share": 0.5}, "flat_share=0.5"),
        ({"confidence_hours": 13.0}, "confidence_hours=13.0"),
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RhythmConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_assignment_is_refused() -> None:
    case = new_case()
    with pytest.raises(BadInputError, match="network_id"):
        network_rhythms(case.con, pa.table({"account_id": ["a"]}))
    with pytest.raises(BadInputError, match="more than once"):
        network_rhythms(case.con, pa.table({"account_id": ["a", "a"], "network_id": ["x", "y"]}))


def _afternoon_case(background: bool) -> tuple[list[str], object]:
    """Six accounts posting every ten minutes on Tuesday 2024-01-02, 13:30-19:30 UTC; with
    ``background``, the case also holds an account posting every hour for two weeks."""
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    office = [f"op{i}" for i in range(6)]
    times = [
        (a, t0 + dt.timedelta(days=1, hours=13, minutes=30 + 10 * k, seconds=37 * i))
        for i, a in enumerate(office)
        for k in range(36)
    ]
    if background:
        times += [("bg", t0 + dt.timedelta(hours=k, minutes=2)) for k in range(14 * 24)]
    return office, new_case(posts=_posts_at(times))


def test_confinement_is_judged_against_what_the_case_covers() -> None:
    # A one-afternoon collection: every post, of anyone, is in working hours at some offset,
    # so an account's posting only then tells nothing; no account can be telling.
    office, case = _afternoon_case(background=False)
    alone = network_rhythms(case.con, assignment({"O": office})).networks["O"]
    assert alone.fit.rhythm == "office" and alone.fit.utc_offset_hours is not None
    assert alone.covered_work_share == 1.0 and alone.telling_events is None
    assert (alone.accounts_telling, alone.accounts_confined) == (0, 0)
    assert alone.accounts_in_working_hours == 6  # the plain count is still reported
    # The same accounts in a case of two whole weeks: their silence outside the afternoon is
    # telling, at the whole week's threshold.
    office, case = _afternoon_case(background=True)
    weeks = network_rhythms(case.con, assignment({"O": office})).networks["O"]
    assert weeks.fit.utc_offset_hours == alone.fit.utc_offset_hours
    assert weeks.covered_work_share == pytest.approx(47.5 / 168, abs=0.01)  # 08:30-18:00
    assert weeks.telling_events == TELLING_POSTS == 4
    assert (weeks.accounts_telling, weeks.accounts_confined) == (6, 6)
    assert weeks.as_dict()["telling_events"] == 4
    # events, not posts: a burst of eight reposts within a minute is one event, not telling
    t0 = dt.datetime(2024, 1, 2, 14, 3, tzinfo=dt.UTC)
    burst = [("burst", t0 + dt.timedelta(seconds=5 * k)) for k in range(8)]
    _, case = _afternoon_case(background=True)
    case.con.executemany(
        "INSERT INTO posts (post_id, account_id, timestamp, kind) VALUES (?, ?, ?, 'post')",
        [(f"b{k}", a, t) for k, (a, t) in enumerate(burst)],
    )
    mixed = network_rhythms(case.con, assignment({"O": [*office, "burst"]})).networks["O"]
    assert (mixed.accounts_telling, mixed.accounts_confined) == (6, 6)


def test_telling_events_need_the_stated_evidence() -> None:
    for share in (0.1, 42.5 / 168, 0.4, 0.75, 0.99):
        k = telling_events(share)
        assert k is not None and share**k <= 0.01 * (1 + 1e-9) < share ** (k - 1)
    assert telling_events(1.0) is None and telling_events(0.0) == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40 * 96), min_size=1, max_size=30))
def test_coverage_runs_from_first_to_last_post_across_gaps_under_a_day(
    quarters: list[int],
) -> None:
    week = coverage_week(np.array(quarters))
    q = sorted(set(quarters))
    covered: set[int] = set()
    start = q[0]
    for prev, cur in zip([*q[:1], *q], [*q, None], strict=True):
        if cur is None or cur - prev > COVERAGE_GAP_QUARTERS:
            covered |= set(range(start, prev + 1))
            start = cur if cur is not None else start
    assert week.sum() == len(covered)
    expected = np.zeros(672)
    for c in covered:
        expected[(c + 3 * 96) % 672] += 1  # the epoch began on a Thursday
    assert np.array_equal(week, expected)


def test_office_templates_keep_the_working_weeks() -> None:
    weeks = office_templates()
    assert list(weeks) == list(WORKING_WEEKS) and next(iter(weeks)) == "Mon-Fri"
    assert np.array_equal(weeks["Mon-Fri"], rhythm_templates()["office"])
    for name, days in WORKING_WEEKS.items():
        by_day = weeks[name].reshape(7, 96).sum(axis=1)
        assert set(np.flatnonzero(by_day > 2 * by_day.min()).tolist()) == set(days), name
    assert WEEK_PRIOR.sum() == pytest.approx(1.0) and len(WEEK_PRIOR) == len(WORKING_WEEKS)
    assert WEEK_PRIOR[0] == WEEK_PRIOR.max()


@pytest.mark.parametrize("week", list(WORKING_WEEKS))
def test_the_working_week_is_fitted_with_the_offset(week: str) -> None:
    """Offices keeping each week, at offsets from the Americas to Asia: the fit names the week,
    its shares count the office's own working days, and its personas are confined."""
    rng = np.random.default_rng(21)
    offsets = [-5.0, 0.0, 3.0, 3.5, 8.0]
    tables = [
        synthetic_rhythm_posts(
            "office", off, accounts=20, posts_per_account=10, rng=rng, prefix=f"n{j}-",
            working_week=week,
        )
        for j, off in enumerate(offsets)
    ]  # fmt: skip
    case = new_case(posts=pa.concat_tables(tables))
    members = {f"n{j}": [f"n{j}-{a:04d}" for a in range(20)] for j in range(len(offsets))}
    nets = network_rhythms(case.con, assignment(members)).networks
    for j, off in enumerate(offsets):
        fit = nets[f"n{j}"].fit
        assert fit.rhythm == "office" and fit.working_week == week, (off, fit.working_week)
        assert fit.utc_offset_hours is not None and abs(fit.utc_offset_hours - off) <= 0.25
        assert fit.weekday_share is not None and fit.weekday_share >= 0.9
        net = nets[f"n{j}"]
        assert net.accounts_confined is not None and net.accounts_telling is not None
        assert 2 * net.accounts_confined >= net.accounts_telling >= 3


def test_a_monday_to_friday_office_stays_one_at_every_offset() -> None:
    """The 24-hour aliases at the ends of the range (Monday-Friday at UTC+13 has the clock times
    of Sunday-Thursday at UTC-11) go to the common week."""
    rng = np.random.default_rng(22)
    tables = [
        synthetic_rhythm_posts(
            "office", off, accounts=20, posts_per_account=10, rng=rng, prefix=f"n{j}-"
        )
        for j, off in enumerate(ALL_OFFSETS)
    ]
    case = new_case(posts=pa.concat_tables(tables))
    members = {f"n{j}": [f"n{j}-{a:04d}" for a in range(20)] for j in range(len(ALL_OFFSETS))}
    nets = network_rhythms(case.con, assignment(members)).networks
    weeks = [nets[f"n{j}"].fit.working_week for j in range(len(ALL_OFFSETS))]
    assert weeks == ["Mon-Fri"] * len(ALL_OFFSETS)


def test_leisure_has_no_working_week_and_counts_monday_to_friday() -> None:
    posts = synthetic_rhythm_posts(
        "leisure", 2.0, accounts=20, posts_per_account=20, rng=np.random.default_rng(23)
    )
    case = new_case(posts=posts)
    members = sorted(set(posts["account_id"].to_pylist()))
    fit = network_rhythms(case.con, assignment({"n": members})).networks["n"].fit
    assert fit.rhythm == "leisure" and fit.working_week is None
    assert fit.weekday_share is not None and 0.5 < fit.weekday_share < 0.75  # 5 of 7 days, less


def test_confinement_allows_half_an_hour_either_side_of_the_working_day() -> None:
    """Six personas at UTC+0 posting 09:00-17:00 on weekdays, each also once at 17:50 (inside
    08:30-18:00) and, for three of them, once at 18:20 (outside): three are confined."""
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # a Monday
    times = []
    for i in range(6):
        a = f"op{i}"
        for day in [d for d in range(14) if d % 7 < 5]:
            times += [
                (a, t0 + dt.timedelta(days=day, hours=h, minutes=7 * i)) for h in range(9, 17)
            ]
        times.append((a, t0 + dt.timedelta(days=2, hours=17, minutes=50)))
        if i < 3:
            times.append((a, t0 + dt.timedelta(days=3, hours=18, minutes=20)))
    case = new_case(posts=_posts_at(times))
    net = network_rhythms(case.con, assignment({"O": [f"op{i}" for i in range(6)]})).networks["O"]
    assert net.fit.utc_offset_hours == 0.0 and net.fit.working_week == "Mon-Fri"
    assert (net.accounts_telling, net.accounts_confined) == (6, 3)
    assert net.accounts_in_working_hours == 0  # the plain count keeps the 09:00-17:30 day


def test_an_office_between_civil_offsets_is_read_at_the_nearest_that_fits() -> None:
    """An office at 09:00 of UTC+07:45 (no zone keeps it) is reported at UTC+08:00, not +07:45.

    Its day, 01:15-09:45 UTC, is 15 minutes from the template's day at +08:00 and 45 from
    +07:00; no zone keeps +07:30 or +07:45.
    """
    posts = synthetic_rhythm_posts(
        "office", 7.75, accounts=20, posts_per_account=10, rng=np.random.default_rng(3)
    )
    members = sorted(set(posts["account_id"].to_pylist()))
    fit = network_rhythms(new_case(posts=posts).con, assignment({"n": members})).networks["n"].fit
    assert fit.rhythm == "office"
    assert fit.utc_offset_hours == 8.0
    assert round(4 * 7.75) not in OFFSET_QUARTERS.tolist()
    assert {round(4 * h) for h in (5.5, 5.75, -3.5, 13.75, -12, 14)} <= set(
        OFFSET_QUARTERS.tolist()
    )
