"""The GA4 Admin API (read-only): which properties a user can see, their time zones and
service levels."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from ga4sync.ga4.api import call_ga4_api
from ga4sync.ga4.service_level import parse_service_level
from ga4sync.google_http import DEFAULT_TIMEOUT_S

_PAGE_SIZE = 200  # the most accountSummaries.list returns per page
_DETAIL_CONCURRENCY = 5
_ENDPOINT = "The GA4 Admin API"


@dataclass(frozen=True)
class DiscoveredProperty:
    property_id: str
    display_name: str
    time_zone: str
    currency_code: str | None
    account_name: str
    # GOOGLE_ANALYTICS_STANDARD or GOOGLE_ANALYTICS_360 (None: Google did not say).
    service_level: str | None = None


class AdminClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s

    async def discover(self, access_token: str) -> list[DiscoveredProperty]:
        """Every GA4 property the token's user can read, with its time zone and service level.

        Raises ``GrantRevoked`` for a rejected token, ``GoogleUnavailable`` when the Admin
        API cannot be reached or fails, ``GoogleError`` for any other refusal.
        """
        summaries: list[tuple[str, str, str]] = []  # (property id, display name, account)
        page_token: str | None = None
        while True:
            query: dict[str, Any] = {"pageSize": _PAGE_SIZE}
            if page_token:
                query["pageToken"] = page_token
            page = await self._get("/v1beta/accountSummaries", access_token, query)
            for account in page.get("accountSummaries", ()):
                for prop in account.get("propertySummaries", ()):
                    property_id = str(prop.get("property", "")).removeprefix("properties/")
                    if property_id.isdigit():
                        summaries.append(
                            (
                                property_id,
                                str(prop.get("displayName", "")),
                                str(account.get("displayName", "")),
                            )
                        )
            page_token = page.get("nextPageToken")
            if not page_token:
                break
        slots = asyncio.Semaphore(_DETAIL_CONCURRENCY)

        async def details(summary: tuple[str, str, str]) -> DiscoveredProperty:
            property_id, display_name, account_name = summary
            async with slots:
                prop = await self._get(f"/v1beta/properties/{property_id}", access_token)
            return DiscoveredProperty(
                property_id=property_id,
                display_name=str(prop.get("displayName") or display_name),
                time_zone=str(prop.get("timeZone") or "UTC"),
                currency_code=prop.get("currencyCode"),
                account_name=account_name,
                service_level=parse_service_level(prop.get("serviceLevel")),
            )

        return list(await asyncio.gather(*(details(s) for s in summaries)))

    async def _get(
        self, path: str, access_token: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return await call_ga4_api(
            self._session,
            "GET",
            self._base_url + path,
            access_token,
            endpoint=_ENDPOINT,
            timeout_s=self._timeout_s,
            params=query,
        )
