-- Consent-flow states already used: a state comes back from Google once.
-- Rows can be pruned after expires_at; a replay after that fails on expiry anyway.
create table oauth_state_nonces (
    nonce text primary key,
    user_id uuid not null,
    used_at timestamptz not null default now(),
    expires_at timestamptz not null
);

alter table oauth_state_nonces enable row level security;
