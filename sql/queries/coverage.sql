-- name: get_coverage
-- The dates of a property's reports read completely since $2, when, and under
-- which lookback.
select report, date, read_at, lookback_days
from ga4_coverage
where property_ref = $1 and date >= $2;

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

-- name: get_coverage_of_properties
-- get_coverage for many properties at once ($1 refs), since $2.
select property_ref, report, date, read_at, lookback_days
from ga4_coverage
where property_ref = any($1::bigint[]) and date >= $2;
