"""Coordinated *and* inauthentic: markers that separate an operation from an organic campaign.

Co-action statistics find accounts that act together more than chance allows. Fans running a
hashtag campaign and news outlets syndicating one feed do that too, and openly. What a takedown
rests on is coordination *plus* signs that the accounts are not what they claim to be. Each
coordinated group found by :mod:`cibscan.clusters` is checked for such markers, each measured
against the rest of the case by the fingerprint modules:

``office_hours``
    The group's pooled posts fit a working-day template (weekdays, working hours, lunch pause)
    better than a leisure or a flat one, with the UTC offset known at the stated confidence:
    staff on a shift, not citizens posting in their evenings.
``round_the_clock``
    Activity flat over the 24 hours of the day, pooled *and* for most members on their own
    (at least half of the members whose rhythm can be fitted): shifts or automation. A crowd
    of people from many time zones pools to a flat day too, but each of them sleeps.
``creation_burst``
    Several accounts created within one hour or day, far more than the case's background
    creation rate predicts (Bonferroni-bounded p-value below ``burst_alpha``).
``shared_infrastructure``
    One IP address or device used by a tenth of the group (at least three accounts) and by
    fewer accounts outside it.
``handle_template``
    Handles of one shape (name plus digits) held by a fifth of the group (at least three) and
    at least ten times rarer in the case.
``reused_profile``
    One display name, bio or profile image reused by a tenth of the group (at least three) and
    rare elsewhere in the case.

A group with at least ``min_markers`` markers is reported as a network (flagged); the others are
reported as coordinated groups without markers, a control the investigator can inspect.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import pyarrow as pa

from cibscan.errors import ConfigError
from cibscan.fingerprints.creation import creation_fingerprints
from cibscan.fingerprints.infra import infra_fingerprints
from cibscan.fingerprints.rhythm import account_rhythms, network_rhythms

__all__ = ["AssessmentConfig", "GroupAssessment", "assess_groups"]


@dataclass(frozen=True)
class AssessmentConfig:
    """Thresholds of the inauthenticity markers (see the module documentation).

    Parameters
    ----------
    min_markers
        Markers a coordinated group needs to be flagged; ``0`` flags every coordinated group.
    min_offset_confidence
        Confidence of the UTC offset for ``office_hours``.
    burst_alpha
        Level of the creation-burst test.
    share
        Share of the group a shared value must cover (infrastructure, reused profile fields).
    template_share, template_lift
        Share of the group and rarity in the case of a handle template.
    """

    min_markers: int = 1
    min_offset_confidence: float = 0.8
    burst_alpha: float = 0.01
    share: float = 0.1
    template_share: float = 0.2
    template_lift: float = 10.0

    def __post_init__(self) -> None:
        if self.min_markers < 0:
            raise ConfigError(f"min_markers must be >= 0, got {self.min_markers}")
        for name in ("min_offset_confidence", "burst_alpha", "share", "template_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"{name} must be in [0, 1], got {value}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready configuration."""
        return asdict(self)


@dataclass
class GroupAssessment:
    """The markers found for one coordinated group, with the fingerprints behind them."""

    group_id: str
    markers: list[dict[str, Any]]
    rhythm: dict[str, Any]
    creation: dict[str, Any]
    infra: dict[str, Any] | None

    def flagged(self, config: AssessmentConfig) -> bool:
        """Whether the group has enough markers to be reported as a network."""
        return len(self.markers) >= config.min_markers


