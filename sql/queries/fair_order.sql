-- The fair order of the queue (ga4sync/sync/fair_order.py): each unit of work
-- gets a rank within its tenant, and tasks are taken by rank before arrival.

-- name: property_ranks
-- Each of the properties $1 with its position (from 0) among its tenant's
-- properties, by id. A property's tenant is the first user, by id, with access
-- to it; a property nobody can access any more ranks 0.
with tenants as (
    select a.property_ref, min(a.user_id::text) as tenant
    from ga4_property_access a
    group by a.property_ref
),
ranked as (
    select property_ref,
           row_number() over (partition by tenant order by property_ref) - 1 as rank
    from tenants
)
select r.ref as property_ref, coalesce(ranked.rank, 0)::int as rank
from unnest($1::bigint[]) as r(ref)
left join ranked on ranked.property_ref = r.ref;

-- name: manual_waiting
-- How many properties of $1's other manual runs (not $2) wait to be synced.
select count(*)::int
from ga4_sync_job_properties jp
join ga4_sync_jobs j on j.id = jp.job_id
where j.kind = 'manual'
  and j.requested_by = $1
  and j.id <> $2
  and j.status in ('pending', 'running')
  and jp.status = 'pending';

-- name: daily_share
-- Of run $1, the properties user $2 can access (every one when $2 is null),
-- optionally only GA4 property $3: which wait, how many are done; and the
-- run's pace so far (properties done, the mean time one took, since when).
select coalesce(array_agg(jp.property_ref order by jp.property_ref)
                    filter (where jp.status = 'pending' and mine), '{}') as pending_refs,
       (count(*) filter (where jp.status <> 'pending' and mine))::int as done,
       (count(*) filter (where jp.status <> 'pending'))::int as run_done,
       avg(jp.duration_ms) filter (where jp.status <> 'pending') as mean_ms,
       j.started_at
from ga4_sync_jobs j
left join lateral (
    select jp.*,
           ($2::uuid is null or exists (
               select 1 from ga4_property_access a
               where a.property_ref = jp.property_ref and a.user_id = $2))
           and ($3::text is null or p.property_id = $3) as mine
    from ga4_sync_job_properties jp
    join ga4_properties p on p.id = jp.property_ref
    where jp.job_id = j.id
) jp on true
where j.id = $1
group by j.id, j.started_at;
