"""Trusted CDS Clients (EHRs): configuration file, validation and JWK Set resolution.

`CHARTCODER_CDS_CLIENTS` names a JSON file:

    {"clients": [
        {"iss": "https://ehr.example.org", "jwks": {"keys": [...public JWKs...]}},
        {"iss": "https://other-ehr.example.org",
         "jwks_url": "https://other-ehr.example.org/.well-known/jwks.json",
         "jku_allowlist": ["https://other-ehr.example.org/jwks/rotating.json"],
         "tenant": "hospital-a"}
    ]}

- `iss` (required): the issuer the client puts in its JWTs; the allow-list of issuers.
- exactly one of `jwks` (an inline JWK Set, public keys only) or `jwks_url` (fetched and cached).
- `jku_allowlist` (optional): JWK Set URLs the client may name in a JWT `jku` header. A `jku`
  that is neither `jwks_url` nor on this list is refused; keys are never fetched from an
  arbitrary URL taken from a token.
- `tenant` (optional): when set, the JWT `tenant` claim must equal it.

The file is validated on load; every error names the bad field (`clients[1].jwks.keys[0].kty`).
Only asymmetric keys (RSA, EC, OKP) are accepted: CDS Hooks forbids shared-secret algorithms.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

logger = logging.getLogger(__name__)

#: Key types that carry public keys for asymmetric signatures. `oct` (shared secret) is refused.
ASYMMETRIC_KTY: tuple[str, ...] = ("RSA", "EC", "OKP")
#: Seconds a fetched JWK Set is reused before it is fetched again.
JWKS_CACHE_SECONDS = 300.0
#: A kid missing from a cached set triggers a refetch, at most this often (key rotation).
JWKS_MIN_REFETCH_SECONDS = 10.0
#: Network timeout for JWK Set fetches, seconds.
JWKS_FETCH_TIMEOUT = 3.0
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})


class CdsClientsConfigError(ValueError):
    """The CDS clients file is unreadable or invalid; `field` names the offending entry."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class JwksUnavailableError(RuntimeError):
    """A JWK Set URL could not be fetched or parsed."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One verification key of a JWK Set; `alg` is the JWK's own `alg` member, if any."""

    kid: str
    key: Any
    alg: str | None


def _check_url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CdsClientsConfigError("must be a non-empty URL string", field=where)
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise CdsClientsConfigError(f"must be an http(s) URL; got {value!r}", field=where)
    return value


def parse_jwks(raw: Any, where: str) -> dict[str, PublicKey]:
    """Validate a JWK Set and return its public keys by `kid`.

    Raises `CdsClientsConfigError` naming the bad member (`<where>.keys[2].kty`).
    """
    if not isinstance(raw, Mapping):
        raise CdsClientsConfigError("must be a JWK Set object with a 'keys' array", field=where)
    keys = raw.get("keys")
    if not isinstance(keys, list) or not keys:
        raise CdsClientsConfigError("must be a non-empty array of JWKs", field=f"{where}.keys")
    out: dict[str, PublicKey] = {}
    for i, jwk in enumerate(keys):
        at = f"{where}.keys[{i}]"
        if not isinstance(jwk, Mapping):
            raise CdsClientsConfigError("must be a JWK object", field=at)
        kty = jwk.get("kty")
        if kty not in ASYMMETRIC_KTY:
            raise CdsClientsConfigError(
                f"must be one of {', '.join(ASYMMETRIC_KTY)} (asymmetric keys only); got {kty!r}",
                field=f"{at}.kty",
            )
        private = sorted(_PRIVATE_JWK_MEMBERS & set(jwk))
        if private:
            raise CdsClientsConfigError(
                f"holds private key members {private}; configure public keys only",
                field=at,
            )
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise CdsClientsConfigError("must be a non-empty string", field=f"{at}.kid")
        if kid in out:
            raise CdsClientsConfigError(f"duplicate kid {kid!r}", field=f"{at}.kid")
        use = jwk.get("use")
        if use is not None and use != "sig":
            raise CdsClientsConfigError(
                f"must be 'sig' when present; got {use!r}", field=f"{at}.use"
            )
        alg = jwk.get("alg")
        if alg is not None and not isinstance(alg, str):
            raise CdsClientsConfigError("must be a string when present", field=f"{at}.alg")
        try:
            out[kid] = PublicKey(kid=kid, key=jwt.PyJWK(dict(jwk)).key, alg=alg)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise CdsClientsConfigError(f"is not a usable public key ({exc})", field=at) from None
    return out


@dataclass
class _CachedJwks:
    keys: dict[str, PublicKey]
    fetched_at: float


@dataclass
class CdsClient:
    """One trusted CDS Client."""

    iss: str
    jwks: dict[str, PublicKey] | None = None
    jwks_url: str | None = None
    jku_allowlist: tuple[str, ...] = ()
    tenant: str | None = None

    def allows_jku(self, url: str) -> bool:
        return url == self.jwks_url or url in self.jku_allowlist


