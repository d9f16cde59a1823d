"""Rhythm and location: when a network's accounts post, in which time zone, and why.

A person's posting follows sleep and work; a team of operators follows its office hours. This
module fits every network's (and, on request, every account's) posting times against three
documented weekly templates, each expressed in *local* time, and infers the UTC offset under
which the best template fits (see ``docs/fingerprints-a.md``):

* ``office``: on the working days 09:00-13:00 and 14:00-17:30 at full rate, 13:00-14:00
  (lunch) at a quarter of it, nothing at night or on the days of rest. The working week is
  fitted too, among the weeks offices keep (:data:`WORKING_WEEKS`): Monday to Friday in most of
  the world, Sunday to Thursday in much of the Middle East (Saudi Arabia, Egypt, Israel, the
  Gulf), Saturday to Wednesday, and the six-day weeks Monday to Saturday and Saturday to
  Thursday (Iran);
* ``leisure``: awake 07:00-01:00 with a low night 01:00-07:00, the most activity in the evening
  (19:00-23:00), and at weekends a later morning and a busier day;
* ``uniform``: flat over the week (shifts or automation).

Every template is mixed with a ``noise`` share spread uniformly over the week, so that a few
stray posts cost a little likelihood instead of ruling a template out.

**Model.** Time is cut into the 672 quarter-hours of a UTC week (Monday 00:00 first). Posts of
one account in the same quarter-hour count once (a burst of reposts is one *event*: events are
closer to independent than posts). Under template ``T`` and offset ``o`` (``local = UTC + o``,
one of the 40 offsets in civil use from -12:00 to +14:00, :data:`CIVIL_OFFSETS_HOURS`) the
events are a multinomial sample of the template shifted by ``o``; since the shift is over the
whole week, a post at 23:30 UTC on Friday falls on Saturday morning at UTC+1 and is scored with
the weekend part of the template. With equal prior weight on the three templates and on every
offset (the office's weight shared among its working weeks, half of it for Monday-Friday:
:data:`WEEK_PRIOR`), the posterior over ``(template, week, offset)`` follows from the
log-likelihoods (one matrix product for all networks).

**Label.** The template with the largest posterior mass is the label, provided the entity has at
least ``min_posts`` events (else ``unknown``). When ``uniform`` wins, the pattern is called
``round-the-clock`` unless the day is demonstrably not flat (its quietest eight hours hold less
than ``flat_share`` of the events, where a flat day holds a third, and a binomial test rejects
flatness), in which case it is ``unknown`` (a pattern no template describes, e.g. a night shift
on weekdays only). An office or leisure fit is also ``unknown`` when 90% of the events fall
within fewer than ``min_active_hours`` (4) hours of the day: a daily schedule, not a workday or
a waking day. Label and offset are fitted jointly:
office data can be fitted by the leisure template at another offset (09:00-17:30 read as an
evening), and only the joint posterior decides between the two readings.

**Offset and confidence.** The offset is the most likely offset under the winning template
(``None`` for ``round-the-clock`` and ``unknown``). Its confidence is the posterior probability,
summed over the office and leisure templates, of offsets within ``confidence_hours`` (1 h) of the
reported one. The templates are idealisations, so with many posts the confidence saturates
near 1 even when a real office keeps other hours: an office that works 08:00-16:30 is reported
one hour east of its true zone, with high confidence. Daylight saving time is not modelled: a
case spanning a clock change mixes two offsets one hour apart.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, get_args

import duckdb
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from scipy import stats
from scipy.special import logsumexp

from cibscan.case import open_case
from cibscan.errors import ConfigError
from cibscan.fingerprints._assignment import (
    fetch_arrow,
    network_ids,
    registered,
    validated_assignment,
)

__all__ = [
    "CONFINE_MARGIN_QUARTERS",
    "COVERAGE_GAP_QUARTERS",
    "LEISURE_WEEKDAY",
    "LEISURE_WEEKEND",
    "OFFICE_WEEKDAY",
    "TELLING_POSTS",
    "WEEK_PRIOR",
    "WORKING_WEEKS",
    "AccountRhythms",
    "NetworkRhythm",
    "Rhythm",
    "RhythmConfig",
    "RhythmEvaluation",
    "RhythmFingerprints",
    "RhythmFit",
    "SyntheticRhythm",
    "account_rhythms",
    "coverage_week",
    "evaluate_rhythm",
    "network_rhythms",
    "office_templates",
    "rhythm_templates",
    "synthetic_rhythm_posts",
    "telling_events",
    "utc_working_day",
    "working_days",
    "working_week_words",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

Rhythm = Literal["office", "leisure", "round-the-clock", "unknown"]
SyntheticRhythm = Literal["office", "leisure", "uniform"]

QUARTERS_PER_DAY: Final = 96
WEEK_BINS: Final = 7 * QUARTERS_PER_DAY
#: Offsets tried, in quarter-hours: the 40 offsets from UTC that the tz database's zones keep,
#: standard or daylight (2025): every whole hour from -12:00 to +14:00 and -09:30 (Marquesas),
#: -03:30 and -02:30 (Newfoundland), +03:30 (Iran), +04:30 (Afghanistan), +05:30 (India, Sri
#: Lanka), +05:45 (Nepal), +06:30 (Myanmar), +08:45 (Eucla), +09:30 and +10:30 (South
#: Australia, Lord Howe), +12:45 and +13:45 (Chatham). Local time is a civil time: a fit between
#: them (an office keeping other hours than the template's) is read at the nearest of them
#: that fits, not reported as a zone no one uses.
CIVIL_OFFSETS_HOURS: Final = (
    *range(-12, -9), -9.5, *range(-9, -3), -3.5, -3, -2.5, *range(-2, 4), 3.5, 4, 4.5, 5, 5.5,
    5.75, 6, 6.5, 7, 8, 8.75, 9, 9.5, 10, 10.5, 11, 12, 12.75, 13, 13.75, 14,
)  # fmt: skip
OFFSET_QUARTERS: Final = np.array([round(4 * h) for h in CIVIL_OFFSETS_HOURS], np.int64)
#: 1970-01-01 (epoch quarter-hour 0) was a Thursday: three days after a Monday.
_EPOCH_WEEK_SHIFT: Final = 3 * QUARTERS_PER_DAY
_MINUTE_MS: Final = 60_000
_DAY_MS: Final = 86_400_000

#: Office template, local weekdays: (start minute, end minute, relative rate). Weekends: none.
OFFICE_WEEKDAY: Final = (
    (9 * 60, 13 * 60, 1.0),
    (13 * 60, 14 * 60, 0.25),
    (14 * 60, 17 * 60 + 30, 1.0),
)
#: Leisure template, local weekdays (Monday-Friday), relative rate per hour 00-23.
LEISURE_WEEKDAY: Final = (
    0.5, 0.15, 0.08, 0.05, 0.05, 0.05, 0.1, 0.3, 0.5, 0.5, 0.5, 0.55,
    0.65, 0.6, 0.5, 0.5, 0.55, 0.7, 0.85, 1.0, 1.0, 1.0, 0.9, 0.7,
)  # fmt: skip
#: Leisure template, local Saturday and Sunday: later morning, busier day, 1.2 x the volume.
LEISURE_WEEKEND: Final = (
    0.7, 0.4, 0.15, 0.08, 0.05, 0.05, 0.05, 0.1, 0.25, 0.5, 0.75, 0.85,
    0.9, 0.9, 0.9, 0.9, 0.9, 0.95, 1.0, 1.05, 1.05, 1.0, 0.9, 0.7,
)  # fmt: skip
_LEISURE_WEEKEND_VOLUME: Final = 1.2

#: The working weeks an office template may keep: name -> working days (Monday = 0). The first
#: is the default where no office week is fitted (the shares of a leisure or unknown fit).
WORKING_WEEKS: Final[dict[str, tuple[int, ...]]] = {
    "Mon-Fri": (0, 1, 2, 3, 4),
    "Sun-Thu": (6, 0, 1, 2, 3),
    "Sat-Wed": (5, 6, 0, 1, 2),
    "Mon-Sat": (0, 1, 2, 3, 4, 5),
    "Sat-Thu": (5, 6, 0, 1, 2, 3),
}
_WEEK_NAMES: Final = tuple(WORKING_WEEKS)
#: Prior weight of each working week within the office template: Monday-Friday, the week of
#: most of the world, half; the others an eighth each. It also settles the 24-hour aliases at
#: the ends of the offset range (a Monday-Friday office at UTC+13 keeps the clock times of a
#: Sunday-Thursday one at UTC-11) in favour of the common week.
WEEK_PRIOR: Final = np.array([0.5, 0.125, 0.125, 0.125, 0.125])
#: The office working window used for the supporting shares (09:00-17:30 local on working days).
_WORK_START, _WORK_END = 9 * 4, 17 * 4 + 2
#: Confinement (an account posting nothing outside working hours) is judged on the working
#: window widened by half an hour either side, 08:30-18:00: the offset is fitted to the
#: quarter-hour and a real office keeps its own hours (a 09:00-18:00 day is fitted 15 minutes
#: off), so a persona's last post at 17:50 is still at work.
CONFINE_MARGIN_QUARTERS: Final = 2
_LUNCH_START, _LUNCH_END = 13 * 4, 14 * 4
_NIGHT_START, _NIGHT_END = 1 * 4, 7 * 4
_TEMPLATES: Final = ("office", "leisure", "uniform")
#: Bonferroni factor for the quietest of the 96 overlapping eight-hour windows of a day (chosen
#: by simulation: with it, 1-3% of flat samples of 30-400 events are called not flat at 0.01).
_QUIET_WINDOWS: Final = 12


# ---------------------------------------------------------------------------------------------
# Configuration and results


@dataclass(frozen=True)
class RhythmConfig:
    """How posting rhythms are fitted.

    Parameters
    ----------
    min_posts
        Minimum events (posts, one per account and quarter-hour) for an answer; fewer give
        ``unknown`` and no offset. At 30 pooled events the office offset is found within
        15 minutes in about 95% of synthetic trials (``docs/fingerprints-a.md``).
    noise
        Share of every template spread uniformly over the week (stray posts, scheduling).
    flat_share, flat_alpha
        A pattern that no template beats ``uniform`` on is ``round-the-clock`` unless its
        quietest eight hours of the day hold less than ``flat_share`` of its events (flat: 1/3)
        *and* a binomial test rejects flatness at level ``flat_alpha``; then it is ``unknown``.
    confidence_hours
        Half-width of the offset interval whose posterior mass is the confidence.
    active_share
        The active window is the shortest time-of-day window holding this share of posts.
    min_active_hours
        An office or leisure fit whose events fit (``active_share`` of them) into a shorter
        window of the day is ``unknown``: a daily schedule (a bot posting 02:00-04:00, one
        short shift) that a template happens to fit better than ``uniform``.

    Examples
    --------
    >>> RhythmConfig(min_posts=50).min_posts
    50
    """

    min_posts: int = 30
    noise: float = 0.05
    flat_share: float = 0.2
    flat_alpha: float = 0.01
    confidence_hours: float = 1.0
    active_share: float = 0.9
    min_active_hours: float = 4.0

    def __post_init__(self) -> None:
        if isinstance(self.min_posts, bool) or not isinstance(self.min_posts, int):
            raise ConfigError(f"rhythm config min_posts={self.min_posts!r}: must be an integer")
        if self.min_posts < 1:
            raise ConfigError(f"rhythm config min_posts={self.min_posts}: must be at least 1")
        if not 0.0 < self.noise < 1.0:
            raise ConfigError(f"rhythm config noise={self.noise}: must be between 0 and 1")
        if not 0.0 <= self.flat_share <= 1.0 / 3.0:
            raise ConfigError(
                f"rhythm config flat_share={self.flat_share}: must be between 0 and 1/3 "
                "(a flat day holds 1/3 of its events in any eight hours)"
            )
        if not 0.0 < self.flat_alpha < 1.0:
            raise ConfigError(f"rhythm config flat_alpha={self.flat_alpha}: must be in (0, 1)")
        if not 0.0 <= self.confidence_hours <= 12.0:
            raise ConfigError(
                f"rhythm config confidence_hours={self.confidence_hours}: must be 0 to 12"
            )
        if not 0.0 <= self.min_active_hours <= 24.0:
            raise ConfigError(
                f"rhythm config min_active_hours={self.min_active_hours}: must be 0 to 24"
            )
        if not 0.0 < self.active_share <= 1.0:
            raise ConfigError(f"rhythm config active_share={self.active_share}: must be in (0, 1]")

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as plain JSON-compatible data."""
        return asdict(self)


