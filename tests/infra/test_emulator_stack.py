"""Issue 4, item 4: template.yaml, transformed by SAM and created in the emulator's
CloudFormation, wires queues, functions, topic and bucket as DESIGN.md says.

Two stacks share one emulator: one with the defaults (a new KMS key, no prefix)
and one with every tunable parameter changed (SSE-S3, the member role deployed
by the operator), so that a parameter that is not wired through (or wired to
the wrong place) shows up as a default.
"""

from __future__ import annotations

import ast
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from credreports.local import stack
from credreports.settings import FUNCTION_SETTINGS, variables
from tests.infra.conftest import TEMPLATE

# What each function reads, from its settings model: a variable the code
# reads and the template does not set (or the reverse) shows up here.
ENVIRONMENT_NAMES = {
    f"{''.join(part.title() for part in name.split('_'))}FunctionName": variables(model)
    for name, model in FUNCTION_SETTINGS.items()
}
COMMON_ENVIRONMENT = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
CLI_OUTPUTS = {
    "WorkQueueUrl",
    "DeadLetterQueueUrl",
    "ProducerFailureQueueUrl",
    "ReportBucketName",
    "ReportPrefix",
    "NotificationTopicArn",
    "ProducerFunctionName",
    "WorkerFunctionName",
    "DlqHandlerFunctionName",
}

CUSTOM = {
    "ReportPrefix": "credreports/",
    "ReportEncryption": "S3Managed",
    "MemberRoleName": "custom-member",
    "MemberRoleStackSet": "Disabled",
    "IncludeOuIds": "ou-ab12-cdefgh34",
    "ExcludeOuIds": "ou-ab12-zyxwvu98",
    "ExcludeAccountIds": "111122223333,444455556666",
    "MaxAttempts": "7",
    "RetryDelaySeconds": "30",
    "InlineWaitSeconds": "5",
    "WorkerMaximumConcurrency": "9",
    "WorkerBatchSize": "4",
    "WorkerBatchingWindowSeconds": "12",
    "LogLevel": "DEBUG",
    "LogRetentionDays": "14",
}


@dataclass(frozen=True)
class Deployed:
    name: str
    parameters: dict[str, str]
    outputs: dict[str, str]

    def queue_attributes(self, output: str) -> dict[str, str]:
        answer = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.outputs[output], AttributeNames=["All"]
        )
        attributes: dict[str, str] = answer["Attributes"]
        return attributes

    def function(self, output: str) -> dict[str, Any]:
        configuration: dict[str, Any] = boto3.client("lambda").get_function_configuration(
            FunctionName=self.outputs[output]
        )
        return configuration

    def mapping_of(self, output: str) -> dict[str, Any]:
        arn = self.function(output)["FunctionArn"]
        mappings = boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        (mapping,) = [m for m in mappings if m["FunctionArn"] == arn]
        return mapping  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def organization(emulator: Any) -> dict[str, str]:
    emulator.reset()
    organizations = boto3.client("organizations")
    organization_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root_id = organizations.list_roots()["Roots"][0]["Id"]
    return {"OrganizationId": organization_id, "OrganizationRootId": root_id}


@pytest.fixture(scope="module")
def default_stack(organization: dict[str, str]) -> Deployed:
    parameters = dict(organization)
    return Deployed("defaults", parameters, stack.deploy(parameters, stack_name="defaults"))


@pytest.fixture(scope="module")
def custom_stack(organization: dict[str, str]) -> Deployed:
    parameters = {**organization, **CUSTOM}
    return Deployed("custom", parameters, stack.deploy(parameters, stack_name="custom"))


@pytest.fixture(scope="module", autouse=True)
def stacks(default_stack: Deployed, custom_stack: Deployed) -> None:
    # Module scope: set up before the function-scoped cold_start of
    # tests/conftest.py saves the environment it restores after each test.
    return None


@pytest.fixture(params=["default_stack", "custom_stack"])
def deployed(request: pytest.FixtureRequest) -> Iterator[Deployed]:
    yield request.getfixturevalue(request.param)


