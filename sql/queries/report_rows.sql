-- name: create_report_rows_staging
-- Lives for one transaction: one page of one report.
create temp table ga4_report_rows_staging (
    seq integer not null,
    day text not null,
    dims text[] not null,
    vals text[] not null
) on commit drop;

-- name: upsert_report_rows
-- $1 property_ref, $2 report, $3 dimension names (without date), $4 metric names.
-- Keys are de-duplicated (the last row of a page wins) so one statement never
-- touches a row twice; unchanged rows are left alone so re-runs write nothing.
with page as (
    select distinct on (day, dimension_key)
        day::date as date,
        dimension_key,
        jsonb_object($3::text[], dims) as dimensions,
        (select coalesce(jsonb_object_agg(m.name, m.value::numeric), '{}'::jsonb)
         from unnest($4::text[], vals) as m (name, value)) as metrics
    from (
        select seq, day, dims, vals, md5(array_to_string(dims, chr(31))) as dimension_key
        from ga4_report_rows_staging
    ) s
    order by day, dimension_key, seq desc
),
written as (
    insert into ga4_report_rows as r (property_ref, report, date, dimension_key, dimensions, metrics)
    select $1, $2, date, dimension_key, dimensions, metrics from page
    on conflict (property_ref, report, date, dimension_key) do update
    set dimensions = excluded.dimensions, metrics = excluded.metrics, updated_at = now()
    where (r.dimensions, r.metrics) is distinct from (excluded.dimensions, excluded.metrics)
    returning (xmax = 0) as inserted
)
select (select count(*) from page) as distinct_rows,
       count(*) filter (where inserted) as inserted,
       count(*) filter (where not inserted) as updated
from written;
