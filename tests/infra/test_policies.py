"""Issue 4, item 5: each function's IAM policy in template.yaml grants exactly the
actions its code calls, no more and no fewer.

The calls come from the source (tests/infra/code_calls.py: adapters' boto3
calls, followed from each handler). Besides them a role holds only what the
Lambda service itself needs: writing its log group, X-Ray segments, reading
and deleting on the queue its event source mapping polls, and the KMS use that
writing to an encrypted bucket or topic implies, on that key and through that
service only (issue 10: ``kms:ViaService``; Decrypt only where a function
reads). No function that does not read reports may read them (issue 10, item 2).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import pytest

from credreports import layout
from tests.infra.code_calls import Project, Usage
from tests.infra.conftest import BUCKET_TEMPLATE, SRC, TEMPLATE, load_template, statements

RUNTIME_ACTIONS = frozenset(
    {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
)
# What Lambda's SQS poller does with the function's role (not the code).
EVENT_SOURCE_ACTIONS = frozenset(
    {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
)
# The worker calls IAM with the member role's credentials, in each account:
# those calls are the member role's business, not the worker role's.
MEMBER_ACCOUNT_SERVICES = frozenset({"iam"})
NO_VALUE = {"Ref": "AWS::NoValue"}
# Functions whose code reads reports, findings or run summaries, and so may
# hold s3:GetObject on them. None today: the worker writes reports and never
# reads them back; existence checks list keys (ListObjectsV2).
READS_REPORTS: frozenset[str] = frozenset()
# Keys only the listed readers may read (DESIGN.md's layout, without the prefix).
_RUN = "20261123T020000Z"
_RUN_FOLDER = f"date=2026-11-23/run={_RUN}"
PROTECTED_KEYS = (
    layout.report_key("", _RUN, "111122223333"),
    layout.failure_key("", _RUN, "111122223333"),
    layout.replayed_failure_key("", _RUN, "111122223333", "20261124T080000Z"),
    f"findings/{_RUN_FOLDER}/findings.ocsf.jsonl.gz",
    f"runs/{_RUN_FOLDER}/summary.json",
    f"runs/{_RUN_FOLDER}/report.html",
)
MEMBER_ROLE_NAME = {
    "Fn::If": [
        "HasMemberRoleName",
        {"Ref": "MemberRoleName"},
        {"Fn::Sub": "${AWS::StackName}-member"},
    ]
}


@dataclass(frozen=True)
class Function:
    logical_id: str
    handler: str
    role: str
    statements: tuple[dict[str, Any], ...]
    event_source_queue: str | None


def _statements(policies: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every statement of a role's policies (a role holds every Fn::If branch)."""
    for policy in policies:
        yield from statements(policy["PolicyDocument"]["Statement"])


