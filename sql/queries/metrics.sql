-- name: metrics_jobs
select kind, status, count(*) as n from ga4_sync_jobs group by kind, status;

-- name: metrics_queue
select task_name, status, count(*) as n
from ga4sync_queue.procrastinate_jobs
where status in ('todo', 'doing')
group by task_name, status;

-- name: metrics_workers
-- (a heartbeat from the future is no worker's: see health_check)
select count(*) as workers,
       extract(epoch from now() - max(last_heartbeat))::float8 as heartbeat_age_s
from ga4sync_queue.procrastinate_workers
where last_heartbeat <= now() + interval '1 minute';

-- name: metrics_runs_24h
select status,
       count(*) as runs,
       coalesce(sum(rows_fetched), 0) as rows_fetched,
       coalesce(sum(rows_inserted + rows_updated), 0) as rows_written,
       coalesce(sum(tokens_consumed), 0) as tokens_consumed,
       coalesce(sum(duration_ms), 0) / 1000.0 as duration_s_sum,
       coalesce(max(duration_ms), 0) / 1000.0 as duration_s_max
from ga4_property_runs
where started_at > now() - interval '24 hours' and status <> 'running'
group by status;

-- name: metrics_properties
-- A property is enabled while any user with access has it enabled.
select count(*) filter (where g.enabled) as enabled,
       count(*) filter (where not g.enabled) as disabled,
       count(*) filter (where g.enabled and g.has_credentials and not g.has_grant) as needs_reauth,
       count(*) filter (where g.enabled and p.consecutive_failures > 0) as failing
from ga4_properties p
left join lateral (
    select coalesce(bool_or(a.enabled), false) as enabled,
           bool_or(c.user_id is not null) as has_credentials,
           coalesce(bool_or(not c.needs_reauth), false) as has_grant
    from ga4_property_access a
    left join google_credentials c on c.user_id = a.user_id
    where a.property_ref = p.id
) g on true;

-- name: metrics_quota
-- Each property's GA4 quota left, as its latest finished run saw it.
select distinct on (r.property_ref) p.property_id, r.quota
from ga4_property_runs r
join ga4_properties p on p.id = r.property_ref
where r.quota is not null and r.status <> 'running'
order by r.property_ref, r.started_at desc;

-- name: metrics_sync_now_waits
-- Per user (only $1, when given), how long their Sync now runs of the last 24 h
-- took from the click to fresh data (created to finished): median and 95th
-- percentile, and how many.
select j.requested_by::text as user_id,
       count(*)::int as runs,
       percentile_cont(0.5) within group (
           order by extract(epoch from j.finished_at - j.created_at)) as p50_s,
       percentile_cont(0.95) within group (
           order by extract(epoch from j.finished_at - j.created_at)) as p95_s
from ga4_sync_jobs j
where j.kind = 'manual'
  and j.trigger = 'sync_now'
  and j.requested_by is not null
  and j.finished_at > now() - interval '24 hours'
  and ($1::uuid is null or j.requested_by = $1)
group by j.requested_by
order by 1;

-- name: metrics_waiting_per_user
-- Properties of active runs still waiting, per user and kind of run: a Sync now
-- counts for the user who clicked, the daily run for each property's tenant (the
-- first user, by id, with access to it: see fair_order.sql). Only user $1's,
-- when given.
with tenants as (
    select a.property_ref, min(a.user_id::text) as tenant
    from ga4_property_access a
    group by a.property_ref
),
waiting as (
    select case when j.kind = 'manual' then j.requested_by::text
                else coalesce(t.tenant, '') end as user_id,
           j.kind
    from ga4_sync_job_properties jp
    join ga4_sync_jobs j on j.id = jp.job_id
    left join tenants t on t.property_ref = jp.property_ref
    where jp.status = 'pending' and j.status in ('pending', 'running')
)
select user_id, kind, count(*)::int as n
from waiting
where $1::uuid is null or user_id = $1::text
group by 1, 2
order by 1, 2;
