-- name: lock_manual_runs
-- Serialises the starts of one requester's manual runs until the transaction
-- ends, so the rate limit's count and the insert are one step. The first key
-- names this lock's family (two-key advisory locks never meet one-key ones).
select pg_advisory_xact_lock(1952869237, hashtext($1::uuid::text));

-- name: create_manual_job
-- A Sync now. Nothing is returned when the same requester already has this
-- target running.
insert into ga4_sync_jobs (kind, trigger, scope, requested_by, since_days, property_filter)
values ('manual', 'sync_now', $1, $2, $3, $4)
on conflict (requested_by, scope, coalesce(property_filter, ''))
    where kind = 'manual' and trigger = 'sync_now' and status in ('pending', 'running')
do nothing
returning *;

-- name: create_connection_job
-- The first sync of properties $2 that user $1 just connected: those of them
-- the user has enabled that were never synced and that no active run covers
-- yet ($3: the lookback). Nothing is returned (no run) when none is left: a
-- reconnection of properties already synced starts nothing.
with fresh as (
    select p.id
    from ga4_properties p
    where p.id = any($2::bigint[])
      and p.last_sync_at is null
      and exists (
          select 1 from ga4_property_access a
          where a.property_ref = p.id and a.user_id = $1 and a.enabled)
      and not exists (
          select 1 from ga4_sync_jobs j
          where j.status in ('pending', 'running')
            and (p.id = any(j.property_refs)
                 or exists (
                     select 1 from ga4_sync_job_properties jp
                     where jp.job_id = j.id and jp.property_ref = p.id
                       and jp.status = 'pending')))
)
insert into ga4_sync_jobs (kind, trigger, scope, requested_by, since_days, property_refs)
select 'manual', 'connection', $1::uuid::text, $1, $3, array_agg(id order by id)
from fresh
having count(*) > 0
returning *;

-- name: run_target_exists
-- Whether GA4 property $2 is one a run of user $1's properties (null: everyone's) covers.
select exists (
    select 1 from ga4_properties p
    where p.property_id = $2
      and ($1::uuid is null or exists (
          select 1 from ga4_property_access a where a.property_ref = p.id and a.user_id = $1))
);

-- name: get_active_manual_job
-- The requester's active Sync now of this target.
select *
from ga4_sync_jobs
where kind = 'manual' and trigger = 'sync_now' and requested_by = $1 and scope = $2
  and coalesce(property_filter, '') = coalesce($3, '')
  and status in ('pending', 'running');

