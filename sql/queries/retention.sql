-- name: prune_sync_jobs
-- Finished jobs older than the retention ($1 = cutoff); active ones are never touched.
with gone as (
    delete from ga4_sync_jobs
    where status in ('success', 'failed') and coalesce(finished_at, created_at) < $1
    returning 1
)
select count(*) from gone;

-- name: prune_property_runs
-- Runs older than the cutoff, except each property's latest.
with latest as (
    select distinct on (property_ref) id
    from ga4_property_runs
    order by property_ref, started_at desc, id desc
),
gone as (
    delete from ga4_property_runs r
    where r.started_at < $1
      and r.status <> 'running'
      and r.id not in (select id from latest)
    returning 1
)
select count(*) from gone;

-- name: prune_oauth_states
with gone as (
    delete from oauth_state_nonces where expires_at < $1 returning 1
)
select count(*) from gone;

-- name: prune_pending_grants
with gone as (
    delete from google_pending_grants where expires_at < $1 returning 1
)
select count(*) from gone;