@dataclass(frozen=True)
class RhythmFit:
    """The fitted rhythm of one account or one network.

    Attributes
    ----------
    posts, events
        Posts, and events (distinct account x quarter-hour) the fit used.
    rhythm
        ``office``, ``leisure``, ``round-the-clock`` or ``unknown``.
    utc_offset_hours
        Inferred offset of local time from UTC in hours (e.g. ``1.0``, ``5.75``), or ``None``.
    utc_offset_confidence
        Posterior probability that the offset lies within ``confidence_hours`` of the reported
        one (0 when no offset is reported).
    label_probabilities
        Posterior probability of each template: ``office``, ``leisure``, ``uniform``.
    quiet_share
        Share of events in the quietest eight hours of the (UTC) day; 1/3 when flat.
    time_basis
        ``local`` when the shares, window and local profile use the inferred offset, ``utc``
        when no offset is known.
    working_week
        The working week of an ``office`` fit, a key of :data:`WORKING_WEEKS` (``Mon-Fri``,
        ``Sun-Thu``, ...); ``None`` for other labels.
    weekday_share, working_hours_share, lunch_share, night_share
        Shares of posts on the working days (of ``working_week``; Monday-Friday without one);
        on those days 09:00-17:30; of those working-hours posts, in 13:00-14:00; and at
        01:00-07:00. ``None`` without posts.
    active_window
        The shortest time-of-day window holding ``active_share`` of the posts: ``start``,
        ``end`` (``HH:MM``) and ``share``; ``None`` without posts.
    profile_utc
        Posts per hour of the UTC week (168 values, Monday 00:00-01:00 first).
    profile_local
        The same in local time, or ``None`` without an offset.
    """

    posts: int
    events: int
    rhythm: Rhythm
    utc_offset_hours: float | None
    utc_offset_confidence: float
    label_probabilities: dict[str, float]
    quiet_share: float | None
    time_basis: Literal["local", "utc"]
    working_week: str | None
    weekday_share: float | None
    working_hours_share: float | None
    lunch_share: float | None
    night_share: float | None
    active_window: dict[str, Any] | None
    profile_utc: list[int]
    profile_local: list[int] | None

    @property
    def utc_offset_label(self) -> str | None:
        """The offset as ``UTC+05:45`` (``None`` without an offset)."""
        return None if self.utc_offset_hours is None else format_offset(self.utc_offset_hours)

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        data = asdict(self)
        data["utc_offset"] = self.utc_offset_label
        return data