def _actions(statements: Iterator[dict[str, Any]] | tuple[dict[str, Any], ...]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def _functions(template: dict[str, Any]) -> list[Function]:
    resources = template["Resources"]
    mappings = {
        resource["Properties"]["FunctionName"]["Ref"]: resource["Properties"]["EventSourceArn"][
            "Fn::GetAtt"
        ][0]
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    functions = []
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        role = properties["Role"]["Fn::GetAtt"][0]
        policies = resources[role]["Properties"]["Policies"]
        functions.append(
            Function(
                logical_id=name,
                handler=properties["Handler"],
                role=role,
                statements=tuple(_statements(policies)),
                event_source_queue=mappings.get(name),
            )
        )
    return functions


TEMPLATE_DATA = load_template(TEMPLATE)
FUNCTIONS = {function.logical_id: function for function in _functions(TEMPLATE_DATA)}


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(SRC)


@pytest.fixture(scope="module")
def usages(project: Project) -> dict[str, Usage]:
    return {name: project.usage(function.handler) for name, function in FUNCTIONS.items()}


# The key each service encrypts with, and the kms:ViaService it calls KMS through.
KEYS = {
    "s3": (
        {"Fn::If": ["UseExistingKey", {"Ref": "KmsKeyArn"}, {"Fn::GetAtt": ["ReportKey", "Arn"]}]},
        {"Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}"},
    ),
    "sns": (
        {"Fn::GetAtt": ["NotificationKey", "Arn"]},
        {"Fn::Sub": "sns.${AWS::Region}.${AWS::URLSuffix}"},
    ),
}


def _implied_kms_uses(usage: Usage) -> set[tuple[str, str]]:
    """(KMS action, service it goes through) that the function's calls imply."""
    operations = usage.operations
    implied: set[tuple[str, str]] = set()
    # Writing an object under SSE-KMS needs a data key; reading one, Decrypt;
    # publishing to an encrypted topic needs both.
    if ("s3", "PutObject") in operations:
        implied.add(("kms:GenerateDataKey", "s3"))
    if ("s3", "GetObject") in operations:
        implied.add(("kms:Decrypt", "s3"))
    if ("sns", "Publish") in operations:
        implied.update({("kms:GenerateDataKey", "sns"), ("kms:Decrypt", "sns")})
    return implied


def _implied_kms(usage: Usage) -> set[str]:
    return {action for action, _ in _implied_kms_uses(usage)}


def _granted_kms_uses(function: Function) -> set[tuple[str, str]]:
    """(KMS action, service) of every KMS statement; each must name the key
    of that service and be limited to it by kms:ViaService."""
    granted: set[tuple[str, str]] = set()
    for statement in function.statements:
        actions = _actions((statement,))
        if not any(action.startswith("kms:") for action in actions):
            continue
        via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        services = [name for name, (_, through) in KEYS.items() if through == via]
        assert services, f"{function.role}: KMS use not limited by kms:ViaService: {statement}"
        (service,) = services
        assert statement["Resource"] == KEYS[service][0], f"{function.role}: wrong key"
        granted.update((action, service) for action in actions)
    return granted


def test_the_template_has_the_three_functions() -> None:
    assert {f.handler for f in FUNCTIONS.values()} == {
        "producer.app.lambda_handler",
        "worker.app.lambda_handler",
        "dlq_handler.app.lambda_handler",
    }


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_role_grants_exactly_what_the_function_calls(name: str, usages: dict[str, Usage]) -> None:
    function = FUNCTIONS[name]
    usage = usages[name]
    assert usage.operations, f"no AWS call found from {function.handler}: the analysis is blind"
    called = usage.actions() - {
        action for action in usage.actions() if action.split(":")[0] in MEMBER_ACCOUNT_SERVICES
    }
    needed = called | RUNTIME_ACTIONS | _implied_kms(usage)
    if function.event_source_queue:
        needed |= EVENT_SOURCE_ACTIONS

    granted = _actions(function.statements)

    assert not granted - needed, f"{function.role} grants what {name} never calls"
    assert not needed - granted, f"{name} calls what {function.role} does not grant"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_kms_use_is_what_the_calls_imply_on_their_key_through_their_service(
    name: str, usages: dict[str, Usage]
) -> None:
    # Decrypt only where the function reads (S3 GetObject) or publishes to
    # the encrypted topic; each use limited to the service that makes it.
    assert _granted_kms_uses(FUNCTIONS[name]) == _implied_kms_uses(usages[name])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_no_function_that_does_not_read_reports_may_read_them(
    name: str, usages: dict[str, Usage]
) -> None:
    function = FUNCTIONS[name]
    readable = [
        resource
        for statement in function.statements
        if "s3:GetObject" in _actions((statement,))
        for resource in _resource_patterns(statement["Resource"])
    ]
    reads = {key for pattern in readable for key in PROTECTED_KEYS if fnmatchcase(key, pattern)}
    if name in READS_REPORTS:
        assert ("s3", "GetObject") in usages[name].operations
    else:
        assert reads == set(), f"{function.role} may read {sorted(reads)}"
    # Asking whether an object exists needs no read: ListBucket, on the
    # prefix the function asks about only.
    for statement in function.statements:
        if "s3:ListBucket" in _actions((statement,)):
            prefix = statement["Condition"]["StringLike"]["s3:prefix"]
            assert prefix["Fn::Sub"].startswith("${ReportPrefix}"), statement
            assert prefix["Fn::Sub"].endswith("/*"), statement


def test_no_function_calls_head_object() -> None:
    # HeadObject is authorised as s3:GetObject: a role allowed to ask whether
    # a report exists could read it too.
    project = Project(SRC)
    for function in FUNCTIONS.values():
        assert ("s3", "HeadObject") not in project.usage(function.handler).operations


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_event_source_permissions_cover_only_the_polled_queue(name: str) -> None:
    function = FUNCTIONS[name]
    statements = [s for s in function.statements if _actions((s,)) & EVENT_SOURCE_ACTIONS]

    if function.event_source_queue is None:
        assert statements == []
    else:
        (statement,) = statements
        assert statement["Resource"] == {"Fn::GetAtt": [function.event_source_queue, "Arn"]}


def test_member_role_grants_exactly_what_the_worker_calls_in_member_accounts(
    usages: dict[str, Usage],
) -> None:
    called = set().union(*(u.actions(MEMBER_ACCOUNT_SERVICES) for u in usages.values()))
    in_stack, stack_set = _member_roles()

    assert called == {"iam:GenerateCredentialReport", "iam:GetCredentialReport"}
    for role in (in_stack, stack_set):
        assert _actions(_statements(role["Policies"])) == called


def test_stack_set_deploys_the_same_member_role_as_the_management_account_gets() -> None:
    in_stack, stack_set = _member_roles()
    resources = TEMPLATE_DATA["Resources"]
    parameters = {
        p["ParameterKey"]: p["ParameterValue"]
        for p in resources["MemberRoleStackSetResource"]["Properties"]["Parameters"]
    }
    (trust,) = in_stack["AssumeRolePolicyDocument"]["Statement"]
    (member_trust,) = stack_set["AssumeRolePolicyDocument"]["Statement"]

    assert stack_set["Policies"] == in_stack["Policies"]
    assert stack_set["MaxSessionDuration"] == in_stack["MaxSessionDuration"] == 3600
    assert parameters == {
        "MemberRoleName": MEMBER_ROLE_NAME,
        "ManagementAccountId": {"Ref": "AWS::AccountId"},
        "WorkerRoleArn": {"Fn::GetAtt": ["WorkerRole", "Arn"]},
        "OrganizationId": {"Ref": "OrganizationId"},
    }
    # The account as Principal, narrowed to the worker role and the organization.
    assert trust["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    assert member_trust["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ManagementAccountId}:root"}
    }
    assert trust["Condition"] == {
        "StringEquals": {
            "aws:PrincipalArn": {"Fn::GetAtt": ["WorkerRole", "Arn"]},
            "aws:PrincipalOrgID": {"Ref": "OrganizationId"},
        }
    }
    assert member_trust["Condition"] == {
        "StringEquals": {
            "aws:PrincipalArn": {"Ref": "WorkerRoleArn"},
            "aws:PrincipalOrgID": {"Ref": "OrganizationId"},
        }
    }


def test_worker_may_assume_only_the_member_role_for_an_hour_at_most() -> None:
    worker = FUNCTIONS["WorkerFunction"]
    (assume,) = [s for s in worker.statements if s["Action"] == "sts:AssumeRole"]

    assert assume["Resource"] == {
        "Fn::Sub": ["arn:${AWS::Partition}:iam::*:role/${Name}", {"Name": MEMBER_ROLE_NAME}]
    }
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    # Role chaining caps sessions at one hour: asking for more fails the call.
    durations = _assume_role_durations(SRC / "credreports" / "adapters")
    assert durations and max(durations) <= 3600


SUFFIXES = {"ProducerRole": "producer", "WorkerRole": "worker", "DlqHandlerRole": "dlq-handler"}


def test_logging_account_bucket_grants_each_role_what_it_has_in_the_stack() -> None:
    policy = list(
        statements(
            load_template(BUCKET_TEMPLATE)["Resources"]["ReportBucketPolicy"]["Properties"][
                "PolicyDocument"
            ]["Statement"]
        )
    )

    for function in FUNCTIONS.values():
        suffix = f"role/${{ManagementStackName}}-{SUFFIXES[function.role]}"
        granted = [
            statement
            for statement in policy
            if statement["Effect"] == "Allow"
            and any(arn.endswith(suffix) for arn in _principal_arns(statement))
        ]
        in_stack = [
            statement
            for statement in function.statements
            if any(a.startswith("s3:") for a in _actions((statement,)))
        ]
        assert _s3_grants(granted) == _s3_grants(in_stack), function.role


@pytest.mark.parametrize(
    ("template", "role_arn"),
    [
        (TEMPLATE, "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}-"),
        (
            BUCKET_TEMPLATE,
            "arn:${AWS::Partition}:iam::${ManagementAccountId}:role/${ManagementStackName}-",
        ),
    ],
    ids=["template", "report-bucket"],
)
def test_report_key_lets_each_role_do_what_its_iam_policy_does_through_s3(
    template: Any, role_arn: str
) -> None:
    # Writers generate data keys; only a role that reads (the producer, its
    # manifests) decrypts. The key policy says the same as the roles' own.
    key = load_template(template)["Resources"]["ReportKey"]["Properties"]["KeyPolicy"]
    in_key: dict[str, set[str]] = {}
    for statement in statements(key["Statement"]):
        for arn in _principal_arns(statement):
            assert statement["Condition"]["StringEquals"] == {
                "kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}"}
            }
            in_key.setdefault(arn.removeprefix(role_arn), set()).update(_actions((statement,)))
    in_stack = {
        SUFFIXES[function.role]: {
            a for a, service in _granted_kms_uses(function) if service == "s3"
        }
        for function in FUNCTIONS.values()
    }

    assert in_key == in_stack
    assert in_stack["worker"] == {"kms:GenerateDataKey"}


