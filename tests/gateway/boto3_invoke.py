#!/usr/bin/python3
"""Invokes functions through boto3 against an mlfaas gateway, as a Lambda user would.

usage: boto3_invoke.py ENDPOINT CALLS_JSON
CALLS_JSON is a list of {"key", "secret", "function", "payload"[, "until", "within_s"]
[, "unsigned": true]}; with "until", the call is repeated (every 0.25 s, at most within_s seconds)
until it fails with that error code; with "unsigned", the request carries no signature at all
(botocore's UNSIGNED, what the AWS CLI's --no-sign-request sends). Prints a JSON list, one
result per call: {"ok": true, "status": 200, "payload": ...} or
{"ok": false, "code": "<the modeled error code>", "http": <status>, "message": "..."}.
One process for all the calls: importing boto3 costs more than the calls.
Run with Debian's /usr/bin/python3 (python3-boto3, scripts/deps.sh).
"""
import json
import sys
import time

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError


def invoke(endpoint, call):
    client = boto3.client(
        "lambda", endpoint_url=endpoint, region_name="eu-central-1",
        aws_access_key_id=call["key"], aws_secret_access_key=call["secret"],
        config=Config(retries={"max_attempts": 1, "mode": "standard"},
                      connect_timeout=10, read_timeout=60,
                      **({"signature_version": UNSIGNED} if call.get("unsigned") else {})))
    try:
        r = client.invoke(FunctionName=call["function"],
                          Payload=call.get("payload", "{}").encode())
        return {"ok": True, "status": r["StatusCode"],
                "payload": json.loads(r["Payload"].read() or b"null")}
    except ClientError as e:
        return {"ok": False, "code": e.response["Error"]["Code"],
                "http": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "message": e.response["Error"].get("Message", "")}


def main():
    endpoint, calls = sys.argv[1], json.loads(sys.argv[2])
    results = []
    for call in calls:
        deadline = time.monotonic() + call.get("within_s", 0)
        result = invoke(endpoint, call)
        while "until" in call and result.get("code") != call["until"] and \
                time.monotonic() < deadline:
            time.sleep(0.25)
            result = invoke(endpoint, call)
        results.append(result)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
