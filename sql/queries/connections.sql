-- name: claim_oauth_state
-- Returns a row the first time a state's nonce is seen, nothing on a replay.
insert into oauth_state_nonces (nonce, user_id, expires_at)
values ($1, $2, now() + make_interval(secs => $3))
on conflict (nonce) do nothing
returning nonce;

-- name: delete_google_credentials
delete from google_credentials where user_id = $1
returning refresh_token_encrypted, access_token_encrypted;

-- name: disable_user_properties
update ga4_properties set enabled = false, updated_at = now()
where user_id = $1 and enabled;

-- name: delete_user_report_rows
with gone as (
    delete from ga4_report_rows r
    using ga4_properties p
    where r.property_ref = p.id and p.user_id = $1
    returning 1
)
select count(*) from gone;

-- name: upsert_discovered_property
-- A property found in the user's Google account: names and time zone follow
-- Google; whether it is synced stays the user's choice once made.
insert into ga4_properties (user_id, property_id, display_name, time_zone, currency_code, enabled)
values ($1, $2, $3, $4, $5, $6)
on conflict (user_id, property_id) do update
set display_name = excluded.display_name,
    time_zone = excluded.time_zone,
    currency_code = excluded.currency_code,
    updated_at = now()
returning id;

-- name: set_property_enabled
update ga4_properties set enabled = $2, updated_at = now()
where id = $1
returning id;
