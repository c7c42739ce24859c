"""Asymmetric Supabase tokens: verified with keys from the project's JWKS endpoint."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec

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
