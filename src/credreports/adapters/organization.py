"""AWS Organizations: which accounts exist, and their state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws
from credreports.adapters.aws_errors import describe
from credreports.errors import OrganizationListingError

# The Organizations list calls return at most 20 items a page.
PAGE_SIZE = 20


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    state: str

    @property
    def active(self) -> bool:
        return self.state == "ACTIVE"


def _account(item: dict[str, Any]) -> Account:
    # `Status` is retired by AWS (September 2026): read `State`, and fall back
    # to `Status` only for answers that do not carry `State` yet.
    state = item.get("State") or item.get("Status") or "UNKNOWN"
    return Account(id=item["Id"], name=item.get("Name", ""), state=str(state))


class Organization:
    """Lists accounts, across every page, or under OUs recursively."""

    SERVICE = "organizations"

    def __init__(self, client: Any = None) -> None:
        self._client = client or aws.client(self.SERVICE)

    def _pages(self, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        # Any error mid-listing raises: a partial list must never pass for the
        # whole organization (throttling was already retried by botocore).
        try:
            pages = self._client.get_paginator(operation).paginate(
                PaginationConfig={"PageSize": PAGE_SIZE}, **params
            )
            for page in pages:
                yield from page.get(key, [])
        except (ClientError, BotoCoreError) as exc:
            raise OrganizationListingError(describe(exc)) from exc

    def accounts(self) -> list[Account]:
        """Every account of the organization (ListAccounts, all pages)."""
        return [_account(item) for item in self._pages("list_accounts", "Accounts")]

    def accounts_under(self, parent_id: str) -> list[Account]:
        """Every account under an OU or root, including nested OUs."""
        found: list[Account] = []
        pending = [parent_id]
        while pending:
            parent = pending.pop()
            found.extend(
                _account(item)
                for item in self._pages("list_accounts_for_parent", "Accounts", ParentId=parent)
            )
            pending.extend(
                child["Id"]
                for child in self._pages(
                    "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent
                )
            )
        return found
