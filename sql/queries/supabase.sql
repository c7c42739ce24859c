-- Opt-in exposure of the report relations to Supabase's signed-in users
-- (SUPABASE_EXPOSE_REPORTS, ga4sync/store/exposure.py). Braced names are
-- filled in with quoted identifiers. Everything here is undone by the
-- queries that follow it, when the setting is turned off.

-- name: supabase_ready
-- What exposure needs: the server version, Supabase's API roles, auth.uid().
select current_setting('server_version_num')::int as server_version,
       exists (select 1 from pg_roles where rolname = 'authenticated') as has_authenticated,
       exists (select 1 from pg_roles where rolname = 'anon') as has_anon,
       to_regprocedure('auth.uid()') is not null as has_auth_uid;

-- name: create_can_read
-- Whether the signed-in user (auth.uid()) can access a property. security
-- definer: users are never granted the access table itself.
create or replace function ga4sync_reports.can_read(ref bigint)
returns boolean
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select exists (
        select 1 from public.ga4_property_access a
        where a.property_ref = ref and a.user_id = auth.uid()
    )
$$;
revoke all on function ga4sync_reports.can_read(bigint) from public;
grant execute on function ga4sync_reports.can_read(bigint) to authenticated;
grant usage on schema ga4sync_reports to authenticated;

-- name: grant_property_columns
-- A few columns of ga4_properties (the report views join it for property_id).
-- Granted again at every start: revoking a table-wide SELECT that Supabase's
-- default privileges handed out takes the column grants with it.
grant select (id, property_id, display_name, time_zone, last_sync_at, last_sync_status)
    on public.ga4_properties to authenticated;

-- name: expose_properties
-- A user's own properties, through the view ga4_my_properties.
drop policy if exists ga4sync_user_reads on public.ga4_properties;
create policy ga4sync_user_reads on public.ga4_properties
    for select to authenticated using (ga4sync_reports.can_read(id));
create or replace view public.ga4_my_properties with (security_invoker = true) as
select property_id, display_name, time_zone, last_sync_at, last_sync_status
from public.ga4_properties;
revoke all on public.ga4_my_properties from public, anon, authenticated;
grant select on public.ga4_my_properties to authenticated;

-- name: expose_report_table
-- One report definition's table: rows of the user's own properties only.
grant select on {table} to authenticated;
drop policy if exists ga4sync_user_reads on {table};
create policy ga4sync_user_reads on {table}
    for select to authenticated using (ga4sync_reports.can_read(property_ref));

-- name: set_security_invoker
-- A view granted to signed-in users must run with each reader's rights, so
-- that row level security on the tables behind it applies to the reader, not
-- to the view's owner (who bypasses it). A view made before PostgreSQL 15 (and
-- carried over by an upgrade) or by hand may lack it.
alter view {view} set (security_invoker = true);

-- name: view_is_security_invoker
-- Whether the view $1 runs with its reader's rights (null: no such view).
select coalesce(
           (select o.option_value::boolean
            from pg_options_to_table(c.reloptions) o
            where o.option_name = 'security_invoker'),
           false)
from pg_class c
where c.oid = to_regclass($1) and c.relkind = 'v';

-- name: expose_report_view
revoke all on {view} from anon;
grant select on {view} to authenticated;

-- name: hide_report_table
revoke select on {table} from authenticated;
drop policy if exists ga4sync_user_reads on {table};

-- name: hide_report_view
revoke select on {view} from authenticated;

-- name: hide_properties
drop view if exists public.ga4_my_properties;
drop policy if exists ga4sync_user_reads on public.ga4_properties;
revoke select (id, property_id, display_name, time_zone, last_sync_at, last_sync_status)
    on public.ga4_properties from authenticated;
drop function if exists ga4sync_reports.can_read(bigint);
revoke usage on schema ga4sync_reports from authenticated;

-- name: exposed_relations
-- The relations that have ga4sync's read policy for signed-in users.
select p.polrelid::regclass::oid as relation
from pg_policy p
where p.polname = 'ga4sync_user_reads';

-- name: relation_oid
select to_regclass($1)::oid;

-- name: api_role_grants
-- Every privilege that PUBLIC, anon or authenticated holds on an object of
-- ga4sync's: the schemas ga4sync_queue and ga4sync_reports and all in them,
-- and in public the relations named in $1 (with their sequences), the views
-- ga4_<report> of the report definitions and ga4_realtime_<name> of the
-- realtime definitions, and the functions named in $2. An
-- object whose ACL is still the default counts its default grants (functions:
-- EXECUTE to PUBLIC). kind is what GRANT calls the object, name its qualified
-- name; column_name is set for a privilege on one column.
with api_roles (oid, name) as (
    select 0::oid, 'public'
    union all
    select oid, rolname::text from pg_roles where rolname in ('anon', 'authenticated')
),
own_schemas as (
    select oid from pg_namespace where nspname in ('ga4sync_queue', 'ga4sync_reports')
),
public_relations as (
    select c.oid from pg_class c
    where c.relnamespace = 'public'::regnamespace
      and (c.relname = any($1::text[])
           or c.relname in (select 'ga4_' || d.name from ga4_report_definitions d)
           or c.relname in (select 'ga4_realtime_' || r.name from ga4_realtime_definitions r))
),
relations as (
    select c.oid, c.relname, c.relnamespace, c.relkind, c.relowner, c.relacl from pg_class c
    where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
      and (c.relnamespace in (select oid from own_schemas)
           or c.oid in (select oid from public_relations)
           or c.oid in (select d.objid from pg_depend d
                        where d.classid = 'pg_class'::regclass
                          and d.refobjid in (select oid from public_relations)
                          and d.deptype in ('a', 'i')))
),
objects (kind, schema_name, name, is_view, column_name, acl) as (
    select 'schema', n.nspname::text, quote_ident(n.nspname), false, null::text,
           coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))
    from pg_namespace n where n.oid in (select oid from own_schemas)
    union all
    select case r.relkind when 'S' then 'sequence' else 'table' end, n.nspname::text,
           quote_ident(n.nspname) || '.' || quote_ident(r.relname), r.relkind = 'v', null,
           coalesce(r.relacl, acldefault((case r.relkind when 'S' then 's' else 'r' end)::"char",
                                         r.relowner))
    from relations r join pg_namespace n on n.oid = r.relnamespace
    union all
    select 'table', n.nspname::text, quote_ident(n.nspname) || '.' || quote_ident(r.relname),
           r.relkind = 'v', quote_ident(a.attname), a.attacl
    from relations r
    join pg_namespace n on n.oid = r.relnamespace
    join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and a.attacl is not null
    union all
    select 'function', n.nspname::text,
           quote_ident(n.nspname) || '.' || quote_ident(p.proname)
               || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           false, null, coalesce(p.proacl, acldefault('f'::"char", p.proowner))
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where p.pronamespace in (select oid from own_schemas)
       or (p.pronamespace = 'public'::regnamespace and p.proname = any($2::text[]))
)
select o.kind, o.schema_name, o.name, o.is_view, o.column_name, r.name as grantee,
       g.privilege_type
from objects o
cross join lateral aclexplode(o.acl) g
join api_roles r on r.oid = g.grantee
order by o.kind, o.name, o.column_name nulls first, r.name, g.privilege_type;
