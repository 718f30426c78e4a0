"""What ``runs/.../manifest.json`` holds: the accounts a run was meant to
collect, written by the producer (and by ``enqueue``) before any message is
sent, so that ``status`` can always set what was meant against what landed."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from typing import Literal

from credreports.models.codes import Trigger
from credreports.models.ids import AccountId, RunId, UtcTimestamp
from credreports.models.validation import Document


class ManifestStatus(StrEnum):
    """How far the producer got. Only forward: ENQUEUING is written before the
    first message is sent and ENQUEUED after the last; LISTING_FAILED only for
    a run of which nothing was ever sent, so an ENQUEUED run never reads as
    "nothing enqueued"."""

    # Being sent: the accounts are known, not every message is on the queue yet
    # (``unsent`` names those a send gave up on).
    ENQUEUING = "ENQUEUING"
    # Every account's message was sent.
    ENQUEUED = "ENQUEUED"
    # The organization could not be listed; nothing was enqueued.
    LISTING_FAILED = "LISTING_FAILED"


class SkippedAccount(Document):
    account_id: AccountId
    state: str  # Organizations' State: SUSPENDED, PENDING_CLOSURE, ...


class AccountDetail(Document):
    """Who an account is, for people: ``status``, the findings and the run
    summary show names next to ids."""

    account_id: AccountId
    name: str = ""
    ou_path: str = ""  # "Workloads/Prod": the OUs from the root down, "" under the root


class SelectionSettings(Document):
    """The producer settings that chose the accounts, kept for the record."""

    include_ou_ids: tuple[str, ...] = ()
    exclude_ou_ids: tuple[str, ...] = ()
    exclude_account_ids: tuple[str, ...] = ()


class RunManifest(Document):
    v: Literal[1] = 1
    run_id: RunId
    trigger: Trigger
    created_at: UtcTimestamp
    status: ManifestStatus
    selection: SelectionSettings = SelectionSettings()
    accounts: tuple[AccountId, ...] = ()
    skipped: tuple[SkippedAccount, ...] = ()
    excluded: tuple[AccountId, ...] = ()
    # Names and OU paths of the accounts, where the producer knew them.
    details: tuple[AccountDetail, ...] = ()
    # Accounts whose message could not be sent (status stays ENQUEUING): the
    # producer's retry sends them; ``status`` lists them meanwhile.
    unsent: tuple[AccountId, ...] = ()
    error: str | None = None

    @property
    def enqueued(self) -> bool:
        return self.status is ManifestStatus.ENQUEUED

    def skipped_states(self) -> dict[str, str]:
        """account id -> state, for the accounts skipped as not ACTIVE."""
        return {item.account_id: item.state for item in self.skipped}

    def skipped_by_state(self) -> dict[str, int]:
        """How many accounts were skipped in each state, by state name."""
        return dict(sorted(Counter(item.state for item in self.skipped).items()))

    def names(self) -> dict[str, str]:
        """account id -> name, for the accounts whose name is known."""
        return {item.account_id: item.name for item in self.details if item.name}

    def ou_paths(self) -> dict[str, str]:
        """account id -> OU path, for the accounts whose OU is known."""
        return {item.account_id: item.ou_path for item in self.details}

    def with_accounts(self, added: tuple[str, ...]) -> RunManifest:
        """The manifest with ``added`` accounts appended (repeats dropped)."""
        accounts = tuple(dict.fromkeys((*self.accounts, *added)))
        return self.model_copy(update={"accounts": accounts})

    def to_document(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True)