def _at_least(size: int, share: float) -> int:
    return max(3, int(-(-size * share // 1)))


def assess_groups(
    con: duckdb.DuckDBPyConnection, assignment: pa.Table, config: AssessmentConfig | None = None
) -> dict[str, GroupAssessment]:
    """Look for inauthenticity markers in every group of an assignment.

    Parameters
    ----------
    con
        The case-store connection (posts, accounts and infra are read).
    assignment
        ``account_id, network_id`` of the coordinated groups.
    config
        Marker thresholds.

    Returns
    -------
    dict
        Group id -> :class:`GroupAssessment`.
    """
    cfg = config or AssessmentConfig()
    if assignment.num_rows == 0:
        return {}
    rhythms = network_rhythms(con, assignment).networks
    creations = creation_fingerprints(con, assignment).networks
    infra = infra_fingerprints(con, assignment)
    members: dict[str, list[str]] = {}
    for account, nid in zip(
        assignment.column("account_id").to_pylist(),
        assignment.column("network_id").to_pylist(),
        strict=True,
    ):
        members.setdefault(nid, []).append(account)
    flat = [n for n, r in rhythms.items() if r.fit.rhythm == "round-the-clock"]
    single = (
        account_rhythms(con, [a for n in flat for a in members.get(n, [])]).accounts if flat else {}
    )
    sizes: dict[str, int] = {}
    for nid in assignment.column("network_id").to_pylist():
        sizes[nid] = sizes.get(nid, 0) + 1
    result: dict[str, GroupAssessment] = {}
    for nid, size in sorted(sizes.items()):
        markers: list[dict[str, Any]] = []
        rhythm = rhythms[nid].as_dict() if nid in rhythms else {}
        fit_label = rhythm.get("rhythm")
        if (
            fit_label == "office"
            and (rhythm.get("utc_offset_confidence") or 0) >= cfg.min_offset_confidence
        ):
            markers.append(
                {
                    "marker": "office_hours",
                    "utc_offset": rhythm.get("utc_offset"),
                    "confidence": rhythm.get("utc_offset_confidence"),
                    "weekday_share": rhythm.get("weekday_share"),
                    "working_hours_share": rhythm.get("working_hours_share"),
                    "accounts_in_working_hours": rhythm.get("accounts_in_working_hours"),
                }
            )
        if fit_label == "round-the-clock":
            labels = [single[a].rhythm for a in members.get(nid, []) if a in single]
            known = [x for x in labels if x != "unknown"]
            flat_members = sum(1 for x in known if x == "round-the-clock")
            if len(known) >= 3 and flat_members * 2 >= len(known):
                markers.append(
                    {
                        "marker": "round_the_clock",
                        "quiet_share": rhythm.get("quiet_share"),
                        "members_round_the_clock": flat_members,
                        "members_fitted": len(known),
                    }
                )
        creation = creations[nid].as_dict() if nid in creations else {}
        bursts = [
            b
            for b in creation.get("bursts", [])
            if b.get("p_value") is not None and b["p_value"] <= cfg.burst_alpha
        ]
        if bursts:
            best = min(bursts, key=lambda b: b["p_value"])
            markers.append(
                {
                    "marker": "creation_burst",
                    "count": best.get("count"),
                    "start": best.get("start"),
                    "end": best.get("end"),
                    "p_value": best["p_value"],
                }
            )
        need = _at_least(size, cfg.template_share)
        templates = [
            t
            for t in creation.get("handle_templates", [])
            if t.get("count", 0) >= need and (t.get("lift") or 0) >= cfg.template_lift
        ]
        if templates:
            markers.append(
                {
                    "marker": "handle_template",
                    **{k: templates[0].get(k) for k in ("pattern", "count", "lift", "examples")},
                }
            )
        need = _at_least(size, cfg.share)
        reused = [
            r
            for r in creation.get("reused_fields", [])
            if r.get("count", 0) >= need and r.get("case_count", 0) <= 2 * r["count"]
        ]
        if reused:
            markers.append(
                {
                    "marker": "reused_profile",
                    **{k: reused[0].get(k) for k in ("field", "value", "count", "case_count")},
                }
            )
        net_infra = infra.networks[nid].as_dict() if nid in infra.networks else None
        if net_infra:
            shared = [
                {"field": field, **value}
                for field in ("ip", "device_id")
                for value in net_infra.get("shared", {}).get(field, [])
                if value.get("accounts", 0) >= need
                and value.get("outside_accounts", 0) < value.get("accounts", 0)
            ]
            if shared:
                top = max(shared, key=lambda v: v["accounts"])
                markers.append(
                    {
                        "marker": "shared_infrastructure",
                        "field": top["field"],
                        "value": top.get("value"),
                        "accounts": top["accounts"],
                        "outside_accounts": top.get("outside_accounts"),
                    }
                )
        result[nid] = GroupAssessment(
            group_id=nid, markers=markers, rhythm=rhythm, creation=creation, infra=net_infra
        )
    return result
