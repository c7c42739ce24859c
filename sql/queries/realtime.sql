-- Realtime: the tables of the [[realtime]] definitions, their snapshots, the
-- polls that fill them and GA4's realtime quota of each property
-- (ga4sync/store/realtime.py). Braced names are filled in per definition with
-- quoted identifiers: {table} is the definition's table in ga4sync_reports,
-- {view} its relation public.ga4_realtime_<name>.

-- name: list_realtime_definitions
select name, key, definition, columns, created_at
from ga4_realtime_definitions
order by name;

-- name: record_realtime_definition
insert into ga4_realtime_definitions (name, key, definition, columns)
values ($1, $2, $3::jsonb, $4::jsonb)
on conflict (name) do update
set key = excluded.key, definition = excluded.definition, columns = excluded.columns,
    created_at = now();

-- name: forget_realtime_definition
-- A definition changed or gone: its record, and its polls ($1 its name).
with gone as (
    delete from ga4_realtime_definitions where name = $1
)
delete from ga4_realtime_polls where definition = $1;

-- name: create_realtime_table
-- Snapshots: each poll's rows, all with the poll's captured_at. No foreign
-- key: a snapshot's write locks its property once (lock_property_for_rows),
-- and deleting a property deletes its rows here too (migration 0024's
-- trigger covers every table of ga4sync_reports with a property_ref).
create table {table} (
    property_ref bigint not null,
    captured_at timestamptz not null,
    {column_definitions}
);
create index on {table} (property_ref, captured_at);
alter table {table} enable row level security;

-- name: drop_realtime_table
drop table if exists {table};

-- name: create_realtime_view
-- The typed relation users read, like a report's view (security_invoker where
-- the server has it: a reader's own rights and row level security apply).
create view {view} {options} as
select p.property_id, t.captured_at, {columns}
from {table} t
join ga4_properties p on p.id = t.property_ref;
comment on view {view} is {key};
revoke all on {view} from public;

-- name: list_realtime_properties
-- Properties whose realtime some user with access has turned on, with the
-- users whose grant can read them, in the order they are tried.
select p.id, p.property_id, p.service_level,
       coalesce(g.grant_users, '{}') as grant_users,
       coalesce(g.has_credentials, false) as has_credentials
from ga4_properties p
left join lateral (
    select array_agg(a.user_id order by a.created_at, a.user_id)
               filter (where c.user_id is not null and not c.needs_reauth) as grant_users,
           bool_or(c.user_id is not null) as has_credentials
    from ga4_property_access a
    left join google_credentials c on c.user_id = a.user_id
    where a.property_ref = p.id
) g on true
where exists (
    select 1 from ga4_property_access a where a.property_ref = p.id and a.realtime)
order by p.id;

-- name: claim_realtime_polls
-- The polls due at $1 among the properties $2 and definitions $3 (each polled
-- every $4 minutes), claimed: the next is due that many minutes after $1's
-- minute. A poll never seen before is due at once. Two workers claiming at
-- once take each poll once: the update waits for the other's and finds it
-- no longer due.
insert into ga4_realtime_polls as r (property_ref, definition, next_due_at)
select c.property_ref, c.definition,
       date_trunc('minute', $1::timestamptz) + make_interval(mins => c.every)
from unnest($2::bigint[], $3::text[], $4::integer[]) as c (property_ref, definition, every)
where exists (select 1 from ga4_properties p where p.id = c.property_ref)
on conflict (property_ref, definition) do update
set next_due_at = excluded.next_due_at
where r.next_due_at <= $1
returning r.property_ref, r.definition;

-- name: lock_realtime_poll
-- Before a snapshot of property $1 and definition $2 captured at $3 is
-- stored: hold the poll until the snapshot's transaction ends, and say
-- whether it is the newest (false: a later one was stored meanwhile, and this
-- one is dropped).
update ga4_realtime_polls
set captured_at = $3, rows = $4, error = null, error_at = null
where property_ref = $1 and definition = $2
  and (captured_at is null or captured_at < $3)
