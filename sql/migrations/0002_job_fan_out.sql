-- Sync jobs fan out one unit of work per property. Each unit is counted into
-- its job exactly once, whichever worker runs it and however often.

alter table ga4_sync_jobs
    add column since_days integer not null default 2 check (since_days between 0 and 365);

-- At most one active manual run per user: a second click finds the first.
create unique index ga4_sync_jobs_one_active_manual_per_user
    on ga4_sync_jobs (requested_by)
    where kind = 'manual' and status in ('pending', 'running');

create table ga4_sync_job_properties (
    job_id uuid not null references ga4_sync_jobs (id) on delete cascade,
    property_ref bigint not null references ga4_properties (id) on delete cascade,
    status text not null default 'pending'
        check (status in ('pending', 'success', 'failed', 'needs_reauth', 'quota_deferred',
                          'skipped')),
    rows_fetched bigint not null default 0,
    rows_inserted bigint not null default 0,
    rows_updated bigint not null default 0,
    rows_unchanged bigint not null default 0,
    tokens_consumed integer not null default 0,
    duration_ms integer not null default 0,
    error text,
    finished_at timestamptz,
    primary key (job_id, property_ref)
);

create index ga4_sync_job_properties_pending_idx on ga4_sync_job_properties (job_id)
    where status = 'pending';
