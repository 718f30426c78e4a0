"""What the logic needs of each adapter, as Protocols: the adapters in
``adapters/`` satisfy them against AWS, the unit tests with small fakes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from credreports.adapters.credential_report import CredentialReport
    from credreports.adapters.organization import Account
    from credreports.adapters.queue import Outgoing
    from credreports.adapters.storage import StoredObject


class AccountSource(Protocol):
    """The organization's accounts (adapters.organization.Organization)."""

    def accounts(self) -> list[Account]: ...

    def accounts_under(self, parent_id: str) -> list[Account]: ...


class ReportSource(Protocol):
    """IAM in a member account (adapters.credential_report.CredentialReports)."""

    def generate(self, account_id: str, run_id: str = "") -> str:
        """``run_id`` names the member-account session (credreports-<run id>)."""

    def fetch(self, account_id: str, run_id: str = "") -> CredentialReport: ...


class ReportSink(Protocol):
    """Where reports are written (adapters.storage.ReportStore)."""

    def put_report(
        self, run_id: str, account_id: str, content: bytes, metadata: dict[str, str]
    ) -> str: ...


class MessageSender(Protocol):
    """A queue (adapters.queue.Queue)."""

    url: str

    def send_all(self, messages: Sequence[Outgoing]) -> None:
        """Send every message or raise DeliveryError naming what was not sent."""

    def deliver(self, messages: Sequence[Outgoing]) -> list[tuple[Outgoing, str]]:
        """Send what can be sent; return the rest with why."""


class ReportReader(Protocol):
    """The report bucket as the findings read a run (adapters.storage.ReportStore)."""

    @property
    def prefix(self) -> str: ...

    def objects(self, prefix: str) -> Iterable[StoredObject]: ...

    def metadata(self, key: str) -> dict[str, str]: ...

    def read(self, key: str) -> bytes: ...

    def get_json(self, key: str) -> Any | None: ...


class Publisher(Protocol):
    """Where digests go (adapters.notifications.Notifier)."""

    def publish(
        self, subject: str, message: str, attributes: dict[str, list[str] | str]
    ) -> str: ...


class MessageHolder(Protocol):
    """The queue a received message came from (adapters.queue.Queue)."""

    def hold(self, receipt_handle: str, seconds: int) -> None:
        """Deliver the message again ``seconds`` from now, not before."""
