-- The job queue gets a schema of its own, ga4sync_queue, that no API role can
-- use. procrastinate names no schema in its SQL: it lives in the first schema of
-- the connection's search_path, which ga4sync's queue connections set to this
-- one. In public, Supabase's Data API serves it to anyone holding the anon key,
-- and Supabase's default privileges grant every new table and function there
-- to anon and authenticated.
--
-- An install that kept its queue in public has it moved here, jobs and all:
-- SET SCHEMA moves a table with its rows, indexes, triggers and sequences.
-- Queue processes of the previous version stop finding it, so deploy this
-- with `ga4sync migrate` before the new web and worker processes start (the
-- Procfile's release step does).
create schema if not exists ga4sync_queue;
revoke all on schema ga4sync_queue from public;

do $$
declare
    obj record;
begin
    for obj in
        select c.relname from pg_class c
        where c.relnamespace = 'public'::regnamespace
          and c.relkind in ('r', 'p', 'v')
          and c.relname like 'procrastinate\_%'
    loop
        execute format('alter table public.%I set schema ga4sync_queue', obj.relname);
    end loop;
    -- (sequences owned by a column moved with their table)
    for obj in
        select c.relname from pg_class c
        where c.relnamespace = 'public'::regnamespace
          and c.relkind = 'S'
          and c.relname like 'procrastinate\_%'
    loop
        execute format('alter sequence public.%I set schema ga4sync_queue', obj.relname);
    end loop;
    for obj in
        select p.oid::regprocedure as fn from pg_proc p
        where p.pronamespace = 'public'::regnamespace
          and p.proname like 'procrastinate\_%'
    loop
        execute format('alter routine %s set schema ga4sync_queue', obj.fn);
    end loop;
    -- Types last: a function's signature names them with their old schema.
    for obj in
        select t.typname from pg_type t
        where t.typnamespace = 'public'::regnamespace
          and t.typname like 'procrastinate\_%'
          and t.typtype in ('e', 'c', 'd')
          and not exists (
              select 1 from pg_class c where c.reltype = t.oid and c.relkind <> 'c'
          )
    loop
        execute format('alter type public.%I set schema ga4sync_queue', obj.typname);
    end loop;
end $$;

-- A worker row whose heartbeat is in the future was written by no worker (they
-- write now()): while the queue was open, anyone could insert one to make the
-- service look healthy with no worker running. Such rows go.
do $$
begin
    if to_regclass('ga4sync_queue.procrastinate_workers') is not null then
        delete from ga4sync_queue.procrastinate_workers
        where last_heartbeat > now() + interval '1 minute';
    end if;
end $$;
