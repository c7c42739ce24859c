"""What Supabase's API roles can do with ga4sync's objects, on a database
prepared as Supabase prepares one, after a fresh install and after an upgrade
of an install that kept its job queue in public.

Every table, view, sequence, function and schema in every schema ga4sync
touches is enumerated from the catalog: ``anon`` may do nothing with any of
them, ``authenticated`` only read what ``SUPABASE_EXPOSE_REPORTS`` grants.
"""

from __future__ import annotations

import uuid

import asyncpg
import procrastinate
import pytest
from procrastinate.schema import SchemaManager

from ga4sync.db import connect, open_pool
from ga4sync.migrate import migrate
from ga4sync.queries import query
from ga4sync.queue import create_queue_app, priority
from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.reports.realtime import RealtimeSpec
from ga4sync.store.privileges import api_role_grants
from ga4sync.store.properties import upsert_property
from ga4sync.sync.fair_order import Lane
from tests.migrations import migrate_until
from tests.supabase import as_role, prepare_supabase

SCHEMAS = ("public", "ga4sync_queue", "ga4sync_reports")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
COLUMN_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "REFERENCES")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")

# Everything a role may do, as ("kind", "object", "privilege").
ROLE_CAN = """
with objects as (
    select 'schema' as kind, n.nspname::text as name, n.oid, null::smallint as attnum
    from pg_namespace n where n.nspname = any($2::text[])
    union all
    select case c.relkind when 'S' then 'sequence' else 'table' end,
           n.nspname || '.' || c.relname, c.oid, null
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any($2::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    union all
    select 'column', n.nspname || '.' || c.relname || '.' || a.attname, c.oid, a.attnum
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where n.nspname = any($2::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f')
    union all
    select 'function', n.nspname || '.' || p.proname, p.oid, null
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = any($2::text[])
)
select o.kind, o.name, p.privilege
from objects o
cross join lateral unnest(case o.kind
    when 'schema' then array['USAGE', 'CREATE']
    when 'table' then $3::text[]
    when 'column' then $4::text[]
    when 'sequence' then $5::text[]
    else array['EXECUTE'] end) as p(privilege)
where case o.kind
    when 'schema' then has_schema_privilege($1, o.oid, p.privilege)
    when 'table' then has_table_privilege($1, o.oid, p.privilege)
    when 'column' then has_column_privilege($1, o.oid, o.attnum, p.privilege)
    when 'sequence' then has_sequence_privilege($1, o.oid, p.privilege)
    else has_function_privilege($1, o.oid, p.privilege) end
order by 1, 2, 3
"""
PUBLIC_USAGE = {("schema", "public", "USAGE")}  # Supabase's, not ga4sync's
# Realtime relations are exposed as report relations are, and only so.
REALTIME = (
    RealtimeSpec("active_users", (), ("activeUsers",)),
    RealtimeSpec("by_country", ("country",), ("activeUsers", "eventCount"), history_minutes=5),
)


async def role_can(conn: asyncpg.Connection, role: str) -> set[tuple[str, str, str]]:
    rows = await conn.fetch(
        ROLE_CAN, role, SCHEMAS, TABLE_PRIVILEGES, COLUMN_PRIVILEGES, SEQUENCE_PRIVILEGES
    )
    return {(r["kind"], r["name"], r["privilege"]) for r in rows} - PUBLIC_USAGE


async def exposed_reads(conn: asyncpg.Connection) -> set[tuple[str, str, str]]:
    """What SUPABASE_EXPOSE_REPORTS is documented to grant signed-in users."""
    views = [f"public.ga4_{spec.name}" for spec in BUILTIN_REPORTS] + ["public.ga4_my_properties"]
    views += [f"public.ga4_realtime_{spec.name}" for spec in REALTIME]
    tables = await conn.fetch(
        "select 'ga4sync_reports.' || c.relname as name from pg_class c"
        " where c.relnamespace = 'ga4sync_reports'::regnamespace and c.relkind = 'r'"
    )
    view_columns = await conn.fetch(
        "select c.relnamespace::regnamespace || '.' || c.relname || '.' || a.attname as name"
        " from pg_attribute a join pg_class c on c.oid = a.attrelid"
        " where a.attrelid = any($1::regclass[]) and a.attnum > 0",
        [*views, *(t["name"] for t in tables)],
    )
    properties = ("id", "property_id", "display_name", "time_zone", "last_sync_at")
    return {
        ("schema", "ga4sync_reports", "USAGE"),
        ("function", "ga4sync_reports.can_read", "EXECUTE"),
        *(("table", view, "SELECT") for view in views),
        *(("table", t["name"], "SELECT") for t in tables),
        *(("column", c["name"], "SELECT") for c in view_columns),
        *(("column", f"public.ga4_properties.{c}", "SELECT") for c in properties),
        ("column", "public.ga4_properties.last_sync_status", "SELECT"),
    }


