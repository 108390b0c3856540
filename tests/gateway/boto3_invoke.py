#!/usr/bin/python3
"""Invokes a function through boto3 against an mlfaas gateway, as a Lambda user would.

usage: boto3_invoke.py ENDPOINT ACCESS_KEY_ID SECRET FUNCTION PAYLOAD
Prints one JSON line: {"ok": true, "status": 200, "payload": ...} or
{"ok": false, "code": "<the modeled error code>", "http": <status>, "message": "..."}.
Run with Debian's /usr/bin/python3 (python3-boto3, scripts/deps.sh).
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main():
    endpoint, key_id, secret, function, payload = sys.argv[1:6]
    client = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"},
                      connect_timeout=10, read_timeout=60),
    )
    try:
        r = client.invoke(FunctionName=function, Payload=payload.encode())
        print(json.dumps({"ok": True, "status": r["StatusCode"],
                          "payload": json.loads(r["Payload"].read() or b"null")}))
    except ClientError as e:
        print(json.dumps({"ok": False, "code": e.response["Error"]["Code"],
                          "http": e.response["ResponseMetadata"]["HTTPStatusCode"],
                          "message": e.response["Error"].get("Message", "")}))


if __name__ == "__main__":
    main()
