-- name: set_access_settings
-- User $2's settings of property $1 (null $2: every user with access): enabled
-- ($3), sync_frequency ($4) and/or realtime ($5), null leaving one as it is. When the
-- property's effective schedule changes (see get_property), its next_due_at
-- is cleared so the new schedule starts at the next tick. Returns how many
-- access rows were changed (0: the user has no access).
with changed as (
    update ga4_property_access a
    set enabled = coalesce($3, a.enabled),
        sync_frequency = coalesce($4, a.sync_frequency),
        realtime = coalesce($5, a.realtime)
    where a.property_ref = $1 and ($2::uuid is null or a.user_id = $2)
    returning a.user_id, a.enabled, a.sync_frequency
),
-- The statement's snapshot sees the rows as they were: the rows after are
-- those changed plus the others as they were.
rows_after as (
    select c.enabled, c.sync_frequency from changed c
    union all
    select a.enabled, a.sync_frequency
    from ga4_property_access a
    where a.property_ref = $1 and a.user_id not in (select user_id from changed)
),
schedule_before as (
    select (array_agg(a.sync_frequency order by
               array_position('{hourly,every_6h,daily,manual}'::text[], a.sync_frequency))
               filter (where a.enabled))[1] as sync_frequency
    from ga4_property_access a
    where a.property_ref = $1
),
schedule_after as (
    select (array_agg(r.sync_frequency order by
               array_position('{hourly,every_6h,daily,manual}'::text[], r.sync_frequency))
               filter (where r.enabled))[1] as sync_frequency
    from rows_after r
),
reset as (
    update ga4_properties p
    set next_due_at = null, updated_at = now()
    from schedule_before b, schedule_after f
    where p.id = $1 and b.sync_frequency is distinct from f.sync_frequency
      and exists (select 1 from changed)
)
select count(*) from changed;

-- name: drop_property_access
-- Google refused user $1's grant for property $2: the user loses access, and
-- why ($3) is kept for them to see. Returns whether they had access.
with gone as (
    delete from ga4_property_access
    where user_id = $1 and property_ref = $2
    returning user_id, property_ref
),
lost as (
    insert into ga4_property_access_lost (user_id, property_ref, reason)
    select user_id, property_ref, $3 from gone
    on conflict (user_id, property_ref) do update
    set reason = excluded.reason, lost_at = now()
)
select count(*) > 0 from gone;

-- name: remove_undiscovered_access
-- After a complete listing of user $1's GA4 properties ($2: the GA4 property
-- ids it found): the access that came from discovery and is no longer listed
-- goes, with why ($3) kept for the user. Access added by hand stays. Returns
-- the GA4 property ids removed.
with gone as (
    delete from ga4_property_access a
    using ga4_properties p
    where a.user_id = $1 and a.discovered and p.id = a.property_ref
      and p.property_id <> all ($2::text[])
    returning a.property_ref, p.property_id
),
lost as (
    insert into ga4_property_access_lost (user_id, property_ref, reason)
    select $1, property_ref, $3 from gone
    on conflict (user_id, property_ref) do update
    set reason = excluded.reason, lost_at = now()
)
select property_id from gone order by property_id;

-- name: list_lost_access
-- The access user $1 lost, newest first.
select p.property_id, p.display_name, l.reason, l.lost_at
from ga4_property_access_lost l
join ga4_properties p on p.id = l.property_ref
where l.user_id = $1
order by l.lost_at desc, p.property_id;

-- name: remove_user_access
-- A user who disconnects loses access to every property, and their record of
-- lost access goes too. A property nobody can access any more stops syncing;
-- one that others access goes on with their grants and settings.
with lost as (
    delete from ga4_property_access_lost where user_id = $1
)
delete from ga4_property_access where user_id = $1;
