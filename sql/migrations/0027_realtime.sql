-- Realtime: GA4's runRealtimeReport polled by the worker, for the properties
-- whose realtime is turned on, into a typed table per [[realtime]] definition.
--
-- Whether a property's realtime is polled is each user's own choice, like
-- enabled and sync_frequency (migration 0014): it is polled while any user with
-- access has it on. Off by default: polling spends GA4's realtime quota every
-- minute, and only a dashboard that shows "now" needs it.
alter table ga4_property_access
    add column realtime boolean not null default false;

create index ga4_property_access_realtime_idx
    on ga4_property_access (property_ref) where realtime;

-- The realtime definitions that have a table: ga4sync_reports."<key>", read
-- through the view public.ga4_realtime_<name>. A definition is its name and a
-- digest of what its rows mean (dimensions, metrics, minute ranges); one
-- changed gets a new table, and the old one goes with its snapshots (they are
-- minutes old), as does that of a definition removed from the file.
create table ga4_realtime_definitions (
    name text primary key,
    key text not null unique,
    definition jsonb not null,
    columns jsonb not null,
    created_at timestamptz not null default now()
);

alter table ga4_realtime_definitions enable row level security;

-- When each property's snapshot of each definition is due next, and how its
-- last poll went. A poll is claimed by moving next_due_at past the minute it
-- was due at, so two workers never poll the same snapshot at once.
create table ga4_realtime_polls (
    property_ref bigint not null references ga4_properties (id) on delete cascade,
    definition text not null,
    next_due_at timestamptz not null,
    -- the last snapshot stored (its captured_at) and its rows
    captured_at timestamptz,
    rows integer,
    -- the last poll that failed or was skipped, and why (cleared by a snapshot)
    error text,
    error_at timestamptz,
    primary key (property_ref, definition)
);

alter table ga4_realtime_polls enable row level security;

-- GA4's realtime quota of each property: the propertyQuota of its last
-- realtime answer (a category of its own, apart from the core quota the syncs
-- spend and the history reserve reads), and, when a bucket ran low, until
-- when polling waits for it to return.
create table ga4_realtime_quota (
    property_ref bigint primary key references ga4_properties (id) on delete cascade,
    quota jsonb not null default '{}',
    seen_at timestamptz,
    paused_until timestamptz,
    paused_reason text
);

alter table ga4_realtime_quota enable row level security;
