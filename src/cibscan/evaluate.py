"""Evaluation of a detection against ground truth labels (synthetic scenarios, labelled archives).

Account level: an account is *flagged* when it belongs to a network. Ground truth: ``labels``
rows with ``label`` an operation name (positive) or ``organic`` (negative); ``role`` tells the
kind of organic confounder (``viral_sharer``, ``fan``, ``news_bot``, ...). Accounts without a
label are ignored. Network level: agreement of the partition of flagged accounts into networks
with the partition of operation accounts into operations (adjusted Rand index and normalised
mutual information, over the accounts that are positive or flagged; an unflagged account is its
own singleton in the found partition and an organic account its own singleton in the true one,
so missing an operation or flagging organic accounts lowers both scores). When those accounts
all belong to one operation, any split of it scores 0, so both scores are ``None`` (``n/a``)
unless one network is exactly the accounts compared (1).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import igraph as ig

__all__ = ["Evaluation", "evaluate_assignment"]

#: Labels of organic (negative) accounts, compared in lower case; binary labels (0/1,
#: true/false) read 0 and false as organic, and a positive value as an operation of that name.
NEGATIVE_LABELS = frozenset(
    {"organic", "benign", "control", "none", "", "0", "false", "no", "negative", "authentic"}
)


@dataclass(frozen=True)
class Evaluation:
    """Scores of one detection against labels."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int
    labelled_accounts: int
    recall_by_operation: dict[str, float] = field(default_factory=dict)
    flagged_by_role: dict[str, tuple[int, int]] = field(default_factory=dict)
    confounders_flagged: int = 0
    confounders: int = 0
    adjusted_rand: float | None = None
    nmi: float | None = None

    @property
    def confounder_rate(self) -> float:
        """Share of organic confounder accounts (all organic roles) that were flagged."""
        return self.confounders_flagged / self.confounders if self.confounders else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "labelled_accounts": self.labelled_accounts,
            "recall_by_operation": self.recall_by_operation,
            "flagged_by_role": {
                k: {"flagged": f, "accounts": n} for k, (f, n) in self.flagged_by_role.items()
            },
            "confounders_flagged": self.confounders_flagged,
            "confounders": self.confounders,
            "confounder_rate": self.confounder_rate,
            "adjusted_rand": self.adjusted_rand,
            "nmi": self.nmi,
        }


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def evaluate_assignment(
    assignment: Mapping[str, str | None],
    labels: Mapping[str, tuple[str, str | None]],
) -> Evaluation:
    """Score an account -> network assignment against labels.

    Parameters
    ----------
    assignment
        Account id -> network id, or ``None``/absent when the account is in no network.
    labels
        Account id -> (label, role). Labels in :data:`NEGATIVE_LABELS` are organic.

    Examples
    --------
    >>> labels = {"a": ("op", "x"), "b": ("op", "x"), "c": ("organic", "fan")}
    >>> ev = evaluate_assignment({"a": "1", "c": "1"}, labels)
    >>> (ev.precision, ev.recall, ev.confounders_flagged)
    (0.5, 0.5, 1)
    """
    tp = fp = fn = 0
    per_op: Counter[str] = Counter()
    per_op_hit: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    roles_hit: Counter[str] = Counter()
    truth_groups: list[str] = []
    found_groups: list[str] = []
    for account, (label, role) in sorted(labels.items()):
        network = assignment.get(account)
        flagged = network not in (None, "")
        positive = label.strip().lower() not in NEGATIVE_LABELS
        if positive:
            per_op[label] += 1
            if flagged:
                tp += 1
                per_op_hit[label] += 1
            else:
                fn += 1
        else:
            key = role or "organic"
            roles[key] += 1
            if flagged:
                fp += 1
                roles_hit[key] += 1
        if positive or flagged:
            # Singletons for "no operation" and "no network": a shared "none" group would let
            # the partitions agree when everything is missed.
            truth_groups.append(label if positive else "\x00" + account)
            found_groups.append(str(network) if flagged else "\x00" + account)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    ari = nmi = None
    if len(truth_groups) >= 2:
        index: dict[str, int] = {}
        truth = [index.setdefault("t" + g, len(index)) for g in truth_groups]
        found = [index.setdefault("f" + g, len(index)) for g in found_groups]
        ari = float(ig.compare_communities(truth, found, method="adjusted_rand"))
        nmi = float(ig.compare_communities(truth, found, method="nmi"))
        if math.isnan(ari):  # one cluster on both sides: the index is undefined
            ari = 1.0 if len(set(truth)) == len(set(found)) == 1 else 0.0
        if len(set(truth)) == 1 and len(set(found)) > 1:
            # One operation and nothing else among the accounts compared: every split of it
            # scores 0 whatever it is (near-perfect or not), so neither index tells anything.
            ari = nmi = None
    confounders = sum(n for r, n in roles.items() if r != "ordinary")
    confounders_flagged = sum(n for r, n in roles_hit.items() if r != "ordinary")
    return Evaluation(
        precision=precision,
        recall=recall,
        f1=f1,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        labelled_accounts=len(labels),
        recall_by_operation={op: _ratio(per_op_hit[op], n) for op, n in sorted(per_op.items())},
        flagged_by_role={r: (roles_hit[r], n) for r, n in sorted(roles.items())},
        confounders_flagged=confounders_flagged,
        confounders=confounders,
        adjusted_rand=ari,
        nmi=nmi,
    )
