-- ga4sync's tables: Google tokens per user, GA4 properties, report rows,
-- per-property sync runs, sync jobs and application settings.

-- One row per app user who connected Google. Tokens are Fernet-encrypted
-- (TOKEN_ENCRYPTION_KEY); the database never holds them in clear.
create table google_credentials (
    user_id uuid primary key,
    refresh_token_encrypted bytea not null,
    access_token_encrypted bytea,
    access_token_expires_at timestamptz,
    scopes text[] not null default '{}',
    needs_reauth boolean not null default false,
    reauth_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- A GA4 property connected by one user. The same GA4 property connected by
-- two users is two rows: each syncs with its owner's grant.
create table ga4_properties (
    id bigint generated always as identity primary key,
    user_id uuid not null,
    property_id text not null check (property_id ~ '^[0-9]{1,20}$'),
    display_name text,
    time_zone text not null default 'UTC',
    currency_code text,
    enabled boolean not null default true,
    last_sync_at timestamptz,
    last_sync_status text check (
        last_sync_status in ('success', 'failed', 'needs_reauth', 'quota_deferred')
    ),
    last_sync_error text,
    consecutive_failures integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (user_id, property_id)
);

create index ga4_properties_enabled_idx on ga4_properties (user_id) where enabled;

-- Report rows, one per (property, report, date, other dimension values).
-- dimension_key is the md5 of the non-date dimension values (as a uuid: 16
-- bytes): stable across runs and small enough to index whatever a pagePath holds.
-- Metric values are kept as the decimal strings GA4 sends:
-- (metrics->>'sessions')::bigint.
create table ga4_report_rows (
    property_ref bigint not null references ga4_properties (id) on delete cascade,
    report text not null,
    date date not null,
    dimension_key uuid not null,
    dimensions jsonb not null,
    metrics jsonb not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (property_ref, report, date, dimension_key)
);

-- The seed's job table. lock_key is unique, but daily runs key it by local
-- date ('ga4_daily:2026-11-23'), so there is one daily run per date, not one ever.
create table ga4_sync_jobs (
    id uuid primary key default gen_random_uuid(),
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    status text not null default 'pending'
        check (status in ('pending', 'running', 'success', 'failed')),
    kind text not null default 'manual' check (kind in ('manual', 'daily')),
    scope text not null default 'all',
    requested_by uuid,
    message text,
    last_sync_at timestamptz,
    lock_key text unique,
    run_date date,
    properties_total integer not null default 0,
    properties_done integer not null default 0,
    properties_failed integer not null default 0,
    rows_fetched bigint not null default 0,
    rows_written bigint not null default 0
);

create index ga4_sync_jobs_active_idx on ga4_sync_jobs (status, created_at)
    where status in ('pending', 'running');

-- One row per property per sync attempt: what was read, what was written,
-- what it cost in GA4 quota and what GA4 said about the data's quality.
create table ga4_property_runs (
    id bigint generated always as identity primary key,
    property_ref bigint not null references ga4_properties (id) on delete cascade,
    job_id uuid references ga4_sync_jobs (id) on delete set null,
    status text not null default 'running'
        check (status in ('running', 'success', 'failed', 'needs_reauth', 'quota_deferred')),
    start_date date not null,
    end_date date not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    duration_ms integer,
    rows_fetched bigint not null default 0,
    rows_inserted bigint not null default 0,
    rows_updated bigint not null default 0,
    rows_unchanged bigint not null default 0,
    tokens_consumed integer not null default 0,
    quota jsonb,
    data_quality jsonb not null default '{}',
    error text
);

create index ga4_property_runs_property_idx on ga4_property_runs (property_ref, started_at desc);
create index ga4_property_runs_job_idx on ga4_property_runs (job_id) where job_id is not null;

create table app_settings (
    key text primary key,
    value jsonb,
    updated_at timestamptz not null default now()
);
