-- name: orphaned_job_properties
-- Properties of running jobs that wait for a task no longer queued nor running
-- (its queue entry was lost): $1 = seconds a job must have been running.
select jp.job_id, jp.property_ref
from ga4_sync_job_properties jp
join ga4_sync_jobs j on j.id = jp.job_id
where jp.status = 'pending'
  and j.status = 'running'
  and j.started_at < now() - make_interval(secs => $1)
  and not exists (
      select 1 from ga4sync_queue.procrastinate_jobs pj
      where pj.task_name = 'ga4sync.sync_property'
        and pj.status in ('todo', 'doing')
        and pj.args ->> 'job_id' = jp.job_id::text
        and (pj.args ->> 'property_ref')::bigint = jp.property_ref
  )
order by jp.job_id, jp.property_ref;

-- name: history_steps
-- Each property's next background step its history goes on with, if one is
-- queued or running: its own next history step, else a sync its quota deferred
-- (the history follows that sync once it resumes). Its status and when it may
-- start (later than now: waiting for the quota).
select distinct on ((args ->> 'property_ref')::bigint)
       (args ->> 'property_ref')::bigint as property_ref, status, scheduled_at,
       (args ->> 'recent')::boolean as recent
from ga4sync_queue.procrastinate_jobs
where task_name = 'ga4sync.continue_property'
  and status in ('todo', 'doing')
order by (args ->> 'property_ref')::bigint, (args ->> 'recent')::boolean, status desc,
         scheduled_at nulls first;

-- name: history_due_for_retry
-- Properties whose history failed or was lost and whose backoff has passed at
-- $1, at most $2 of them, longest waiting first: those that still sync (a
-- user with access has them enabled) and have no step queued or running (a
-- history step, or a resume its history follows).
select p.id
from ga4_properties p
where p.history_retry_at <= $1
  and exists (
      select 1 from ga4_property_access a where a.property_ref = p.id and a.enabled)
  and not exists (
      select 1 from ga4sync_queue.procrastinate_jobs j
      where j.task_name = 'ga4sync.continue_property'
        and j.status in ('todo', 'doing')
        and (j.args ->> 'property_ref')::bigint = p.id)
order by p.history_retry_at, p.id
limit $2;
