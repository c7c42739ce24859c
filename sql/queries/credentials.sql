-- name: get_google_credentials
select user_id, refresh_token_encrypted, access_token_encrypted, access_token_expires_at,
       scopes, needs_reauth, reauth_reason
from google_credentials
where user_id = $1;

-- name: save_google_credentials
-- A new grant replaces the old one and clears any re-auth mark.
insert into google_credentials (user_id, refresh_token_encrypted, scopes)
values ($1, $2, $3)
on conflict (user_id) do update
set refresh_token_encrypted = excluded.refresh_token_encrypted,
    scopes = excluded.scopes,
    access_token_encrypted = null,
    access_token_expires_at = null,
    needs_reauth = false,
    reauth_reason = null,
    updated_at = now();

-- name: save_access_token
update google_credentials
set access_token_encrypted = $2, access_token_expires_at = $3, updated_at = now()
where user_id = $1;

-- name: mark_needs_reauth
update google_credentials
set needs_reauth = true, reauth_reason = $2,
    access_token_encrypted = null, access_token_expires_at = null, updated_at = now()
where user_id = $1;

-- name: list_credential_users
-- One batch of users holding tokens, in user id order after $1 (null: from the start).
select user_id
from google_credentials
where $1::uuid is null or user_id > $1
order by user_id
limit $2;

-- name: lock_stored_tokens
-- A user's tokens, locked until the transaction ends (key rotation rewrites them).
select refresh_token_encrypted, access_token_encrypted
from google_credentials
where user_id = $1
for update;

-- name: replace_stored_tokens
-- The same tokens encrypted under another key: nothing else about the grant changes.
update google_credentials
set refresh_token_encrypted = $2, access_token_encrypted = $3
where user_id = $1;