@dataclass(frozen=True)
class NetworkRhythm:
    """The rhythm of one network, from its accounts' pooled posts.

    Attributes
    ----------
    network_id
        The network.
    accounts
        Accounts assigned to it.
    accounts_active
        Of those, accounts with at least one post.
    accounts_in_working_hours
        Active accounts all of whose posts fall on the local working days (of the fit's
        ``working_week``; Monday-Friday without one) 09:00-17:30 at the network's offset
        (``None`` without an offset), so a report can say "38 of 41 accounts posted only
        between 09:00 and 17:30 UTC+01:00 on working days".
    fit
        The fitted rhythm.
    accounts_telling
        Active accounts with at least ``telling_events`` events (posts in distinct
        quarter-hours): enough that all of them falling in working hours would be unlikely (at
        most 1%) for events at random times of what the case covers, so that such an account
        is *confined* to working hours, not just quiet. ``None`` without an offset.
    accounts_confined
        Of the telling accounts, those all of whose posts fall in working hours, judged on the
        confinement window (08:30-18:00 of the working days, :data:`CONFINE_MARGIN_QUARTERS`
        either side of the working day; ``None`` without an offset).
    covered_work_share
        The share of the case's coverage (:func:`coverage_week`) that is in the confinement
        window at the network's offset: 47.5 of 168 hours for a five-day week in a case of
        whole weeks, 57 for a six-day week, 1 for a case collected on one weekday afternoon.
    telling_events
        The events that make an account telling (:func:`telling_events` of
        ``covered_work_share``: :data:`TELLING_POSTS`, 4, for whole weeks); ``None`` when the
        coverage is all working hours, so that no account can tell.
    """

    network_id: str
    accounts: int
    accounts_active: int
    accounts_in_working_hours: int | None
    fit: RhythmFit
    accounts_telling: int | None = None
    accounts_confined: int | None = None
    covered_work_share: float | None = None
    telling_events: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data: the network's counts and its fit, flattened."""
        return {
            "network_id": self.network_id,
            "accounts": self.accounts,
            "accounts_active": self.accounts_active,
            "accounts_in_working_hours": self.accounts_in_working_hours,
            "accounts_telling": self.accounts_telling,
            "accounts_confined": self.accounts_confined,
            "covered_work_share": self.covered_work_share,
            "telling_events": self.telling_events,
            **self.fit.as_dict(),
        }


@dataclass(frozen=True)
class RhythmFingerprints:
    """Rhythm fingerprints of every network of an assignment."""

    networks: dict[str, NetworkRhythm]
    config: RhythmConfig

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data: the config and one entry per network."""
        return {
            "config": self.config.as_dict(),
            "networks": {k: v.as_dict() for k, v in self.networks.items()},
        }


@dataclass(frozen=True)
class AccountRhythms:
    """Rhythms of single accounts."""

    accounts: dict[str, RhythmFit]
    config: RhythmConfig

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data: the config and one entry per account."""
        return {
            "config": self.config.as_dict(),
            "accounts": {k: v.as_dict() for k, v in self.accounts.items()},
        }

    def to_arrow(self) -> pa.Table:
        """One row per account: ``account_id, posts, events, rhythm, utc_offset_hours,
        utc_offset_confidence, weekday_share, working_hours_share``."""
        fits = list(self.accounts.values())
        return pa.table(
            {
                "account_id": pa.array(list(self.accounts), pa.string()),
                "posts": pa.array([f.posts for f in fits], pa.int64()),
                "events": pa.array([f.events for f in fits], pa.int64()),
                "rhythm": pa.array([f.rhythm for f in fits], pa.string()),
                "utc_offset_hours": pa.array([f.utc_offset_hours for f in fits], pa.float64()),
                "utc_offset_confidence": pa.array(
                    [f.utc_offset_confidence for f in fits], pa.float64()
                ),
                "weekday_share": pa.array([f.weekday_share for f in fits], pa.float64()),
                "working_hours_share": pa.array(
                    [f.working_hours_share for f in fits], pa.float64()
                ),
            }
        )


_DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def working_days(week: str | None) -> tuple[int, ...]:
    """The working days of a week of :data:`WORKING_WEEKS` (Monday = 0); Monday to Friday when
    ``None`` or unknown.

    Examples
    --------
    >>> working_days("Sun-Thu"), working_days(None)
    ((6, 0, 1, 2, 3), (0, 1, 2, 3, 4))
    """
    return WORKING_WEEKS.get(week or "", WORKING_WEEKS["Mon-Fri"])


def working_week_words(week: str | None) -> str:
    """A working week in words: ``Sunday to Thursday``; Monday to Friday when ``None``.

    Examples
    --------
    >>> working_week_words("Sun-Thu"), working_week_words(None)
    ('Sunday to Thursday', 'Monday to Friday')
    """
    days = working_days(week)
    return f"{_DAY_NAMES[days[0]]} to {_DAY_NAMES[days[-1]]}"


def utc_working_day(hours: float) -> str:
    """The office template's working day (09:00-17:30 local) in UTC, at an offset in hours.

    This is what the office fit measures: the hours of UTC the work falls in. The offset
    follows from it only if the office keeps a 09:00 start; a shift that starts at 06:00 or
    14:00 reads as an offset three or five hours off, with the same confidence.

    Examples
    --------
    >>> utc_working_day(1.0), utc_working_day(11.5), utc_working_day(-5)
    ('08:00-16:30 UTC', '21:30-06:00 UTC', '14:00-22:30 UTC')
    """
    start = round((_WORK_START * 15 - hours * 60) % 1440)
    end = round((_WORK_END * 15 - hours * 60) % 1440)
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d} UTC"


def format_offset(hours: float) -> str:
    """Format an offset in hours as ``UTC+05:45``.

    Examples
    --------
    >>> format_offset(-3.5), format_offset(5.75), format_offset(0)
    ('UTC-03:30', 'UTC+05:45', 'UTC+00:00')
    """
    minutes = round(hours * 60)
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# ---------------------------------------------------------------------------------------------
# Templates


