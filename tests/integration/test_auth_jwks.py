"""Asymmetric Supabase tokens: verified with keys from the project's JWKS endpoint."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import replace

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec

from ga4sync.web import auth
from ga4sync.web.app import create_app


@pytest.fixture
def signing_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
async def jwks_url(aiohttp_server, signing_key):
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(signing_key.public_key()))
    jwk.update({"kid": "key-1", "use": "sig", "alg": "ES256"})
    fetches = []

    async def keys(request: web.Request) -> web.Response:
        fetches.append(request.path)
        return web.json_response({"keys": [jwk]})

    app = web.Application()
    app.router.add_get("/auth/v1/.well-known/jwks.json", keys)
    server = await aiohttp_server(app)
    url = str(server.make_url("/auth/v1/.well-known/jwks.json"))
    return url, fetches


def es256(key, user: uuid.UUID, kid: str = "key-1", **claims) -> str:
    payload = {"sub": str(user), "aud": "authenticated", "exp": int(time.time()) + 600, **claims}
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": kid})


async def test_es256_tokens_from_the_jwks_are_accepted(
    aiohttp_client, runtime, jwks_url, signing_key
):
    url, fetches = jwks_url
    client = await aiohttp_client(
        create_app(replace(runtime.settings, supabase_jwks_url=url), runtime=runtime)
    )
    user = uuid.uuid4()
    for _ in range(3):
        response = await client.post(
            "/v1/sync/ga4/run", headers={"Authorization": f"Bearer {es256(signing_key, user)}"}
        )
        assert response.status == 202
    assert len(fetches) == 1  # keys are cached

    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = await client.post(
        "/v1/sync/ga4/run", headers={"Authorization": f"Bearer {es256(stranger, user)}"}
    )
    assert forged.status == 401
    unknown_kid = await client.post(
        "/v1/sync/ga4/run",
        headers={"Authorization": f"Bearer {es256(signing_key, user, kid='other')}"},
    )
    assert unknown_kid.status == 401
    assert "signing key" in (await unknown_kid.json())["message"]
    # An HS256 token is refused when only the JWKS is configured.
    hs = jwt.encode(
        {"sub": str(user), "aud": "authenticated", "exp": int(time.time()) + 60},
        "x" * 40,
        algorithm="HS256",
    )
    assert (
        await client.post("/v1/sync/ga4/run", headers={"Authorization": f"Bearer {hs}"})
    ).status == 401


async def test_tokens_naming_unknown_keys_do_not_refetch_the_jwks_each_time(
    aiohttp_client, runtime, jwks_url, signing_key
):
    """A token's ``kid`` is the caller's to choose: a flood of made-up ones must not
    turn into a flood of requests to the project's JWKS endpoint."""
    url, fetches = jwks_url
    client = await aiohttp_client(
        create_app(replace(runtime.settings, supabase_jwks_url=url), runtime=runtime)
    )
    user = uuid.uuid4()
    known = await client.get(
        "/v1/properties", headers={"Authorization": f"Bearer {es256(signing_key, user)}"}
    )
    assert known.status == 200
    for n in range(25):
        forged = es256(signing_key, user, kid=f"made-up-{n}")
        response = await client.get("/v1/properties", headers={"Authorization": f"Bearer {forged}"})
        assert response.status == 401
    assert len(fetches) == 1


async def test_a_newly_published_key_is_found_once_the_cooldown_passes(
    aiohttp_client, runtime, aiohttp_server, signing_key, monkeypatch
):
    monkeypatch.setattr(auth, "JWKS_REFETCH_COOLDOWN_S", 0.5)
    published = [_jwk(signing_key, "key-1")]
    fetches = []

    async def keys(request: web.Request) -> web.Response:
        fetches.append(request.path)
        return web.json_response({"keys": published})

    app = web.Application()
    app.router.add_get("/jwks.json", keys)
    server = await aiohttp_server(app)
    client = await aiohttp_client(
        create_app(
            replace(runtime.settings, supabase_jwks_url=str(server.make_url("/jwks.json"))),
            runtime=runtime,
        )
    )
    user = uuid.uuid4()

    def call(kid: str, key=signing_key):
        token = es256(key, user, kid=kid)
        return client.get("/v1/properties", headers={"Authorization": f"Bearer {token}"})

    assert (await call("key-1")).status == 200
    rotated = ec.generate_private_key(ec.SECP256R1())
    published.append(_jwk(rotated, "key-2"))
    assert (await call("key-2", rotated)).status == 401  # fetched a moment ago: not again
    assert len(fetches) == 1
    await asyncio.sleep(0.6)
    assert (await call("key-2", rotated)).status == 200
    assert len(fetches) == 2


def _jwk(key, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "ES256"})
    return jwk
