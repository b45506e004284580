"""The trusted-clients file is validated on load; errors name the bad field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jwt.algorithms import RSAAlgorithm

from serving.cds_hooks.clients import CdsClientsConfigError, load_clients, parse_clients
from tests.serving.cds_hooks.conftest import Keys


def _jwk(keys: Keys, **extra: Any) -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(keys.rsa_private.public_key(), as_dict=True)
    jwk.update(kid="k1", **extra)
    return jwk


def test_valid_file_loads(tmp_path: Path, keys: Keys) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "clients": [
                    {"iss": "https://a.test", "jwks": {"keys": [_jwk(keys)]}, "tenant": "t1"},
                    {
                        "iss": "https://b.test",
                        "jwks_url": "https://b.test/jwks.json",
                        "jku_allowlist": ["https://b.test/jwks2.json"],
                    },
                ]
            }
        )
    )
    registry = load_clients(path)
    a, b = registry.get("https://a.test"), registry.get("https://b.test")
    assert a is not None and a.jwks is not None and set(a.jwks) == {"k1"} and a.tenant == "t1"
    assert b is not None and b.allows_jku("https://b.test/jwks.json")
    assert b.allows_jku("https://b.test/jwks2.json") and not b.allows_jku("https://c.test/j")
    assert registry.get("https://c.test") is None


@pytest.mark.parametrize(
    "raw, field",
    [
        ([], "<root>"),
        ({"clients": {}}, "clients"),
        ({"clients": ["x"]}, "clients[0]"),
        ({"clients": [{"jwks_url": "https://a.test/j"}]}, "clients[0].iss"),
        ({"clients": [{"iss": "a"}]}, "clients[0]"),
        ({"clients": [{"iss": "a", "jwks_url": "ftp://a/j"}]}, "clients[0].jwks_url"),
        ({"clients": [{"iss": "a", "jwks": {"keys": []}}]}, "clients[0].jwks.keys"),
        (
            {"clients": [{"iss": "a", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}]},
            "clients[0].jwks.keys[0].kty",
        ),
        (
            {"clients": [{"iss": "a", "jwks_url": "https://a/j", "jku_allowlist": ["nope"]}]},
            "clients[0].jku_allowlist[0]",
        ),
        ({"clients": [{"iss": "a", "jwks_url": "https://a/j", "colour": "red"}]}, "clients[0]"),
    ],
)
def test_invalid_entries_name_the_field(raw: Any, field: str) -> None:
    with pytest.raises(CdsClientsConfigError) as err:
        parse_clients(raw)
    assert err.value.field == field
    assert field in str(err.value)


def test_private_keys_and_duplicates_are_refused(keys: Keys) -> None:
    private = RSAAlgorithm.to_jwk(keys.rsa_private, as_dict=True) | {"kid": "k1"}
    with pytest.raises(CdsClientsConfigError) as err:
        parse_clients({"clients": [{"iss": "a", "jwks": {"keys": [private]}}]})
    assert err.value.field == "clients[0].jwks.keys[0]" and "private" in str(err.value)

    twice = {"keys": [_jwk(keys), _jwk(keys)]}
    with pytest.raises(CdsClientsConfigError) as err:
        parse_clients({"clients": [{"iss": "a", "jwks": twice}]})
    assert err.value.field == "clients[0].jwks.keys[1].kid"

    one = {"iss": "a", "jwks": {"keys": [_jwk(keys)]}}
    with pytest.raises(CdsClientsConfigError) as err:
        parse_clients({"clients": [one, one]})
    assert err.value.field == "clients[1].iss"


def test_unreadable_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(CdsClientsConfigError) as err:
        load_clients(tmp_path / "missing.json")
    assert err.value.field == "CHARTCODER_CDS_CLIENTS"
    broken = tmp_path / "broken.json"
    broken.write_text('{"clients": [')
    with pytest.raises(CdsClientsConfigError, match="not valid JSON"):
        load_clients(broken)
