"""OAuth state behind the fake token, authorization and revocation endpoints.

A *grant* is what a user approved: it owns one refresh token (or, for online access,
a hidden key) and every access token minted from it. Revoking any of them ends the grant.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from .consent import PendingCode, new_code
from .errors import READONLY_SCOPE

ANALYTICS_SCOPE = "https://www.googleapis.com/auth/analytics"
EDIT_SCOPE = "https://www.googleapis.com/auth/analytics.edit"
# Scopes each API accepts for the calls the fake serves (read-only ones).
DATA_API_SCOPES = frozenset({READONLY_SCOPE, ANALYTICS_SCOPE})
ADMIN_API_SCOPES = frozenset({READONLY_SCOPE, ANALYTICS_SCOPE, EDIT_SCOPE})
# The account that consents when no Google account was ever added.
DEFAULT_ACCOUNT = "user@example.com"
CODE_LIFETIME_S = 600


@dataclass
class Grant:
    """One approval: whose it is, which scopes (None = any), and whether it can be refreshed."""

    account: str | None = None
    scopes: tuple[str, ...] | None = None
    refreshable: bool = True


@dataclass
class _Consents:
    """Authorization-endpoint state: pending codes and what each user already approved."""

    codes: dict[str, PendingCode] = field(default_factory=dict)
    # (account, client_id) -> scopes granted so far / whether offline access was granted
    scopes: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    offline: set[tuple[str, str]] = field(default_factory=set)
    account: str | None = None
    denials: int = 0


class TokenStore:
    """Refresh tokens, access tokens, authorization codes and revocation."""

    def __init__(self) -> None:
        self.tokens_expire_in_s = 3599
        self.codes_expire_in_s = CODE_LIFETIME_S
        self.token_requests: list[str] = []
        # refresh token -> Google account, for tokens issued by an authorization-code exchange
        self.issued_refresh_tokens: dict[str, str] = {}
        # every token revoked through /revoke, in order
        self.revoked: list[str] = []
        # query parameters of every request to the authorization endpoint
        self.authorization_requests: list[dict[str, str]] = []
        self._grants: dict[str, Grant] = {}
        self._access_tokens: dict[str, tuple[str, float]] = {}
        self._consents = _Consents()
        self._first_account: str | None = None

    # --- refresh and access tokens ---------------------------------------------------------

    def add_refresh_token(
        self,
        refresh_token: str,
        *,
        account: str | None = None,
        scopes: tuple[str, ...] | None = None,
    ) -> None:
        """Accept ``refresh_token`` at the token endpoint (any client id/secret).

        ``account`` links it to a Google account added with ``add_google_account``, whose
        GA4 accounts the Admin API then lists; without it the Admin API lists none.
        ``scopes`` limits the grant (None: any API accepts it); an API whose scope it
        lacks answers 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT.
        """
        self._grants[refresh_token] = Grant(account=account, scopes=scopes)

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """Refuse the refresh token from now on, and every access token issued from it."""
        self._grants.pop(refresh_token, None)

    def refresh_token_valid(self, refresh_token: str) -> bool:
        """Whether the token endpoint accepts ``refresh_token``."""
        grant = self._grants.get(refresh_token)
        return grant is not None and grant.refreshable

    def granted_scope(self, refresh_token: str) -> str | None:
        """The space-separated scopes of the grant, None when it is not limited."""
        grant = self._grants.get(refresh_token)
        return " ".join(grant.scopes) if grant and grant.scopes is not None else None

    def issue_access_token(self, refresh_token: str) -> str:
        """A new ``ya29.`` access token; it works while ``refresh_token`` stays valid."""
        token = "ya29.a0" + secrets.token_urlsafe(48)
        expires_at = time.time() + self.tokens_expire_in_s
        self._access_tokens[token] = (refresh_token, expires_at)
        return token

    def expire_access_tokens(self, refresh_token: str | None = None) -> None:
        """Make issued access tokens (all, or those of one refresh token) expired now."""
        for token, (owner, _) in list(self._access_tokens.items()):
            if refresh_token is None or owner == refresh_token:
                self._access_tokens[token] = (owner, 0.0)

    def _live_grant(self, authorization: str | None) -> tuple[str | None, Grant | None]:
        if not authorization:
            return "CREDENTIALS_MISSING", None
        scheme, _, token = authorization.strip().partition(" ")
        entry = self._access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if entry is None:
            return "ACCESS_TOKEN_TYPE_UNSUPPORTED", None
        owner, expires_at = entry
        grant = self._grants.get(owner)
        if grant is None or time.time() >= expires_at:
            return "ACCESS_TOKEN_EXPIRED", None
        return None, grant

    def bearer_refresh_token(self, authorization: str | None) -> str | None:
        """The refresh token (grant key) behind a live access token in the header."""
        problem, _ = self._live_grant(authorization)
        if problem:
            return None
        _, _, token = (authorization or "").strip().partition(" ")
        return self._access_tokens[token.strip()][0]

    def auth_problem(self, authorization: str | None) -> str | None:
        """None when the Authorization header carries a live token, else the ErrorInfo reason."""
        return self._live_grant(authorization)[0]

    def bearer_grant(self, authorization: str | None) -> Grant | None:
        """The grant behind a live access token in the Authorization header."""
        return self._live_grant(authorization)[1]

    def scope_allows(self, authorization: str | None, accepted: frozenset[str]) -> bool:
        """Whether the (live) token's grant includes one of the ``accepted`` scopes."""
        grant = self.bearer_grant(authorization)
        return grant is not None and (grant.scopes is None or not accepted.isdisjoint(grant.scopes))

    def revoke(self, token: str) -> bool:
        """End the grant of a refresh or access token; False when it is unknown or already dead.

        Revoking an access token also revokes the refresh token it came from, as Google does.
        """
        if token in self._grants:
            self.revoke_refresh_token(token)
            return True
        entry = self._access_tokens.get(token)
        if entry is None or entry[0] not in self._grants or time.time() >= entry[1]:
            return False
        self.revoke_refresh_token(entry[0])
        return True

    # --- consent and authorization codes ---------------------------------------------------

    def consent_as(self, account: str) -> None:
        """Approve the next consent screens as this Google account."""
        self._consents.account = account

    def deny_next_consent(self, times: int = 1) -> None:
        """Answer the next consent screen(s) with ``error=access_denied``."""
        self._consents.denials += times

    def consenting_account(self) -> str:
        """The Google account approving consent screens now."""
        return self._consents.account or self._first_account or DEFAULT_ACCOUNT

    def take_denial(self) -> bool:
        """Consume one pending denial, if any."""
        if self._consents.denials <= 0:
            return False
        self._consents.denials -= 1
        return True

    def has_consented(self, account: str, client_id: str, scopes: tuple[str, ...]) -> bool:
        """Whether the account already approved all ``scopes`` for this client."""
        return set(scopes) <= set(self._consents.scopes.get((account, client_id), ()))

    def issue_code(self, pending: PendingCode) -> str:
        """A one-time authorization code for the approved request."""
        code = new_code()
        expires_at = time.time() + self.codes_expire_in_s
        self._consents.codes[code] = pending.with_expiry(expires_at)
        return code

    def redeem_code(self, code: str) -> PendingCode | None:
        """Spend a code (any attempt spends it); None when unknown, spent or expired."""
        pending = self._consents.codes.pop(code, None)
        if pending is None or time.time() >= pending.expires_at:
            return None
        return pending

    def grant_for_code(self, pending: PendingCode) -> tuple[str, str | None, tuple[str, ...]]:
        """Create the grant of a redeemed code: (grant key, refresh token or None, scopes).

        A refresh token comes with offline access, the first time a user approves the
        client or whenever the consent screen was forced with ``prompt=consent``.
        """
        key = (pending.account, pending.client_id)
        scopes = pending.scopes
        if pending.include_granted_scopes:
            earlier = self._consents.scopes.get(key, ())
            scopes = earlier + tuple(s for s in scopes if s not in earlier)
        self._consents.scopes[key] = tuple(
            dict.fromkeys(self._consents.scopes.get(key, ()) + scopes)
        )
        with_refresh = pending.offline and (
            pending.forced_consent or key not in self._consents.offline
        )
        if not with_refresh:
            hidden = "grant-" + secrets.token_urlsafe(24)
            self._grants[hidden] = Grant(pending.account, scopes, refreshable=False)
            return hidden, None, scopes
        self._consents.offline.add(key)
        refresh_token = "1//0" + secrets.token_urlsafe(72)
        self._grants[refresh_token] = Grant(pending.account, scopes)
        self.issued_refresh_tokens[refresh_token] = pending.account
        return refresh_token, refresh_token, scopes
