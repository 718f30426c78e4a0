"""The Organizations adapter pages itself (issue 11, item 2): a throttled page
is asked again from its own NextToken, never from page 1; pages are paced;
the listing fails closed only after a page keeps failing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from credreports.adapters.organization import PAGE_SIZE, Organization
from credreports.errors import OrganizationListingError

ACCOUNTS = [f"{index:012d}" for index in range(1, 66)]  # 4 pages of 20


def throttled() -> ClientError:
    return ClientError(
        {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}},
        "ListAccounts",
    )


class FakeOrganizations:
    """ListAccounts over ACCOUNTS; ``fail`` maps a page's token to the number
    of times that page answers ``error`` before it answers."""

    def __init__(self, fail: dict[str | None, int], error: ClientError | None = None) -> None:
        self.fail = dict(fail)
        self.error = error or throttled()
        self.asked: list[str | None] = []

    def list_accounts(self, MaxResults: int, NextToken: str | None = None) -> dict[str, Any]:
        assert MaxResults == PAGE_SIZE
        self.asked.append(NextToken)
        if self.fail.get(NextToken, 0) > 0:
            self.fail[NextToken] -= 1
            raise self.error
        start = int(NextToken or 0)
        page: dict[str, Any] = {
            "Accounts": [
                {"Id": a, "Name": a, "State": "ACTIVE"}
                for a in ACCOUNTS[start : start + MaxResults]
            ]
        }
        if start + MaxResults < len(ACCOUNTS):
            page["NextToken"] = str(start + MaxResults)
        return page


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def organization(client: FakeOrganizations, clock: Clock, **options: Any) -> Organization:
    return Organization(client, sleep=clock.sleep, clock=clock, **options)


def test_a_throttled_page_is_asked_again_from_its_own_token() -> None:
    # Given page 3 throttled twice after the client's own retries
    client, clock = FakeOrganizations(fail={"40": 2}), Clock()
    org = organization(client, clock)

    accounts = org.accounts()

    # Then the listing is complete, and only page 3 was asked again
    assert [a.id for a in accounts] == ACCOUNTS
    assert client.asked == [None, "20", "40", "40", "40", "60"]
    assert org.resumed_pages == 2


def test_pages_are_paced() -> None:
    client, clock = FakeOrganizations(fail={}), Clock()
    organization(client, clock, pages_per_second=4).accounts()

    # 4 pages at 4 a second: 3 waits of a quarter second (the calls take no time here)
    assert clock.slept == [0.25, 0.25, 0.25]


def test_a_page_that_keeps_failing_fails_the_listing_closed() -> None:
    client, clock = FakeOrganizations(fail={"20": 99}), Clock()
    org = organization(client, clock, page_rounds=3)

    with pytest.raises(OrganizationListingError, match="TooManyRequestsException"):
        org.accounts()
    assert client.asked == [None, "20", "20", "20"]


def test_a_refusal_is_not_retried() -> None:
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListAccounts"
    )
    client, clock = FakeOrganizations(fail={None: 1}, error=denied), Clock()

    with pytest.raises(OrganizationListingError, match="AccessDeniedException"):
        organization(client, clock).accounts()
    assert client.asked == [None]


def test_a_listing_slowed_past_its_deadline_fails_closed_before_the_timeout() -> None:
    # Given a deadline reached while page 2 is being retried
    client, clock = FakeOrganizations(fail={"20": 99}), Clock()
    org = organization(client, clock, deadline=5.0)

    with pytest.raises(OrganizationListingError, match="after 1 pages"):
        org.accounts()
    assert clock.now >= 5.0 and client.asked[0] is None
