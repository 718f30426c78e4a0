"""A demo organization on the emulator: nested OUs, accounts in several
states, and IAM users in each account."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from credreports import aws

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


def _create_organization(
    organizations: Any, ous: Mapping[str, Any] | None
) -> tuple[str, str, dict[str, str]]:
    """The organization and its OU tree; returns (management id, root id, OU ids)."""
    organization = organizations.create_organization(FeatureSet="ALL")["Organization"]
    root_id = organizations.list_roots()["Roots"][0]["Id"]
    ou_ids: dict[str, str] = {}
    _create_ous(organizations, root_id, DEFAULT_OUS if ous is None else ous, "", ou_ids)
    return organization["MasterAccountId"], root_id, ou_ids


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
    organization and OUs are still created over HTTP."""
    if direct:
        return _seed_direct(accounts, suspended=suspended, ous=ous)
    organizations = aws.client("organizations")
    sts = aws.client("sts")
    management_id, root_id, ou_ids = _create_organization(organizations, ous)
    paths = list(ou_ids)
    seeded = {management_id: SeededAccount(id=management_id, name="management", ou_path="")}
    for index in range(accounts):
        name = f"account-{index:04d}"
        account_id = organizations.create_account(AccountName=name, Email=f"{name}@example.com")[
            "CreateAccountStatus"
        ]["AccountId"]
        path = paths[index % len(paths)] if paths else ""
        if path:
            organizations.move_account(
                AccountId=account_id, SourceParentId=root_id, DestinationParentId=ou_ids[path]
            )
        seeded[account_id] = SeededAccount(id=account_id, name=name, ou_path=path)
        if index < suspended:
            organizations.close_account(AccountId=account_id)
            seeded[account_id].state = "SUSPENDED"
    for index, account in enumerate(seeded.values()):
        if account.state != "ACTIVE":
            continue
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account.id}:role/OrganizationAccountAccessRole",
            RoleSessionName="seed",
        )["Credentials"]
        iam = aws.client(
            "iam",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        account.users = users(iam, account, index)
    return SeededOrganization(
        management_account_id=management_id, root_id=root_id, ou_ids=ou_ids, accounts=seeded
    )


def _seed_direct(
    accounts: int, *, suspended: int, ous: Mapping[str, Any] | None
) -> SeededOrganization:
    from datetime import timedelta

    from moto.backends import get_backend

    management_id, root_id, ou_ids = _create_organization(aws.client("organizations"), ous)
    paths = list(ou_ids)
    backend = get_backend("organizations")[management_id]["aws"]
    iam_backends = get_backend("iam")
    seeded = {management_id: SeededAccount(id=management_id, name="management", ou_path="")}
    for index in range(accounts):
        name = f"account-{index:05d}"
        created = backend.create_account(AccountName=name, Email=f"{name}@example.com")
        account_id = created["CreateAccountStatus"]["AccountId"]
        fake = backend.accounts[-1]
        # moto pages ListAccounts by JoinedTimestamp: keep them distinct.
        fake.create_time = fake.create_time + timedelta(milliseconds=index)
        path = paths[index % len(paths)] if paths else ""
        if path:
            fake.parent_id = ou_ids[path]
        seeded[account_id] = SeededAccount(id=account_id, name=name, ou_path=path)
        if index < suspended:
            fake.close()
            seeded[account_id].state = "SUSPENDED"
    for account in seeded.values():
        if account.state != "ACTIVE":
            continue
        iam = iam_backends[account.id]["global"]
        account.users = [f"ci-{account.id}", f"dev-{account.id}"]
        for user in account.users:
            iam.create_user(region_name="us-east-1", user_name=user)
    return SeededOrganization(
        management_account_id=management_id, root_id=root_id, ou_ids=ou_ids, accounts=seeded
    )