-- name: manual_runs_since
-- How many Sync now and re-sync runs a user started since $2, and when the
-- oldest of them was (a connection's first sync is not one of them).
select count(*) as runs, min(created_at) as oldest
from ga4_sync_jobs
where kind = 'manual' and trigger in ('sync_now', 'resync')
  and requested_by = $1 and created_at > $2;

-- name: create_resync_job
-- A re-sync of property $3 (its GA4 id $4) requested by $2 in scope $1: the
-- reports named $5 (null: all) over the dates $6 .. $7 ($8: the lookback).
insert into ga4_sync_jobs (kind, trigger, scope, requested_by, since_days, property_filter,
                           property_refs, resync_reports, resync_start, resync_end)
values ('manual', 'resync', $1, $2, $8, $4, array[$3::bigint], $5, $6, $7)
returning *;

-- name: get_active_daily_job
select *
from ga4_sync_jobs
where kind = 'daily' and status in ('pending', 'running')
order by created_at desc
limit 1;

-- name: create_daily_job
-- lock_key is unique: one daily run per local date, however many callers race.
insert into ga4_sync_jobs (kind, trigger, scope, lock_key, run_date, since_days)
values ('daily', 'daily', 'all', $1, $2, $3)
on conflict (lock_key) do nothing
returning *;

-- name: get_job_by_lock_key
select *
from ga4_sync_jobs
where lock_key = $1;

-- name: get_job
select *
from ga4_sync_jobs
where id = $1;

-- name: mark_job_running
-- pending -> running, once; a retried run finds it running already and carries on.
update ga4_sync_jobs
set status = 'running', started_at = coalesce(started_at, now())
where id = $1 and status in ('pending', 'running')
returning *;

-- name: plan_job_properties
-- The properties a job covers, fixed the first time it runs.
-- $1 job id, $2 user id (null = everyone; else the properties that user can access), $3 include 'manual'-frequency properties,
-- $4 one GA4 property id (null = all), $5 the properties the job names (null = all)
-- A property is in when a user with access (user $2 themselves, when given)
-- has it enabled, on a schedule other than manual unless $3: one user turning
-- it off or to manual stops only their own interest in it.
with planned as (
    insert into ga4_sync_job_properties (job_id, property_ref)
    select $1, p.id
    from ga4_properties p
    where exists (
          select 1 from ga4_property_access a
          where a.property_ref = p.id and a.enabled
            and ($2::uuid is null or a.user_id = $2)
            and ($3 or a.sync_frequency <> 'manual'))
      and ($4::text is null or p.property_id = $4)
      and ($5::bigint[] is null or p.id = any($5::bigint[]))
    on conflict do nothing
    returning 1
)
update ga4_sync_jobs
-- the statement's snapshot does not see rows the CTE inserts: add them
set properties_total = (select count(*) from ga4_sync_job_properties where job_id = $1)
                     + (select count(*) from planned)
where id = $1
returning properties_total;

-- name: pending_job_properties
select property_ref from ga4_sync_job_properties
where job_id = $1 and status = 'pending'
order by property_ref;

-- name: job_property_status
select status from ga4_sync_job_properties where job_id = $1 and property_ref = $2;

-- name: complete_job_property
-- Counts a property into its job exactly once (a retried task finds it done).
with done as (
    update ga4_sync_job_properties
    set status = $3, rows_fetched = $4, rows_inserted = $5, rows_updated = $6,
        rows_unchanged = $7, tokens_consumed = $8, duration_ms = $9, error = $10,
        rows_deleted = $11, history_days_left = $12, finished_at = now()
    where job_id = $1 and property_ref = $2 and status = 'pending'
    returning status, rows_fetched, rows_inserted + rows_updated as rows_written, rows_deleted
)
update ga4_sync_jobs j
set properties_done = j.properties_done + 1,
    properties_failed = j.properties_failed + (d.status not in ('success', 'skipped'))::int,
    rows_fetched = j.rows_fetched + d.rows_fetched,
    rows_written = j.rows_written + d.rows_written,
    rows_deleted = j.rows_deleted + d.rows_deleted
from done d
where j.id = $1
returning j.properties_done, j.properties_total;

-- name: job_property_results
-- Each property of the jobs in $1, with its outcome once counted in; $2 limits
-- to the properties one user can access (null: all).
select jp.job_id, p.property_id, jp.property_ref, jp.status, jp.rows_fetched, jp.rows_inserted,
       jp.rows_updated, jp.rows_unchanged, jp.rows_deleted, jp.tokens_consumed, jp.duration_ms,
       jp.error, jp.history_days_left,
       jp.finished_at
from ga4_sync_job_properties jp
join ga4_properties p on p.id = jp.property_ref
where jp.job_id = any($1::uuid[])
  and ($2::uuid is null or exists (
      select 1 from ga4_property_access a where a.property_ref = jp.property_ref and a.user_id = $2))
order by jp.job_id, jp.property_ref;

-- name: finish_job
-- running -> success | failed, once. $2 status, $3 message, $4 whether the run
-- synced a property: only then is it the data's last sync.
update ga4_sync_jobs
set status = $2,
    message = $3,
    finished_at = now(),
    last_sync_at = case when $2 = 'success' and $4 then now() else last_sync_at end
where id = $1 and status = 'running'
returning *;

-- name: jobs_waiting_to_start
-- Pending jobs old enough that their queue entry may have been lost.
select id from ga4_sync_jobs
where status = 'pending' and created_at < now() - make_interval(secs => $1)
order by created_at;

-- name: list_jobs
-- Newest first, keyset-paged: $2 is the last job of the previous page (null: first page).
-- $1 limits to one user's manual runs plus the daily runs (null: everyone's).
select *
from ga4_sync_jobs
where ($1::uuid is null or requested_by = $1 or kind = 'daily')
  and ($2::uuid is null
       or (created_at, id) < (select created_at, id from ga4_sync_jobs where id = $2))
order by created_at desc, id desc
limit $3;

-- name: daily_failure_streak
-- Failed daily runs since the last successful one.
select count(*)
from ga4_sync_jobs
where kind = 'daily' and status = 'failed'
  and run_date > coalesce(
      (select max(run_date) from ga4_sync_jobs where kind = 'daily' and status = 'success'),
      '-infinity'::date
  );

-- name: jobs_property_breakdown
-- For each job in $1: its properties' outcomes, with the data quality of their run;
-- $2 limits to the properties one user can access (null: all).
select jp.job_id, p.property_id, p.display_name, jp.status, jp.rows_fetched,
       jp.rows_inserted + jp.rows_updated as rows_written, jp.rows_unchanged,
       jp.tokens_consumed, jp.duration_ms, jp.error, r.data_quality
from ga4_sync_job_properties jp
join ga4_properties p on p.id = jp.property_ref
left join lateral (
    select data_quality from ga4_property_runs
    where job_id = jp.job_id and property_ref = jp.property_ref
    order by started_at desc limit 1
) r on true
where jp.job_id = any($1::uuid[])
  and ($2::uuid is null or exists (
      select 1 from ga4_property_access a where a.property_ref = jp.property_ref and a.user_id = $2))
order by jp.job_id, p.property_id;
