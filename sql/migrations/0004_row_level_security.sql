-- Supabase exposes the public schema through its Data API to the anon and
-- authenticated roles. ga4sync's tables are for the service alone: turn on
-- row level security with no policies, so those roles see nothing, while the
-- owner that ga4sync connects as (which bypasses RLS) is unaffected.
alter table google_credentials enable row level security;
alter table ga4_properties enable row level security;
alter table ga4_report_rows enable row level security;
alter table ga4_sync_jobs enable row level security;
alter table ga4_sync_job_properties enable row level security;
alter table ga4_property_runs enable row level security;
alter table app_settings enable row level security;
alter table schema_migrations enable row level security;
