-- What GA4 answered for each covered period, as a digest of its rows (an
-- order-independent sum of 64-bit hashes, sync/digests.py): a re-read whose
-- period has the same digest and row count writes nothing for it. Null: not
-- known (covered before digests were kept), never skipped.
alter table ga4_coverage add column digest bigint;
