-- A consent's grant waits here, bound to the user who started the consent, until
-- that same user claims it with the one-time code the callback gave their browser
-- (POST /v1/connections/google/complete). So a consent link started by one user and
-- finished in another's browser never attaches the second user's Google account to
-- the first. Only the code's SHA-256 is kept; the grant (refresh and access token)
-- is encrypted like every stored token. A row is claimed once (deleted) and lives
-- minutes; expired rows are pruned with the consent states.
create table google_pending_grants (
    code_sha256 bytea primary key,
    user_id uuid not null,
    grant_encrypted bytea not null,
    created_at timestamptz not null,
    expires_at timestamptz not null
);

create index google_pending_grants_expires_at_idx on google_pending_grants (expires_at);

alter table google_pending_grants enable row level security;
