-- name: get_coverage
-- The dates of a property's reports read completely since $2, and when.
select report, date, read_at
from ga4_coverage
where property_ref = $1 and date >= $2;

-- name: finish_read
-- A report's dates $3..$4 were read completely: rows GA4 no longer returned are
-- deleted, the dates are recorded as read at $7 (with how many rows each has),
-- and the read's keys go. $1 property_ref, $2 report, $5 run id, $6 read number.
with seen as (
    select date, dimension_key from ga4_read_keys where run_id = $5 and read_no = $6
),
vanished as (
    delete from ga4_report_rows r
    where r.property_ref = $1 and r.report = $2 and r.date between $3 and $4
      and not exists (
          select 1 from seen s where s.date = r.date and s.dimension_key = r.dimension_key
      )
    returning 1
),
per_day as (
    select d::date as date, coalesce(n.rows, 0) as rows
    from generate_series($3::date, $4::date, interval '1 day') d
    left join (
        select date, count(distinct dimension_key)::integer as rows from seen group by date
    ) n on n.date = d::date
),
covered as (
    insert into ga4_coverage (property_ref, report, date, read_at, rows)
    select $1, $2, date, $7, rows from per_day
    on conflict (property_ref, report, date) do update
    set read_at = excluded.read_at, rows = excluded.rows
),
cleared as (
    delete from ga4_read_keys where run_id = $5 and read_no = $6
)
select count(*) as deleted from vanished;

-- name: plan_without_nested_loops
-- For the rest of the transaction: join by hashing or merging, not by a nested
-- loop. finish_read runs under it: a read's keys were written moments before,
-- long before autovacuum analyzes them, so the planner takes the tens of
-- thousands of keys of a chunk for a handful and, left to choose, scans them
-- once per stored row of the chunk's dates (minutes per chunk, where a hash or
-- a merge takes a fraction of a second whatever the counts).
set local enable_nestloop = off;

-- name: abandon_read
-- An incomplete read: its keys go, nothing is deleted or covered.
delete from ga4_read_keys where run_id = $1 and read_no = $2;

-- name: prune_read_keys
-- Keys left by reads whose run is over (a crashed worker's).
delete from ga4_read_keys k
where not exists (
    select 1 from ga4_property_runs r where r.id = k.run_id and r.status = 'running'
);
