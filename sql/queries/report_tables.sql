-- Queries on one report's table. Braced names are filled in per definition
-- with quoted identifiers (ga4sync/store/report_tables.py): {table} is the
-- definition's table, {period} turns the staged first dimension (GA4's
-- 'YYYYMMDD', 'YYYYWW' ISO week or 'YYYYMM') into the period's first day.

-- name: lock_report_tables
-- Serialises processes that make report tables at the same time.
select pg_advisory_xact_lock(7411906273018510232);

-- name: list_report_definitions
select key, name, definition, columns, created_at, retired_at
from ga4_report_definitions
order by name, created_at;

-- name: insert_report_definition
insert into ga4_report_definitions (key, name, definition, columns)
values ($1, $2, $3::jsonb, $4::jsonb);

-- name: retire_report_definitions
-- Definitions that no longer sync, changed or gone ($1: the keys in use).
update ga4_report_definitions
set retired_at = now()
where retired_at is null and not (key = any($1::text[]));

-- name: revive_report_definition
-- A definition in use again, such as one changed back.
update ga4_report_definitions set retired_at = null where key = $1;

-- name: create_report_table
-- No foreign key to ga4_properties: a page write locks its property once
-- (lock_property_for_rows), and a property's deletion deletes its rows here
-- (migration 0024, ga4sync_reports.forget_property_rows).
create table {table} (
    property_ref bigint not null,
    date date not null,
    dimension_key uuid not null,
    {column_definitions},
    synced_at timestamptz not null default now(),
    primary key (property_ref, date, dimension_key)
);
alter table {table} enable row level security;

-- name: server_version
select current_setting('server_version_num')::int;

-- name: roles_present
-- Which of the roles $1 exist.
select rolname from pg_roles where rolname = any($1::text[]);

-- name: legacy_rows_present
-- Whether the table of rows kept before reports had tables of their own is there.
select to_regclass('public.ga4_report_rows') is not null;

-- name: count_report_rows
select count(*) from {table};

-- name: report_view_key
-- The definition a report's view shows ($1 the view, null: no such view).
select obj_description(to_regclass($1), 'pg_class');

-- name: relation_kind
-- 'v' for a view, 'r' for a table, null when there is no such relation.
select c.relkind::text
from pg_class c
where c.oid = to_regclass($1);

-- name: drop_report_view
drop view if exists {view};

-- name: create_report_view
-- The typed relation users read. security_invoker (where the server has it)
-- makes a reader's own rights and row level security apply to the table
-- behind it, instead of the view owner's.
create view {view} {options} as
select p.property_id, t.date, {columns}, t.synced_at
from {table} t
join ga4_properties p on p.id = t.property_ref;
comment on view {view} is {key};
revoke all on {view} from public;

-- name: revoke_report_view
-- A role the host grants new relations to by default gets nothing of the view.
revoke all on {view} from {role};

-- name: create_report_rows_staging
-- One page of one report. Created once per connection and emptied by every
-- commit: creating and dropping a table for each page cost more Postgres CPU
-- than the page itself when a report fits in a few rows (bench.fanout).
create temp table if not exists ga4_report_rows_staging (
    day text not null,
    dims text not null,
    vals text not null
) on commit delete rows;

-- name: staged_page
-- The staged page, typed. Staged values arrive joined by chr(31) (COPY moves
-- plain text many times faster than arrays); dimension values that hold chr(31)
-- themselves arrive as a JSON array after one chr(31) per value, which
-- {dimension_values} reads back (store/report_tables.py, staged_dimensions). A
-- single empty value joins to '' and reads back as null from an empty array,
-- hence the coalesce.
select {period} as date,
       md5(dims)::uuid as dimension_key,
       {dimension_values} as d,
       string_to_array(vals, chr(31)) as v
from ga4_report_rows_staging

-- name: upsert_report_rows
-- $1 property_ref, $2 run id and $3 read number of the read the page belongs
-- to (null: not kept). The page arrives de-duplicated, so one statement never
-- touches a row twice. Dimensions are a function of dimension_key, so only
-- metrics are compared: unchanged rows are left alone and a re-run writes
-- nothing.
with page as (
    {page}
),
written as (
    insert into {table} as r (property_ref, date, dimension_key, {columns})
    select $1, date, dimension_key, {values} from page
    on conflict (property_ref, date, dimension_key) do update
    set {assignments}, synced_at = now()
    where ({stored_metrics}) is distinct from ({new_metrics})
    returning (xmax = 0) as inserted
),
seen as (
    -- from the staging table, not from page: page stays inlined in its one use
    insert into ga4_read_keys (run_id, read_no, date, dimension_key)
    select $2, $3, {period}, md5(dims)::uuid
    from ga4_report_rows_staging
    where $2::bigint is not null
)
select count(*) filter (where inserted) as inserted,
       count(*) filter (where not inserted) as updated
from written;

