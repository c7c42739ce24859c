-- Connecting a Google account starts the first sync of the properties it
-- brought, as a run of its own: users see it with its progress beside their
-- Sync now runs and the daily runs, and see why each run happened.
--
-- trigger: what started a run. 'sync_now' (a user's click), 'connection'
-- (a Google account connected: the first sync of its new properties) or
-- 'daily' (the schedule, or its backup trigger). A connection's run is a
-- manual run (kind 'manual': on demand, in the Sync now lane of the queue)
-- that neither counts against the Sync now rate limit nor stands for a Sync
-- now of the same target.
alter table ga4_sync_jobs add column trigger text not null default 'sync_now'
    check (trigger in ('sync_now', 'connection', 'daily'));

update ga4_sync_jobs set trigger = 'daily' where kind = 'daily';

-- The properties a run covers when it names them (a connection's run: the
-- ones the connection brought that were never synced); null: every property
-- of its scope.
alter table ga4_sync_jobs add column property_refs bigint[];

-- A second click returns the active Sync now of the same target: a
-- connection's run is not one.
drop index ga4_sync_jobs_one_active_manual_per_target;

create unique index ga4_sync_jobs_one_active_sync_now_per_target
    on ga4_sync_jobs (requested_by, scope, coalesce(property_filter, ''))
    where kind = 'manual' and trigger = 'sync_now' and status in ('pending', 'running');
