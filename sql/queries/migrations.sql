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
select to_regclass('procrastinate_jobs') is not null;

-- name: schema_migrations_present
select to_regclass('schema_migrations') is not null;
