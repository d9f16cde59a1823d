"""Hashtag hijacking: networks that take over the top results of popular hashtags.

A troll farm floods a popular hashtag so that whoever looks at it sees the farm's posts first.
For each popular hashtag this module measures, per time bin, which share of the tag's posts
(*volume*) and of its *top results* each network supplied, and compares the network's top
results with what its share of the tag's accounts would give.

Top results are, per hashtag and bin, the ``top_k`` posts with the most ``engagement``; posts
without engagement rank after those with it, most recent first (so without any engagement data
the top results are the most recent posts, as a "latest" tab shows them).

Test: under the null a network of accounts behaves like any other accounts on the tag, so each
of the tag's ``T`` top-result slots is the network's with probability ``a`` = its share of the
tag's accounts; the network's count ``X`` of top results is tested with the one-sided binomial
``P(X >= x | T, a)``. The p-values of every hashtag x network test are adjusted together with
Benjamini-Hochberg. A hijack is flagged when ``q <= alpha``, the network's top share is at least
``min_share_ratio`` times its account share, and at least ``min_accounts`` of its accounts used
the tag.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, get_args

import duckdb
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from scipy import stats

from cibscan.errors import ConfigError
from cibscan.fingerprints._assignment import fetch_arrow as _fetch_arrow
from cibscan.fingerprints._assignment import registered as _registered
from cibscan.fingerprints._assignment import validated_assignment as _validated_assignment
from cibscan.significance import benjamini_hochberg

__all__ = [
    "HashtagConfig",
    "HashtagHijack",
    "HashtagHijacking",
    "HijackPoint",
    "TimeBin",
    "benjamini_hochberg",
    "hashtag_hijacking",
]

TimeBin = Literal["hour", "day"]
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class HashtagConfig:
    """Which hashtags are examined and when a network's share counts as a hijack.

    Parameters
    ----------
    top_hashtags
        Examine at most this many hashtags, the largest by number of posts.
    min_volume
        ... and only those with at least this many posts.
    time_bin
        ``"hour"`` or ``"day"``: the period whose top results are ranked.
    top_k
        Top results per hashtag and bin.
    alpha
        False discovery rate (Benjamini-Hochberg over all hashtag x network tests).
    min_share_ratio
        Minimum ratio of top share to account share (the effect size).
    min_accounts
        Minimum accounts of the network that used the tag (one account is not a network).
    """

    top_hashtags: int = 50
    min_volume: int = 20
    time_bin: TimeBin = "hour"
    top_k: int = 10
    alpha: float = 0.05
    min_share_ratio: float = 3.0
    min_accounts: int = 2

    def __post_init__(self) -> None:
        if self.time_bin not in get_args(TimeBin):
            raise ConfigError(
                f"hashtag time_bin must be one of {get_args(TimeBin)}, not {self.time_bin!r}"
            )
        for name in ("top_hashtags", "min_volume", "top_k", "min_accounts"):
            if getattr(self, name) < 1:
                raise ConfigError(f"hashtag {name} must be at least 1, not {getattr(self, name)}")
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"hashtag alpha must be in (0, 1), not {self.alpha}")
        if self.min_share_ratio < 1.0:
            raise ConfigError(f"hashtag min_share_ratio must be >= 1, not {self.min_share_ratio}")

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class HijackPoint:
    """A network's shares of one hashtag in one time bin."""

    time: str
    volume_share: float
    top_share: float

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class HashtagHijack:
    """One hashtag a network hijacked.

    Attributes
    ----------
    hashtag
        The tag (lower case, without ``#``).
    volume_share, top_share, account_share
        The network's share of the tag's posts, of its top results and of its accounts.
    posts, accounts, top_posts
        The network's posts with the tag, its accounts that used it, and its top results.
    p_value, q_value
        One-sided binomial p-value of ``top_posts`` given ``account_share``; BH-adjusted.
    series
        Shares per time bin in which the tag had posts, in time order.
    volume_p_value, volume_q_value
        Flooding: one-sided Mann-Whitney p-value that the network's accounts post the tag more
        often each than the background's accounts; BH-adjusted.
    flagged_by
        ``top`` (top results taken over), ``volume`` (the tag flooded), or both.
    """

    hashtag: str
    volume_share: float
    top_share: float
    account_share: float
    posts: int
    accounts: int
    top_posts: int
    p_value: float
    q_value: float
    series: list[HijackPoint]
    volume_p_value: float = 1.0
    volume_q_value: float = 1.0
    flagged_by: tuple[str, ...] = ("top",)

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        out = asdict(self)
        out["flagged_by"] = list(self.flagged_by)
        out["series"] = [p.as_dict() for p in self.series]
        return out


