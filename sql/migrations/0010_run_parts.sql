-- A property's history is read in the background while its recent days keep
-- syncing on schedule: the two may run at once, so each run says which part it
-- reads, and a run left 'running' by a dead worker is closed by the next run of
-- the same part only.
alter table ga4_property_runs
    add column part text not null default 'recent' check (part in ('recent', 'history'));

-- What a job's sync of a property left to the background, for the job's message.
alter table ga4_sync_job_properties
    add column history_days_left integer not null default 0;
