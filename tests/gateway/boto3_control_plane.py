#!/usr/bin/python3
"""The Lambda control plane through boto3, as a deployment script would drive it.

usage: boto3_control_plane.py ENDPOINT ACCESS_KEY_ID SECRET ZIP [scoped]
Prints one JSON object with what each step saw; the C++ test (serve_control_test.cc) asserts.
With "scoped": the steps of a key limited to team-* functions, after the AWS CLI created team-a
(TheAwsCliDeploysAndScopesHold); otherwise the full deployment of Boto3DeploysVersionsAliases...
Run with Debian's /usr/bin/python3 (python3-boto3, scripts/deps.sh).
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def code_of(fn):
    try:
        fn()
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]


def scoped(lam, zip_bytes):
    """A key with deploy:team-*, read:team-*, invoke:team-*; team-a exists ($LATEST only)."""
    out = {}
    out["outside"] = code_of(lambda: lam.create_function(
        FunctionName="other", Runtime="provided", Role="r", Handler="x",
        Code={"ZipFile": zip_bytes}))
    out["published"] = lam.publish_version(FunctionName="team-a")["Version"]
    out["listed"] = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    out["timeout"] = lam.update_function_configuration(FunctionName="team-a",
                                                       Timeout=9)["Timeout"]
    return out


def main():
    endpoint, key_id, secret, zip_path = sys.argv[1:5]
    lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id=key_id, aws_secret_access_key=secret,
                       config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                     read_timeout=60))
    zip_bytes = open(zip_path, "rb").read()
    if sys.argv[5:] == ["scoped"]:
        print(json.dumps(scoped(lam, zip_bytes)))
        return
    out = {}
    created = lam.create_function(FunctionName="cp", Runtime="provided.al2023",
                                  Role="arn:aws:iam::123456789012:role/any", Handler="x",
                                  Code={"ZipFile": zip_bytes}, MemorySize=1769, Timeout=10,
                                  Environment={"Variables": {"TAG": "one"}},
                                  Tags={"mlfaas:idle-timeout": "60"})
    out["created"] = {k: created[k] for k in ("FunctionName", "Runtime", "Version", "MemorySize")}
    out["v1"] = lam.publish_version(FunctionName="cp", Description="first")["Version"]
    lam.update_function_configuration(FunctionName="cp",
                                      Environment={"Variables": {"TAG": "two"}})
    out["v2"] = lam.publish_version(FunctionName="cp")["Version"]
    alias = lam.create_alias(FunctionName="cp", Name="live", FunctionVersion=out["v1"],
                             RoutingConfig={"AdditionalVersionWeights": {out["v2"]: 0.5}})
    out["alias"] = {"FunctionVersion": alias["FunctionVersion"],
                    "Weights": alias["RoutingConfig"]["AdditionalVersionWeights"]}
    seen = {}
    for _ in range(40):
        r = lam.invoke(FunctionName="cp", Qualifier="live", Payload=b"{}")
        tag = json.loads(r["Payload"].read())["env"]["TAG"]
        seen[r["ExecutedVersion"] + ":" + tag] = seen.get(r["ExecutedVersion"] + ":" + tag, 0) + 1
    out["served"] = seen
    for name in ("cp-a", "cp-b", "cp-c"):
        lam.create_function(FunctionName=name, Runtime="provided", Role="r", Handler="x",
                            Code={"ZipFile": zip_bytes}, MemorySize=1769)
    pages, names = 0, []
    for page in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}):
        pages += 1
        names += [f["FunctionName"] for f in page["Functions"]]
    out["listed"] = {"pages": pages, "names": names}
    got = lam.get_function(FunctionName="cp")
    out["get"] = {"Runtime": got["Configuration"]["Runtime"], "Tags": got.get("Tags", {}),
                  "Env": got["Configuration"]["Environment"]["Variables"]}
    out["get_v1"] = lam.get_function_configuration(FunctionName="cp",
                                                   Qualifier="1")["Environment"]["Variables"]
    upd = lam.update_function_configuration(FunctionName="cp", MemorySize=1024, Timeout=5)
    out["updated"] = {"MemorySize": upd["MemorySize"], "Timeout": upd["Timeout"]}
    lam.put_function_concurrency(FunctionName="cp", ReservedConcurrentExecutions=3)
    out["concurrency"] = lam.get_function_concurrency(FunctionName="cp").get(
        "ReservedConcurrentExecutions")
    out["missing"] = code_of(lambda: lam.get_function(FunctionName="no-such-function"))
    out["conflict"] = code_of(lambda: lam.create_function(
        FunctionName="cp", Runtime="provided", Role="r", Handler="x",
        Code={"ZipFile": zip_bytes}))
    out["bad_runtime"] = code_of(lambda: lam.create_function(
        FunctionName="cp-x", Runtime="nodejs18.x", Role="r", Handler="x",
        Code={"ZipFile": zip_bytes}))
    out["unsupported"] = code_of(lambda: lam.list_layers())
    out["settings"] = lam.get_account_settings()["AccountUsage"]["FunctionCount"]
    lam.delete_function(FunctionName="cp")
    out["after_delete"] = code_of(lambda: lam.get_function(FunctionName="cp"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
