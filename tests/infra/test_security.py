"""Issue 10 (static part): who may read reports, send work and publish digests,
as the templates say it. What the policies grant each function's role is
tests/infra/test_policies.py; here are the resource policies (bucket, key,
queues, topic) and the deployment settings around them.

Where a policy names the stack's own roles, it is checked against the roles
whose IAM policy uses that resource, so a new function that publishes or sends
cannot be forgotten in the resource policy that would deny it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import BUCKET_TEMPLATE, TEMPLATE, load_template, statements

MAIN = load_template(TEMPLATE)
BUCKET = load_template(BUCKET_TEMPLATE)
NO_VALUE = {"Ref": "AWS::NoValue"}
READERS = {"Ref": "ReportReaderPrincipalArns"}
OPERATORS = {"Ref": "OperatorPrincipalArns"}
S3_VIA = {"Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}"}
INSECURE = {"Bool": {"aws:SecureTransport": "false"}}
# What only the readers may GetObject, and what the operators may too.
REPORT_KEYS = ["reports/*", "findings/*", "runs/*/summary.json", "runs/*/report.html"]
FAILURE_KEYS = ["failures/*", "runs/*/replayed/*"]
ROLE_SUFFIXES = {
    "ProducerRole": "producer",
    "WorkerRole": "worker",
    "DlqHandlerRole": "dlq-handler",
}
CRYPTO_ACTIONS = {
    "kms:*",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
    "kms:ReEncryptFrom",
    "kms:CreateGrant",
}


# ----------------------------------------------------------------- helpers
def _resources(template: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = template["Resources"]
    return resources


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(statements(document["Statement"]))


def _by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in _statements(document)}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _actions(statement: dict[str, Any]) -> set[str]:
    return set(_list(statement["Action"]))


def _bucket_policy(template: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = _resources(template)["ReportBucketPolicy"]["Properties"][
        "PolicyDocument"
    ]
    return document


def _key_policy(template: dict[str, Any], key: str = "ReportKey") -> dict[str, Any]:
    document: dict[str, Any] = _resources(template)[key]["Properties"]["KeyPolicy"]
    return document


def _object_keys(resources: Any) -> list[str]:
    """Key patterns after ``${ReportPrefix}`` of a bucket policy's Resource."""
    return [r["Fn::Sub"].split("${ReportPrefix}", 1)[1] for r in _list(resources)]


def _stack_role(logical_id: str) -> dict[str, str]:
    return {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}-"
        + ROLE_SUFFIXES[logical_id]
    }


def _roles_granting(action: str, resource: dict[str, Any]) -> set[str]:
    """Roles of template.yaml whose IAM policy allows ``action`` on ``resource``."""
    found = set()
    for name, definition in _resources(MAIN).items():
        if definition["Type"] != "AWS::IAM::Role" or name not in ROLE_SUFFIXES:
            continue
        for policy in definition["Properties"]["Policies"]:
            for statement in _statements(policy["PolicyDocument"]):
                if action in _actions(statement) and resource in _list(statement["Resource"]):
                    found.add(name)
    return found


def _union_of_readers_and_operators(value: Any) -> None:
    """The Fn::If that yields readers, operators, or both joined."""
    assert value["Fn::If"][0] == "HasReaders"
    both, readers_only = value["Fn::If"][1]["Fn::If"][1:]
    assert value["Fn::If"][1]["Fn::If"][0] == "HasOperators"
    assert readers_only == READERS
    assert value["Fn::If"][2] == OPERATORS
    joined = both["Fn::Split"][1]["Fn::Join"][1]
    assert both["Fn::Split"][0] == both["Fn::Split"][1]["Fn::Join"][0] == ","
    assert joined == [{"Fn::Join": [",", READERS]}, {"Fn::Join": [",", OPERATORS]}]


# ------------------------------------------------ item 1: who reads reports
@pytest.mark.parametrize("template", [MAIN, BUCKET], ids=["template", "report-bucket"])
def test_the_reader_and_operator_lists_are_role_arns_empty_by_default(
    template: dict[str, Any],
) -> None:
    for name in ("ReportReaderPrincipalArns", "OperatorPrincipalArns"):
        parameter = template["Parameters"][name]
        assert parameter["Type"] == "CommaDelimitedList"
        assert parameter["Default"] == ""
        assert parameter["AllowedPattern"].startswith("^$|^arn:aws[a-z-]*:iam::[0-9]{12}:role/")
    assert template["Conditions"]["HasReaders"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", READERS]}, ""]}]
    }