def _principal_arns(statement: dict[str, Any]) -> list[str]:
    """The role ARNs an account-wide Principal is narrowed to (ArnEquals)."""
    arns = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn", [])
    return [arn["Fn::Sub"] for arn in (arns if isinstance(arns, list) else [arns])]


def _s3_grants(statements: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(action, key pattern after the bucket, s3:prefix condition) of S3 statements."""
    grants = set()
    for statement in statements:
        prefix = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        condition = "" if prefix is None else prefix["Fn::Sub"]
        for action in _actions((statement,)):
            for pattern in _resource_patterns(statement["Resource"]):
                grants.add((action, pattern, condition))
    return grants


def _resource_patterns(resource: Any) -> list[str]:
    """Object key patterns (after the bucket and ReportPrefix) of a Resource,
    "" for the bucket itself, with either branch of a CreateBucket Fn::If."""
    if isinstance(resource, list):
        return [p for item in resource for p in _resource_patterns(item)]
    if isinstance(resource, dict) and "Fn::If" in resource:
        return sorted({p for branch in resource["Fn::If"][1:] for p in _resource_patterns(branch)})
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return [""]
    text = resource["Fn::Sub"] if isinstance(resource, dict) else resource
    assert isinstance(text, str)
    if "${ReportPrefix}" not in text:
        return [""] if text.endswith(("}", "Arn")) and "/" not in text else [text]
    return [text.split("${ReportPrefix}", 1)[1]]


# ----------------------------------------------------------------- helpers
def _member_roles() -> tuple[dict[str, Any], dict[str, Any]]:
    from samtranslator.yaml_helper import yaml_parse

    resources = TEMPLATE_DATA["Resources"]
    in_stack = resources["ManagementAccountMemberRole"]["Properties"]
    body = yaml_parse(resources["MemberRoleStackSetResource"]["Properties"]["TemplateBody"])
    (member,) = body["Resources"].values()
    return in_stack, member["Properties"]


def _assume_role_durations(src: Any) -> list[int]:
    """DurationSeconds of every assume_role call under ``src``, resolving module constants."""
    durations = []
    for path in src.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "assume_role"
            ):
                keywords = {k.arg: k.value for k in node.keywords}
                duration = keywords.get("DurationSeconds")
                assert duration is not None, f"{path}: assume_role without DurationSeconds"
                if isinstance(duration, ast.Name):
                    durations.append(int(constants[duration.id]))
                else:
                    assert isinstance(duration, ast.Constant)
                    durations.append(int(duration.value))
    return durations
