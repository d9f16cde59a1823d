"""Infrastructure: shared IPs, ASNs, devices and user agents, and where a network ran from."""

from __future__ import annotations

import json

import pytest

from cibscan.errors import ConfigError
from cibscan.fingerprints.infra import InfraConfig, infra_fingerprints

from ._cases import assignment, new_case


def _row(
    acc: str, ip: str, asn: str, country: str, device: str, ua: str = "UA-1"
) -> dict[str, str]:
    return {
        "account_id": acc,
        "ip": ip,
        "asn": asn,
        "country": country,
        "device_id": device,
        "user_agent": ua,
    }


def _case():  # type: ignore[no-untyped-def]
    return new_case(
        infra=[
            _row("a1", "10.0.0.1", "AS1", "AL", "dev1"),
            _row("a1", "10.0.0.1", "AS1", "AL", "dev1", "UA-2"),
            _row("a2", "10.0.0.1", "as1", "al", "dev1"),
            _row("a3", "10.0.0.2", "AS2", "AL", "dev2"),
            _row("o1", "10.0.0.1", "AS1", "DE", "dev9"),
            _row("o2", "2001:db8:1:2::5", "AS3", "DE", "dev8"),
            _row("b1", "2001:DB8:1:3::7", "AS3", "FR", "dev7"),
        ]
    )


def test_shared_values_count_network_and_outside_accounts() -> None:
    fp = infra_fingerprints(_case().con, assignment({"n": ["a1", "a2", "a3", "a4"], "m": ["b1"]}))
    assert fp.available
    net = fp.networks["n"]
    assert (net.accounts, net.accounts_with_infra, net.rows) == (4, 3, 4)
    shared = net.shared
    assert shared["ip"] == [{"value": "10.0.0.1", "accounts": 2, "rows": 3, "outside_accounts": 1}]
    assert shared["ip_prefix"] == [
        {"value": "10.0.0.0/24", "accounts": 3, "rows": 4, "outside_accounts": 1}
    ]
    assert shared["asn"] == [{"value": "AS1", "accounts": 2, "rows": 3, "outside_accounts": 1}]
    assert shared["device_id"] == [
        {"value": "dev1", "accounts": 2, "rows": 3, "outside_accounts": 0}
    ]
    assert shared["user_agent"] == [
        {"value": "UA-1", "accounts": 3, "rows": 3, "outside_accounts": 3}
    ]
    assert "country" not in shared  # o1, o2 and b1 (another network) count as outside


def test_location_summary() -> None:
    net = infra_fingerprints(_case().con, assignment({"n": ["a1", "a2", "a3"]})).networks["n"]
    assert net.countries == [
        {"country": "AL", "rows": 4, "share": 1.0, "accounts": 3, "outside_accounts": 0}
    ]
    assert [a["asn"] for a in net.asns] == ["AS1", "AS2"]
    assert net.asns[0]["share"] == 0.75
    assert net.location == {
        "country": "AL",
        "country_share": 1.0,
        "asns_for_95pct": 2,
        "single_location": True,
    }
    spread = infra_fingerprints(
        _case().con,
        assignment({"n": ["a1", "a2", "a3"]}),
        config=InfraConfig(max_location_asns=1),
    ).networks["n"]
    assert spread.location["single_location"] is False


def test_several_countries_are_not_one_location() -> None:
    net = infra_fingerprints(_case().con, assignment({"n": ["a3", "o1", "b1"]})).networks["n"]
    assert net.location["country_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert net.location["single_location"] is False
    assert net.location["asns_for_95pct"] == 3


def test_ipv6_prefix_is_the_first_three_groups() -> None:
    net = infra_fingerprints(_case().con, assignment({"m": ["b1", "o2"]})).networks["m"]
    assert net.shared["ip_prefix"] == [
        {"value": "2001:db8:1::/48", "accounts": 2, "rows": 2, "outside_accounts": 0}
    ]


def test_network_without_rows_in_a_case_with_rows() -> None:
    net = infra_fingerprints(_case().con, assignment({"z": ["nobody"]})).networks["z"]
    assert (net.rows, net.accounts_with_infra, net.shared, net.countries) == (0, 0, {}, [])
    assert net.location["country"] is None and net.location["single_location"] is False


def test_no_infra_rows_is_an_empty_result() -> None:
    fp = infra_fingerprints(new_case().con, assignment({"n": ["a1"]}))
    assert not fp.available and fp.networks == {}
    assert json.loads(json.dumps(fp.as_dict()))["available"] is False


def test_bad_config_is_refused() -> None:
    with pytest.raises(ConfigError, match="location_share=0"):
        InfraConfig(location_share=0)
