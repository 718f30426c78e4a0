"""Shortcuts past the emulator's own costs, for runs of thousands of accounts
(the 10,000-account producer test, `make bench`): moto's cost, not the code's.
They change the emulator in this process (moto must run in-process)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

REGION = "us-east-1"


def aws_like_account_listing() -> None:
    """ListAccountsForParent as AWS answers it: 20 accounts a page. moto
    filters and sorts the whole organization for every page (a quadratic
    listing that is the emulator's cost, not the producer's), so each parent's
    sorted accounts are kept while the organization does not change."""
    from moto.organizations import utils
    from moto.organizations.models import OrganizationsBackend
    from moto.utilities.paginator import paginate

    utils.PAGINATION_MODEL["list_accounts_for_parent"]["limit_default"] = 20
    if getattr(OrganizationsBackend.list_accounts_for_parent, "bench_patched", False):
        return
    cache: dict[tuple[int, int, str, str, str], list[Any]] = {}

    def list_accounts_for_parent(self: OrganizationsBackend, parent_id: str) -> list[Any]:
        # Accounts are never moved once listed; a reset or a new account
        # changes the key.
        key = (id(self), len(self.accounts), self.accounts[0].id, self.accounts[-1].id, parent_id)
        if key not in cache:
            if len(cache) > 1000:
                cache.clear()
            parent = self.validate_parent_id(parent_id)
            found = [account for account in self.accounts if account.parent_id == parent]
            cache[key] = sorted(found, key=lambda account: account.create_time)
        return cache[key]

    patched = paginate(pagination_model=utils.PAGINATION_MODEL)(list_accounts_for_parent)
    patched.bench_patched = True  # type: ignore[attr-defined]
    OrganizationsBackend.list_accounts_for_parent = patched  # type: ignore[method-assign]


@contextmanager
def cached_account_listing() -> Iterator[None]:
    """aws_like_account_listing for the length of a block, moto restored after
    it (the tests share one process; the bench keeps it for good)."""
    from moto.organizations import utils
    from moto.organizations.models import OrganizationsBackend

    original = OrganizationsBackend.list_accounts_for_parent
    limit = utils.PAGINATION_MODEL["list_accounts_for_parent"]["limit_default"]
    aws_like_account_listing()
    try:
        yield
    finally:
        OrganizationsBackend.list_accounts_for_parent = original  # type: ignore[method-assign]
        utils.PAGINATION_MODEL["list_accounts_for_parent"]["limit_default"] = limit


@contextmanager
def indexed_access_keys() -> Iterator[None]:
    """moto finds the account of every request by scanning the IAM backend of
    every account for the request's access key (get_account_id_from), and the
    management account's own key, which moto never issued, is looked for in
    all of them: with 10,000 accounts seeded, most of a request's time. For the
    length of a block, the keys moto issues (a user's, or the temporary ones
    of AssumeRole) are noted with their account as they are made, and any
    other answer is remembered per key: a key is random and stays in its
    account, so the answer is the scan's."""
    from moto.iam import models

    original = models.get_account_id_from
    make_key = models.IAMBackend.create_access_key
    make_temporary = models.IAMBackend.create_temp_access_key
    known: dict[str, str] = {}

    def get_account_id_from(access_key: str) -> str:
        if access_key not in known:
            known[access_key] = original(access_key)
        return known[access_key]

    def create_access_key(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = make_key(self, *args, **kwargs)
        known[key.physical_resource_id] = self.account_id
        return key

    def create_temp_access_key(self: Any) -> Any:
        key = make_temporary(self)
        known[key.physical_resource_id] = self.account_id
        return key

    models.get_account_id_from = get_account_id_from
    models.IAMBackend.create_access_key = create_access_key  # type: ignore[method-assign]
    models.IAMBackend.create_temp_access_key = create_temp_access_key  # type: ignore[method-assign]
    try:
        yield
    finally:
        models.get_account_id_from = original
        models.IAMBackend.create_access_key = make_key  # type: ignore[method-assign]
        models.IAMBackend.create_temp_access_key = make_temporary  # type: ignore[method-assign]


class QueueEmptier:
    """Takes messages out of a moto queue as they arrive, in-process. moto's
    SendMessageBatch scans the whole queue on every call (0.24 s at depth 0,
    1.7 s at depth 1,000 here), so 10,000 messages left in place would time
    the emulator, not the producer. Counts what it removed."""

    def __init__(self, queue_name: str) -> None:
        import threading

        from moto.backends import get_backend
        from moto.core.models import DEFAULT_ACCOUNT_ID

        self._queue = get_backend("sqs")[DEFAULT_ACCOUNT_ID][REGION].queues[queue_name]
        self.removed = 0
        # Work messages taken, by account (a body that is not one counts as "?").
        self.accounts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _take(self) -> None:
        messages = self._queue._messages
        count = len(messages)
        taken = messages[:count]
        del messages[:count]  # appends made meanwhile stay in the same list
        self.removed += count
        for message in taken:
            try:
                self.accounts[str(json.loads(message.body)["account_id"])] += 1
            except (ValueError, KeyError, TypeError):
                self.accounts["?"] += 1

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._take()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self._take()
        return self.removed
