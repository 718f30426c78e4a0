"""Issue 4, item 5: each function's IAM policy in template.yaml grants exactly the
actions its code calls, no more and no fewer.

The calls come from the source (tests/infra/code_calls.py: adapters' boto3
calls, followed from each handler). Besides them a role holds only what the
Lambda service itself needs: writing its log group, X-Ray segments, reading
and deleting on the queue its event source mapping polls, and the KMS use that
writing to an encrypted bucket or topic implies.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.infra.code_calls import Project, Usage
from tests.infra.conftest import BUCKET_TEMPLATE, SRC, TEMPLATE, load_template

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


@dataclass(frozen=True)
class Function:
    logical_id: str
    handler: str
    role: str
    statements: tuple[dict[str, Any], ...]
    event_source_queue: str | None


def _statements(policies: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every statement, with both branches of Fn::If (a role holds the union)."""

    def expand(item: Any) -> Iterator[dict[str, Any]]:
        if isinstance(item, dict) and "Fn::If" in item:
            for branch in item["Fn::If"][1:]:
                yield from expand(branch)
        elif item != NO_VALUE:
            yield item

    for policy in policies:
        for statement in policy["PolicyDocument"]["Statement"]:
            yield from expand(statement)


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


def _implied_kms(usage: Usage) -> set[str]:
    operations = usage.operations
    implied: set[str] = set()
    # Writing an object under SSE-KMS needs a data key; reading one, Decrypt;
    # publishing to an encrypted topic needs both.
    if ("s3", "PutObject") in operations:
        implied.add("kms:GenerateDataKey")
    if ("s3", "GetObject") in operations:
        implied.add("kms:Decrypt")
    if ("sns", "Publish") in operations:
        implied.update({"kms:GenerateDataKey", "kms:Decrypt"})
    return implied


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
        "MemberRoleName": {"Ref": "MemberRoleName"},
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

    assert assume["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    # Role chaining caps sessions at one hour: asking for more fails the call.
    durations = _assume_role_durations(SRC / "credreports" / "adapters")
    assert durations and max(durations) <= 3600


def test_logging_account_bucket_grants_each_role_what_it_has_in_the_stack() -> None:
    statements = load_template(BUCKET_TEMPLATE)["Resources"]["ReportBucketPolicy"]["Properties"][
        "PolicyDocument"
    ]["Statement"]
    suffixes = {"ProducerRole": "producer", "WorkerRole": "worker", "DlqHandlerRole": "dlq-handler"}

    for function in FUNCTIONS.values():
        suffix = f"role/${{ManagementStackName}}-{suffixes[function.role]}"
        in_bucket = {
            action
            for statement in statements
            if statement["Effect"] == "Allow"
            and any(arn.endswith(suffix) for arn in _principal_arns(statement))
            for action in _actions((statement,))
        }
        in_stack = {a for a in _actions(function.statements) if a.startswith("s3:")}
        assert in_bucket == in_stack, function.role


def _principal_arns(statement: dict[str, Any]) -> list[str]:
    arns = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    return [arn["Fn::Sub"] for arn in (arns if isinstance(arns, list) else [arns])]


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