def _weekly_from_intervals(
    intervals: tuple[tuple[int, int, float], ...], days: tuple[int, ...]
) -> FloatArray:
    week = np.zeros((7, QUARTERS_PER_DAY))
    for start, end, rate in intervals:
        week[list(days), start // 15 : end // 15] = rate
    return week.reshape(-1)


def _weekly_from_hours(weekday: tuple[float, ...], weekend: tuple[float, ...]) -> FloatArray:
    week = np.empty((7, QUARTERS_PER_DAY))
    week[:5] = np.repeat(np.asarray(weekday, dtype=np.float64), 4)
    week[5:] = _LEISURE_WEEKEND_VOLUME * np.repeat(np.asarray(weekend, dtype=np.float64), 4)
    return week.reshape(-1)


def _normalised(shape: FloatArray, noise: float) -> FloatArray:
    return np.asarray((1.0 - noise) * shape / shape.sum() + noise / WEEK_BINS, dtype=np.float64)


def rhythm_templates(noise: float = 0.05) -> dict[str, FloatArray]:
    """The three weekly templates in local time: 672 quarter-hour probabilities each.

    ``office`` is the Monday-Friday week; :func:`office_templates` gives every working week.

    Examples
    --------
    >>> t = rhythm_templates()
    >>> sorted(t), round(float(t["office"].sum()), 6), int(t["office"].argmax())
    (['leisure', 'office', 'uniform'], 1.0, 36)
    """
    shapes = {
        "office": _weekly_from_intervals(OFFICE_WEEKDAY, WORKING_WEEKS["Mon-Fri"]),
        "leisure": _weekly_from_hours(LEISURE_WEEKDAY, LEISURE_WEEKEND),
        "uniform": np.ones(WEEK_BINS),
    }
    return {name: _normalised(shape, noise) for name, shape in shapes.items()}


def office_templates(noise: float = 0.05) -> dict[str, FloatArray]:
    """The office template for each working week of :data:`WORKING_WEEKS`, in local time.

    Examples
    --------
    >>> t = office_templates()
    >>> week = t["Sun-Thu"]
    >>> list(t)[:2], sorted({int(i) // 96 for i in np.flatnonzero(week == week.max())})
    (['Mon-Fri', 'Sun-Thu'], [0, 1, 2, 3, 6])
    """
    return {
        name: _normalised(_weekly_from_intervals(OFFICE_WEEKDAY, days), noise)
        for name, days in WORKING_WEEKS.items()
    }


def _shifted_log_templates(noise: float) -> dict[str, FloatArray]:
    """``L[m, b] = log T[(b + k_m) mod 672]``: the template read at UTC bin ``b``, offset ``m``.

    ``office`` stacks the working weeks: row ``w * len(OFFSET_QUARTERS) + m`` is week ``w`` at
    offset ``m``."""
    bins = (np.arange(WEEK_BINS)[None, :] + OFFSET_QUARTERS[:, None]) % WEEK_BINS
    logs = {
        name: np.log(t)[bins] for name, t in rhythm_templates(noise).items() if name != "office"
    }
    logs["office"] = np.concatenate([np.log(t)[bins] for t in office_templates(noise).values()])
    return logs


# ---------------------------------------------------------------------------------------------
# Fitting


@dataclass(frozen=True)
class _Fits:
    """Vectorised fit of ``n`` entities (rows of the week matrices)."""

    labels: list[Rhythm]
    offset_quarters: IntArray  # local shift in quarter-hours; 0 where no offset
    has_offset: NDArray[np.bool_]
    confidence: FloatArray
    label_probabilities: FloatArray  # (n, 3) office, leisure, uniform
    quiet_share: FloatArray  # nan without events
    week: IntArray  # index into WORKING_WEEKS of an office fit; 0 (Monday-Friday) otherwise


def _fit(events: FloatArray, config: RhythmConfig) -> _Fits:
    """Fit the templates to an ``(n, 672)`` matrix of events per UTC quarter-hour of the week."""
    n = events.shape[0]
    logs = _shifted_log_templates(config.noise)
    n_offsets = len(OFFSET_QUARTERS)
    n_weeks = len(WORKING_WEEKS)
    # log p(data, template, offset) with prior 1/3 per template and 1/40 per offset; the
    # office's third is shared among its working weeks by WEEK_PRIOR
    week_log_prior = np.repeat(np.log(WEEK_PRIOR), n_offsets)
    joint_office = events @ logs["office"].T - np.log(3 * n_offsets) + week_log_prior[None, :]
    joint_leisure = events @ logs["leisure"].T - np.log(3 * n_offsets)
    joint_uniform = events @ logs["uniform"][0] - np.log(3)
    marginal = np.column_stack(
        [logsumexp(joint_office, axis=1), logsumexp(joint_leisure, axis=1), joint_uniform]
    )
    evidence = logsumexp(marginal, axis=1)
    label_prob = np.exp(marginal - evidence[:, None])
    winner = np.argmax(marginal, axis=1)

    office_best = np.argmax(joint_office, axis=1)  # week * n_offsets + offset; ties: the first week
    week = np.where(winner == 0, office_best // n_offsets, 0).astype(np.int64)
    best = np.where(winner == 1, np.argmax(joint_leisure, axis=1), office_best % n_offsets)
    near = np.abs(OFFSET_QUARTERS[None, :] - OFFSET_QUARTERS[best][:, None]) <= round(
        config.confidence_hours * 4
    )
    # the offset's confidence sums the office's weeks: a question of where, not of which days
    post_office = np.exp(joint_office - evidence[:, None]).reshape(n, n_weeks, n_offsets).sum(1)
    post_leisure = np.exp(joint_leisure - evidence[:, None])
    confidence = ((post_office + post_leisure) * near).sum(axis=1)

    totals = events.sum(axis=1)
    daily = events.reshape(n, 7, QUARTERS_PER_DAY).sum(axis=1)
    quiet = _window_sums(daily, 32).min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        quiet_share = np.where(totals > 0, quiet / np.maximum(totals, 1), np.nan)

    # a day is "not flat" when its quietest eight hours are both quieter than flat by the
    # effect size and significantly so: binomial(n, 1/3), x12 for the choice among windows
    not_flat = (quiet_share < config.flat_share) & (
        _QUIET_WINDOWS * stats.binom.cdf(quiet, totals, 1.0 / 3.0) < config.flat_alpha
    )
    # a day packed into a few hours is a schedule (a bot, one shift), not office or leisure
    narrow_length = max(1, round(config.min_active_hours * 4) - 1)
    narrow = _window_sums(daily, narrow_length).max(axis=1) >= config.active_share * totals
    enough = totals >= config.min_posts
    labels: list[Rhythm] = []
    for i in range(n):
        if not enough[i] or (winner[i] != 2 and narrow[i]):
            labels.append("unknown")
        elif winner[i] == 0:
            labels.append("office")
        elif winner[i] == 1:
            labels.append("leisure")
        elif not not_flat[i]:
            labels.append("round-the-clock")
        else:
            labels.append("unknown")
    has_offset = np.array([lab in ("office", "leisure") for lab in labels], dtype=np.bool_)
    return _Fits(
        labels=labels,
        offset_quarters=np.where(has_offset, OFFSET_QUARTERS[best], 0).astype(np.int64),
        has_offset=has_offset,
        confidence=np.where(has_offset, np.clip(confidence, 0.0, 1.0), 0.0),
        label_probabilities=label_prob,
        quiet_share=quiet_share,
        week=np.where(np.array([lab == "office" for lab in labels], dtype=np.bool_), week, 0),
    )


def _window_sums(daily: FloatArray, length: int) -> FloatArray:
    """Sums over every circular window of ``length`` quarter-hours of a daily profile."""
    doubled = np.concatenate([daily, daily], axis=1)
    cum = np.concatenate([np.zeros((daily.shape[0], 1)), np.cumsum(doubled, axis=1)], axis=1)
    starts = np.arange(QUARTERS_PER_DAY)
    return np.asarray(cum[:, starts + length] - cum[:, starts], dtype=np.float64)


def _to_local(week: FloatArray, shift: IntArray) -> FloatArray:
    """Rotate each row of a UTC week matrix by its shift (``local = UTC + shift``)."""
    idx = (np.arange(WEEK_BINS)[None, :] - shift[:, None]) % WEEK_BINS
    return np.take_along_axis(week, idx, axis=1)


def _telling_posts(level: float = 0.01) -> int:
    """The fewest posts that all fall in working hours (the confinement window of a
    Monday-Friday week, 47.5 of the week's 168 hours) with probability at most ``level`` when
    each is at a random time of the week."""
    share = float(_masks()["confine"].mean())
    return int(np.ceil(np.log(level) / np.log(share)))


def _masks(week: int = 0) -> dict[str, NDArray[np.bool_]]:
    """Masks of the local week: working hours, lunch, night, working days, and the wider
    confinement window, for working week ``week`` (an index into :data:`WORKING_WEEKS`)."""
    days = list(WORKING_WEEKS[_WEEK_NAMES[week]])
    grid = np.zeros((7, QUARTERS_PER_DAY), dtype=np.bool_)
    work, lunch, night, weekday, confine = (grid.copy() for _ in range(5))
    work[days, _WORK_START:_WORK_END] = True
    lunch[days, _LUNCH_START:_LUNCH_END] = True
    night[:, _NIGHT_START:_NIGHT_END] = True
    weekday[days] = True
    confine[days, _WORK_START - CONFINE_MARGIN_QUARTERS : _WORK_END + CONFINE_MARGIN_QUARTERS] = (
        True
    )
    return {
        "work": work.reshape(-1),
        "lunch": lunch.reshape(-1),
        "night": night.reshape(-1),
        "weekday": weekday.reshape(-1),
        "confine": confine.reshape(-1),
    }


@functools.cache
def _week_masks(name: str) -> NDArray[np.bool_]:
    """``(len(WORKING_WEEKS), 672)``: mask ``name`` of every working week (cached, read-only)."""
    stacked = np.stack([_masks(w)[name] for w in range(len(WORKING_WEEKS))])
    stacked.flags.writeable = False
    return stacked


#: Events an account needs for "all in working hours" to tell when the case covers whole weeks
#: (see ``NetworkRhythm``): 4.
TELLING_POSTS: Final = _telling_posts()

#: A day without a single post in the case is a gap in its collection, not a quiet day.
COVERAGE_GAP_QUARTERS: Final = QUARTERS_PER_DAY


def coverage_week(quarters: IntArray) -> FloatArray:
    """The quarter-hours of the week that a case's collection covers, and how often.

    ``quarters`` are the quarter-hours since the epoch in which the case has any post. The
    collection is taken to run from its first post to its last, except across a day or more
    without a single post in the case (:data:`COVERAGE_GAP_QUARTERS`): a one-afternoon scrape
    covers one afternoon, a weekly show's four broadcasts cover four evenings, a takedown archive
    of months covers every hour of the week about equally.

    Examples
    --------
    >>> week = coverage_week(np.array([0, 4, 8]))  # two hours on Thursday 1 January 1970
    >>> int(week.sum()), int(week.argmax())
    (9, 288)
    """
    week = np.zeros(WEEK_BINS, dtype=np.float64)
    if not len(quarters):
        return week
    q = np.unique(np.asarray(quarters, dtype=np.int64))
    breaks = np.flatnonzero(np.diff(q) > COVERAGE_GAP_QUARTERS)
    starts = np.concatenate([q[:1], q[breaks + 1]])
    ends = np.concatenate([q[breaks], q[-1:]]) + 1
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        whole, rest = divmod(end - start, WEEK_BINS)
        week += whole
        first = (start + _EPOCH_WEEK_SHIFT) % WEEK_BINS
        bins = (first + np.arange(rest)) % WEEK_BINS
        np.add.at(week, bins, 1.0)
    return week


def telling_events(work_share: float, level: float = 0.01) -> int | None:
    """The fewest events all in working hours with probability at most ``level``, for events at
    random times of the collection, of which a share ``work_share`` is working hours.

    ``None`` when all of the collection is working hours: nobody can be told to be confined.

    Examples
    --------
    >>> telling_events(42.5 / 168), telling_events(0.5), telling_events(1.0)
    (4, 7, None)
    """
    if work_share >= 1.0:
        return None
    if work_share <= 0.0:
        return 1
    return int(np.ceil(np.log(level) / np.log(work_share) - 1e-9))


def _clock(quarter: int) -> str:
    quarter %= QUARTERS_PER_DAY
    return f"{quarter // 4:02d}:{quarter % 4 * 15:02d}"


def _active_windows(daily: FloatArray, share: float) -> list[dict[str, Any] | None]:
    """Shortest circular time-of-day window holding ``share`` of each row's posts."""
    n = daily.shape[0]
    totals = daily.sum(axis=1)
    doubled = np.concatenate([daily, daily], axis=1)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(doubled, axis=1)], axis=1)
    # rows of a cumulative sum are non-decreasing: lifting row i by i * big makes the whole
    # matrix one sorted array, so a single searchsorted finds every row's window ends
    big = float(totals.max(initial=0.0)) * 2.0 + 1.0
    lift = (np.arange(n, dtype=np.float64) * big)[:, None]
    starts = np.arange(QUARTERS_PER_DAY)
    targets = cum[:, starts] + share * totals[:, None] - 1e-9 + lift
    ends = np.searchsorted((cum + lift).reshape(-1), targets.reshape(-1), side="left")
    ends = ends.reshape(n, QUARTERS_PER_DAY) - np.arange(n)[:, None] * cum.shape[1]
    lengths = np.minimum(ends, starts + QUARTERS_PER_DAY) - starts[None, :]
    best = np.argmin(lengths, axis=1)
    out: list[dict[str, Any] | None] = []
    for i in range(n):
        if totals[i] <= 0:
            out.append(None)
            continue
        start, length = int(best[i]), int(lengths[i, best[i]])
        held = cum[i, start + length] - cum[i, start]
        out.append(
            {
                "start": _clock(start),
                "end": _clock(start + length),
                "share": round(float(held / totals[i]), 4),
            }
        )
    return out


