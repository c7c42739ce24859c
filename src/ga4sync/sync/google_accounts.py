"""Connecting users' Google accounts: consent, token import, discovery, disconnect.

The service side of the consent flow: ``start`` gives the consent URL with a
sealed state, ``finish`` checks the state (signature, age, single use), trades
the code for tokens and keeps them, encrypted, as a pending grant of the user who
started the consent, under a one-time completion code; ``complete`` lets that same
user (and nobody else) claim it: the grant is stored and the user's GA4 properties
discovered with their time zones. ``import_token`` stores a refresh token an app
already holds, after one refresh proves it. A complete listing of the user's
properties also removes the discovered access Google no longer lists (a failed
listing removes nothing). ``disconnect`` revokes at Google, deletes the tokens and
the user's access and, if asked, deletes the synced rows; it is idempotent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import aiohttp
import asyncpg

from ga4sync import consent
from ga4sync.clock import Clock, utcnow
from ga4sync.crypto import TokenCipher
from ga4sync.errors import Ga4SyncError, GoogleError
from ga4sync.ga4.admin import AdminClient, DiscoveredProperty
from ga4sync.oauth import OAuthClient
from ga4sync.settings import Settings
from ga4sync.store import connections as store
from ga4sync.store.access import (
    list_lost_access,
    remove_undiscovered_access,
    remove_user_access,
    set_access_settings,
)
from ga4sync.store.credentials import save_access_token
from ga4sync.store.jobs import Job
from ga4sync.store.realtime import forget_property_realtime, realtime_polled
from ga4sync.sync.connections import (
    import_google_grant,
    save_discovered_properties,
    store_google_grant,
)


class FirstSync(Protocol):
    """Starts the first sync of properties a user just connected (``SyncService``)."""

    async def start_first_sync(
        self, user_id: uuid.UUID, property_refs: Sequence[int]
    ) -> Job | None: ...


# How long a finished consent waits for its user to claim it: the browser comes
# straight back to the frontend, which claims it at once.
COMPLETION_TTL_S = 300


class PendingGrantError(Ga4SyncError):
    """A completion code that cannot be claimed; nothing was stored."""


class UnknownCompletionCode(PendingGrantError):
    """No grant waits under this code: never issued, already claimed, or pruned."""


class CompletionCodeExpired(PendingGrantError):
    """The code was claimed too late; the grant it held is gone."""


class CompletionByAnotherUser(PendingGrantError):
    """The consent was started by another user; the grant it held is gone."""


@dataclass(frozen=True)
class Connected:
    user_id: uuid.UUID
    properties: list[DiscoveredProperty]
    # The grant is stored either way; properties can be discovered again by reconnecting.
    discovery_error: GoogleError | None = None
    # GA4 property ids the user had from an earlier discovery that Google no longer lists.
    access_removed: tuple[str, ...] = ()
    # The run that syncs the connected properties never synced before (None: none to sync).
    first_sync_job_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Disconnected:
    had_tokens: bool
    # True: Google revoked the grant; False: Google said it was already invalid;
    # None: nothing to revoke, or not confirmed (``revoke_error`` says why).
    revoked_at_google: bool | None
    rows_deleted: int
    revoke_error: Ga4SyncError | None = None


class GoogleAccounts:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        *,
        now: Clock = utcnow,
        first_sync: FirstSync | None = None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._now = now
        # Without it (the CLI), connected properties wait for the next run.
        self._first_sync = first_sync

    def _cipher(self) -> TokenCipher:
        return TokenCipher(self._settings.require_encryption_key())

    def _sealer(self) -> consent.StateSealer:
        return consent.StateSealer(
            self._settings.require_encryption_key(), self._settings.oauth_state_ttl_s
        )

    async def start(self, user_id: uuid.UUID, *, login_hint: str | None = None) -> str:
        """The Google consent URL for ``user_id`` (also how a user re-authorizes)."""
        client_id, _ = self._settings.require_google_client()
        redirect_uri = self._settings.require_oauth_redirect()
        sealed, state = self._sealer().seal(user_id)
        return consent.consent_url(
            self._settings.google_auth_uri,
            client_id,
            redirect_uri,
            sealed,
            state.code_verifier,
            login_hint=login_hint,
        )

    def open_state(self, sealed: str) -> consent.ConsentState:
        """Who started the flow; ``InvalidState`` when tampered with or expired."""
        return self._sealer().open(sealed)

    async def finish(self, state: consent.ConsentState, code: str) -> str:
        """Complete Google's side of the flow for an opened state: single use, then
        code -> tokens, kept as a pending grant of the state's user; returns the
        one-time completion code that claims it (``complete``).

        Raises ``InvalidState`` for a used state, and what ``consent.exchange_code``
        raises; nothing is stored then.
        """
        if not await store.claim_oauth_state(
            self._pool, state.nonce, state.user_id, self._settings.oauth_state_ttl_s
        ):
            raise consent.InvalidState("this sign-in link was already used; start again")
        client_id, client_secret = self._settings.require_google_client()
        cipher = self._cipher()
        async with aiohttp.ClientSession() as session:
            tokens = await consent.exchange_code(
                session,
                self._settings.google_token_uri,
                code=code,
                code_verifier=state.code_verifier,
                redirect_uri=self._settings.require_oauth_redirect(),
                client_id=client_id,
                client_secret=client_secret,
                timeout_s=self._settings.google_timeout_s,
            )
        now = self._now()
        grant = consent.Grant(
            refresh_token=tokens.refresh_token,
            access_token=tokens.access_token,
            access_token_expires_at=now + timedelta(seconds=tokens.lifetime_s),
            scopes=tokens.scopes,
        )
        completion_code = consent.new_completion_code()
        await store.save_pending_grant(
            self._pool,
            consent.completion_code_digest(completion_code),
            state.user_id,
            cipher.encrypt(grant.to_json()),
            created_at=now,
            expires_at=now + timedelta(seconds=COMPLETION_TTL_S),
        )
        return completion_code

    async def complete(self, user_id: uuid.UUID, completion_code: str) -> Connected:
        """Attach the grant waiting under ``completion_code`` to ``user_id``, who must be
        the user who started the consent, and discover their properties.

        A code is claimed once: any attempt, by anyone, ends it. Raises
        ``UnknownCompletionCode``, ``CompletionByAnotherUser`` or
        ``CompletionCodeExpired``; nothing is stored then.
        """
        pending = await store.take_pending_grant(
            self._pool, consent.completion_code_digest(completion_code)
        )
        if pending is None:
            raise UnknownCompletionCode(
                "no Google sign-in waits under this code: it was already used or never issued"
            )
        if pending.user_id != user_id:
            raise CompletionByAnotherUser(
                "this Google sign-in was started by another user; nothing was connected to "
                'any account. Start again with "Connect a Google account" from your own'
            )
        now = self._now()
        if pending.expires_at <= now:
            raise CompletionCodeExpired(
                "this Google sign-in was not completed in time; start again"
            )
        cipher = self._cipher()
        grant = consent.Grant.from_json(cipher.decrypt(pending.grant_encrypted))
        await store_google_grant(self._pool, cipher, user_id, grant.refresh_token, grant.scopes)
        await save_access_token(
            self._pool, user_id, cipher.encrypt(grant.access_token), grant.access_token_expires_at
        )
        async with aiohttp.ClientSession() as session:
            return await self._discover(session, user_id, grant.access_token)

    async def import_token(self, user_id: uuid.UUID, refresh_token: str) -> Connected:
        """Store a refresh token the app already holds (checked by one refresh first).

        Raises ``GrantRevoked`` (Google refused it) or ``GoogleUnavailable`` /
        ``GoogleError`` (Google could not check it); nothing is stored then.
        """
        client_id, client_secret = self._settings.require_google_client()
        oauth = OAuthClient(
            self._settings.google_token_uri,
            client_id,
            client_secret,
            timeout_s=self._settings.google_timeout_s,
        )
        access_token = await import_google_grant(
            self._pool, self._cipher(), oauth, user_id, refresh_token, now=self._now()
        )
        async with aiohttp.ClientSession() as session:
            return await self._discover(session, user_id, access_token)

    async def _discover(
        self, session: aiohttp.ClientSession, user_id: uuid.UUID, access_token: str
    ) -> Connected:
        admin = AdminClient(
            session,
            self._settings.ga4_admin_api_base_url,
            timeout_s=self._settings.google_timeout_s,
        )
        try:
            properties = await admin.discover(access_token)
        except GoogleError as exc:
            # The grant is stored and valid; the properties can be discovered again.
            return Connected(user_id, [], discovery_error=exc)
        refs = await save_discovered_properties(self._pool, user_id, properties)
        # The listing is complete (discover raises otherwise): what it no longer
        # holds, the user lost at Google; rows others sync are not theirs to read.
        removed = await remove_undiscovered_access(
            self._pool,
            user_id,
            [p.property_id for p in properties],
            "Google no longer lists this property for your Google account",
        )
        # New properties sync now, not at the next Sync now or daily run.
        first = (
            await self._first_sync.start_first_sync(user_id, refs)
            if self._first_sync is not None
            else None
        )
        return Connected(
            user_id,
            properties,
            access_removed=tuple(removed),
            first_sync_job_id=None if first is None else first.id,
        )

    async def disconnect(self, user_id: uuid.UUID, *, delete_data: bool) -> Disconnected:
        """Forget the grant here whatever Google says, then ask Google to revoke it."""
        stored = await store.delete_google_credentials(self._pool, user_id)
        # Rows first, while the user's access still says which properties were theirs
        # alone; then the access goes, and properties nobody else can see stop syncing.
        rows_deleted = (
            await store.delete_user_report_rows(self._pool, user_id) if delete_data else 0
        )
        await remove_user_access(self._pool, user_id)
        if not stored:
            return Disconnected(False, None, rows_deleted)
        # Revoking the refresh token revokes its access tokens too.
        try:
            refresh_token = self._cipher().decrypt(stored[0])
            async with aiohttp.ClientSession() as session:
                revoked = await consent.revoke(
                    session,
                    self._settings.google_revoke_uri,
                    refresh_token,
                    timeout_s=self._settings.google_timeout_s,
                )
        except Ga4SyncError as exc:  # Google unreachable or refusing, or a key that changed
            return Disconnected(True, None, rows_deleted, revoke_error=exc)
        return Disconnected(True, revoked, rows_deleted)

    async def change_settings(
        self,
        property_ref: int,
        user_id: uuid.UUID | None,
        *,
        enabled: bool | None = None,
        sync_frequency: str | None = None,
        realtime: bool | None = None,
    ) -> bool:
        """Change ``user_id``'s own settings of a property (None: every user's, as an
        admin may); ``False`` when nobody's changed (no access). A property whose
        realtime nobody polls any more loses its realtime snapshots: they would only
        grow stale."""
        changed = await set_access_settings(
            self._pool,
            property_ref,
            user_id=user_id,
            enabled=enabled,
            sync_frequency=sync_frequency,
            realtime=realtime,
        )
        if realtime is False and changed:
            async with self._pool.acquire() as conn:
                if not await realtime_polled(conn, property_ref):
                    await forget_property_realtime(conn, property_ref)
        return changed > 0

    async def lost_access(self, user_id: uuid.UUID) -> list[dict[str, Any]]:
        """The properties ``user_id`` lost access to, and why, newest first."""
        return await list_lost_access(self._pool, user_id)
