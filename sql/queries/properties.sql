-- name: upsert_property
-- The one row of a GA4 property, and user $1's access to it, added by hand:
-- enabled ($6) is that user's choice. Access lost before is regained.
with prop as (
    insert into ga4_properties (property_id, display_name, time_zone, currency_code)
    values ($2, $3, $4, $5)
    on conflict (property_id) do update
    set display_name = coalesce(excluded.display_name, ga4_properties.display_name),
        time_zone = excluded.time_zone,
        currency_code = coalesce(excluded.currency_code, ga4_properties.currency_code),
        updated_at = now()
    returning id
),
access as (
    insert into ga4_property_access (user_id, property_ref, enabled)
    select $1, id, $6 from prop
    on conflict (user_id, property_ref) do update set enabled = excluded.enabled
),
regained as (
    delete from ga4_property_access_lost l
    using prop
    where l.user_id = $1 and l.property_ref = prop.id
)
select id from prop;

-- name: list_properties_to_sync
-- Properties some user with access has enabled (user $1 themselves, when given),
-- optionally one GA4 property id ($2) and/or one property row ($3), with the
-- users whose grant can read them.
select p.id, p.property_id, p.display_name, p.time_zone, p.service_level,
       coalesce(g.grant_users, '{}') as grant_users,
       coalesce(g.has_credentials, false) as has_credentials
from ga4_properties p
left join lateral (
    -- Users with access whose grant still works, in the order they are tried.
    select array_agg(a.user_id order by a.created_at, a.user_id)
               filter (where c.user_id is not null and not c.needs_reauth) as grant_users,
           bool_or(c.user_id is not null) as has_credentials
    from ga4_property_access a
    left join google_credentials c on c.user_id = a.user_id
    where a.property_ref = p.id
) g on true
where exists (
      select 1 from ga4_property_access w
      where w.property_ref = p.id and w.enabled and ($1::uuid is null or w.user_id = $1))
  and ($2::text is null or p.property_id = $2)
  and ($3::bigint is null or p.id = $3)
order by p.id;

-- name: record_property_outcome
-- Success resets the failure streak; anything else extends it. Returns the
-- streak before and after, so alerts fire once per incident.
with before as (
    select id, consecutive_failures from ga4_properties where id = $1 for update
)
update ga4_properties p
set last_sync_at = case when $2 = 'success' then now() else p.last_sync_at end,
    last_sync_status = $2,
    last_sync_error = $3,
    consecutive_failures = case when $2 = 'success' then 0 else p.consecutive_failures + 1 end,
    time_zone = coalesce($4, p.time_zone),
    currency_code = coalesce($5, p.currency_code),
    updated_at = now()
from before
where p.id = before.id
returning before.consecutive_failures as failures_before,
          p.consecutive_failures as failures_after,
          p.property_id, p.display_name;

-- name: find_property_ref
-- The property a request names: by its GA4 property id $1, else (for links made
-- before GA4 ids were accepted) by ga4sync's own row id $2 (null when $1 is too
-- long to be one). A GA4 id always wins over a row id of the same digits.
select p.id
from ga4_properties p
where p.property_id = $1 or p.id = $2
order by p.property_id = $1 desc
limit 1;

-- name: get_property
-- enabled, sync_frequency and realtime are user $2's own settings when they
-- have access, else (an admin, or $2 null) the property's effective ones:
-- enabled while any user with access has it enabled, at the most frequent
-- schedule among them; realtime polled while any of them has it on.
select p.id, p.property_id, p.display_name, p.time_zone, p.currency_code,
       p.service_level, p.last_sync_at, p.last_sync_status, p.last_sync_error, p.consecutive_failures,
       p.next_due_at,
       coalesce(m.enabled, s.enabled) as enabled,
       coalesce(m.sync_frequency, s.sync_frequency) as sync_frequency,
       s.enabled as effective_enabled,
       s.sync_frequency as effective_sync_frequency,
       coalesce(m.realtime, s.realtime) as realtime,
       s.realtime as effective_realtime,
       array(select a.user_id from ga4_property_access a where a.property_ref = p.id
             order by a.created_at, a.user_id) as access_user_ids
from ga4_properties p
left join ga4_property_access m on m.property_ref = p.id and m.user_id = $2
cross join lateral (
    select coalesce(bool_or(a.enabled), false) as enabled,
           coalesce((array_agg(a.sync_frequency order by not a.enabled,
               array_position('{hourly,every_6h,daily,manual}'::text[], a.sync_frequency)))[1],
               'daily') as sync_frequency,
           coalesce(bool_or(a.realtime), false) as realtime
    from ga4_property_access a
    where a.property_ref = p.id
) s
where p.id = $1;

