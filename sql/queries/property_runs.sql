-- name: start_property_run
insert into ga4_property_runs (property_ref, job_id, start_date, end_date, part)
values ($1, $2, $3, $4, $5)
returning id;

-- name: finish_property_run
update ga4_property_runs
set status = $2,
    finished_at = now(),
    duration_ms = $3,
    rows_fetched = $4,
    rows_inserted = $5,
    rows_updated = $6,
    rows_unchanged = $7,
    tokens_consumed = $8,
    quota = $9,
    data_quality = $10,
    error = $11,
    rows_deleted = $12
where id = $1;

-- name: list_property_runs
-- A property's runs, newest first, keyset-paged by run id ($2: last id of the previous page).
select id, job_id, status, start_date, end_date, started_at, finished_at, duration_ms,
       rows_fetched, rows_inserted, rows_updated, rows_unchanged, tokens_consumed,
       quota, data_quality, error
from ga4_property_runs
where property_ref = $1 and ($2::bigint is null or id < $2)
order by id desc
limit $3;

-- name: close_interrupted_runs
-- Runs of a property's part ($2: recent days or history) still marked running
-- when the next run of that part starts were cut off (a worker died mid-run):
-- runs of one part of a property never overlap.
update ga4_property_runs
set status = 'failed',
    finished_at = now(),
    error = 'interrupted: the process running it stopped before it finished'
where property_ref = $1 and part = $2 and status = 'running';

-- name: last_report_outcomes
-- Per property ($1 refs) and report name, what the last finished run that read
-- the report said of it (its data quality entry) and when.
select distinct on (r.property_ref, q.key)
       r.property_ref, q.key as report, q.value as quality, r.finished_at
from ga4_property_runs r
cross join lateral jsonb_each(r.data_quality) q
where r.property_ref = any($1::bigint[]) and r.status <> 'running'
order by r.property_ref, q.key, r.finished_at desc;
