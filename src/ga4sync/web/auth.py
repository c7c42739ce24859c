"""Who is calling: Supabase access tokens (JWT) verified with PyJWT.

HS256 tokens are checked with ``SUPABASE_JWT_SECRET``; RS256/ES256 tokens with
the project's JWKS (``SUPABASE_URL`` or ``SUPABASE_JWKS_URL``), fetched in a
thread and cached; a token naming a key the cached set lacks refetches it at
most once per ``JWKS_REFETCH_COOLDOWN_S`` (PyJWT's cooldown, 2.14 and later), so
made-up ``kid``s cannot flood the project's endpoint while a newly published key
is still found within that time. ``exp`` and the audience (``authenticated``) are required;
``sub`` is the user id. Admins are listed in ``ADMIN_USER_IDS`` or
``ADMIN_EMAILS``, or carry ``app_metadata.role = "admin"`` (set by a service
key, so users cannot grant it to themselves).

``ADMIN_EMAILS`` trusts the token's ``email`` claim, but never that of an
anonymous sign-in (``is_anonymous``: Supabase makes one for anyone holding the
public anon key) nor one the token says is unconfirmed (``email_verified``
false, at the top or in ``user_metadata``). Supabase's tokens carry no
confirmation the user cannot edit, so the email is only as good as the
project's "Confirm email" setting: ``ADMIN_USER_IDS`` does not depend on it.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt
import jwt.types

from ga4sync.settings import Settings
from ga4sync.web.errors import ApiError

_SYMMETRIC = ["HS256"]
# A frontend polls with the same token; verifying it costs ~0.2 ms, a lookup ~0.
_VERIFIED_CACHE_SIZE = 4096
_ASYMMETRIC = ["RS256", "ES256"]
# Supabase publishes a new signing key before it signs with it; refetching for an
# unknown one at most this often bounds what forged tokens can make us fetch.
JWKS_REFETCH_COOLDOWN_S = 30.0


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    email: str | None
    is_admin: bool

    @property
    def scope_user(self) -> uuid.UUID | None:
        """Whose properties this caller reads: their own, or everyone's (None) for an admin."""
        return None if self.is_admin else self.user_id


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.supabase_jwt_secret
        self._audience = settings.supabase_jwt_audience
        self._admin_ids = settings.admin_user_ids
        self._admin_emails = settings.admin_emails
        self._jwks = (
            jwt.PyJWKClient(
                settings.supabase_jwks_url,
                cache_keys=True,
                lifespan=3600,
                cooldown_duration=JWKS_REFETCH_COOLDOWN_S,
            )
            if settings.supabase_jwks_url
            else None
        )
        # token -> (caller, expiry as epoch seconds), least recently used first
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    @property
    def configured(self) -> bool:
        return bool(self._secret or self._jwks)

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller of a request with this ``Authorization`` header, or a 401."""
        if not self.configured:
            raise ApiError(
                401,
                "auth_not_configured",
                "Sign-in is not configured on this server: set SUPABASE_JWT_SECRET or "
                "SUPABASE_URL.",
            )
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("Send your Supabase access token as 'Authorization: Bearer <jwt>'.")
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires_at = cached
            if time.time() < expires_at:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        claims = await self._verify(token)
        try:
            user_id = uuid.UUID(str(claims.get("sub", "")))
        except ValueError:
            raise _unauthorized("The token's subject is not a user id.") from None
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        principal = Principal(
            user_id=user_id, email=email, is_admin=self._is_admin(user_id, email, claims)
        )
        self._verified[token] = (principal, float(claims["exp"]))
        if len(self._verified) > _VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _unauthorized("The access token is malformed.") from None
        algorithm = header.get("alg")
        options: jwt.types.Options = {"require": ["exp", "sub"]}
        try:
            if algorithm in _SYMMETRIC and self._secret:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=_SYMMETRIC,
                    audience=self._audience,
                    options=options,
                )
            elif algorithm in _ASYMMETRIC and self._jwks is not None:
                key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=_ASYMMETRIC,
                    audience=self._audience,
                    options=options,
                )
            else:
                raise _unauthorized(f"Tokens signed with {algorithm!r} are not accepted here.")
        except jwt.ExpiredSignatureError:
            raise _unauthorized("The access token has expired: sign in again.") from None
        except jwt.PyJWKClientError:
            raise _unauthorized("The token's signing key is unknown.") from None
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"The access token is not valid: {exc}.") from None
        if not isinstance(claims, dict):
            raise _unauthorized("The access token is not valid.")
        return claims

    def _is_admin(self, user_id: uuid.UUID, email: str | None, claims: dict[str, Any]) -> bool:
        if str(user_id) in self._admin_ids:
            return True
        if email and email.lower() in self._admin_emails and _email_vouched_for(claims):
            return True
        app_metadata = claims.get("app_metadata")
        return isinstance(app_metadata, dict) and app_metadata.get("role") == "admin"


def _email_vouched_for(claims: dict[str, Any]) -> bool:
    """Whether the token's email may name an admin: not an anonymous sign-in, and
    not marked unconfirmed (a missing mark counts as confirmed, as Supabase confirms
    addresses before it signs anyone in with them unless told otherwise)."""
    if claims.get("is_anonymous", False) is not False:
        return False
    metadata = claims.get("user_metadata")
    for source in (claims, metadata if isinstance(metadata, dict) else {}):
        if "email_verified" in source and source["email_verified"] not in (True, "true"):
            return False
    return True


def cron_token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the backup trigger's token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