@pytest.mark.parametrize("template", [MAIN, BUCKET], ids=["template", "report-bucket"])
def test_bucket_denies_reading_reports_to_all_but_the_readers(template: dict[str, Any]) -> None:
    deny = _by_sid(_bucket_policy(template))["OnlyReadersGetReports"]

    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    # HeadObject is authorised as GetObject: hidden too.
    assert deny["Action"] == "s3:GetObject"
    assert _object_keys(deny["Resource"]) == REPORT_KEYS
    # No role of the stack reads reports; with no readers, nobody does.
    assert deny["Condition"] == {
        "Fn::If": ["HasReaders", {"ArnNotEquals": {"aws:PrincipalArn": READERS}}, NO_VALUE]
    }


@pytest.mark.parametrize("template", [MAIN, BUCKET], ids=["template", "report-bucket"])
def test_bucket_denies_reading_failure_records_to_all_but_readers_and_operators(
    template: dict[str, Any],
) -> None:
    deny = _by_sid(_bucket_policy(template))["OnlyReadersAndOperatorsGetFailureRecords"]

    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:GetObject")
    assert _object_keys(deny["Resource"]) == FAILURE_KEYS
    condition = deny["Condition"]["Fn::If"]
    assert condition[0] == "HasReadersOrOperators" and condition[2] == NO_VALUE
    _union_of_readers_and_operators(condition[1]["ArnNotEquals"]["aws:PrincipalArn"])


@pytest.mark.parametrize("template", [MAIN, BUCKET], ids=["template", "report-bucket"])
def test_operators_get_what_status_replay_and_enqueue_need_and_no_report(
    template: dict[str, Any],
) -> None:
    statements = [
        s for s in _statements(_bucket_policy(template)) if s.get("Principal") == {"AWS": OPERATORS}
    ]
    granted = {
        (action, key)
        for s in statements
        for action in _actions(s)
        for key in (_object_keys(s["Resource"]) if action != "s3:ListBucket" else ["(bucket)"])
    }

    assert granted == {
        ("s3:GetObject", "runs/*/manifest.json"),
        ("s3:PutObject", "runs/*/manifest.json"),
        ("s3:GetObject", "runs/*/replayed/*"),
        ("s3:PutObject", "runs/*/replayed/*"),
        ("s3:GetObject", "failures/*"),
        ("s3:PutObject", "failures/*"),
        ("s3:DeleteObject", "failures/*"),
        ("s3:ListBucket", "(bucket)"),
    }
    # Listing is names, not contents; a condition on s3:prefix would turn the
    # 404 of a missing manifest into a 403.
    (listing,) = [s for s in statements if "s3:ListBucket" in _actions(s)]
    assert "Condition" not in listing


def test_a_new_kms_key_with_bucket_keys_is_the_default() -> None:
    assert MAIN["Parameters"]["ReportEncryption"]["Default"] == "NewKmsKey"
    assert BUCKET["Parameters"]["Encryption"]["Default"] == "NewKmsKey"
    for template in (MAIN, BUCKET):
        (rule,) = _resources(template)["ReportBucket"]["Properties"]["BucketEncryption"][
            "ServerSideEncryptionConfiguration"
        ]
        # One KMS request per bucket key, not one per object.
        assert rule["BucketKeyEnabled"] is True
        kms = rule["ServerSideEncryptionByDefault"]["Fn::If"][1]
        assert kms["SSEAlgorithm"] == "aws:kms"