async def install_previous_version(url: str) -> int:
    """Migrate as ga4sync did before the queue had a schema of its own (every
    migration up to 0012, procrastinate's schema in public) and queue a task
    there; return its id."""
    async with connect(url) as conn:
        await migrate_until(conn, "0012")
        async with conn.transaction():
            await conn.execute(SchemaManager.get_schema())
            await conn.execute(query("record_migration"), "procrastinate-3.10.0")
        # The hole this closes: anyone with the anon key could fake a worker's heartbeat.
        async with conn.transaction():
            await conn.execute("set local role anon")
            await conn.execute(
                "insert into procrastinate_workers (last_heartbeat)"
                " values (now() + interval '1 year')"
            )
    previous = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
    previous.task(name="ga4sync.run_job")(lambda job_id: None)
    previous.task(name="ga4sync.continue_property")(lambda property_ref, recent: None)
    async with previous.open_async():
        # a history step at the priority of the order before lanes (-10)
        await previous.configure_task("ga4sync.continue_property", priority=-10).defer_async(
            property_ref=1, recent=False
        )
        return await previous.configure_task("ga4sync.run_job").defer_async(job_id="kept")


@pytest.fixture(params=["fresh", "upgrade"])
def install(request) -> str:
    return str(request.param)


@pytest.mark.parametrize("expose", [False, True], ids=["reports-hidden", "reports-exposed"])
async def test_api_roles_reach_only_what_exposure_grants(empty_database_url, install, expose):
    url = empty_database_url
    async with connect(url) as conn:
        await prepare_supabase(conn)
    kept_job = await install_previous_version(url) if install == "upgrade" else None
    async with connect(url) as conn:
        await migrate(conn, expose=expose, realtime=REALTIME)
        realtime_tables = await conn.fetchval(
            "select count(*) from pg_class where relnamespace = 'ga4sync_reports'::regnamespace"
            " and relname like 'realtime\\_%' and relkind = 'r'"
        )
        assert realtime_tables == len(REALTIME)

        assert await role_can(conn, "anon") == set()
        expected = await exposed_reads(conn) if expose else set()
        assert await role_can(conn, "authenticated") == expected
        # ga4sync's own account of the grants agrees, and holds nothing more.
        held = {(g.grantee, g.kind, g.name, g.privilege) for g in await api_role_grants(conn)}
        assert all(grantee == "authenticated" for grantee, *_ in held), held
        assert bool(held) == expose

        in_public = await conn.fetchval(
            "select count(*) from (select relname from pg_class"
            "  where relnamespace = 'public'::regnamespace union all"
            "  select proname from pg_proc where pronamespace = 'public'::regnamespace union all"
            "  select typname from pg_type where typnamespace = 'public'::regnamespace) o"
            " where relname like 'procrastinate%'"
        )
        assert in_public == 0

    if kept_job is not None:
        async with connect(url) as conn:
            # the forged heartbeat is gone with the hole
            assert (
                await conn.fetchval("select count(*) from ga4sync_queue.procrastinate_workers") == 0
            )
        # The queued task moved with the queue, and the new queue runs it.
        app = create_queue_app(url, periodic=False)
        async with app.open_async():
            jobs = await app.job_manager.list_jobs_async(id=kept_job)
            assert [(j.task_name, j.task_kwargs, j.status) for j in jobs] == [
                ("ga4sync.run_job", {"job_id": "kept"}, "todo")
            ]
            newer = await app.configure_task("ga4sync.cleanup").defer_async(timestamp=0)
            assert newer > kept_job
            # the history step queued before lanes went to the top of the history lane
            (step,) = await app.job_manager.list_jobs_async(task="ga4sync.continue_property")
            assert step.priority == priority(Lane.HISTORY, 0)


async def test_anon_and_signed_in_users_cannot_touch_the_queue(empty_database_url):
    async with connect(empty_database_url) as conn:
        await prepare_supabase(conn)
        await migrate(conn, expose=True)
    user = uuid.uuid4()
    attempts = [
        # a worker row with a heartbeat in the future (a healthy-looking /healthz)
        "insert into ga4sync_queue.procrastinate_workers (last_heartbeat)"
        " values (now() + interval '1 year')",
        # queueing any task with any arguments
        "select ga4sync_queue.procrastinate_defer_jobs_v1(array[row('default', 'ga4sync.cleanup',"
        " 0, null, null, null, '{}'::jsonb)::ga4sync_queue.procrastinate_job_to_defer_v1])",
        "select ga4sync_queue.procrastinate_register_worker_v1()",
        "select * from ga4sync_queue.procrastinate_jobs",
        "delete from ga4sync_queue.procrastinate_jobs",
        "select ga4sync_queue.procrastinate_cancel_job_v1(1, true, true)",
        # through public, where the queue used to be
        "select procrastinate_defer_jobs_v1(null)",
        # ga4sync's own tables: not even the privileges row level security leaves open
        "truncate ga4_sync_jobs",
        "delete from ga4_properties",
        "select * from google_credentials",
        "select nextval('ga4_properties_id_seq')",
        "select ga4sync_notify_app_setting()",
    ]
    async with open_pool(empty_database_url) as pool:
        await upsert_property(pool, user, "5150")
        for role in ("anon", "authenticated"):
            for sql in attempts:
                async with as_role(pool, role, user if role == "authenticated" else None) as conn:
                    with pytest.raises(
                        (asyncpg.InsufficientPrivilegeError, asyncpg.UndefinedFunctionError)
                    ):
                        await conn.execute(sql)
        async with as_role(pool, "authenticated", user) as conn:
            # what exposure grants still works
            assert await conn.fetchval("select property_id from ga4_my_properties") == "5150"
        assert await pool.fetchval("select count(*) from ga4sync_queue.procrastinate_workers") == 0
