"""Google accounts, their GA4 accounts and properties, as the Admin API v1beta shows them.

JSON follows proto3 rules: unset optional fields and empty lists are left out.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .catalog import hash64
from .report import PropertyConfig

ORDINARY = "PROPERTY_TYPE_ORDINARY"
STANDARD = "GOOGLE_ANALYTICS_STANDARD"
ANALYTICS_360 = "GOOGLE_ANALYTICS_360"
_EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
_FIVE_YEARS_S = 5 * 365 * 86_400

# (property_id, display_name, time_zone), optionally followed by the industryCategory
PropertySpec = tuple[str, ...]


@dataclass(frozen=True)
class GaProperty:
    """One GA4 property inside a GA4 account."""

    property_id: str
    display_name: str
    time_zone: str
    account_id: str
    create_time: str
    update_time: str
    industry_category: str | None = None


@dataclass(frozen=True)
class GaAccount:
    """One GA4 account and its properties."""

    account_id: str
    display_name: str
    properties: tuple[GaProperty, ...]


def _timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as Google's JSON renders Timestamps."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _times(seed: int, property_id: str) -> tuple[str, str]:
    digest = hash64(str(seed), "property-times", property_id)
    created = _EPOCH + timedelta(seconds=digest % _FIVE_YEARS_S, milliseconds=digest % 1000)
    updated = created + timedelta(seconds=(digest >> 32) % (365 * 86_400))
    return _timestamp(created), _timestamp(updated)


def _account_name(email: str, index: int) -> str:
    base = email.partition("@")[0].replace(".", " ").title()
    return base if index == 0 else f"{base} {index + 1}"


class AccountDirectory:
    """Which GA4 accounts and properties each Google account can see."""

    def __init__(self) -> None:
        self._by_user: dict[str, tuple[GaAccount, ...]] = {}

    def add(
        self, email: str, properties: Iterable[PropertySpec], accounts: int, seed: int
    ) -> tuple[GaAccount, ...]:
        """Give ``email`` ``accounts`` GA4 accounts holding ``properties`` round-robin."""
        if accounts < 1:
            raise ValueError("accounts must be at least 1")
        specs = list(properties)
        for spec in specs:
            if len(spec) not in (3, 4):
                raise ValueError(f"expected (id, display name, time zone[, industry]): {spec!r}")
            if not spec[0].isdigit():
                raise ValueError(f"property ids are numeric, got {spec[0]!r}")
            ZoneInfo(spec[2])  # fail early on an unknown zone
        ids = [
            str(100_000_000 + hash64(str(seed), email, "account", str(i)) % 900_000_000)
            for i in range(accounts)
        ]
        built = []
        for index, account_id in enumerate(ids):
            props = []
            for spec in specs[index::accounts]:
                created, updated = _times(seed, spec[0])
                category = spec[3] if len(spec) == 4 else None
                props.append(
                    GaProperty(spec[0], spec[1], spec[2], account_id, created, updated, category)
                )
            built.append(GaAccount(account_id, _account_name(email, index), tuple(props)))
        self._by_user[email] = tuple(built)
        return self._by_user[email]

    def users(self) -> list[str]:
        """Google accounts in the order they were added."""
        return list(self._by_user)

    def accounts_of(self, email: str | None) -> tuple[GaAccount, ...]:
        """The GA4 accounts ``email`` can see (none for unknown or missing users)."""
        return self._by_user.get(email, ()) if email else ()

    def find(self, email: str | None, property_id: str) -> GaProperty | None:
        """The property as ``email`` sees it, if they can."""
        for account in self.accounts_of(email):
            for prop in account.properties:
                if prop.property_id == property_id:
                    return prop
        return None

    def exists(self, property_id: str) -> bool:
        """Whether any Google account can see the property."""
        return any(self.find(email, property_id) for email in self._by_user)


def account_summary(account: GaAccount) -> dict[str, Any]:
    """One ``AccountSummary``; no ``propertySummaries`` key for an account without any."""
    summary: dict[str, Any] = {
        "name": f"accountSummaries/{account.account_id}",
        "account": f"accounts/{account.account_id}",
        "displayName": account.display_name,
    }
    if account.properties:
        summary["propertySummaries"] = [
            {
                "property": f"properties/{prop.property_id}",
                "displayName": prop.display_name,
                "propertyType": ORDINARY,
                "parent": f"accounts/{account.account_id}",
            }
            for prop in account.properties
        ]
    return summary


def property_resource(prop: GaProperty, config: PropertyConfig) -> dict[str, Any]:
    """The ``Property`` resource; time zone, currency and service level come from the Data
    API's config."""
    resource: dict[str, Any] = {
        "name": f"properties/{prop.property_id}",
        "propertyType": ORDINARY,
        "createTime": prop.create_time,
        "updateTime": prop.update_time,
        "parent": f"accounts/{prop.account_id}",
        "displayName": prop.display_name,
    }
    if prop.industry_category:
        resource["industryCategory"] = prop.industry_category
    resource["timeZone"] = config.time_zone
    resource["currencyCode"] = config.currency_code
    resource["serviceLevel"] = ANALYTICS_360 if config.analytics_360 else STANDARD
    resource["account"] = f"accounts/{prop.account_id}"
    return resource


def page_token(offset: int, email: str | None) -> str:
    """An opaque token for the page starting at ``offset``, valid for this caller only."""
    raw = f"{offset}:{hash64('page', email or '') % 1_000_000_007}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def page_offset(token: str, email: str | None) -> int | None:
    """The offset a page token stands for; None when it is not one of this caller's tokens."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    offset, _, _ = raw.partition(":")
    if not offset.isdigit() or page_token(int(offset), email) != token:
        return None
    return int(offset)


def summaries_page(
    accounts: Sequence[GaAccount], offset: int, size: int, email: str | None
) -> dict[str, Any]:
    """One ``ListAccountSummariesResponse`` page of ``size`` account summaries."""
    body: dict[str, Any] = {}
    chunk = accounts[offset : offset + size]
    if chunk:
        body["accountSummaries"] = [account_summary(account) for account in chunk]
    if offset + size < len(accounts):
        body["nextPageToken"] = page_token(offset + size, email)
    return body