@pytest.mark.parametrize("template", [MAIN, BUCKET], ids=["template", "report-bucket"])
def test_key_policy_lets_only_writers_encrypt_and_only_readers_decrypt_through_s3(
    template: dict[str, Any],
) -> None:
    owner = "${AWS::AccountId}" if template is MAIN else "${ManagementAccountId}"
    roles = "${AWS::StackName}" if template is MAIN else "${ManagementStackName}"
    account = {"AWS": {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{owner}:root"}}
    statements = _statements(_key_policy(template))
    using = [s for s in statements if _actions(s) & CRYPTO_ACTIONS]

    # The account administers the key through IAM but cannot use it.
    (admin,) = [s for s in statements if s not in using]
    assert admin["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    assert not any(action.endswith("*") for action in _actions(admin))
    assert not _actions(admin) & CRYPTO_ACTIONS
    grants: dict[str, set[str]] = {}
    for statement in using:
        # Every use goes through S3.
        assert statement["Condition"]["StringEquals"] == {"kms:ViaService": S3_VIA}
        if statement["Principal"] == {"AWS": READERS}:
            grants.setdefault("readers", set()).update(_actions(statement))
        elif statement["Principal"] == {"AWS": OPERATORS}:
            grants.setdefault("operators", set()).update(_actions(statement))
        else:
            # The stack's roles by name: they need not exist yet.
            assert statement["Principal"] == account
            prefix = f"arn:${{AWS::Partition}}:iam::{owner}:role/{roles}-"
            for arn in _list(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]):
                role = arn["Fn::Sub"].removeprefix(prefix)
                grants.setdefault(role, set()).update(_actions(statement))

    assert grants == {
        "producer": {"kms:GenerateDataKey", "kms:Decrypt"},
        "worker": {"kms:GenerateDataKey"},
        "dlq-handler": {"kms:GenerateDataKey"},
        # Readers write their Athena query results, encrypted with the key.
        "readers": {"kms:Decrypt", "kms:GenerateDataKey"},
        "operators": {"kms:Decrypt", "kms:GenerateDataKey"},
    }


def test_old_versions_are_kept_as_long_as_the_retention_in_both_templates() -> None:
    for template in (MAIN, BUCKET):
        rules = _resources(template)["ReportBucket"]["Properties"]["LifecycleConfiguration"][
            "Rules"
        ]
        (rule,) = [r for r in rules if r["Id"] == "expire-reports"]
        assert rule["NoncurrentVersionExpiration"] == {
            "Fn::If": [
                "ExpireReports",
                {"NoncurrentDays": {"Ref": "ReportRetentionDays"}},
                NO_VALUE,
            ]
        }


# ------------------------------------------------ item 4: queues and topic
def _queue_policy(name: str) -> dict[str, dict[str, Any]]:
    return _by_sid(_resources(MAIN)[name]["Properties"]["PolicyDocument"])


@pytest.mark.parametrize(
    ("policy", "queue"),
    [("WorkQueuePolicy", "WorkQueue"), ("DeadLetterQueuePolicy", "DeadLetterQueue")],
)
def test_queues_refuse_plain_http(policy: str, queue: str) -> None:
    resource = _resources(MAIN)[policy]["Properties"]
    deny = _queue_policy(policy)["DenyInsecureTransport"]

    assert resource["Queues"] == [{"Ref": queue}]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sqs:*")
    assert deny["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert deny["Condition"] == INSECURE


def test_only_the_producer_the_worker_and_the_operators_send_work() -> None:
    deny = _queue_policy("WorkQueuePolicy")["OnlyCredreportsSendsWork"]
    senders = _roles_granting("sqs:SendMessage", {"Fn::GetAtt": ["WorkQueue", "Arn"]})
    arns = deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]["Fn::If"]

    assert senders == {"ProducerRole", "WorkerRole"}
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == (
        "Deny",
        {"AWS": "*"},
        "sqs:SendMessage",
    )
    assert arns[0] == "HasOperators"
    assert arns[2] == [_stack_role(role) for role in ROLE_SUFFIXES if role in senders]
    assert arns[1]["Fn::Split"][1]["Fn::Join"][1] == [
        *arns[2],
        {"Fn::Join": [",", OPERATORS]},
    ]


def test_only_the_worker_sends_dead_letters() -> None:
    deny = _queue_policy("DeadLetterQueuePolicy")["OnlyTheWorkerSendsDeadLetters"]
    senders = _roles_granting("sqs:SendMessage", {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})

    assert senders == {"WorkerRole"}
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == (
        "Deny",
        {"AWS": "*"},
        "sqs:SendMessage",
    )
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": _stack_role("WorkerRole")}}


def test_only_the_work_queue_may_redrive_to_the_dead_letter_queue() -> None:
    resources = _resources(MAIN)
    allow = resources["DeadLetterQueue"]["Properties"]["RedriveAllowPolicy"]
    name = resources["WorkQueue"]["Properties"]["QueueName"]["Fn::Sub"]

    assert allow["redrivePermission"] == "byQueue"
    assert allow["sourceQueueArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + name}
    ]
    assert resources["WorkQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }


def test_only_the_stacks_functions_and_its_alarms_publish_to_the_topic() -> None:
    resources = _resources(MAIN)
    policy = resources["NotificationTopicPolicy"]["Properties"]
    statements = _by_sid(policy["PolicyDocument"])
    publishers = _roles_granting("sns:Publish", {"Ref": "NotificationTopic"})
    alarms = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]

    assert policy["Topics"] == [{"Ref": "NotificationTopic"}]
    assert set(statements) == {
        "DenyInsecureTransport",
        "OnlyTheStackPublishes",
        "CloudWatchAlarmsPublish",
    }
    tls = statements["DenyInsecureTransport"]
    assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "sns:Publish")
    assert tls["Condition"] == INSECURE
    # {"AWS": "*"}: every IAM principal, no service principal (the alarms).
    deny = statements["OnlyTheStackPublishes"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == (
        "Deny",
        {"AWS": "*"},
        "sns:Publish",
    )
    assert deny["Condition"] == {
        "ArnNotEquals": {
            "aws:PrincipalArn": [_stack_role(r) for r in ROLE_SUFFIXES if r in publishers]
        }
    }
    alarm = statements["CloudWatchAlarmsPublish"]
    assert alarm["Effect"] == "Allow"
    assert alarm["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarm["Condition"] == {
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:"
                "${AWS::AccountId}:alarm:*"
            }
        },
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
    assert alarms and all(
        a["Properties"]["AlarmActions"] == [{"Ref": "NotificationTopic"}] for a in alarms
    )


def test_topic_is_encrypted_with_a_key_cloudwatch_may_use_whatever_the_report_encryption() -> None:
    resources = _resources(MAIN)
    topic = resources["NotificationTopic"]
    key = resources["NotificationKey"]
    statements = _statements(key["Properties"]["KeyPolicy"])
    (cloudwatch,) = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]

    # Unconditional: not an Fn::If on the report encryption, no checkov skip.
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["NotificationKey", "Arn"]}
    assert "Condition" not in key and "Metadata" not in topic
    assert key["Properties"]["EnableKeyRotation"] is True
    assert _actions(cloudwatch) == {"kms:Decrypt", "kms:GenerateDataKey*"}


