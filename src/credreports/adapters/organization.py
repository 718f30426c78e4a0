"""AWS Organizations: which accounts exist, their state, name and OU path.

An organization of 10,000 accounts is at least 500 pages of accounts (plus
the OU pages of the walk, see Organization.organization_tree), and
Organizations throttles (TooManyRequestsException). The listing therefore
pages itself instead of using botocore's paginator: pages are paced, each
page is retried by the client (aws.ORGANIZATIONS_CONFIG) and
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
    ou_path: str = ""  # "Workloads/Prod": OU names from the root down; "" under the root
    parents: tuple[str, ...] = ()  # the root's and OUs' ids above it, from the root down

    @property
    def active(self) -> bool:
        return self.state == "ACTIVE"


def _account(item: dict[str, Any], ou_path: str = "", parents: tuple[str, ...] = ()) -> Account:
    # `Status` is retired by AWS (September 2026): read `State`, and fall back
    # to `Status` only for answers that do not carry `State` yet.
    state = item.get("State") or item.get("Status") or "UNKNOWN"
    return Account(
        id=item["Id"], name=item.get("Name", ""), state=str(state), ou_path=ou_path, parents=parents
    )


class Organization:
    """Lists the organization's accounts with their OU paths (one walk of the OU tree).

    Build one per invocation (dependencies.organization): botocore keeps its
    retry quota per client."""

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

    def organization_tree(self, include: set[str] | None = None) -> list[Account]:
        """Every account with its name, OU path and parents, by one walk of the
        OU tree from the root (ListRoots, then ListOrganizationalUnitsForParent
        and ListAccountsForParent for each OU). With ``include`` (OU or root
        ids), accounts are listed only in those subtrees; OUs are still walked
        everywhere, since an included OU may sit at any depth.

        Requests: 1 + for each OU (root included) one OU page and, where
        accounts are listed, one account page per 20 accounts. An organization
        of 10,000 accounts in 200 OUs takes about 1 + 200 + 200 + 500 pages,
        against ListAccounts' 500 pages that carry names but no OU."""
        found: list[Account] = []
        roots = [root["Id"] for root in self._pages("list_roots", "Roots")]
        # (parent id, its OU path, the ids from the root down to it, inside an included subtree)
        pending: list[tuple[str, str, tuple[str, ...], bool]] = [
            (root, "", (root,), not include or root in include) for root in roots
        ]
        while pending:
            parent, path, parents, inside = pending.pop()
            if inside:
                found.extend(
                    _account(item, path, parents)
                    for item in self._pages("list_accounts_for_parent", "Accounts", ParentId=parent)
                )
            for child in self._pages(
                "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent
            ):
                name = str(child.get("Name") or child["Id"])
                pending.append(
                    (
                        child["Id"],
                        f"{path}/{name}" if path else name,
                        (*parents, child["Id"]),
                        inside or child["Id"] in (include or ()),
                    )
                )
        return found