returning true;

-- name: delete_old_snapshots
-- The snapshots of property $1 that the one captured at $2 replaces: all
-- of them, or ($3 > 0) those older than $3 minutes, by minute (a poll's
-- minute: polls a minute apart keep $3 snapshots whatever seconds they
-- took).
delete from {table}
where property_ref = $1
  and date_trunc('minute', captured_at)
      <= date_trunc('minute', $2::timestamptz) - make_interval(mins => $3);

-- name: realtime_polled
-- Whether some user with access has property $1's realtime on.
select exists (
    select 1 from ga4_property_access a where a.property_ref = $1 and a.realtime);

-- name: forget_property_snapshots
-- Property $1's snapshots, whose realtime nobody polls any more.
delete from {table} where property_ref = $1;

-- name: unpolled_properties
-- Properties with polls whose realtime nobody has on any more (turned off,
-- access lost or removed): their snapshots are left to be deleted.
select distinct r.property_ref
from ga4_realtime_polls r
where not exists (
    select 1 from ga4_property_access a where a.property_ref = r.property_ref and a.realtime);

-- name: forget_property_polls
delete from ga4_realtime_polls where property_ref = $1;

-- name: record_realtime_problem
-- A poll of property $1 and definition $2 that failed or was skipped ($3 why,
-- at $4); $5, when set, is when it is due again (later than its schedule).
update ga4_realtime_polls
set error = $3, error_at = $4,
    next_due_at = greatest(next_due_at, coalesce($5, next_due_at))
where property_ref = $1 and definition = $2;

-- name: get_realtime_quota
select quota, seen_at, paused_until, paused_reason
from ga4_realtime_quota where property_ref = $1;

-- name: save_realtime_quota
-- Property $1's realtime propertyQuota ($2, seen at $3), and, when a bucket
-- ran low, until when polling waits ($4, with $5 why; null: it need not).
insert into ga4_realtime_quota (property_ref, quota, seen_at, paused_until, paused_reason)
values ($1, $2::jsonb, $3, $4, $5)
on conflict (property_ref) do update
set quota = case when excluded.seen_at is null then ga4_realtime_quota.quota
                 else excluded.quota end,
    seen_at = coalesce(excluded.seen_at, ga4_realtime_quota.seen_at),
    paused_until = excluded.paused_until,
    paused_reason = excluded.paused_reason;

-- name: realtime_overview
-- Each of the properties $1: its polls of definition $2 (the last snapshot's
-- time and rows, the last problem) and its realtime quota.
select p.id as property_ref,
       r.captured_at, r.rows, r.error, r.error_at,
       q.paused_until, q.paused_reason, q.quota, q.seen_at
from unnest($1::bigint[]) as p (id)
left join ga4_realtime_polls r on r.property_ref = p.id and r.definition = $2
left join ga4_realtime_quota q on q.property_ref = p.id;

-- name: snapshot_totals
-- The sum of column {column} over the latest snapshot of definition $2 of
-- each property $1 that has one ({range_filter}: of one minute range, $3);
-- 0 for a snapshot without rows.
select r.property_ref, coalesce(sum(t.{column}), 0)::float8 as total
from ga4_realtime_polls r
left join {table} t
       on t.property_ref = r.property_ref and t.captured_at = r.captured_at {range_filter}
where r.definition = $2 and r.property_ref = any($1::bigint[]) and r.captured_at is not null
group by r.property_ref;

-- name: realtime_rows
-- Property $1's snapshots (GA4 id $2): the latest (captured at $4, as its
-- poll says: a snapshot may have no row), or ($3) every one kept, newest
-- first, each row as its JSON object.
select json_build_object(
           'property_id', $2::text,
           'captured_at', to_char(t.captured_at at time zone 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
           {json_fields}
       )::text as row,
       t.captured_at
from {table} t
where t.property_ref = $1
  and ($3 or t.captured_at = $4)
order by t.captured_at desc, {order};