# --------------------------------------------- no partition-bound literals
def _walk(value: Any, inside_condition: bool = False) -> Iterator[tuple[str, bool]]:
    """Every string of the template, and whether it sits in a Condition block."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, inside_condition or key == "Condition")
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, inside_condition)
    elif isinstance(value, str):
        yield value, inside_condition


@pytest.mark.parametrize("path", [TEMPLATE, BUCKET_TEMPLATE], ids=lambda p: Path(p).name)
def test_no_amazonaws_com_literal_in_arns_or_conditions(path: Path) -> None:
    template = load_template(path)
    stack_set = _resources(template).get("MemberRoleStackSetResource")
    documents = [template]
    if stack_set is not None:
        from samtranslator.yaml_helper import yaml_parse

        documents.append(yaml_parse(stack_set["Properties"]["TemplateBody"]))
    checked = 0
    for document in documents:
        for text, in_condition in _walk(document["Resources"]):
            if in_condition or "arn:" in text:
                checked += 1
                # aws-cn's endpoints end in amazonaws.com.cn: ${AWS::URLSuffix}.
                assert "amazonaws.com" not in text, text
    assert checked > 20


# ---------------------------------------------------- item 6: deployments
def test_management_account_member_role_only_with_the_stack_set_named_per_stack() -> None:
    resources = _resources(MAIN)
    role = resources["ManagementAccountMemberRole"]
    name = {
        "Fn::If": [
            "HasMemberRoleName",
            {"Ref": "MemberRoleName"},
            {"Fn::Sub": "${AWS::StackName}-member"},
        ]
    }

    assert role["Condition"] == resources["MemberRoleStackSetResource"]["Condition"]
    assert MAIN["Conditions"][role["Condition"]] == {
        "Fn::Equals": [{"Ref": "MemberRoleStackSet"}, "Enabled"]
    }
    assert MAIN["Parameters"]["MemberRoleName"]["Default"] == ""
    assert role["Properties"]["RoleName"] == name
    worker = resources["WorkerFunction"]["Properties"]["Environment"]["Variables"]
    assert worker["MEMBER_ROLE_NAME"] == name


@pytest.mark.parametrize("accounts", range(1, 11))
def test_stack_set_tolerates_a_failed_account_in_a_small_organization(accounts: int) -> None:
    preferences = _resources(MAIN)["MemberRoleStackSetResource"]["Properties"][
        "OperationPreferences"
    ]
    # CloudFormation rounds a percentage down.
    if "FailureToleranceCount" in preferences:
        tolerated = preferences["FailureToleranceCount"]
    else:
        tolerated = math.floor(accounts * preferences["FailureTolerancePercentage"] / 100)

    assert tolerated >= 1
    # Failures must not throttle the deployment to the remaining accounts.
    assert preferences["ConcurrencyMode"] == "SOFT_FAILURE_TOLERANCE"


# ------------------------------------- item 3: scheduled events the producer takes
def test_producer_takes_scheduled_events_of_its_own_rule_as_late_as_they_can_come() -> None:
    from credreports.logic.producer import SCHEDULED_EVENT_MAX_AGE

    producer = _resources(MAIN)["ProducerFunction"]["Properties"]
    schedule = producer["Events"]["Schedule"]["Properties"]
    rule_arn = producer["Environment"]["Variables"]["SCHEDULE_RULE_ARN"]["Fn::Sub"]

    # The rule is named, so the ARN the producer trusts is the rule's own.
    assert rule_arn.endswith(":rule/" + schedule["Name"]["Fn::Sub"])
    assert rule_arn.startswith("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:")
    # EventBridge retries for its maximum age, then Lambda keeps the
    # asynchronous invocation for its own: the producer accepts both.
    oldest = (
        schedule["RetryPolicy"]["MaximumEventAgeInSeconds"]
        + producer["EventInvokeConfig"]["MaximumEventAgeInSeconds"]
    )
    assert SCHEDULED_EVENT_MAX_AGE.total_seconds() == oldest