def test_outputs_name_everything_the_cli_reads(deployed: Deployed) -> None:
    assert set(deployed.outputs) >= CLI_OUTPUTS
    assert deployed.outputs["ReportPrefix"] == deployed.parameters.get("ReportPrefix", "")


def test_work_queue_redrives_to_the_dead_letter_queue(deployed: Deployed) -> None:
    work = deployed.queue_attributes("WorkQueueUrl")
    dead = deployed.queue_attributes("DeadLetterQueueUrl")

    redrive = json.loads(work["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dead["QueueArn"]
    # More than one receive: a single worker crash must not dead-letter an account.
    assert 2 <= int(redrive["maxReceiveCount"]) <= 10
    # SQS keeps a redriven message's first enqueue time: a DLQ that does not
    # keep messages longer than the work queue drops them on arrival.
    assert int(dead["MessageRetentionPeriod"]) > int(work["MessageRetentionPeriod"])
    assert work["SqsManagedSseEnabled"] == "true"
    assert dead["SqsManagedSseEnabled"] == "true"


def test_visibility_timeouts_are_at_least_six_function_timeouts(deployed: Deployed) -> None:
    worker = deployed.function("WorkerFunctionName")
    dlq_handler = deployed.function("DlqHandlerFunctionName")
    dlq_window = deployed.mapping_of("DlqHandlerFunctionName")["MaximumBatchingWindowInSeconds"]

    worker_window = deployed.mapping_of("WorkerFunctionName")["MaximumBatchingWindowInSeconds"]

    work_visibility = int(deployed.queue_attributes("WorkQueueUrl")["VisibilityTimeout"])
    dead_visibility = int(deployed.queue_attributes("DeadLetterQueueUrl")["VisibilityTimeout"])

    assert work_visibility >= 6 * worker["Timeout"] + worker_window
    assert dead_visibility >= 6 * dlq_handler["Timeout"] + dlq_window


def test_worker_mapping_gathers_batches_for_the_window_given(deployed: Deployed) -> None:
    mapping = deployed.mapping_of("WorkerFunctionName")
    given = int(deployed.parameters.get("WorkerBatchingWindowSeconds", "5"))
    assert mapping["MaximumBatchingWindowInSeconds"] == given


def test_a_held_digest_reminder_returns_after_its_window(deployed: Deployed) -> None:
    dlq_handler = deployed.function("DlqHandlerFunctionName")["Environment"]["Variables"]
    dead_visibility = int(deployed.queue_attributes("DeadLetterQueueUrl")["VisibilityTimeout"])
    assert 0 < int(dlq_handler["DIGEST_INTERVAL_SECONDS"]) < dead_visibility


def test_failed_producer_runs_are_kept_on_an_encrypted_queue(deployed: Deployed) -> None:
    failures = deployed.queue_attributes("ProducerFailureQueueUrl")

    assert failures["SqsManagedSseEnabled"] == "true"
    assert int(failures["MessageRetentionPeriod"]) == 14 * 24 * 3600
    # (moto's Lambda drops DeadLetterConfig and skips the async invoke
    # configuration: tests/infra/test_reliability_template.py reads them.)
    concurrency = boto3.client("lambda").get_function_concurrency(
        FunctionName=deployed.outputs["ProducerFunctionName"]
    )
    assert concurrency["ReservedConcurrentExecutions"] == 1


def test_worker_mapping_reports_partial_failures_and_limits_concurrency(
    deployed: Deployed,
) -> None:
    mapping = deployed.mapping_of("WorkerFunctionName")

    assert mapping["EventSourceArn"] == deployed.queue_attributes("WorkQueueUrl")["QueueArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == int(deployed.parameters.get("WorkerBatchSize", "10"))
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == int(
        deployed.parameters.get("WorkerMaximumConcurrency", "5")
    )
    # Created disabled in the emulator (moto would run it in Docker).
    assert mapping["State"] == "Disabled"


def test_dlq_handler_mapping_batches_failures_into_digests(deployed: Deployed) -> None:
    mapping = deployed.mapping_of("DlqHandlerFunctionName")

    assert mapping["EventSourceArn"] == deployed.queue_attributes("DeadLetterQueueUrl")["QueueArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] > 10
    assert mapping["MaximumBatchingWindowInSeconds"] >= 1
    assert mapping["State"] == "Disabled"


@pytest.mark.parametrize("function", sorted(ENVIRONMENT_NAMES))
def test_each_function_gets_exactly_its_own_settings(deployed: Deployed, function: str) -> None:
    configuration = deployed.function(function)
    variables = configuration["Environment"]["Variables"]

    assert set(variables) == ENVIRONMENT_NAMES[function] | COMMON_ENVIRONMENT
    assert configuration["Runtime"] == "python3.13"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "credreports"
    assert variables["LOG_LEVEL"] == deployed.parameters.get("LogLevel", "INFO")
    assert variables["REPORT_BUCKET"] == deployed.outputs["ReportBucketName"]
    assert variables["REPORT_PREFIX"] == deployed.parameters.get("ReportPrefix", "")


def test_settings_carry_the_parameters(deployed: Deployed) -> None:
    worker = deployed.function("WorkerFunctionName")["Environment"]["Variables"]
    producer = deployed.function("ProducerFunctionName")["Environment"]["Variables"]
    dlq_handler = deployed.function("DlqHandlerFunctionName")["Environment"]["Variables"]
    given = deployed.parameters.get

    assert (
        worker["WORK_QUEUE_URL"] == producer["WORK_QUEUE_URL"] == deployed.outputs["WorkQueueUrl"]
    )
    assert worker["DEAD_LETTER_QUEUE_URL"] == deployed.outputs["DeadLetterQueueUrl"]
    # Named after the stack unless given: two stacks never share a member role.
    assert worker["MEMBER_ROLE_NAME"] == given("MemberRoleName", f"{deployed.name}-member")
    assert deployed.outputs["MemberRoleName"] == worker["MEMBER_ROLE_NAME"]
    assert str(worker["MAX_ATTEMPTS"]) == given("MaxAttempts", "45")
    assert str(worker["RETRY_DELAY_SECONDS"]) == given("RetryDelaySeconds", "60")
    assert str(worker["INLINE_WAIT_SECONDS"]) == given("InlineWaitSeconds", "0")
    assert producer["INCLUDE_OU_IDS"] == given("IncludeOuIds", "")
    assert producer["EXCLUDE_OU_IDS"] == given("ExcludeOuIds", "")
    assert producer["EXCLUDE_ACCOUNT_IDS"] == given("ExcludeAccountIds", "")
    assert dlq_handler["NOTIFICATION_TOPIC_ARN"] == deployed.outputs["NotificationTopicArn"]
    # The only rule whose scheduled events the producer accepts: the stack's own.
    rule = boto3.client("events").describe_rule(Name=f"{deployed.name}-schedule")
    assert producer["SCHEDULE_RULE_ARN"] == rule["Arn"]
    assert rule["ScheduleExpression"] == "cron(0 2 * * ? *)"


def test_topic_is_encrypted_with_its_own_key_whatever_the_report_encryption(
    deployed: Deployed,
) -> None:
    attributes = boto3.client("sns").get_topic_attributes(
        TopicArn=deployed.outputs["NotificationTopicArn"]
    )["Attributes"]
    key_arn = deployed.outputs["NotificationKeyArn"]

    assert attributes["KmsMasterKeyId"] == key_arn
    assert key_arn != deployed.outputs.get("ReportKeyArn")
    assert boto3.client("kms").get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"]


def test_bucket_is_encrypted_as_chosen(deployed: Deployed) -> None:
    s3 = boto3.client("s3")
    bucket = deployed.outputs["ReportBucketName"]

    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    default = rule["ApplyServerSideEncryptionByDefault"]
    # NewKmsKey is the default; BucketKeyEnabled is checked in the template
    # (moto does not model it).
    if deployed.parameters.get("ReportEncryption", "NewKmsKey") == "NewKmsKey":
        key_arn = deployed.outputs["ReportKeyArn"]
        assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
        assert boto3.client("kms").get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"]
    else:
        assert default == {"SSEAlgorithm": "AES256"}
        assert "ReportKeyArn" not in deployed.outputs


def test_bucket_settings_moto_does_not_model_are_in_the_template() -> None:
    # moto's CloudFormation drops these on the floor; check the resource itself.
    bucket = stack.transform(TEMPLATE, "s3://unused/code.zip", _ANY_ORGANIZATION)["Resources"][
        "ReportBucket"
    ]["Properties"]

    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
    )
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = bucket["LifecycleConfiguration"]["Rules"]
    (lifecycle,) = [rule for rule in rules if rule["Id"] == "expire-reports"]
    # Old versions are evidence: kept as long as the current ones.
    assert lifecycle["NoncurrentVersionExpiration"] == {
        "Fn::If": [
            "ExpireReports",
            {"NoncurrentDays": {"Ref": "ReportRetentionDays"}},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert lifecycle["ExpirationInDays"]["Fn::If"][:2] == [
        "ExpireReports",
        {"Ref": "ReportRetentionDays"},
    ]


def test_worker_may_send_to_the_queues_it_was_given(deployed: Deployed) -> None:
    role = deployed.function("WorkerFunctionName")["Role"].rsplit("/", 1)[1]
    (policy,) = boto3.client("iam").list_role_policies(RoleName=role)["PolicyNames"]
    document = boto3.client("iam").get_role_policy(RoleName=role, PolicyName=policy)
    statements = _policy_document(document["PolicyDocument"])["Statement"]
    # moto leaves AWS::NoValue (the KMS statement without a key) as None.
    (send,) = [s for s in statements if s and s["Action"] == "sqs:SendMessage"]

    assert sorted(send["Resource"]) == sorted(
        [
            deployed.queue_attributes("WorkQueueUrl")["QueueArn"],
            deployed.queue_attributes("DeadLetterQueueUrl")["QueueArn"],
        ]
    )


def test_management_account_gets_the_member_role_only_with_the_stack_set(
    deployed: Deployed,
) -> None:
    name = deployed.outputs["MemberRoleName"]
    worker_role_arn = deployed.function("WorkerFunctionName")["Role"]
    iam = boto3.client("iam")

    if deployed.parameters.get("MemberRoleStackSet", "Enabled") == "Disabled":
        # The operator deploys the role everywhere, this account included.
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_role(RoleName=name)
        return
    role = iam.get_role(RoleName=name)["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]

    assert role["MaxSessionDuration"] == 3600
    assert trust["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert trust["Condition"] == {
        "StringEquals": {
            "aws:PrincipalArn": worker_role_arn,
            "aws:PrincipalOrgID": deployed.parameters["OrganizationId"],
        }
    }


def test_log_groups_keep_logs_for_the_chosen_days(deployed: Deployed) -> None:
    logs = boto3.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=f"{deployed.name}-")["logGroups"]

    assert len(groups) == 3
    assert {group.get("retentionInDays") for group in groups} == {
        int(deployed.parameters.get("LogRetentionDays", "90"))
    }


def test_impossible_parameter_combinations_are_refused(organization: dict[str, str]) -> None:
    with pytest.raises(stack.LocalStackError, match="cannot encrypt an existing bucket"):
        stack.deploy(
            {
                **organization,
                "ReportBucketMode": "Existing",
                "ReportBucketName": "somebody-elses-bucket",
                "ReportEncryption": "NewKmsKey",
            },
            stack_name="refused",
        )
    with pytest.raises(stack.LocalStackError, match="ReportBucketName is required"):
        stack.deploy({**organization, "ReportBucketMode": "Existing"}, stack_name="refused")


def _policy_document(document: str | dict[str, Any]) -> dict[str, Any]:
    # moto 5.2 keeps an inline policy created by CloudFormation as the repr of
    # a Python dict, and returns that string instead of the policy JSON.
    if isinstance(document, str):
        parsed = ast.literal_eval(urllib.parse.unquote(document))
        assert isinstance(parsed, dict)
        return parsed
    return document


_ANY_ORGANIZATION = {"OrganizationId": "o-abcdefghij", "OrganizationRootId": "r-abcd"}
