-- The upsert into JSON rows (ga4_report_rows) that typed report tables replaced,
-- kept as the baseline bench/typed.py measures them against.

-- name: upsert_json_rows
-- $1 property_ref, $2 report, $3 dimension names (without date), $4 metric names,
-- $5 run id and $6 read number of the read the page belongs to (null: not kept).
-- Staged values arrive joined by chr(31) (COPY moves plain text many times
-- faster than arrays); a single empty value joins to '' and is split back
-- by hand. The page arrives de-duplicated, so one statement never touches a
-- row twice. Dimensions are a function of dimension_key, so only metrics are
-- compared: unchanged rows are left alone and a re-run writes nothing.
with page as (
    select day::date as date,
           md5(dims)::uuid as dimension_key,
           jsonb_object($3::text[], case when dims = '' and cardinality($3::text[]) = 1
                                         then array[''] else string_to_array(dims, chr(31)) end)
               as dimensions,
           jsonb_object($4::text[], case when vals = '' and cardinality($4::text[]) = 1
                                         then array[''] else string_to_array(vals, chr(31)) end)
               as metrics
    from ga4_report_rows_staging
),
written as (
    insert into ga4_report_rows as r (property_ref, report, date, dimension_key, dimensions, metrics)
    select $1, $2, date, dimension_key, dimensions, metrics from page
    on conflict (property_ref, report, date, dimension_key) do update
    set metrics = excluded.metrics, updated_at = now()
    where r.metrics is distinct from excluded.metrics
    returning (xmax = 0) as inserted
),
seen as (
    -- from the staging table, not from page: page stays inlined in its one use
    insert into ga4_read_keys (run_id, read_no, date, dimension_key)
    select $5, $6, day::date, md5(dims)::uuid
    from ga4_report_rows_staging
    where $5::bigint is not null
)
select count(*) filter (where inserted) as inserted,
       count(*) filter (where not inserted) as updated
from written;