def _fits_from_weeks(
    events: FloatArray, posts: FloatArray, config: RhythmConfig
) -> tuple[list[RhythmFit], _Fits]:
    fits = _fit(events, config)
    n = events.shape[0]
    local = _to_local(posts, fits.offset_quarters)  # shift 0 where no offset: UTC
    totals = posts.sum(axis=1)
    event_totals = events.sum(axis=1)

    def masked(name: str) -> FloatArray:
        """Per row, the posts in mask ``name`` of the row's working week."""
        return np.asarray((local * _week_masks(name)[fits.week]).sum(axis=1), dtype=np.float64)

    work = masked("work")

    def share(num: FloatArray, den: FloatArray) -> list[float | None]:
        return [None if d <= 0 else round(float(x / d), 4) for x, d in zip(num, den, strict=True)]

    weekday = share(masked("weekday"), totals)
    working = share(work, totals)
    lunch = share(masked("lunch"), work)
    night = share(masked("night"), totals)
    windows = _active_windows(
        local.reshape(n, 7, QUARTERS_PER_DAY).sum(axis=1), config.active_share
    )
    hourly_utc = posts.reshape(n, 168, 4).sum(axis=2).astype(np.int64)
    hourly_local = local.reshape(n, 168, 4).sum(axis=2).astype(np.int64)
    out = []
    for i in range(n):
        has = bool(fits.has_offset[i])
        quiet = float(fits.quiet_share[i])
        out.append(
            RhythmFit(
                posts=int(totals[i]),
                events=int(event_totals[i]),
                rhythm=fits.labels[i],
                utc_offset_hours=float(fits.offset_quarters[i]) / 4 if has else None,
                utc_offset_confidence=round(float(fits.confidence[i]), 4),
                label_probabilities={
                    name: round(float(p), 4)
                    for name, p in zip(_TEMPLATES, fits.label_probabilities[i], strict=True)
                },
                quiet_share=None if np.isnan(quiet) else round(quiet, 4),
                time_basis="local" if has else "utc",
                working_week=_WEEK_NAMES[fits.week[i]] if fits.labels[i] == "office" else None,
                weekday_share=weekday[i],
                working_hours_share=working[i],
                lunch_share=lunch[i],
                night_share=night[i],
                active_window=windows[i],
                profile_utc=hourly_utc[i].tolist(),
                profile_local=hourly_local[i].tolist() if has else None,
            )
        )
    return out, fits


