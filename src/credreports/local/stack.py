"""Create credreports' resources in the embedded emulator from template.yaml itself.

The demo and the tests build their queues, bucket, topic, roles and functions
from the same template that `sam deploy` uses, so the local run cannot drift
from what is deployed. The template goes through the SAM transform
(aws-sam-translator, as CloudFormation would do it) and is then created by the
emulator's CloudFormation, with these local adjustments:

- every event source mapping is created disabled: an enabled mapping makes
  moto try to run the function in Docker and bumps the receive counts; the
  local event-source loop delivers the batches instead;
- a KMS key's tags are left out (moto 5.2 fails on their CloudFormation shape);
- resources that moto's CloudFormation does not implement (the StackSet, the
  alarms, the async invoke configuration, the bucket, queue and topic
  policies) are left out rather than warned about on every run. The policies
  could not be honoured anyway: moto ignores conditions other than
  StringEquals, so the TLS-only deny and the deny of reads to all but the
  listed readers would deny every request. They stay in template.yaml, and
  tests/infra checks them there;
- the schedule rule is created without its target: moto sends every event
  put on the default bus to every rule without an event pattern, a schedule
  rule included, and fails on its Lambda target (the summarizer's events
  would fail); the local loop starts runs by invoking the producer itself;
- the functions' code is a zip of the Python sources, uploaded to a bucket of
  the emulator; nothing runs it there, since handlers are called in-process.

The template's Rules (impossible parameter combinations) are checked before
anything is created, as CloudFormation does, since moto ignores them.

Call :func:`deploy` only while the emulator is running (boto3 must point at
it through ``AWS_ENDPOINT_URL``); it refuses otherwise, so it can never create
anything in a real account.
"""

from __future__ import annotations

import copy
import importlib
import io
import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3

from credreports.local.checkout import CODE_DIR, TEMPLATE_PATH

DEFAULT_STACK_NAME = "credreports"
ARTIFACT_BUCKET = "credreports-local-artifacts"

# Types moto's CloudFormation skips with a warning; see the module docstring.
NOT_EMULATED = frozenset(
    {
        "AWS::CloudFormation::StackSet",
        "AWS::CloudWatch::Alarm",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::SNS::Subscription",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
    }
)

_LOCAL_ENDPOINT_PREFIXES = (
    "http://127.0.0.1:",
    "http://localhost:",
    "https://127.0.0.1:",
    "https://localhost:",
)


class LocalStackError(RuntimeError):
    """The stack could not be created in the emulator."""


def deploy(
    parameters: Mapping[str, str],
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    template_path: Path = TEMPLATE_PATH,
    code_dir: Path = CODE_DIR,
) -> dict[str, str]:
    """Create the stack in the emulator and return its outputs by name.

    ``parameters`` are the template's parameters (``OrganizationId`` and
    ``OrganizationRootId`` have no default); the others keep their defaults.
    Raises :class:`LocalStackError` if the emulator is not the endpoint or the
    stack does not reach CREATE_COMPLETE.
    """
    _require_emulator()
    code_uri = upload_code(code_dir, stack_name)
    template = transform(template_path, code_uri, parameters)
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        reason = stack.get("StackStatusReason", "no reason given")
        raise LocalStackError(f"stack {stack_name} is {stack['StackStatus']}: {reason}")
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def upload_code(code_dir: Path, stack_name: str = DEFAULT_STACK_NAME) -> str:
    """Zip the Python sources under ``code_dir`` into the emulator; return the s3:// URI."""
    _require_emulator()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    key = f"{stack_name}/code.zip"
    s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=_zip_sources(code_dir))
    return f"s3://{ARTIFACT_BUCKET}/{key}"


def transform(template_path: Path, code_uri: str, parameters: Mapping[str, str]) -> dict[str, Any]:
    """Return template.yaml after the SAM transform, adjusted for the emulator.

    Every function's CodeUri becomes ``code_uri``; see the module docstring
    for the other adjustments.
    """
    # aws-sam-translator (untyped) is needed only here, by the demo and the
    # infra tests, never on Lambda: imported by name, it is Any to mypy whether
    # the environment has it or not.
    translator = importlib.import_module("samtranslator.translator.transform")
    policies = importlib.import_module("samtranslator.public.translator")
    yaml_parse = importlib.import_module("samtranslator.yaml_helper").yaml_parse

    template = yaml_parse(template_path.read_text(encoding="utf-8"))
    check_rules(template, parameters)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = code_uri
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    # Explicit roles only: the loader is never asked for a managed policy.
    policy_loader = policies.ManagedPolicyLoader(boto3.client("iam"))
    transformed = translator.transform(
        template, {"AWS::Region": region, **parameters}, policy_loader
    )
    return _adjust_for_emulator(transformed)


def _adjust_for_emulator(template: dict[str, Any]) -> dict[str, Any]:
    adjusted = copy.deepcopy(template)
    resources: dict[str, Any] = adjusted["Resources"]
    for logical_id, resource in list(resources.items()):
        kind = resource.get("Type")
        properties = resource.get("Properties", {})
        if kind in NOT_EMULATED:
            del resources[logical_id]
        elif kind == "AWS::KMS::Key":
            # moto 5.2 reads a key's CloudFormation tags as TagKey/TagValue
            # (the KMS API's shape) and fails on CloudFormation's Key/Value.
            properties.pop("Tags", None)
        elif kind == "AWS::Lambda::EventSourceMapping":
            properties["Enabled"] = False
        elif kind == "AWS::Events::Rule" and "ScheduleExpression" in properties:
            properties.pop("Targets", None)
    return adjusted


def check_rules(template: Mapping[str, Any], parameters: Mapping[str, str]) -> None:
    """Raise :class:`LocalStackError` if ``parameters`` break one of the template's Rules.

    Evaluates the subset of rule functions the template uses (Fn::Equals,
    Fn::Not, Fn::And, Fn::Or, Ref to a parameter) with the parameters' values
    or defaults, as CloudFormation would before creating the stack.
    """
    values = {
        name: str(parameters.get(name, spec.get("Default", "")))
        for name, spec in template.get("Parameters", {}).items()
    }
    broken = [
        assertion.get("AssertDescription", name)
        for name, rule in template.get("Rules", {}).items()
        if _evaluate(rule.get("RuleCondition", True), values)
        for assertion in rule.get("Assertions", [])
        if not _evaluate(assertion["Assert"], values)
    ]
    if broken:
        raise LocalStackError("parameters rejected by the template's rules: " + " ".join(broken))


def _evaluate(expression: Any, values: Mapping[str, str]) -> Any:
    if not isinstance(expression, dict):
        return expression
    ((function, argument),) = expression.items()
    if function == "Ref":
        return values[argument]
    arguments = [_evaluate(item, values) for item in argument]
    if function == "Fn::Equals":
        return str(arguments[0]) == str(arguments[1])
    if function == "Fn::Not":
        return not arguments[0]
    if function == "Fn::And":
        return all(arguments)
    if function == "Fn::Or":
        return any(arguments)
    raise LocalStackError(f"rule function {function} is not evaluated locally")


def _zip_sources(code_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _python_sources(code_dir):
            archive.write(path, path.relative_to(code_dir).as_posix())
    return buffer.getvalue()


def _python_sources(code_dir: Path) -> Iterator[Path]:
    for path in sorted(code_dir.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield path


def _require_emulator() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith(_LOCAL_ENDPOINT_PREFIXES):
        raise LocalStackError(
            "AWS_ENDPOINT_URL does not point at the embedded emulator; "
            "start it with credreports.local.emulator.start() first"
        )
