-- One copy of each GA4 property, however many users connected it, and a
-- record of which dates of which report have been read completely.
--
-- Until now a GA4 property connected by two users was two ga4_properties rows,
-- read twice and stored twice on a quota that GA4 counts per property. From
-- here on ga4_properties holds one row per GA4 property id; who may see it is
-- ga4_property_access (user <-> property, from discovery and connect). A sync
-- reads a property once, with the grant of one user who has access.
--
-- Merging duplicates of one property (the row with the lowest id survives):
--  * every user keeps access;
--  * enabled: synced if any user had it enabled;
--  * sync_frequency: the most frequent among the enabled copies (hourly, then
--    every_6h, daily, manual), else the survivor's;
--  * report rows: where two copies hold the same row, the most recently
--    written one is kept;
--  * runs and job entries follow the survivor (a job that listed two copies
--    keeps one entry: its counts stay as they were).

create table ga4_property_access (
    user_id uuid not null,
    property_ref bigint not null references ga4_properties (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (user_id, property_ref)
);

create index ga4_property_access_property_idx on ga4_property_access (property_ref);

alter table ga4_property_access enable row level security;

create temporary table ga4_property_merge on commit drop as
select id, min(id) over (partition by property_id) as survivor
from ga4_properties;

insert into ga4_property_access (user_id, property_ref, created_at)
select p.user_id, m.survivor, min(p.created_at)
from ga4_properties p
join ga4_property_merge m on m.id = p.id
group by p.user_id, m.survivor;

with merged as (
    select m.survivor,
           bool_or(p.enabled) as enabled,
           (array_agg(p.sync_frequency order by
                case when not p.enabled then 9
                     when p.sync_frequency = 'hourly' then 0
                     when p.sync_frequency = 'every_6h' then 1
                     when p.sync_frequency = 'daily' then 2
                     else 3 end,
                p.id))[1] as sync_frequency,
           max(p.last_sync_at) as last_sync_at
    from ga4_properties p
    join ga4_property_merge m on m.id = p.id
    group by m.survivor
    having count(*) > 1
)
update ga4_properties p
set enabled = merged.enabled,
    sync_frequency = merged.sync_frequency,
    next_due_at = null,
    last_sync_at = merged.last_sync_at,
    updated_at = now()
from merged
where p.id = merged.survivor;

insert into ga4_report_rows as r
    (property_ref, report, date, dimension_key, dimensions, metrics, created_at, updated_at)
select distinct on (m.survivor, o.report, o.date, o.dimension_key)
       m.survivor, o.report, o.date, o.dimension_key, o.dimensions, o.metrics,
       o.created_at, o.updated_at
from ga4_report_rows o
join ga4_property_merge m on m.id = o.property_ref
where m.id <> m.survivor
order by m.survivor, o.report, o.date, o.dimension_key, o.updated_at desc
on conflict (property_ref, report, date, dimension_key) do update
set dimensions = excluded.dimensions,
    metrics = excluded.metrics,
    updated_at = excluded.updated_at
where excluded.updated_at > r.updated_at;

update ga4_property_runs r
set property_ref = m.survivor
from ga4_property_merge m
where m.id = r.property_ref and m.id <> m.survivor;

delete from ga4_sync_job_properties jp
using ga4_property_merge m
where m.id = jp.property_ref and m.id <> m.survivor
  and exists (
      select 1 from ga4_sync_job_properties s
      where s.job_id = jp.job_id and s.property_ref = m.survivor
  );

delete from ga4_sync_job_properties jp
using ga4_property_merge m, ga4_property_merge other
where m.id = jp.property_ref and m.id <> m.survivor
  and other.survivor = m.survivor and other.id < m.id
  and exists (
      select 1 from ga4_sync_job_properties s
      where s.job_id = jp.job_id and s.property_ref = other.id
  );

update ga4_sync_job_properties jp
set property_ref = m.survivor
from ga4_property_merge m
where m.id = jp.property_ref and m.id <> m.survivor;

delete from ga4_properties p
using ga4_property_merge m
where m.id = p.id and m.id <> m.survivor;

drop index ga4_properties_enabled_idx;
alter table ga4_properties drop constraint ga4_properties_user_id_property_id_key;
alter table ga4_properties drop column user_id;
alter table ga4_properties add constraint ga4_properties_property_id_key unique (property_id);

-- The dates of a report read completely, and when. A date is settled once it
-- was read at a moment when it was more than SYNC_LOOKBACK_DAYS old in the
-- property's time zone; a sync reads every date that is not settled.
create table ga4_coverage (
    property_ref bigint not null references ga4_properties (id) on delete cascade,
    report text not null,
    date date not null,
    read_at timestamptz not null,
    rows integer not null,
    primary key (property_ref, report, date)
);

alter table ga4_coverage enable row level security;

-- Rows GA4 no longer returned for a date read completely are deleted.
alter table ga4_property_runs add column rows_deleted bigint not null default 0;
alter table ga4_sync_job_properties add column rows_deleted bigint not null default 0;
alter table ga4_sync_jobs add column rows_deleted bigint not null default 0;