# ---------------------------------------------------------------------------------------------
# Public functions


_QUARTERS_SQL: Final = """
    SELECT {key}, p.account_id,
           CAST(floor(epoch(p.timestamp) / 900) AS BIGINT) AS quarter,
           count(*) AS posts
    FROM posts p {join}
    WHERE p.timestamp IS NOT NULL
    GROUP BY ALL
"""

#: The quarter-hours in which the case has any post (its collection's coverage).
_COVERED_SQL: Final = """
    SELECT DISTINCT CAST(floor(epoch(timestamp) / 900) AS BIGINT) AS quarter
    FROM posts WHERE timestamp IS NOT NULL
"""


def _week_bins(quarters: IntArray) -> IntArray:
    return np.asarray((quarters + _EPOCH_WEEK_SHIFT) % WEEK_BINS, dtype=np.int64)


def _weeks(row: IntArray, bins: IntArray, weights: FloatArray, n: int) -> FloatArray:
    flat = np.bincount(row * WEEK_BINS + bins, weights=weights, minlength=n * WEEK_BINS)
    return np.asarray(flat.reshape(n, WEEK_BINS), dtype=np.float64)


def network_rhythms(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    *,
    config: RhythmConfig | None = None,
) -> RhythmFingerprints:
    """Fit the rhythm (label, UTC offset, shares, profile) of every network of an assignment.

    The posts of a network's accounts are pooled, so a network of accounts with few posts each
    still gets an answer once it has ``config.min_posts`` events in all.

    Parameters
    ----------
    con
        A case-store connection (its ``posts`` table is read).
    assignment
        ``account_id, network_id``: one row per account.
    config
        Fitting options; :class:`RhythmConfig` defaults when ``None``.

    Returns
    -------
    RhythmFingerprints
        One :class:`NetworkRhythm` per network of the assignment, sorted by network id.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> fp = network_rhythms(open_case().con, pa.table({"account_id": ["a"], "network_id": ["n"]}))
    >>> fp.networks["n"].fit.rhythm, fp.networks["n"].fit.utc_offset_hours
    ('unknown', None)
    """
    config = config or RhythmConfig()
    table = validated_assignment(assignment)
    networks = network_ids(table)
    net_index = {nid: i for i, nid in enumerate(networks)}
    indexed = pa.table(
        {
            "account_id": table["account_id"],
            "net": pa.array([net_index[v] for v in table["network_id"].to_pylist()], pa.int64()),
            "acc": pa.array(np.arange(table.num_rows), pa.int64()),
        }
    )
    with registered(con, indexed, "assignment") as name:
        rows = fetch_arrow(
            con,
            _QUARTERS_SQL.format(key="a.net, a.acc", join=f"JOIN {name} a USING (account_id)"),
        )
    net_row = rows["net"].to_numpy().astype(np.int64)
    acc_row = rows["acc"].to_numpy().astype(np.int64)
    n_accounts = table.num_rows
    bins = _week_bins(rows["quarter"].to_numpy().astype(np.int64))
    posts_n = rows["posts"].to_numpy().astype(np.float64)
    n = len(networks)
    events = _weeks(net_row, bins, np.ones(len(bins)), n)
    posts = _weeks(net_row, bins, posts_n, n)
    fits, raw = _fits_from_weeks(events, posts, config)

    # accounts whose every post falls in local working hours (of the network's working week)
    # at the network's offset; confined: nothing outside the wider confinement window
    local_bins = (bins + raw.offset_quarters[net_row]) % WEEK_BINS
    row_week = raw.week[net_row]
    off_work = ~_week_masks("work")[row_week, local_bins]
    off_confine = ~_week_masks("confine")[row_week, local_bins]
    outside = np.bincount(acc_row, weights=posts_n * off_work, minlength=n_accounts)
    beyond = np.bincount(acc_row, weights=posts_n * off_confine, minlength=n_accounts)
    has_posts = np.bincount(acc_row, minlength=n_accounts) > 0
    acc_net = indexed["net"].to_numpy()
    active = np.bincount(acc_net, weights=has_posts.astype(np.float64), minlength=n)
    in_work = np.bincount(
        acc_net, weights=(has_posts & (outside == 0)).astype(np.float64), minlength=n
    )
    # Telling accounts: enough events that all in working hours would be unlikely for events
    # at random times of what the case covers (not of a whole week: a one-afternoon scrape is
    # all working hours at some offset, and says nothing of who else its accounts are).
    covered = coverage_week(fetch_arrow(con, _COVERED_SQL)["quarter"].to_numpy().astype(np.int64))
    confine = _week_masks("confine")[raw.week]  # (networks, 672), local
    shift = (np.arange(WEEK_BINS)[None, :] + raw.offset_quarters[:, None]) % WEEK_BINS
    in_confine = np.take_along_axis(confine, shift, axis=1)  # read at each UTC bin
    work_share = (in_confine * covered[None, :]).sum(axis=1) / max(covered.sum(), 1.0)
    needed = [telling_events(float(x)) for x in work_share]
    threshold = np.array([np.inf if k is None else k for k in needed], dtype=np.float64)
    account_events = np.bincount(acc_row, minlength=n_accounts)
    telling = account_events >= threshold[acc_net]
    n_telling = np.bincount(acc_net, weights=telling.astype(np.float64), minlength=n)
    n_confined = np.bincount(
        acc_net, weights=(telling & (beyond == 0)).astype(np.float64), minlength=n
    )
    members = np.bincount(acc_net, minlength=n)
    result = {
        nid: NetworkRhythm(
            network_id=nid,
            accounts=int(members[i]),
            accounts_active=int(active[i]),
            accounts_in_working_hours=int(in_work[i]) if raw.has_offset[i] else None,
            fit=fits[i],
            accounts_telling=int(n_telling[i]) if raw.has_offset[i] else None,
            accounts_confined=int(n_confined[i]) if raw.has_offset[i] else None,
            covered_work_share=round(float(work_share[i]), 4) if raw.has_offset[i] else None,
            telling_events=needed[i] if raw.has_offset[i] else None,
        )
        for i, nid in enumerate(networks)
    }
    return RhythmFingerprints(networks=result, config=config)


