"""What Supabase's API roles hold of ga4sync's objects: nothing, or with
``SUPABASE_EXPOSE_REPORTS`` their reads of the report and realtime relations.

Supabase serves the schema ``public`` through its Data API to anyone holding
the anon key, and its default privileges grant every new table, sequence and
function there to ``anon`` and ``authenticated`` (and PostgreSQL grants
EXECUTE on every new function to PUBLIC). ga4sync's tables are guarded by row
level security, but row level security does not cover TRUNCATE, functions or
sequences: every privilege those grants handed out is revoked here, on every
object of ga4sync's in ``public`` and in its own schemas (``ga4sync_queue``,
the job queue; ``ga4sync_reports``, the report tables). Runs whenever the
report tables are made (every migration and process start), so objects made by
a later migration, or granted by hand, are covered too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import asyncpg

from ga4sync.queries import query

# ga4sync's relations in public (each report's view ga4_<report>, and each
# realtime definition's ga4_realtime_<name>, is found from its definition) and
# its functions there.
PUBLIC_RELATIONS = (
    "app_settings",
    "ga4_coverage",
    "ga4_my_properties",
    "ga4_properties",
    "ga4_property_access",
    "ga4_property_access_lost",
    "ga4_property_runs",
    "ga4_read_keys",
    "ga4_realtime_definitions",
    "ga4_realtime_polls",
    "ga4_realtime_quota",
    "ga4_report_definitions",
    "ga4_report_rows",
    "ga4_sync_job_properties",
    "ga4_sync_jobs",
    "google_pending_grants",
    "google_credentials",
    "oauth_state_nonces",
    "schema_migrations",
)
PUBLIC_FUNCTIONS = ("ga4sync_notify_app_setting",)
API_ROLES = ("public", "anon", "authenticated")


@dataclass(frozen=True)
class Grant:
    kind: str  # what GRANT calls the object: schema, table, sequence, function
    schema: str
    name: str  # qualified and quoted
    is_view: bool
    column: str | None  # quoted
    grantee: str  # public, anon or authenticated
    privilege: str

    def exposed(self) -> bool:
        """Whether ``SUPABASE_EXPOSE_REPORTS`` grants this: signed-in users' reads
        of the report relations and of their properties, nothing else."""
        if self.grantee != "authenticated":
            return False
        if self.schema == "ga4sync_reports":
            # the schema, its report tables (row level security) and can_read()
            return (self.kind, self.privilege) in {
                ("schema", "USAGE"),
                ("table", "SELECT"),
                ("function", "EXECUTE"),
            }
        if self.schema == "public" and self.privilege == "SELECT":
            if self.column is not None:
                return self.name == "public.ga4_properties"
            return self.is_view  # ga4_<report>, ga4_realtime_<name> and ga4_my_properties
        return False


async def api_role_grants(conn: asyncpg.Connection) -> list[Grant]:
    """Every privilege PUBLIC, anon or authenticated holds on ga4sync's objects."""
    rows = await conn.fetch(query("api_role_grants"), list(PUBLIC_RELATIONS), PUBLIC_FUNCTIONS)
    return [
        Grant(
            kind=row["kind"],
            schema=row["schema_name"],
            name=row["name"],
            is_view=row["is_view"],
            column=row["column_name"],
            grantee=row["grantee"],
            privilege=row["privilege_type"],
        )
        for row in rows
    ]


async def revoke_api_role_grants(conn: asyncpg.Connection, *, expose: bool) -> int:
    """Revoke from the API roles every privilege beyond what exposure grants
    (with ``expose`` off: every privilege); return how many were revoked."""
    excess: dict[tuple[str, str, str | None, str], list[str]] = defaultdict(list)
    for grant in await api_role_grants(conn):
        if not (expose and grant.exposed()):
            excess[grant.kind, grant.name, grant.column, grant.grantee].append(grant.privilege)
    for (kind, name, column, grantee), privileges in excess.items():
        what = ", ".join(f"{p} ({column})" if column else p for p in privileges)
        await conn.execute(f"revoke {what} on {kind} {name} from {grantee}")
    return sum(len(p) for p in excess.values())
