-- Run by the queue's own connections (procrastinate's psycopg connector, whose
-- search_path is ga4sync_queue): psycopg's %(name)s placeholders.

-- name: promote_job_tasks
-- The waiting tasks of job %(job_id)s for the properties %(refs)s, to the top
-- of the lane whose first priority is %(top)s, in their order of arrival.
update procrastinate_jobs as j
set priority = %(top)s - r.n
from (
    select id, row_number() over (order by id) - 1 as n
    from procrastinate_jobs
    where task_name = 'ga4sync.sync_property'
      and status = 'todo'
      and args ->> 'job_id' = %(job_id)s
      and (args ->> 'property_ref')::bigint = any(%(refs)s)
) as r
where j.id = r.id and j.priority < %(top)s - r.n
returning j.id;

-- name: analyze_queue
-- Fresh statistics after a fan-out: procrastinate's plan for taking a task,
-- cached by each worker connection, was made from the queue's statistics; made
-- when it was nearly empty, it read every waiting task on every take. New
-- statistics make every connection plan again.
analyze procrastinate_jobs;

-- name: age_waiting_tasks
-- Each minute a unit of work waits, due and not taken, it gains %(step)s
-- priorities, up to the top of the interactive lane (%(top)s): whatever keeps
-- arriving ahead of it, a unit is taken within a bounded time. All waiting
-- units gain alike, so their order among themselves holds. Returns how many.
with aged as (
    update procrastinate_jobs
    set priority = least(priority + %(step)s, %(top)s)
    where status = 'todo'
      and priority < %(top)s
      and (scheduled_at is null or scheduled_at <= now())
      and task_name in ('ga4sync.sync_property', 'ga4sync.sync_due_property',
                        'ga4sync.continue_property')
    returning 1
)
select count(*) as aged from aged;
