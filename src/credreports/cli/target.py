"""Which deployed stack the operator commands act on.

``--stack NAME`` (or CREDREPORTS_STACK) reads the stack's outputs; explicit
options override any of them, so the commands also work without
CloudFormation access or against resources created some other way.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from credreports.adapters.cloudformation import stack_outputs
from credreports.layout import normalise_prefix

# option dest -> (stack output, the option's spelling for error messages)
_OPTIONS = {
    "queue_url": ("WorkQueueUrl", "--queue-url"),
    "dlq_url": ("DeadLetterQueueUrl", "--dlq-url"),
    "bucket": ("ReportBucketName", "--bucket"),
    "prefix": ("ReportPrefix", "--prefix"),
    "producer_function": ("ProducerFunctionName", "--producer-function"),
}


class TargetError(ValueError):
    """A resource a command needs is named neither by the stack nor an option."""


@dataclass(frozen=True)
class Target:
    stack: str | None
    queue_url: str | None
    dlq_url: str | None
    bucket: str | None
    prefix: str
    producer_function: str | None

    def require(self, *names: str) -> None:
        """Raise TargetError naming every option that is needed and missing."""
        missing = [_OPTIONS[name][1] for name in names if not getattr(self, name)]
        if missing:
            where = f"stack {self.stack!r} has no such output" if self.stack else "no --stack"
            raise TargetError(
                f"this command needs {', '.join(missing)} ({where}; "
                "give --stack NAME or the option)"
            )


def add_target_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("deployed stack")
    group.add_argument(
        "--stack",
        default=os.environ.get("CREDREPORTS_STACK"),
        help="CloudFormation stack to read the outputs of (default: $CREDREPORTS_STACK)",
    )
    group.add_argument("--queue-url", help="work queue URL (overrides the stack's WorkQueueUrl)")
    group.add_argument("--dlq-url", help="dead-letter queue URL (overrides DeadLetterQueueUrl)")
    group.add_argument("--bucket", help="report bucket (overrides ReportBucketName)")
    group.add_argument("--prefix", help="key prefix in the bucket (overrides ReportPrefix)")
    group.add_argument(
        "--producer-function", help="producer function name (overrides ProducerFunctionName)"
    )
    group.add_argument("--profile", help="AWS profile (default: the usual AWS environment)")
    group.add_argument("--region", help="AWS region (default: the usual AWS environment)")


def resolve(args: argparse.Namespace) -> Target:
    """The target named by the stack's outputs and the explicit options."""
    outputs = stack_outputs(args.stack) if args.stack else {}
    values: dict[str, str | None] = {}
    for dest, (output, _) in _OPTIONS.items():
        given = getattr(args, dest)
        values[dest] = given if given is not None else outputs.get(output)
    prefix = normalise_prefix(values.pop("prefix") or "")
    return Target(stack=args.stack, prefix=prefix, **values)
