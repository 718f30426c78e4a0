"""Lambda: invoking the deployed producer from the command line."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from credreports import aws
from credreports.adapters.aws_errors import describe


class InvocationError(RuntimeError):
    """The function could not be invoked, or it raised."""


class Function:
    """One deployed Lambda function, invoked synchronously."""

    SERVICE = "lambda"

    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        # The producer lists the whole organization before it answers: give it
        # longer than botocore's default read timeout, and never retry (a retry
        # of a run that did start would enqueue it twice under a new run id).
        self._client = client or aws.client(
            self.SERVICE,
            config=Config(read_timeout=900, retries={"mode": "standard", "max_attempts": 1}),
        )

    def invoke(self, payload: dict[str, Any]) -> Any:
        """Invoke with ``payload``; return the decoded answer. Raises
        InvocationError with the function's own error message if it failed."""
        try:
            answer = self._client.invoke(
                FunctionName=self.name,
                InvocationType="RequestResponse",
                Payload=json.dumps(payload).encode(),
            )
        except (ClientError, BotoCoreError) as exc:
            raise InvocationError(f"could not invoke {self.name}: {describe(exc)}") from exc
        body = answer["Payload"].read()
        try:
            decoded = json.loads(body) if body else None
        except json.JSONDecodeError:
            decoded = body.decode(errors="replace")
        if answer.get("FunctionError"):
            if isinstance(decoded, dict):
                message = f"{decoded.get('errorType', 'Error')}: {decoded.get('errorMessage', '')}"
            else:
                message = str(decoded)
            raise InvocationError(f"{self.name} failed: {message}")
        return decoded
