-- What GA4 said of the data of the read that covered a date last, when it said
-- anything: {"thresholded": true} (rows of few users withheld: demographics,
-- audiences, Google signals), "sampled", "other_row" (rows rolled into
-- "(other)"), "empty_reason". Kept per date, so a dashboard can mark the rows
-- of a date GA4 thresholded for as long as the rows are kept (runs, which say
-- it per read too, are deleted after RETENTION_DAYS). Null: GA4 said nothing
-- (or the date was read before it was kept).
alter table ga4_coverage add column quality jsonb;