-- name: list_properties_status
-- Properties with their last sync and last run; $1 limits to those one user
-- can access (null: all). enabled and sync_frequency are user $2's own
-- settings where they have access, else the effective ones (see get_property).
-- needs_reauth: no user with access has a working grant, so the property
-- cannot sync until someone reconnects.
select p.id, p.property_id, p.display_name, p.time_zone, p.service_level,
       p.last_sync_at, p.last_sync_status, p.last_sync_error, p.consecutive_failures,
       p.next_due_at, p.history_failures, p.history_error, p.history_retry_at,
       coalesce(m.enabled, s.enabled) as enabled,
       coalesce(m.sync_frequency, s.sync_frequency) as sync_frequency,
       s.enabled as effective_enabled,
       s.sync_frequency as effective_sync_frequency,
       coalesce(m.realtime, s.realtime) as realtime,
       s.realtime as effective_realtime,
       coalesce(g.has_credentials, false) and cardinality(coalesce(g.grant_users, '{}')) = 0
           as needs_reauth,
       coalesce(g.has_credentials, false) as connected,
       coalesce(g.users, 0) as users,
       r.status as last_run_status,
       r.finished_at as last_run_finished_at,
       r.rows_fetched as last_run_rows_fetched,
       r.rows_inserted + r.rows_updated as last_run_rows_written,
       r.data_quality as last_run_data_quality
from ga4_properties p
left join ga4_property_access m on m.property_ref = p.id and m.user_id = $2
cross join lateral (
    select coalesce(bool_or(a.enabled), false) as enabled,
           coalesce((array_agg(a.sync_frequency order by not a.enabled,
               array_position('{hourly,every_6h,daily,manual}'::text[], a.sync_frequency)))[1],
               'daily') as sync_frequency,
           coalesce(bool_or(a.realtime), false) as realtime
    from ga4_property_access a
    where a.property_ref = p.id
) s
left join lateral (
    select array_agg(a.user_id) filter (where c.user_id is not null and not c.needs_reauth)
               as grant_users,
           bool_or(c.user_id is not null) as has_credentials,
           count(*) as users
    from ga4_property_access a
    left join google_credentials c on c.user_id = a.user_id
    where a.property_ref = p.id
) g on true
left join lateral (
    select status, finished_at, rows_fetched, rows_inserted, rows_updated, data_quality
    from ga4_property_runs
    where property_ref = p.id and status <> 'running'
    order by started_at desc
    limit 1
) r on true
where $1::uuid is null or exists (
    select 1 from ga4_property_access x where x.property_ref = p.id and x.user_id = $1)
order by p.display_name nulls last, p.property_id, p.id;

-- name: claim_due_properties
-- Properties whose hourly / 6-hourly sync is due at $1: claimed by moving
-- next_due_at one interval past $1, so concurrent schedulers never both take one.
-- A property's schedule is the most frequent one among the users with access
-- who have it enabled.
with due as (
    select p.id, s.sync_frequency
    from ga4_properties p
    cross join lateral (
        select case when bool_or(a.sync_frequency = 'hourly') then 'hourly'
                    else 'every_6h' end as sync_frequency
        from ga4_property_access a
        where a.property_ref = p.id and a.enabled
          and a.sync_frequency in ('hourly', 'every_6h')
        having count(*) > 0
    ) s
    where exists (
          select 1
          from ga4_property_access a
          join google_credentials c on c.user_id = a.user_id
          where a.property_ref = p.id and not c.needs_reauth
      )
      and (p.next_due_at is null or p.next_due_at <= $1)
    order by p.next_due_at nulls first, p.id
    limit $2
    for update of p skip locked
)
update ga4_properties p
set next_due_at = $1 + case due.sync_frequency
                           when 'hourly' then interval '1 hour'
                           else interval '6 hours'
                       end
from due
where p.id = due.id
returning p.id;

-- name: record_history_failure
-- A background step of property $1's history failed ($2: why): one more
-- failure in a row, and the next step is due at $4 plus the backoff of that
-- many failures ($5: seconds after the 1st, 2nd, ... failure; the last one
-- for every failure after), or never when $3 is false (the cause needs a
-- person). Returns the count and when it retries.
update ga4_properties
set history_failures = history_failures + 1,
    history_error = $2,
    history_retry_at = case when $3 then $4::timestamptz + make_interval(
        secs => ($5::float8[])[least(history_failures + 1, cardinality($5::float8[]))])
    end
where id = $1
returning history_failures, history_retry_at;

-- name: reset_history_failures
-- A step of property $1's history succeeded: its failures are over.
update ga4_properties
set history_failures = 0, history_error = null, history_retry_at = null
where id = $1
  and (history_failures > 0 or history_error is not null or history_retry_at is not null);