def account_rhythms(
    con: duckdb.DuckDBPyConnection,
    account_ids: list[str] | None = None,
    *,
    config: RhythmConfig | None = None,
    batch_size: int = 5000,
) -> AccountRhythms:
    """Fit the rhythm of single accounts.

    Parameters
    ----------
    con
        A case-store connection.
    account_ids
        Accounts to fit; ``None`` for every account with posts. Listed accounts without posts
        are returned as ``unknown``.
    config
        Fitting options.
    batch_size
        Accounts fitted at once (memory: about ``batch_size`` x 10 kB).

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> account_rhythms(open_case().con, ["a"]).accounts["a"].rhythm
    'unknown'
    """
    config = config or RhythmConfig()
    if account_ids is None:
        rows = fetch_arrow(con, _QUARTERS_SQL.format(key="1 AS one", join=""))
        wanted = sorted({str(v) for v in rows["account_id"].to_pylist()})
    else:
        wanted = list(dict.fromkeys(str(a) for a in account_ids))
        ids = pa.table({"account_id": pa.array(wanted, pa.string())})
        with registered(con, ids, "accounts") as name:
            rows = fetch_arrow(
                con,
                _QUARTERS_SQL.format(key="1 AS one", join=f"JOIN {name} a USING (account_id)"),
            )
    index = {a: i for i, a in enumerate(wanted)}
    acc_row = np.array([index[v] for v in rows["account_id"].to_pylist()], dtype=np.int64)
    bins = _week_bins(rows["quarter"].to_numpy().astype(np.int64))
    posts_n = rows["posts"].to_numpy().astype(np.float64)
    order = np.argsort(acc_row, kind="stable")
    acc_row, bins, posts_n = acc_row[order], bins[order], posts_n[order]
    out: dict[str, RhythmFit] = {}
    for lo in range(0, len(wanted), batch_size):
        hi = min(lo + batch_size, len(wanted))
        a, b = np.searchsorted(acc_row, [lo, hi])
        rows_b = acc_row[a:b] - lo
        events = _weeks(rows_b, bins[a:b], np.ones(b - a), hi - lo)
        posts = _weeks(rows_b, bins[a:b], posts_n[a:b], hi - lo)
        fits, _ = _fits_from_weeks(events, posts, config)
        out.update(zip(wanted[lo:hi], fits, strict=True))
    return AccountRhythms(accounts=out, config=config)


# ---------------------------------------------------------------------------------------------
# Synthetic rhythms and the accuracy benchmark


def synthetic_rhythm_posts(
    kind: SyntheticRhythm,
    offset_hours: float,
    *,
    accounts: int,
    posts_per_account: int,
    rng: np.random.Generator,
    days: int = 21,
    noise: float = 0.05,
    start: str = "2024-03-04",
    prefix: str = "acc",
    working_week: str = "Mon-Fri",
) -> pa.Table:
    """Posts of synthetic accounts with a known rhythm and UTC offset.

    The generators are written independently of the templates (each account has its own
    habits), so the benchmark measures more than the templates' fit to themselves:

    * ``office``: the working days of ``working_week`` (a key of :data:`WORKING_WEEKS`); each
      account starts at 09:00 plus 0-15 min, lunches for an hour from 13:00 +- 10 min, and
      stops at 17:30 minus 0-15 min; posts uniform within.
    * ``leisure``: each account wakes near 07:00 and sleeps near 23:30 (+- 40 min; on the days
      of rest of ``working_week`` 1.5 h and 1 h later); twice the rate after 18:00; days of
      rest 1.5 x as busy.
    * ``uniform``: uniform over the window.

    A ``noise`` share of the posts is uniform over the window whatever the kind. Times start
    on ``start`` (local midnight) and cover ``days`` days.

    Returns
    -------
    pyarrow.Table
        ``post_id, account_id, timestamp`` (UTC), accounts named ``{prefix}{i:04d}``.

    Examples
    --------
    >>> t = synthetic_rhythm_posts("office", 1.0, accounts=2, posts_per_account=3,
    ...                            rng=np.random.default_rng(0))
    >>> t.num_rows, t.column_names
    (6, ['post_id', 'account_id', 'timestamp'])
    """
    if kind not in get_args(SyntheticRhythm):
        raise ConfigError(f"synthetic rhythm {kind!r}: use one of {get_args(SyntheticRhythm)}")
    if working_week not in WORKING_WEEKS:
        raise ConfigError(f"working week {working_week!r}: use one of {_WEEK_NAMES}")
    n = accounts * posts_per_account
    owner = np.repeat(np.arange(accounts), posts_per_account)
    start_day = dt.date.fromisoformat(start)
    first_weekday = start_day.weekday()
    day_index = np.arange(days)
    weekend_day = ~np.isin((first_weekday + day_index) % 7, WORKING_WEEKS[working_week])
    if kind == "office":
        arrive = 540 + rng.uniform(0, 15, accounts)
        lunch = 780 + rng.uniform(-10, 10, accounts)
        leave = 1050 - rng.uniform(0, 15, accounts)
        workdays = day_index[~weekend_day]
        day = rng.choice(workdays, n)
        morning = lunch[owner] - arrive[owner]
        afternoon = leave[owner] - lunch[owner] - 60
        u = rng.random(n) * (morning + afternoon)
        minute = np.where(u < morning, arrive[owner] + u, lunch[owner] + 60 + (u - morning))
    elif kind == "leisure":
        p_day = np.where(weekend_day, 1.5, 1.0)
        day = rng.choice(days, n, p=p_day / p_day.sum())
        weekend = weekend_day[day]
        wake = 420 + rng.normal(0, 40, accounts)[owner] + np.where(weekend, 90, 0)
        sleep = 1410 + rng.normal(0, 40, accounts)[owner] + np.where(weekend, 60, 0)
        minute = np.empty(n)
        todo = np.arange(n)
        while len(todo):  # rejection sampling: rate 1 before 18:00, 2 after
            proposal = wake[todo] + rng.random(len(todo)) * (sleep[todo] - wake[todo])
            keep = rng.random(len(todo)) < np.where(proposal >= 1080, 1.0, 0.5)
            minute[todo[keep]] = proposal[keep]
            todo = todo[~keep]
    else:
        day = rng.integers(0, days, n)
        minute = rng.random(n) * 1440
    stray = rng.random(n) < noise
    day = np.where(stray, rng.integers(0, days, n), day)
    minute = np.where(stray, rng.random(n) * 1440, minute)
    base_ms = int(dt.datetime.combine(start_day, dt.time(), dt.UTC).timestamp() * 1000)
    local_ms = day * _DAY_MS + (minute * _MINUTE_MS).astype(np.int64)
    utc_ms = base_ms + local_ms - round(offset_hours * 60) * _MINUTE_MS
    return pa.table(
        {
            "post_id": pa.array([f"{prefix}-p{i}" for i in range(n)], pa.string()),
            "account_id": pa.array([f"{prefix}{a:04d}" for a in owner], pa.string()),
            "timestamp": pa.array(utc_ms, pa.timestamp("ms", tz="UTC")),
        }
    )


