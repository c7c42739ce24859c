-- History resumes by itself after a step that failed or was lost, with
-- backoff, until the property's coverage is complete; the status says when.
--
-- history_failures: background steps of the property's history that failed
-- in a row (a success resets it); history_error: why the last one failed;
-- history_retry_at: when the next step is queued (by the minutely recovery),
-- null when none is: nothing failed, or the cause needs a person (a grant to
-- reconnect, access lost, a refusal GA4 keeps giving), which history_error
-- names. The property's next successful sync starts its history again then.
alter table ga4_properties
    add column history_failures integer not null default 0 check (history_failures >= 0),
    add column history_error text,
    add column history_retry_at timestamptz;

create index ga4_properties_history_retry_idx on ga4_properties (history_retry_at)
    where history_retry_at is not null;