@dataclass(frozen=True)
class HashtagHijacking:
    """Hijacked hashtags of every network of an assignment.

    Attributes
    ----------
    networks
        Network id -> its hijacked hashtags, strongest first (every network of the
        assignment has an entry, possibly empty).
    popular_hashtags
        The hashtags examined, largest first.
    tests
        Number of hashtag x network tests adjusted together.
    config
        The :class:`HashtagConfig` used.
    """

    networks: dict[str, list[HashtagHijack]]
    popular_hashtags: list[str]
    tests: int
    config: HashtagConfig

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data: ``{network_id: {"hijacked_hashtags": [...]}}`` and context."""
        return {
            "config": self.config.as_dict(),
            "popular_hashtags": self.popular_hashtags,
            "tests": self.tests,
            "networks": {
                k: {"hijacked_hashtags": [h.as_dict() for h in v]} for k, v in self.networks.items()
            },
        }


def _tag_network_sql(assignment: str, config: HashtagConfig) -> tuple[str, str, str]:
    """SQL of the popular tags, the per (tag, network) totals and the per-bin series."""
    base = f"""
        WITH tagged AS (
            SELECT DISTINCT post_id, account_id, timestamp, engagement, tag AS hashtag
            FROM (SELECT post_id, account_id, timestamp, engagement, unnest(hashtags) AS tag
                  FROM posts
                  WHERE account_id IS NOT NULL AND timestamp IS NOT NULL)
            WHERE coalesce(tag, '') <> ''
        ),
        popular AS (
            SELECT hashtag, count(*) AS volume FROM tagged GROUP BY hashtag
            HAVING count(*) >= {int(config.min_volume)}
            ORDER BY volume DESC, hashtag LIMIT {int(config.top_hashtags)}
        ),
        ranked AS (
            SELECT t.*, a.network_id,
                   date_trunc('{config.time_bin}', t.timestamp) AS bin,
                   row_number() OVER (
                       PARTITION BY t.hashtag, date_trunc('{config.time_bin}', t.timestamp)
                       ORDER BY t.engagement DESC NULLS LAST, t.timestamp DESC, t.post_id
                   ) <= {int(config.top_k)} AS top
            FROM tagged t JOIN popular USING (hashtag)
            LEFT JOIN {assignment} a USING (account_id)
        )"""
    totals = f"""{base},
        per_tag AS (
            SELECT hashtag, count(*) AS volume, count(DISTINCT account_id) AS tag_accounts,
                   count(*) FILTER (WHERE top) AS tag_top
            FROM ranked GROUP BY hashtag
        )
        SELECT r.hashtag, r.network_id, count(*) AS posts,
               count(DISTINCT r.account_id) AS accounts,
               count(*) FILTER (WHERE r.top) AS top_posts,
               any_value(t.volume) AS volume, any_value(t.tag_accounts) AS tag_accounts,
               any_value(t.tag_top) AS tag_top
        FROM ranked r JOIN per_tag t USING (hashtag)
        WHERE r.network_id IS NOT NULL
        GROUP BY r.hashtag, r.network_id
        ORDER BY r.hashtag, r.network_id"""
    series = f"""{base}
        SELECT hashtag, network_id, strftime(bin, '{_TIME_FORMAT}') AS time,
               count(*) FILTER (WHERE network_id IS NOT NULL) OVER w_net AS net_posts,
               count(*) FILTER (WHERE network_id IS NOT NULL AND top) OVER w_net AS net_top,
               count(*) OVER w_bin AS bin_posts,
               count(*) FILTER (WHERE top) OVER w_bin AS bin_top
        FROM ranked
        WINDOW w_net AS (PARTITION BY hashtag, bin, network_id),
               w_bin AS (PARTITION BY hashtag, bin)
        QUALIFY row_number() OVER (PARTITION BY hashtag, bin, network_id ORDER BY post_id) = 1
        ORDER BY hashtag, bin, network_id NULLS FIRST"""
    popular = f"{base} SELECT hashtag FROM popular ORDER BY volume DESC, hashtag"
    return popular, totals, series


def _volume_pvalues(
    con: duckdb.DuckDBPyConnection, assignment: str, totals: dict[str, list[Any]]
) -> NDArray[np.float64]:
    """Mann-Whitney p-values: network accounts post the tag more often than background ones."""
    tags = sorted(set(totals["hashtag"]))
    rows = con.execute(
        f"""
        SELECT p.h, a.network_id, count(*) AS n
        FROM (SELECT account_id, unnest(hashtags) AS h FROM posts) p
        LEFT JOIN {assignment} a USING (account_id)
        WHERE p.h IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY p.h, p.account_id, a.network_id
        """,
        [tags],
    ).fetchall()
    counts: dict[tuple[str, str | None], list[int]] = {}
    for tag, net, n in rows:
        counts.setdefault((tag, net), []).append(int(n))
    out = np.ones(len(totals["hashtag"]), dtype=np.float64)
    for i, (tag, net) in enumerate(zip(totals["hashtag"], totals["network_id"], strict=True)):
        mine, rest = counts.get((tag, net), []), counts.get((tag, None), [])
        if len(mine) >= 2 and rest:
            out[i] = float(stats.mannwhitneyu(mine, rest, alternative="greater").pvalue)
    return out


def hashtag_hijacking(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    *,
    config: HashtagConfig | None = None,
) -> HashtagHijacking:
    """Find the popular hashtags whose top results a network took over.

    Parameters
    ----------
    con
        The case's DuckDB connection (reads ``posts``: ``hashtags``, ``engagement``,
        ``timestamp``).
    assignment
        ``account_id``, ``network_id`` strings. Accounts not in it are the background.
    config
        A :class:`HashtagConfig`.

    Returns
    -------
    HashtagHijacking
        Per network, ``hijacked_hashtags`` with volume, top and account shares, counts, p and
        q values and the per-bin series.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from cibscan.case import open_case
    >>> result = hashtag_hijacking(open_case().con,
    ...                            pa.table({"account_id": ["a"], "network_id": ["n"]}))
    >>> result.as_dict()["networks"]
    {'n': {'hijacked_hashtags': []}}
    """
    config = config or HashtagConfig()
    table = _validated_assignment(assignment)
    with _registered(con, table, "assignment") as name:
        popular_sql, totals_sql, series_sql = _tag_network_sql(name, config)
        popular = [str(r[0]) for r in con.execute(popular_sql).fetchall()]
        totals = _fetch_arrow(con, totals_sql).to_pydict()
        n = len(totals["hashtag"])
        top = np.asarray(totals["top_posts"], dtype=np.float64)
        tag_top = np.asarray(totals["tag_top"], dtype=np.float64)
        accounts = np.asarray(totals["accounts"], dtype=np.float64)
        account_share = accounts / np.maximum(np.asarray(totals["tag_accounts"], float), 1.0)
        top_share = top / np.maximum(tag_top, 1.0)
        volume_share = np.asarray(totals["posts"], float) / np.maximum(
            np.asarray(totals["volume"], float), 1.0
        )
        p = stats.binom.sf(top - 1, tag_top, account_share) if n else np.zeros(0)
        q = benjamini_hochberg(np.asarray(p, dtype=np.float64))
        by_top = (
            (q <= config.alpha)
            & (top_share >= config.min_share_ratio * account_share)
            & (accounts >= config.min_accounts)
        )
        # Flooding: a network can own a tag's volume without reaching its most engaged posts.
        # Accounts, not posts, are the units (one heavy poster is not a flood), so the test is
        # a rank test of the network accounts' per-account counts against the background's.
        vp = _volume_pvalues(con, name, totals) if n else np.zeros(0)
        vq = benjamini_hochberg(np.asarray(vp, dtype=np.float64))
        by_volume = (
            (vq <= config.alpha)
            & (volume_share >= config.min_share_ratio * account_share)
            & (accounts >= config.min_accounts)
        )
        flagged = by_top | by_volume
        wanted = {(totals["hashtag"][i], totals["network_id"][i]) for i in np.flatnonzero(flagged)}
        series: dict[tuple[str, str], list[HijackPoint]] = {}
        if wanted:
            rows = con.execute(series_sql).fetchall()
            bins: dict[str, set[str]] = {}
            for tag, net, time, net_posts, net_top, bin_posts, bin_top in rows:
                bins.setdefault(tag, set()).add(time)
                if (tag, net) in wanted:
                    series.setdefault((tag, net), []).append(
                        HijackPoint(
                            time,
                            round(net_posts / bin_posts, 6),
                            round(net_top / bin_top, 6) if bin_top else 0.0,
                        )
                    )
            # Bins in which the network did not post the tag are part of the series too.
            for tag, net in wanted:
                filled = {pt.time: pt for pt in series.get((tag, net), [])}
                series[(tag, net)] = [
                    filled.get(t, HijackPoint(t, 0.0, 0.0)) for t in sorted(bins.get(tag, ()))
                ]
    networks: dict[str, list[HashtagHijack]] = {
        str(n_id): [] for n_id in sorted(set(table["network_id"].to_pylist()))
    }
    for i in np.flatnonzero(flagged):
        tag, net = totals["hashtag"][i], totals["network_id"][i]
        networks[net].append(
            HashtagHijack(
                hashtag=tag,
                volume_share=round(float(volume_share[i]), 6),
                top_share=round(float(top_share[i]), 6),
                account_share=round(float(account_share[i]), 6),
                posts=int(totals["posts"][i]),
                accounts=int(accounts[i]),
                top_posts=int(top[i]),
                p_value=float(p[i]),
                q_value=float(q[i]),
                series=series.get((tag, net), []),
                volume_p_value=float(vp[i]),
                volume_q_value=float(vq[i]),
                flagged_by=tuple(
                    k for k, hit in (("top", by_top[i]), ("volume", by_volume[i])) if hit
                ),
            )
        )
    for hijacks in networks.values():
        hijacks.sort(key=lambda h: (min(h.q_value, h.volume_q_value), -h.top_share, h.hashtag))
    return HashtagHijacking(networks=networks, popular_hashtags=popular, tests=n, config=config)