@dataclass
class CdsClientRegistry:
    """The trusted clients, by issuer, with a small cache of fetched JWK Sets."""

    clients: dict[str, CdsClient]
    fetch_timeout: float = JWKS_FETCH_TIMEOUT
    cache_seconds: float = JWKS_CACHE_SECONDS
    _cache: dict[str, _CachedJwks] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, iss: str) -> CdsClient | None:
        return self.clients.get(iss)

    def forget_fetched_keys(self) -> None:
        """Drop every cached JWK Set (the next verification fetches again)."""
        with self._lock:
            self._cache.clear()

    def key_for(self, client: CdsClient, kid: str, jku: str | None) -> PublicKey | None:
        """The public key `kid` of `client`, from `jku` (already allow-listed) or its config."""
        if jku is None and client.jwks is not None:
            return client.jwks.get(kid)
        url = jku if jku is not None else client.jwks_url
        if url is None:
            return None
        keys = self._remote(url, refresh=False)
        if kid not in keys:
            # The client may have rotated keys: refetch once, not more often than allowed.
            keys = self._remote(url, refresh=True)
        return keys.get(kid)

    def _remote(self, url: str, *, refresh: bool) -> dict[str, PublicKey]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None:
            age = now - cached.fetched_at
            if age < self.cache_seconds and not (refresh and age >= JWKS_MIN_REFETCH_SECONDS):
                return cached.keys
        try:
            response = httpx.get(
                url,
                timeout=self.fetch_timeout,
                headers={"Accept": "application/json"},
                follow_redirects=False,
            )
            response.raise_for_status()
            keys = parse_jwks(response.json(), where="jwks")
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("JWK Set fetch from %s failed: %s", url, exc)
            if cached is not None:
                return cached.keys
            raise JwksUnavailableError(f"JWK Set at {url} could not be fetched") from None
        with self._lock:
            self._cache[url] = _CachedJwks(keys=keys, fetched_at=now)
        return keys


def parse_clients(raw: Any) -> CdsClientRegistry:
    """Validate the parsed JSON of a clients file. Raises `CdsClientsConfigError`."""
    if not isinstance(raw, Mapping):
        raise CdsClientsConfigError("must be an object with a 'clients' array", field="<root>")
    entries = raw.get("clients")
    if not isinstance(entries, list):
        raise CdsClientsConfigError("must be an array of client objects", field="clients")
    clients: dict[str, CdsClient] = {}
    allowed = {"iss", "jwks", "jwks_url", "jku_allowlist", "tenant", "name"}
    for i, entry in enumerate(entries):
        at = f"clients[{i}]"
        if not isinstance(entry, Mapping):
            raise CdsClientsConfigError("must be an object", field=at)
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise CdsClientsConfigError(
                f"unknown member(s) {unknown}; allowed: {sorted(allowed)}", field=at
            )
        iss = entry.get("iss")
        if not isinstance(iss, str) or not iss.strip():
            raise CdsClientsConfigError("must be a non-empty string", field=f"{at}.iss")
        if iss in clients:
            raise CdsClientsConfigError(f"duplicate issuer {iss!r}", field=f"{at}.iss")
        has_jwks, has_url = "jwks" in entry, "jwks_url" in entry
        if has_jwks == has_url:
            raise CdsClientsConfigError("needs exactly one of 'jwks' or 'jwks_url'", field=at)
        jwks = parse_jwks(entry["jwks"], f"{at}.jwks") if has_jwks else None
        jwks_url = _check_url(entry["jwks_url"], f"{at}.jwks_url") if has_url else None
        raw_allow = entry.get("jku_allowlist", [])
        if not isinstance(raw_allow, list):
            raise CdsClientsConfigError("must be an array of URLs", field=f"{at}.jku_allowlist")
        allow = tuple(_check_url(u, f"{at}.jku_allowlist[{j}]") for j, u in enumerate(raw_allow))
        tenant = entry.get("tenant")
        if tenant is not None and (not isinstance(tenant, str) or not tenant):
            raise CdsClientsConfigError("must be a non-empty string", field=f"{at}.tenant")
        clients[iss] = CdsClient(
            iss=iss, jwks=jwks, jwks_url=jwks_url, jku_allowlist=allow, tenant=tenant
        )
    return CdsClientRegistry(clients=clients)


def load_clients(path: Path) -> CdsClientRegistry:
    """Read and validate a clients file. Raises `CdsClientsConfigError` naming the problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CdsClientsConfigError(
            f"cannot read {path}: {exc.strerror or exc}", field="CHARTCODER_CDS_CLIENTS"
        ) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CdsClientsConfigError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno})",
            field="CHARTCODER_CDS_CLIENTS",
        ) from None
    return parse_clients(raw)


_loaded: dict[tuple[str, float], CdsClientRegistry] = {}
_loaded_lock = threading.Lock()


def cached_clients(path: Path) -> CdsClientRegistry:
    """`load_clients`, reused while the file is unchanged (keyed on path and mtime)."""
    resolved = Path(path).resolve()
    try:
        mtime = resolved.stat().st_mtime
    except OSError:
        return load_clients(resolved)  # raises with a clear message
    key = (str(resolved), mtime)
    with _loaded_lock:
        registry = _loaded.get(key)
    if registry is None:
        registry = load_clients(resolved)
        with _loaded_lock:
            for old in [k for k in _loaded if k[0] == key[0]]:
                del _loaded[old]
            _loaded[key] = registry
    return registry
