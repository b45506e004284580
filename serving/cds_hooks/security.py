"""Authenticating CDS Clients: the CDS Hooks 2.0 JWT profile ("Trusting CDS Clients").

Every request (discovery included) carries `Authorization: Bearer <JWT>`. `verify_jwt` accepts
it only when all of these hold, and raises `CdsAuthError` (HTTP 401) naming the failed check
otherwise:

- header: `alg` is an asymmetric signature algorithm (RS*/PS*/ES*/EdDSA; `none` and every
  HMAC / symmetric algorithm are refused), `kid` present, `typ` (when present) is `JWT`;
- `iss` is a configured client; the key comes from that client's configured JWK Set, or from
  the `jku` header URL only when that URL is on the client's allow-list;
- signature verifies with the key `kid`; when the JWK names an `alg`, it equals the header's;
- `aud` (string or array) contains the URL of the endpoint being called;
- `exp`, `iat` and `jti` present; not expired and not issued in the future (leeway
  `CLOCK_LEEWAY_SECONDS`); the lifetime `exp - iat` at most `MAX_LIFETIME_SECONDS`;
- `tenant` equals the client's configured tenant, when one is configured;
- the `jti` was never seen before for this issuer (table `cds_jti`, kept until `exp`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving.cds_hooks.clients import CdsClientRegistry, JwksUnavailableError
from serving.db.models import CdsJtiRow

logger = logging.getLogger(__name__)

#: Signature algorithms a CDS Client may use (all asymmetric).
ALLOWED_ALGORITHMS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
#: Clock skew tolerated on `exp` and `iat`, seconds.
CLOCK_LEEWAY_SECONDS = 30
#: Longest accepted token lifetime (`exp - iat`), seconds. CDS Hooks tokens are per call.
MAX_LIFETIME_SECONDS = 3600


class CdsAuthError(Exception):
    """The CDS Client could not be authenticated. Maps to HTTP 401."""

    status_code = 401

    def __init__(self, message: str, *, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class CdsCaller:
    """An authenticated CDS Client call."""

    iss: str
    jti: str
    tenant: str | None
    claims: dict[str, Any]


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header value."""
    if not authorization:
        raise CdsAuthError("missing Authorization: Bearer <JWT> header", code="missing_token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CdsAuthError("Authorization header must be 'Bearer <JWT>'", code="missing_token")
    return token.strip()


def _normalise_url(url: str) -> str:
    return url.rstrip("/")


def _jti_key(iss: str, jti: str) -> str:
    """Primary key of a seen token: a digest of issuer and jti (fixed length, per issuer)."""
    return hashlib.sha256(f"{iss}\n{jti}".encode()).hexdigest()


def verify_jwt(
    token: str,
    *,
    registry: CdsClientRegistry,
    audience: str,
    session: Session,
    now: dt.datetime | None = None,
) -> CdsCaller:
    """Verify a CDS Client JWT for a call to `audience`; record its `jti`. See module doc."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"malformed JWT: {exc}", code="malformed_token") from None
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise CdsAuthError(
            f"JWT alg {alg!r} is not allowed; use an asymmetric algorithm "
            f"({', '.join(ALLOWED_ALGORITHMS)}); 'none' and HMAC are refused",
            code="algorithm_not_allowed",
        )
    typ = header.get("typ")
    if typ is not None and str(typ).upper() != "JWT":
        raise CdsAuthError(f"JWT header typ must be 'JWT'; got {typ!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise CdsAuthError("JWT header kid is required", code="missing_kid")
    iss = unverified.get("iss")
    if not isinstance(iss, str) or not iss:
        raise CdsAuthError("JWT claim iss is required", code="missing_claim")
    client = registry.get(iss)
    if client is None:
        raise CdsAuthError(f"issuer {iss!r} is not a trusted CDS client", code="unknown_issuer")
    jku = header.get("jku")
    if jku is not None and (not isinstance(jku, str) or not client.allows_jku(jku)):
        raise CdsAuthError(
            f"jku {jku!r} is not on the allow-list of issuer {iss!r}", code="jku_not_allowed"
        )
    try:
        jwk = registry.key_for(client, kid, jku)
    except JwksUnavailableError as exc:
        raise CdsAuthError(str(exc), code="jwks_unavailable") from None
    if jwk is None:
        raise CdsAuthError(f"no key {kid!r} in the JWK Set of issuer {iss!r}", code="unknown_kid")
    if jwk.alg is not None and jwk.alg != alg:
        raise CdsAuthError(f"key {kid!r} is for {jwk.alg}, the JWT says {alg}")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=jwk.key,
            algorithms=[alg],
            audience=_normalise_url(audience),
            issuer=iss,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_iat": True},
        )
    except jwt.InvalidAudienceError:
        raise CdsAuthError(
            f"JWT aud does not name this endpoint ({audience})", code="wrong_audience"
        ) from None
    except jwt.ExpiredSignatureError:
        raise CdsAuthError("JWT has expired (exp)", code="expired_token") from None
    except jwt.ImmatureSignatureError:
        raise CdsAuthError("JWT iat/nbf lies in the future", code="token_not_yet_valid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise CdsAuthError(f"JWT claim {exc.claim} is required", code="missing_claim") from None
    except jwt.InvalidSignatureError:
        raise CdsAuthError("JWT signature does not verify", code="bad_signature") from None
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"invalid JWT: {exc}") from None
    return _record(claims, client_tenant=client.tenant, iss=iss, session=session, now=now)


def _record(
    claims: dict[str, Any],
    *,
    client_tenant: str | None,
    iss: str,
    session: Session,
    now: dt.datetime | None,
) -> CdsCaller:
    exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
    if not isinstance(jti, str) or not jti:
        raise CdsAuthError("JWT claim jti must be a non-empty string", code="missing_claim")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise CdsAuthError("JWT claims exp and iat must be numbers")
    if exp - iat > MAX_LIFETIME_SECONDS:
        raise CdsAuthError(
            f"JWT lifetime exp - iat is {int(exp - iat)} s; at most {MAX_LIFETIME_SECONDS} s",
            code="token_lifetime",
        )
    tenant = claims.get("tenant")
    if client_tenant is not None and tenant != client_tenant:
        raise CdsAuthError(f"JWT tenant {tenant!r} is not this client's tenant", code="tenant")
    current = now or dt.datetime.now(dt.UTC)
    expires = dt.datetime.fromtimestamp(float(exp), dt.UTC)
    # Forget tokens that can no longer be replayed (they fail the exp check anyway).
    cutoff = current - dt.timedelta(seconds=CLOCK_LEEWAY_SECONDS)
    session.execute(delete(CdsJtiRow).where(CdsJtiRow.exp < cutoff))
    try:
        with session.begin_nested():
            session.add(CdsJtiRow(jti=_jti_key(iss, jti), iss=iss, exp=expires))
    except IntegrityError:
        raise CdsAuthError(f"JWT jti {jti!r} was already used", code="replayed_jti") from None
    session.commit()
    return CdsCaller(
        iss=iss, jti=jti, tenant=tenant if isinstance(tenant, str) else None, claims=claims
    )
