-- The lookback a complete read was made under: the report's own lookback_days,
-- or SYNC_LOOKBACK_DAYS. A date read for good under it stays settled when the
-- lookback is raised later (re-reading every date synced day by day under the
-- old one would re-read a report's whole history for nothing); a lookback
-- lowered settles at once what is old enough under it. Null: read before it
-- was kept, and the lookback in force decides.
alter table ga4_coverage add column lookback_days smallint;
