"""Settings of a property shared by several users are each user's own.

One user switching it off or to manual stops only their own interest: the
property syncs while any user with access has it enabled, at the most frequent
schedule among them, and each user sees their own setting.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ga4sync.db import connect
from ga4sync.migrate import migrate
from tests.migrations import migrate_until

from ..webtools import ADMIN, bearer

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def _shared(pool, connect_user, property_id: str):
    alice = await connect_user({property_id: "UTC"})
    bob = await connect_user({property_id: "UTC"})
    ref = await pool.fetchval("select id from ga4_properties where property_id = $1", property_id)
    assert await pool.fetchval("select count(*) from ga4_property_access") == 2
    return alice, bob, ref


async def _patch(client, user, ref, **body):
    response = await client.patch(f"/v1/properties/{ref}", headers=bearer(user), json=body)
    assert response.status == 200, await response.text()
    return await response.json()


async def _listed(client, user) -> dict:
    response = await client.get("/v1/properties", headers=bearer(user))
    assert response.status == 200
    [prop] = (await response.json())["properties"]
    return prop


async def _planned(pool, job_id) -> list[int]:
    rows = await pool.fetch(
        "select property_ref from ga4_sync_job_properties where job_id = $1 order by 1", job_id
    )
    return [r["property_ref"] for r in rows]


async def _manual_run(pool, service, user) -> list[int]:
    started = await service.start_job(user, str(user))
    await service.run_job(started.job.id)
    planned = await _planned(pool, started.job.id)
    await pool.execute("update ga4_sync_jobs set status = 'success' where id = $1", started.job.id)
    return planned


async def _daily_run(pool, service) -> list[int]:
    daily = await service.ensure_daily_due()
    await service.run_job(daily.job.id)
    planned = await _planned(pool, daily.job.id)
    await pool.execute("delete from ga4_sync_jobs where id = $1", daily.job.id)
    return planned


async def test_one_user_switching_a_shared_property_off_stops_only_their_interest(
    client, pool, connect_user, service
):
    alice, bob, ref = await _shared(pool, connect_user, "8801")

    off = await _patch(client, alice, ref, enabled=False)
    assert (off["enabled"], off["effective_enabled"]) == (False, True)
    mine, bobs = await _listed(client, alice), await _listed(client, bob)
    assert (mine["enabled"], mine["effective_enabled"]) == (False, True)
    assert mine["next_due_at"] is not None  # it still syncs, for Bob
    assert (bobs["enabled"], bobs["effective_enabled"]) == (True, True)

    # Alice's own "Sync now" leaves out what she switched off, as it always left out a
    # disabled property; Bob's run and the daily run still sync it.
    assert await _manual_run(pool, service, alice) == []
    assert await _manual_run(pool, service, bob) == [ref]
    assert await _daily_run(pool, service) == [ref]

    await _patch(client, bob, ref, enabled=False)
    assert await _daily_run(pool, service) == []
    mine = await _listed(client, alice)
    assert (mine["effective_enabled"], mine["next_due_at"]) == (False, None)

    # Either turning it on again brings it back for everyone.
    await _patch(client, alice, ref, enabled=True)
    assert await _daily_run(pool, service) == [ref]
    assert (await _listed(client, bob))["enabled"] is False  # Bob's own choice stands


async def test_a_shared_property_syncs_at_the_most_frequent_wanted_schedule(
    client, pool, connect_user, service, upkeep, recording_queue
):
    alice, bob, ref = await _shared(pool, connect_user, "8802")
    await _patch(client, alice, ref, sync_frequency="hourly")
    body = await _patch(client, bob, ref, sync_frequency="manual")
    assert (body["sync_frequency"], body["effective_sync_frequency"]) == ("manual", "hourly")
    listed = await _listed(client, bob)
    assert (listed["sync_frequency"], listed["effective_sync_frequency"]) == ("manual", "hourly")
    assert listed["next_due_at"] is not None

    assert await upkeep.schedule_due_properties(T0) == 1
    # Bob's change did not make it due again before its hour is up...
    await _patch(client, bob, ref, sync_frequency="daily")
    assert await upkeep.schedule_due_properties(T0 + timedelta(minutes=5)) == 0
    assert await upkeep.schedule_due_properties(T0 + timedelta(hours=1)) == 1
    assert recording_queue.due == [ref, ref]

    # ...and Alice going manual leaves Bob's daily schedule, not hers.
    body = await _patch(client, alice, ref, sync_frequency="manual")
    assert body["effective_sync_frequency"] == "daily"
    assert await upkeep.schedule_due_properties(T0 + timedelta(hours=3)) == 0
    assert await _daily_run(pool, service) == [ref]

    # A disabled user's schedule does not count.
    await _patch(client, alice, ref, sync_frequency="hourly", enabled=False)
    assert await upkeep.schedule_due_properties(T0 + timedelta(hours=4)) == 0

    # Nobody wants it but on demand: the daily run leaves it, a "Sync now" reads it.
    await _patch(client, alice, ref, enabled=True, sync_frequency="manual")
    await _patch(client, bob, ref, sync_frequency="manual")
    assert await _daily_run(pool, service) == []
    assert await _manual_run(pool, service, bob) == [ref]


async def test_nobody_changes_another_users_setting_an_admin_changes_everyones(
    client, pool, connect_user
):
    alice, bob, ref = await _shared(pool, connect_user, "8803")
    stranger = await connect_user({"8804": "UTC"})
    response = await client.patch(
        f"/v1/properties/{ref}", headers=bearer(stranger), json={"enabled": False}
    )
    assert response.status == 404
    assert (await _listed(client, alice))["enabled"] is True

    body = await _patch(client, ADMIN, ref, enabled=False)
    assert (body["enabled"], body["effective_enabled"]) == (False, False)
    assert (await _listed(client, alice))["enabled"] is False
    assert (await _listed(client, bob))["enabled"] is False


async def test_upgrading_gives_every_user_the_settings_of_today(empty_database_url):
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with connect(empty_database_url) as conn:
        await migrate_until(conn, "0013")
        refs = {}
        for property_id, enabled, frequency in [("1", False, "hourly"), ("2", True, "manual")]:
            refs[property_id] = await conn.fetchval(
                "insert into ga4_properties (property_id, enabled, sync_frequency)"
                " values ($1, $2, $3) returning id",
                property_id,
                enabled,
                frequency,
            )
        for user, property_id in [(alice, "1"), (bob, "1"), (bob, "2"), (carol, "2")]:
            await conn.execute(
                "insert into ga4_property_access (user_id, property_ref) values ($1, $2)",
                user,
                refs[property_id],
            )

        assert "0014" in {v[:4] for v in await migrate(conn)}

        rows = await conn.fetch(
            "select user_id, property_ref, enabled, sync_frequency, discovered"
            " from ga4_property_access"
        )
        assert {tuple(r) for r in rows} == {
            (alice, refs["1"], False, "hourly", True),
            (bob, refs["1"], False, "hourly", True),
            (bob, refs["2"], True, "manual", True),
            (carol, refs["2"], True, "manual", True),
        }
        columns = await conn.fetch(
            "select column_name from information_schema.columns where table_name = 'ga4_properties'"
        )
        assert not {"enabled", "sync_frequency"} & {c["column_name"] for c in columns}
