-- name: lock_migrations
-- Serialises migrators: a second `ga4sync migrate` waits here, then finds nothing to do.
select pg_advisory_lock(7411906273018510231);

-- name: unlock_migrations
select pg_advisory_unlock(7411906273018510231);

-- name: create_schema_migrations
create table if not exists schema_migrations (
    version text primary key,
    applied_at timestamptz not null default now()
);

-- name: applied_migrations
select version from schema_migrations order by version;

-- name: record_migration
insert into schema_migrations (version) values ($1);

-- name: procrastinate_schema_present
select to_regclass('ga4sync_queue.procrastinate_jobs') is not null;

-- name: use_queue_schema
-- procrastinate's schema names no schema: it is made in the first one of the path.
set local search_path to ga4sync_queue, public;

-- name: pin_queue_search_path
-- The queue's functions find its tables and types whoever calls them (a trigger
-- fired by a write from a connection with another search_path included), and
-- never an object someone else put in a schema earlier in a caller's path.
do $$
declare
    fn text;
begin
    for fn in
        select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace = 'ga4sync_queue'::regnamespace
          and not coalesce('search_path=ga4sync_queue, pg_temp' = any(p.proconfig), false)
    loop
        execute format('alter function %s set search_path = ga4sync_queue, pg_temp', fn);
    end loop;
end $$;

-- name: index_queue_locks
-- procrastinate takes a task only when no task with its lock is running or
-- ahead of it, and looks that up for every task it considers; its own indexes
-- cannot find a lock's tasks, so each look-up read every waiting task and a
-- fan-out of n properties cost n * n (bench.fanout: 11 ms of Postgres CPU a
-- task at 1,000 properties). Waiting and running tasks by lock:
create index if not exists ga4sync_jobs_by_lock
    on ga4sync_queue.procrastinate_jobs (lock)
    where status in ('todo', 'doing') and lock is not null;

-- name: schema_migrations_present
select to_regclass('schema_migrations') is not null;
