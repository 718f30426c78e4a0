"""The fault injection of the other tests (tests/support/faults.py), as a
boto3 client sees it: the layer in front of moto answers in each protocol's
wire format, per call where a rule chose (botocore's retries see the same
answer), per attempt for throttling."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from tests.support.faults import Faults

MEMBER, OTHER = "111111111111", "222222222222"
THREE_ATTEMPTS = Config(retries={"mode": "standard", "total_max_attempts": 3})


def assume(account_id: str) -> dict[str, Any]:
    """A role session in ``account_id``, as the worker's AssumeRole gets one."""
    answer = boto3.client("sts", config=THREE_ATTEMPTS).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/credreports-member", RoleSessionName="test"
    )
    credentials = answer["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def test_a_denied_assume_role_is_access_denied_for_its_account_only(faults: Faults) -> None:
    # Given AssumeRole denied into one account
    faults.deny("sts.AssumeRole", {MEMBER})

    # When the role of that account and of another are assumed
    with pytest.raises(ClientError) as denied:
        assume(MEMBER)
    assume(OTHER)

    # Then the first is a 403 AccessDenied, not retried; the other is answered
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert denied.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert faults.fired == {"deny:sts.AssumeRole": 1}


def test_a_failing_call_is_failed_on_every_attempt_and_counted_once(faults: Faults) -> None:
    # Given AssumeRole failing with a 500 into one account (botocore retries 500s)
    faults.fail("sts.AssumeRole", "InternalError", 500, accounts={MEMBER})

    # When it is called
    with pytest.raises(ClientError) as failed:
        assume(MEMBER)

    # Then the client saw the error after all its attempts, and one call failed
    assert failed.value.response["Error"]["Code"] == "InternalError"
    assert failed.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert faults.fired == {"fail:sts.AssumeRole": 1}


def test_calls_counts_calls_not_attempts(faults: Faults) -> None:
    # Given SQS failing the second SendMessage call only
    sqs = boto3.client("sqs", config=THREE_ATTEMPTS)
    queue_url = sqs.create_queue(QueueName="counted")["QueueUrl"]
    faults.fail("sqs.SendMessage", "InternalError", 500, calls={2})

    # When three messages are sent
    outcomes = []
    for index in range(3):
        try:
            sqs.send_message(QueueUrl=queue_url, MessageBody=str(index))
            outcomes.append("sent")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    # Then only the second failed (its retries too), and the other two arrived
    assert outcomes == ["sent", "InternalError", "sent"]
    assert faults.fired == {"fail:sqs.SendMessage": 1}
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in received) == ["0", "2"]


def test_errors_reach_botocore_in_each_protocols_format(faults: Faults) -> None:
    # Given a queue, a bucket with an object, and calls of each protocol refused
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    queue_url = sqs.create_queue(QueueName="formats")["QueueUrl"]
    s3.create_bucket(Bucket="formats")
    s3.put_object(Bucket="formats", Key="a/b.json", Body=b"{}")
    faults.fail("sqs.GetQueueAttributes", "QueueDoesNotExist", 400)
    faults.deny("eventbridge.PutEvents", {"123456789012"}, code="AccessDeniedException")
    faults.fail("s3.GetObject", "AccessDenied", 403)
    faults.fail("s3.HeadObject", "AccessDenied", 403)
    faults.fail("sns.ListTopics", "AuthorizationError", 403)

    # Then SQS's error is its modeled exception (JSON, and x-amzn-query-error)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_attributes(QueueUrl=queue_url)
    # ...EventBridge's a JSON __type, the default account's credentials
    with pytest.raises(ClientError, match="AccessDeniedException"):
        boto3.client("events").put_events(
            Entries=[{"Source": "test", "DetailType": "t", "Detail": "{}"}]
        )
    # ...SNS's a query ErrorResponse
    with pytest.raises(ClientError, match="AuthorizationError"):
        boto3.client("sns").list_topics()
    # ...S3's an <Error>, and HEAD's only its status code (no body), as from S3
    with pytest.raises(ClientError) as get:
        s3.get_object(Bucket="formats", Key="a/b.json")
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket="formats", Key="a/b.json")
    assert get.value.response["Error"]["Code"] == "AccessDenied"
    assert head.value.response["Error"]["Code"] == "403"
    # ...while the S3 calls no rule names are moto's
    listed = s3.list_objects_v2(Bucket="formats", Prefix="a/")
    assert [item["Key"] for item in listed["Contents"]] == ["a/b.json"]
    assert faults.fired["fail:s3.GetObject"] == 1 and faults.fired["fail:s3.HeadObject"] == 1


