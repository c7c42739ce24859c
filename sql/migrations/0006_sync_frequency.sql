-- How often each property syncs. 'daily' properties are covered by the daily
-- run; 'hourly' and 'every_6h' ones are also synced by the frequency scheduler,
-- which claims them by moving next_due_at; 'manual' ones only on demand.
alter table ga4_properties
    add column sync_frequency text not null default 'daily'
        check (sync_frequency in ('manual', 'hourly', 'every_6h', 'daily')),
    add column next_due_at timestamptz;

create index ga4_properties_due_idx on ga4_properties (next_due_at)
    where enabled and sync_frequency in ('hourly', 'every_6h');
