"""A demo organization on the emulator: nested OUs, accounts in several
states, and IAM users in each account."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from credreports import aws

REGION = "us-east-1"

# name -> children; the default shape of an organization that has grown a bit.
DEFAULT_OUS: dict[str, Any] = {
    "Security": {},
    "Infrastructure": {"Network": {}},
    "Workloads": {"Prod": {"Payments": {}}, "NonProd": {}},
    "Sandbox": {},
}


@dataclass
class SeededAccount:
    id: str
    name: str
    ou_path: str
    state: str = "ACTIVE"
    users: list[str] = field(default_factory=list)


@dataclass
class SeededOrganization:
    management_account_id: str
    root_id: str
    ou_ids: dict[str, str]  # "Workloads/Prod" -> ou id
    accounts: dict[str, SeededAccount]

    def ids(self, state: str | None = "ACTIVE") -> set[str]:
        return {a.id for a in self.accounts.values() if state is None or a.state == state}

    def under(self, ou_path: str) -> set[str]:
        """Accounts in the OU or any OU nested in it."""
        return {
            a.id
            for a in self.accounts.values()
            if a.ou_path == ou_path or a.ou_path.startswith(ou_path + "/")
        }


UserSeeder = Callable[[Any, SeededAccount, int], list[str]]


def default_users(iam: Any, account: SeededAccount, index: int) -> list[str]:
    """Two users named after their account, so a report can be told apart."""
    names = [f"ci-{account.id}", f"dev-{account.id}"]
    for name in names:
        iam.create_user(UserName=name)
    return names


def no_users(iam: Any, account: SeededAccount, index: int) -> list[str]:
    return []


def _create_ous(
    organizations: Any, parent_id: str, tree: Mapping[str, Any], path: str, found: dict[str, str]
) -> None:
    for name, children in tree.items():
        ou_id = organizations.create_organizational_unit(ParentId=parent_id, Name=name)[
            "OrganizationalUnit"
        ]["Id"]
        full = f"{path}/{name}" if path else name
        found[full] = ou_id
        _create_ous(organizations, ou_id, children, full, found)


class _OverHttp:
    """Accounts and users created through the emulator's API, as a person would."""

    def __init__(self, management_id: str, root_id: str) -> None:
        self._organizations = aws.client("organizations")
        self._sts = aws.client("sts")
        self._root_id = root_id

    def create_account(self, name: str, index: int) -> str:
        status = self._organizations.create_account(AccountName=name, Email=f"{name}@example.com")[
            "CreateAccountStatus"
        ]
        return str(status["AccountId"])

    def move(self, account_id: str, ou_id: str) -> None:
        self._organizations.move_account(
            AccountId=account_id, SourceParentId=self._root_id, DestinationParentId=ou_id
        )

    def close(self, account_id: str) -> None:
        self._organizations.close_account(AccountId=account_id)

    def iam(self, account_id: str) -> Any:
        credentials = self._sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
            RoleSessionName="seed",
        )["Credentials"]
        return aws.client(
            "iam",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )


class _BackendIam:
    """The part of the IAM client API that seeding uses, on moto's backend."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def create_user(self, UserName: str, **_: Any) -> None:
        self._backend.create_user(region_name=REGION, user_name=UserName)


class _IntoBackend:
    """Accounts and users written straight into moto's backend (the emulator
    runs in this process): thousands of accounts in seconds."""

    def __init__(self, management_id: str, root_id: str) -> None:
        from moto.backends import get_backend

        self._organizations = get_backend("organizations")[management_id]["aws"]
        self._iam = get_backend("iam")
        self._accounts: dict[str, Any] = {}

    def create_account(self, name: str, index: int) -> str:
        from datetime import timedelta

        created = self._organizations.create_account(AccountName=name, Email=f"{name}@example.com")
        fake = self._organizations.accounts[-1]
        # moto pages ListAccounts by JoinedTimestamp: keep them distinct.
        fake.create_time = fake.create_time + timedelta(milliseconds=index)
        account_id = str(created["CreateAccountStatus"]["AccountId"])
        self._accounts[account_id] = fake
        return account_id

    def move(self, account_id: str, ou_id: str) -> None:
        self._accounts[account_id].parent_id = ou_id

    def close(self, account_id: str) -> None:
        self._accounts[account_id].close()

    def iam(self, account_id: str) -> Any:
        return _BackendIam(self._iam[account_id]["global"])


def seed_organization(
    accounts: int,
    *,
    suspended: int = 0,
    ous: Mapping[str, Any] | None = None,
    users: UserSeeder = default_users,
    direct: bool = False,
) -> SeededOrganization:
    """Create an organization with ``accounts`` member accounts spread over
    nested OUs (the first ``suspended`` of them closed), plus IAM users in
    every active account, the management account included.

    ``direct`` writes the accounts and users straight into the emulator's
    backend (same process), for organizations of thousands of accounts; the
    organization and OUs are still created over HTTP. ``users`` then gets an
    IAM object that only creates users."""
    organizations = aws.client("organizations")
    management_id = organizations.create_organization(FeatureSet="ALL")["Organization"][
        "MasterAccountId"
    ]
    root_id = organizations.list_roots()["Roots"][0]["Id"]
    ou_ids: dict[str, str] = {}
    _create_ous(organizations, root_id, DEFAULT_OUS if ous is None else ous, "", ou_ids)
    writer = (_IntoBackend if direct else _OverHttp)(management_id, root_id)
    paths = list(ou_ids)
    digits = 5 if direct else 4
    seeded = {management_id: SeededAccount(id=management_id, name="management", ou_path="")}
    for index in range(accounts):
        name = f"account-{index:0{digits}d}"
        account_id = writer.create_account(name, index)
        path = paths[index % len(paths)] if paths else ""
        if path:
            writer.move(account_id, ou_ids[path])
        seeded[account_id] = SeededAccount(id=account_id, name=name, ou_path=path)
        if index < suspended:
            writer.close(account_id)
            seeded[account_id].state = "SUSPENDED"
    for index, account in enumerate(seeded.values()):
        if account.state == "ACTIVE":
            account.users = users(writer.iam(account.id), account, index)
    return SeededOrganization(
        management_account_id=management_id, root_id=root_id, ou_ids=ou_ids, accounts=seeded
    )
