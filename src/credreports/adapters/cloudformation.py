"""CloudFormation: where a deployed stack put its resources."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws
from credreports.adapters.aws_errors import describe


class StackNotFoundError(RuntimeError):
    """The stack does not exist or cannot be described."""


def stack_outputs(stack_name: str, client: Any = None) -> dict[str, str]:
    """The outputs of ``stack_name`` by OutputKey."""
    client = client or aws.client("cloudformation")
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise StackNotFoundError(f"cannot read stack {stack_name!r}: {describe(exc)}") from exc
    if not stacks:
        raise StackNotFoundError(f"stack {stack_name!r} not found")
    return {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
