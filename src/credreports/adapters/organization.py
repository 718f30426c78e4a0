"""AWS Organizations: which accounts exist, and their state.

An organization of 10,000 accounts is 500 ListAccounts pages, and
Organizations throttles (TooManyRequestsException). The listing therefore
pages itself instead of using botocore's paginator: pages are paced, each
page is retried by the client (adaptive mode, aws.ORGANIZATIONS_CONFIG) and
then, if still throttled, again by this loop from the same ``NextToken``, so a
throttled page costs a wait, never the pages before it. Only a page that
keeps failing after all that fails the listing (OrganizationListingError),
and a partial list never passes for the whole organization.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws
from credreports.adapters.aws_errors import describe, is_server_error, is_throttling
from credreports.errors import OrganizationListingError

# The Organizations list calls return at most 20 items a page.
PAGE_SIZE = 20
# At most this many pages a second: a steady pace draws fewer throttles than
# bursts do. 500 pages (10,000 accounts) take at least 100 s, well inside the
# producer's 900 s timeout.
PAGES_PER_SECOND = 5.0
# A page the client gave up on (its attempts or its retry quota spent) is
# asked again this many times, after these waits, from the same NextToken.
PAGE_ROUNDS = 6
ROUND_WAIT_SECONDS = 2.0
MAX_ROUND_WAIT_SECONDS = 30.0


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
    """Lists accounts, across every page, or under OUs recursively.

    Build one per invocation (dependencies.organization): botocore keeps its
    retry quota and adaptive rate per client."""

    SERVICE = "organizations"

    def __init__(
        self,
        client: Any = None,
        *,
        pages_per_second: float = PAGES_PER_SECOND,
        page_rounds: int = PAGE_ROUNDS,
        round_wait_seconds: float = ROUND_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        deadline: float | None = None,
    ) -> None:
        self._client = client or aws.client(self.SERVICE, aws.ORGANIZATIONS_CONFIG)
        self._interval = 1 / pages_per_second if pages_per_second > 0 else 0.0
        self._rounds = page_rounds
        self._round_wait = round_wait_seconds
        self._sleep = sleep
        self._clock = clock
        self._last_page: float | None = None
        # On ``clock``: no page is asked after it. The producer sets it short of
        # its timeout, so a listing slowed to a crawl fails closed with a
        # manifest that says so, instead of being cut off by Lambda.
        self._deadline = deadline
        self._pages_read = 0
        # Pages asked again by this loop after the client gave up (for logs and tests).
        self.resumed_pages = 0

    def _pace(self) -> None:
        if self._last_page is not None and self._interval:
            left = self._last_page + self._interval - self._clock()
            if left > 0:
                self._sleep(left)
        self._last_page = self._clock()

    def _page(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One page; a throttled or failing page is asked again from the same
        token, with growing waits, before the listing fails."""
        call = getattr(self._client, operation)
        for round_number in range(self._rounds):
            self._pace()
            if self._deadline is not None and self._clock() >= self._deadline:
                raise OrganizationListingError(
                    f"listing stopped after {self._pages_read} pages: the producer's time ran "
                    "short (Organizations kept throttling); nothing was enqueued"
                )
            try:
                page: dict[str, Any] = call(**params)
                self._pages_read += 1
                return page
            except (ClientError, BotoCoreError) as exc:
                retryable = is_throttling(exc) or is_server_error(exc)
                if not retryable or round_number == self._rounds - 1:
                    raise OrganizationListingError(describe(exc)) from exc
                self.resumed_pages += 1
                self._sleep(min(self._round_wait * 2**round_number, MAX_ROUND_WAIT_SECONDS))
        raise AssertionError("unreachable: the last round raises")  # pragma: no cover

    def _pages(self, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            request = {**params, "MaxResults": PAGE_SIZE}
            if token:
                request["NextToken"] = token
            page = self._page(operation, request)
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return

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