-- name: lock_property_for_rows
-- Holds the property ($1 property_ref) until the page's transaction ends, as a
-- foreign key would for each row: its deletion waits for the page, or the
-- page finds it gone (null).
select id from ga4_properties where id = $1 for key share;

-- name: rows_stored
-- Whether any row of the report's periods $2..$3 is stored ($1 property_ref).
select exists (
    select 1 from {table}
    where property_ref = $1 and date between date_trunc({unit}, $2::date) and $3
);

-- name: finish_read
-- A report's periods $2..$3 were read completely: rows GA4 no longer returned
-- are deleted, the periods are recorded as read at $6 (with how many rows
-- each has, and the digest of GA4's answer: $11 for the periods $10), and the
-- read's keys go. $1 property_ref, $4 run id, $5 read number, $7 the
-- definition's key, $12 the lookback the read was made under, $13 what GA4
-- said of the read's data (its quality flags, or null). The periods $8
-- (with $9 rows each) kept no key: they came
-- back unchanged (their digest equal to the stored one, none of their rows
-- written) or were first loaded (no row stored before the read); none of their
-- rows is deleted. $2 may fall inside its period (a chunk never starts
-- before GA4's first date): the period's first day counts.
-- "seen" is what the read returned: seen_read_keys or seen_page_keys.
with seen as (
    {seen}
),
vanished as (
    delete from {table} r
    where r.property_ref = $1 and r.date between date_trunc({unit}, $2::date) and $3
      and r.date <> all($8::date[])
      and not exists (
          select 1 from seen s where s.date = r.date and s.dimension_key = r.dimension_key
      )
    returning 1
),
per_period as (
    select d::date as date, coalesce(n.rows, u.rows, 0) as rows
    from generate_series(date_trunc({unit}, $2::date), $3::date, interval {step}) d
    left join (
        select date, count(distinct dimension_key)::integer as rows from seen group by date
    ) n on n.date = d::date
    left join unnest($8::date[], $9::integer[]) as u (date, rows) on u.date = d::date
),
covered as (
    insert into ga4_coverage
        (property_ref, report, date, read_at, rows, digest, lookback_days, quality)
    select $1, $7, p.date, $6, p.rows, g.digest, $12::smallint, $13::jsonb
    from per_period p
    left join unnest($10::date[], $11::bigint[]) as g (date, digest) on g.date = p.date
    on conflict (property_ref, report, date) do update
    set read_at = excluded.read_at, rows = excluded.rows, digest = excluded.digest,
        lookback_days = excluded.lookback_days, quality = excluded.quality
),
cleared as (
    delete from ga4_read_keys where run_id = $4 and read_no = $5
)
select count(*) as deleted from vanished;

-- name: stored_digests
-- The digests and row counts of a report's periods $2..$3 covered before
-- ($1 property_ref, $4 the definition's key); only those with a digest.
select date, rows, digest from ga4_coverage
where property_ref = $1 and report = $4
  and date between date_trunc({unit}, $2::date) and $3 and digest is not null;

-- name: seen_read_keys
-- The keys a read of several pages kept, page by page.
select date, dimension_key from ga4_read_keys where run_id = $4 and read_no = $5

-- name: seen_page_keys
-- The keys of a read GA4 answered in one page: the page itself, still staged.
select {period} as date, md5(dims)::uuid as dimension_key from ga4_report_rows_staging

-- name: adopt_legacy_rows
-- Rows of a built-in report kept before reports had tables of their own
-- (ga4_report_rows, keyed by report name $1) move into its table once, with
-- their coverage.
with moved as (
    delete from ga4_report_rows where report = $1
    returning property_ref, date, dimension_key, dimensions, metrics, updated_at
),
stored as (
    insert into {table} (property_ref, date, dimension_key, {columns}, synced_at)
    select property_ref, date, dimension_key, {legacy_values}, updated_at from moved
    on conflict do nothing
    returning 1
),
coverage as (
    update ga4_coverage set report = $2 where report = $1
)
select count(*) from stored;

-- name: delete_unshared_report_rows
-- The rows of the properties only user $1 can access (run before their
-- access is removed); rows that other users still see stay.
with gone as (
    delete from {table} r
    using ga4_property_access a
    where a.user_id = $1 and r.property_ref = a.property_ref
      and not exists (
          select 1 from ga4_property_access o
          where o.property_ref = a.property_ref and o.user_id <> $1
      )
    returning 1
)
select count(*) from gone;

-- name: drop_report_table
drop table if exists {table};

-- name: forget_report_definition
-- A pruned definition: its record and its coverage ($1 its key).
with gone as (
    delete from ga4_report_definitions where key = $1
)
delete from ga4_coverage where report = $1;

-- name: prune_legacy_rows
-- Rows of report $1 kept before reports had tables of their own, with its coverage.
with gone as (
    delete from ga4_report_rows where report = $1 returning 1
),
coverage as (
    delete from ga4_coverage where report = $1
)
select count(*) from gone;
