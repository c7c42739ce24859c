-- Manual runs can target one GA4 property; a repeat request for the same
-- target returns the active run, a request for another target starts its own.
alter table ga4_sync_jobs add column property_filter text
    check (property_filter ~ '^[0-9]{1,20}$');

drop index ga4_sync_jobs_one_active_manual_per_user;

create unique index ga4_sync_jobs_one_active_manual_per_target
    on ga4_sync_jobs (requested_by, scope, coalesce(property_filter, ''))
    where kind = 'manual' and status in ('pending', 'running');

create index ga4_sync_jobs_manual_recent_idx on ga4_sync_jobs (requested_by, created_at)
    where kind = 'manual';
