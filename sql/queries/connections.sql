-- name: claim_oauth_state
-- Returns a row the first time a state's nonce is seen, nothing on a replay.
insert into oauth_state_nonces (nonce, user_id, expires_at)
values ($1, $2, now() + make_interval(secs => $3))
on conflict (nonce) do nothing
returning nonce;

-- name: delete_google_credentials
delete from google_credentials where user_id = $1
returning refresh_token_encrypted, access_token_encrypted;

-- name: delete_user_report_rows
-- The coverage of the properties only this user can access (run before their
-- access is removed), and their rows kept before reports had tables of their
-- own; what other users still see stays. The report tables follow
-- (delete_unshared_report_rows).
with gone as (
    delete from ga4_report_rows r
    using ga4_property_access a
    where a.user_id = $1 and r.property_ref = a.property_ref
      and not exists (
          select 1 from ga4_property_access o
          where o.property_ref = a.property_ref and o.user_id <> $1
      )
    returning 1
),
coverage as (
    delete from ga4_coverage g
    using ga4_property_access a
    where a.user_id = $1 and g.property_ref = a.property_ref
      and not exists (
          select 1 from ga4_property_access o
          where o.property_ref = a.property_ref and o.user_id <> $1
      )
)
select count(*) from gone;

-- name: upsert_discovered_property
-- A property found in the user's Google account: names, time zone and service
-- level follow Google (a service level it leaves out stays as it was).
-- A property another user connected first is the same row: this user gains
-- access, synced ($6) until they turn it off; whether it is synced, and how
-- often, stays the user's choice once made. Access lost before is regained.
with prop as (
    insert into ga4_properties
        (property_id, display_name, time_zone, currency_code, service_level)
    values ($2, $3, $4, $5, $7)
    on conflict (property_id) do update
    set display_name = excluded.display_name,
        time_zone = excluded.time_zone,
        currency_code = excluded.currency_code,
        service_level = coalesce(excluded.service_level, ga4_properties.service_level),
        updated_at = now()
    returning id
),
access as (
    insert into ga4_property_access (user_id, property_ref, enabled, discovered)
    select $1, id, $6, true from prop
    on conflict (user_id, property_ref) do update set discovered = true
),
regained as (
    delete from ga4_property_access_lost l
    using prop
    where l.user_id = $1 and l.property_ref = prop.id
)
select id from prop;

-- name: save_pending_grant
insert into google_pending_grants (code_sha256, user_id, grant_encrypted, created_at, expires_at)
values ($1, $2, $3, $4, $5);

-- name: take_pending_grant
-- A code is claimed once, whoever claims it: the row goes with the first attempt,
-- so a code tried by another user can no longer be used by anyone.
delete from google_pending_grants where code_sha256 = $1
returning user_id, grant_encrypted, created_at, expires_at;
