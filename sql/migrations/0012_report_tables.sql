-- Every report definition gets a table of its own with typed columns, in the
-- schema ga4sync_reports, and users read it through the view ga4_<report> in
-- public. The tables and views are made from the definitions in use whenever
-- a process starts (ga4sync/store/report_tables.py); this records them.
--
-- A definition is its name and a digest of what its rows mean (grain,
-- dimensions, metrics, filters, empty rows): key = '<name>_<digest>', also its
-- table's name. Changing a definition makes a new key and a new table; the old
-- one is retired and keeps its rows until `ga4sync reports prune` removes them.
-- The view ga4_<name> shows the newest definition of that name.
create schema if not exists ga4sync_reports;
revoke all on schema ga4sync_reports from public;

create table ga4_report_definitions (
    key text primary key,
    name text not null,
    definition jsonb not null,
    columns jsonb not null,
    created_at timestamptz not null default now(),
    -- when the definition stopped syncing: changed, or gone from the definitions
    retired_at timestamptz
);

create unique index ga4_report_definitions_current_idx
    on ga4_report_definitions (name) where retired_at is null;

alter table ga4_report_definitions enable row level security;
