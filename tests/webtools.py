"""Helpers for HTTP tests: Supabase-style tokens for test users."""

from __future__ import annotations

import time
import uuid

import jwt

SECRET = "test-jwt-secret-of-a-decent-length-0123456789"
ORIGIN = "https://app.example.com"
CRON = "cron-token-0123456789"
ADMIN = uuid.UUID("00000000-0000-4000-8000-00000000ad01")


def token(user: uuid.UUID, *, secret: str = SECRET, exp_in: int = 3600, **claims) -> str:
    payload = {"sub": str(user), "aud": "authenticated", "exp": int(time.time()) + exp_in}
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(user: uuid.UUID, **kwargs) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, **kwargs)}"}
