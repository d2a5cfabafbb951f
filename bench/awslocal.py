"""A local AWS-compatible server for the benchmark's SQS scenarios: moto in server mode on a
loopback port, with a queue, its dead-letter queue and a table made by ``init-aws``.

moto is not AWS: it is one Python process answering every SQS and DynamoDB call of every
bridge process on the same cores, with its own latencies. Figures measured against it show
what the bridge does per message, not what SQS and DynamoDB would cost or allow.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3

from bridge.ops.init_aws import Names, Options, init

REGION = "us-east-1"
STARTUP = 60.0


class LocalAws:
    """moto's server with the bridge's resources; ``env`` points a bridge at them."""

    def __init__(self, folder: Path, *, visibility: int = 30) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = (folder / "moto.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()
        suffix = uuid.uuid4().hex[:8]
        self.names = Names(queue=f"bench-{suffix}.fifo", table=f"bench-{suffix}")
        lines: list[str] = []
        options = Options(names=self.names, visibility_timeout=visibility)
        if init(self._client("sqs"), self._client("dynamodb"), options, lines.append) != 0:
            self.stop()
            raise RuntimeError("init-aws failed against moto:\n" + "\n".join(lines))
        queue = self._client("sqs").get_queue_url(QueueName=self.names.queue)["QueueUrl"]
        self.env = {
            "BRIDGE_QUEUE": "sqs",
            "BRIDGE_SQS_QUEUE_URL": str(queue),
            "BRIDGE_DYNAMODB_TABLE": self.names.table,
            "BRIDGE_SQS_VISIBILITY_TIMEOUT": str(visibility),
            # moto's long poll checks the conversations in flight once per call (SQS: at
            # delivery), so it could hand out a person's next message too early.
            "BRIDGE_SQS_WAIT_TIME": "0",
            "AWS_ENDPOINT_URL_SQS": self.url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.url,
        }

    def _client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto did not answer within {STARTUP:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._log.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
