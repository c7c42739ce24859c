-- The keys of the rows GA4 returned while one report's date range is being
-- read, kept until the read completes. Then the rows of those dates that GA4
-- did not return any more are deleted and the dates are recorded as covered,
-- in one transaction; an incomplete read deletes nothing and covers nothing.
-- Unlogged: it is scratch. A crash loses it together with the read it served.
create unlogged table ga4_read_keys (
    run_id bigint not null,
    read_no integer not null,
    date date not null,
    dimension_key uuid not null
);

create index ga4_read_keys_read_idx on ga4_read_keys (run_id, read_no);

alter table ga4_read_keys enable row level security;
