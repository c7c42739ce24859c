-- Whether a GA4 property syncs, and how often, is each user's own choice.
--
-- Until now enabled and sync_frequency were columns of the one row of a
-- property, so with a property shared by several users one user switching it
-- off (or to manual) switched it off for everyone. From here on they live on
-- each user's access row; the property syncs while any user with access has
-- it enabled, at the most frequent schedule any of them wants (hourly, then
-- every_6h, daily, manual). The queries compute that from the access rows, so
-- nothing can drift from them: a property nobody can access does not sync.
--
-- Every access row starts with the property's settings of today.
--
-- discovered: the access came from listing the user's GA4 properties through
-- their Google grant (account summaries), as against added by hand
-- (`ga4sync connect --property`). Listing them again removes the discovered
-- access Google no longer lists. Until now nearly all access came from
-- discovery, and a property a Google account can read is always in its
-- account summaries, so existing access counts as discovered.
alter table ga4_property_access
    add column enabled boolean not null default true,
    add column sync_frequency text not null default 'daily'
        check (sync_frequency in ('manual', 'hourly', 'every_6h', 'daily')),
    add column discovered boolean not null default false;

update ga4_property_access a
set enabled = p.enabled,
    sync_frequency = p.sync_frequency,
    discovered = true
from ga4_properties p
where p.id = a.property_ref;

-- Drops ga4_properties_due_idx with them.
alter table ga4_properties drop column enabled, drop column sync_frequency;

create index ga4_properties_next_due_idx on ga4_properties (next_due_at);

-- Access a user lost, and why: Google refused their grant for the property
-- (403), or no longer lists it for their account. The user sees these beside
-- their properties; regaining access (discovery, connect) or disconnecting
-- clears them.
create table ga4_property_access_lost (
    user_id uuid not null,
    property_ref bigint not null references ga4_properties (id) on delete cascade,
    reason text not null,
    lost_at timestamptz not null default now(),
    primary key (user_id, property_ref)
);

alter table ga4_property_access_lost enable row level security;