def test_a_throttle_is_retried_by_botocore_until_the_call_succeeds(faults: Faults) -> None:
    # Given half of the attempts of GetCallerIdentity throttled
    faults.throttle({"sts.GetCallerIdentity"}, rate=0.5)
    sts = boto3.client("sts", config=Config(retries={"mode": "standard", "total_max_attempts": 10}))

    # When it is called 4 times
    answers = [sts.get_caller_identity() for _ in range(4)]

    # Then every call succeeded, after one retry per throttled attempt
    assert all(answer["Account"] == "123456789012" for answer in answers)
    retries = sum(answer["ResponseMetadata"]["RetryAttempts"] for answer in answers)
    assert retries == faults.fired["throttle:sts.GetCallerIdentity"] > 0


def test_member_account_calls_are_known_by_the_credentials_assume_role_gave(
    faults: Faults,
) -> None:
    # Given reports that never complete in one account
    faults.never_ready({MEMBER})
    member = boto3.client("iam", **assume(MEMBER))
    other = boto3.client("iam", **assume(OTHER))

    # When both accounts ask for their report twice (moto completes on the 2nd)
    member_states = [member.generate_credential_report()["State"] for _ in range(2)]
    other_states = [other.generate_credential_report()["State"] for _ in range(2)]

    # Then only the member account's stays STARTED
    assert member_states == ["STARTED", "STARTED"]
    assert other_states == ["STARTED", "COMPLETE"]
    assert faults.fired == {"never_ready": 2}


def test_a_crash_is_an_exception_that_is_not_an_aws_error_and_not_retried(
    faults: Faults,
) -> None:
    # Given GenerateCredentialReport crashing in one account, and a queue's
    # SendMessage crashing too (JSON)
    faults.crash("iam.GenerateCredentialReport", {MEMBER})
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="crash")["QueueUrl"]
    faults.crash("sqs.SendMessage", {"123456789012"})
    iam = boto3.client("iam", config=THREE_ATTEMPTS, **assume(MEMBER))

    # Then the calls raise something that is not a ClientError, at once
    with pytest.raises(ResponseParserError):
        iam.generate_credential_report()
    with pytest.raises(Exception) as crashed:
        sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    assert not isinstance(crashed.value, ClientError)
    assert faults.fired == {
        "crash:iam.GenerateCredentialReport": 1,
        "crash:sqs.SendMessage": 1,
    }


def test_duplicate_deliveries_send_received_messages_again(faults: Faults) -> None:
    # Given a queue with 4 messages, every delivery of which is duplicated
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="twice", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]
    for index in range(4):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{index}")
    faults.duplicate_deliveries(queue_url, rate=1.0)

    # When they are received
    first = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    faults.clear()
    again = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]

    # Then each arrives a second time, as a message of its own
    assert sorted(m["Body"] for m in first) == ["m0", "m1", "m2", "m3"]
    assert sorted(m["Body"] for m in again) == ["m0", "m1", "m2", "m3"]
    assert faults.fired == {"duplicate_delivery": 4}


def test_signed_by_refuses_one_callers_credentials_only(faults: Faults) -> None:
    # Given the bucket refusing listings signed with the default credentials
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="keys")
    faults.fail(
        "s3.ListObjectsV2", "AccessDenied", 403, signed_by={os.environ["AWS_ACCESS_KEY_ID"]}
    )
    other = boto3.client(
        "s3", aws_access_key_id="AKIAOTHERCALLER00001", aws_secret_access_key="secret"
    )

    # Then those are refused, another key's are answered
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.list_objects_v2(Bucket="keys")
    assert other.list_objects_v2(Bucket="keys")["KeyCount"] == 0


def test_closed_faults_leave_the_emulator_to_moto(faults: Faults) -> None:
    # Given AssumeRole denied, then the faults closed
    faults.deny("sts.AssumeRole", {MEMBER})
    faults.close()

    # Then the role is assumed
    assert assume(MEMBER)["aws_access_key_id"]
    assert faults.fired == {}
