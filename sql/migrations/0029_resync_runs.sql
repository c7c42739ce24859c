-- A re-sync: dates of one property read again on demand (GA4 reprocessed
-- them, or a custom definition changed upstream), whatever their coverage
-- says. It is a manual run (kind 'manual', the Sync now lane of the queue,
-- counted against the Sync now rate limit) of trigger 'resync', naming its
-- property (property_refs) and what to read again: the definitions
-- (resync_reports, their names; null: every report of the property) and the
-- dates resync_start .. resync_end.
alter table ga4_sync_jobs drop constraint ga4_sync_jobs_trigger_check;
alter table ga4_sync_jobs add constraint ga4_sync_jobs_trigger_check
    check (trigger in ('sync_now', 'connection', 'daily', 'resync'));

alter table ga4_sync_jobs add column resync_reports text[];
alter table ga4_sync_jobs add column resync_start date;
alter table ga4_sync_jobs add column resync_end date;
alter table ga4_sync_jobs add constraint ga4_sync_jobs_resync_range_check
    check ((trigger = 'resync') = (resync_start is not null and resync_end is not null)
           and resync_start <= resync_end);