def _hit_rate(errors: list[float | None], limit_hours: float) -> float:
    """Share of errors (hours; ``None``: no offset reported) within the limit."""
    return sum(e is not None and e <= limit_hours + 1e-9 for e in errors) / max(1, len(errors))


@dataclass(frozen=True)
class RhythmEvaluation:
    """Accuracy of the rhythm fit on synthetic networks with known offsets.

    Attributes
    ----------
    rows
        One dict per synthetic kind: ``kind``, ``networks``, ``offsets`` (tried),
        ``exact`` (offset exactly right), ``within_15min``, ``within_1h``, ``label_correct``
        (rates 0..1), ``mean_confidence``, ``week_correct`` (office rows: the share fitted with
        the synthetic working week; ``None`` for the others).
    settings
        Accounts, posts per account, days, noise and seed of the trial.
    """

    rows: list[dict[str, Any]]
    settings: dict[str, Any]

    def as_markdown(self) -> str:
        """The rows as a Markdown table."""
        lines = [
            "| kind | networks | offsets tried | exact | within 15 min | within 1 h "
            "| label correct | mean confidence | working week correct |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in self.rows:
            rates = [
                "n/a" if r[k] is None else f"{r[k]:.3f}"
                for k in ("exact", "within_15min", "within_1h")
            ]
            week = r.get("week_correct")
            lines.append(
                f"| {r['kind']} | {r['networks']} | {r['offsets']} | {' | '.join(rates)} "
                f"| {r['label_correct']:.3f} | {r['mean_confidence']:.3f} "
                f"| {'n/a' if week is None else format(week, '.3f')} |"
            )
        return "\n".join(lines)


def evaluate_rhythm(
    *,
    offsets: list[float] | None = None,
    kinds: tuple[SyntheticRhythm, ...] = ("office", "leisure", "uniform"),
    accounts: int = 20,
    posts_per_account: int = 10,
    days: int = 21,
    noise: float = 0.05,
    seed: int = 0,
    config: RhythmConfig | None = None,
    working_week: str = "Mon-Fri",
) -> RhythmEvaluation:
    """Measure offset and label accuracy: one synthetic network per kind and offset.

    Every network goes through :func:`network_rhythms` on an in-memory case. ``uniform``
    networks have no offset to find; their label should be ``round-the-clock``. The synthetic
    accounts keep ``working_week`` (its days of rest are a leisure crowd's weekend too); the
    rows' ``week_correct`` is the share of office networks fitted with that week.

    Examples
    --------
    >>> ev = evaluate_rhythm(offsets=[1.0], kinds=("office",))
    >>> ev.rows[0]["within_15min"]
    1.0
    """
    offsets = offsets if offsets is not None else [q / 4 for q in OFFSET_QUARTERS.tolist()]
    rng = np.random.default_rng(seed)
    expected = {"office": "office", "leisure": "leisure", "uniform": "round-the-clock"}
    truth: dict[str, tuple[str, float]] = {}
    tables = []
    for kind in kinds:
        for j, off in enumerate(offsets):
            nid = f"{kind}{j:03d}"
            truth[nid] = (kind, off)
            tables.append(
                synthetic_rhythm_posts(
                    kind,
                    off,
                    accounts=accounts,
                    posts_per_account=posts_per_account,
                    rng=rng,
                    days=days,
                    noise=noise,
                    prefix=f"{nid}-",
                    working_week=working_week,
                )
            )
    posts = pa.concat_tables(tables)
    assignment = pa.table(
        {
            "account_id": [f"{nid}-{a:04d}" for nid in truth for a in range(accounts)],
            "network_id": [nid for nid in truth for _ in range(accounts)],
        }
    )
    with open_case() as case, registered(case.con, posts, "synthetic") as name:
        case.con.execute(f"INSERT INTO posts BY NAME SELECT * FROM {name}")
        fp = network_rhythms(case.con, assignment, config=config)
    rows = []
    for kind in kinds:
        nets = [nid for nid, (k, _) in truth.items() if k == kind]
        found = [fp.networks[nid].fit.utc_offset_hours for nid in nets]
        errors = [
            None if f is None else abs(f - truth[nid][1])
            for f, nid in zip(found, nets, strict=True)
        ]
        offset_known = kind != "uniform"

        rows.append(
            {
                "kind": kind,
                "networks": len(nets),
                "offsets": f"{min(offsets):+g} to {max(offsets):+g} h ({len(offsets)})",
                "exact": _hit_rate(errors, 0.0) if offset_known else None,
                "within_15min": _hit_rate(errors, 0.25) if offset_known else None,
                "within_1h": _hit_rate(errors, 1.0) if offset_known else None,
                "label_correct": sum(fp.networks[nid].fit.rhythm == expected[kind] for nid in nets)
                / len(nets),
                "mean_confidence": float(
                    np.mean([fp.networks[nid].fit.utc_offset_confidence for nid in nets])
                ),
                "week_correct": sum(
                    fp.networks[nid].fit.working_week == working_week for nid in nets
                )
                / len(nets)
                if kind == "office"
                else None,
            }
        )
    return RhythmEvaluation(
        rows=rows,
        settings={
            "accounts": accounts,
            "posts_per_account": posts_per_account,
            "days": days,
            "noise": noise,
            "seed": seed,
            "working_week": working_week,
        },
    )
