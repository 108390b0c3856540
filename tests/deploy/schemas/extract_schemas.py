#!/usr/bin/python3
"""Regenerates the schema fixtures of this directory from their upstream files (README.md).

Usage: extract_schemas.py SRC_DIR OUT_DIR, where SRC_DIR holds the upstream files under the
names README.md gives. The extracts keep every validation keyword of what they keep; they drop
documentation text ("description", "markdownDescription", "title"), the metadata CloudFormation's
registry keeps beside the schema (handlers, tagging, ...), server-written parts (a Knative
Service's "status") and, for SAM, the resource types mlfaas never writes.
"""
import json
import sys

import yaml

DOC_KEYS = {"description", "markdownDescription", "markdownDescriptionOverride", "title"}


def strip_docs(node):
    """Drops documentation keywords (string-valued only: a property named "description" is a
    schema object and stays)."""
    if isinstance(node, dict):
        return {k: strip_docs(v) for k, v in node.items()
                if not (k in DOC_KEYS and isinstance(v, str))}
    if isinstance(node, list):
        return [strip_docs(v) for v in node]
    return node


def refs(node, out):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            out.add(node["$ref"])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


SAM_TYPES = ("aws_serverless_function__Resource", "aws_serverless_capacity_provider__Resource",
             "any_cfn_resource__Resource")


def sam_subset(sam):
    root = {k: v for k, v in sam.items() if k != "definitions"}
    resources = root["properties"]["Resources"]["additionalProperties"]
    resources["anyOf"] = [r for r in resources["anyOf"] if r["$ref"].endswith(SAM_TYPES)]
    del root["properties"]["Globals"]  # mlfaas writes no Globals section
    keep, todo = {}, set()
    refs(root, todo)
    while todo:
        name = todo.pop().split("/")[-1]
        if name in keep:
            continue
        keep[name] = sam["definitions"][name]
        refs(keep[name], todo)
    root["definitions"] = dict(sorted(keep.items()))
    return strip_docs(root)


CFN_KEYS = ("typeName", "additionalProperties", "definitions", "properties", "required",
            "oneOf", "anyOf", "allOf", "dependencies", "readOnlyProperties")


def cfn_subset(schema):
    return strip_docs({k: schema[k] for k in CFN_KEYS if k in schema})


def knative_subset(crd_text):
    crd = yaml.safe_load(crd_text)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = version["schema"]["openAPIV3Schema"]
    schema["properties"].pop("status", None)
    return strip_docs(schema)


def main(src, out):
    def load(name):
        with open(f"{src}/{name}", encoding="utf-8") as f:
            return f.read()

    def save(name, obj):
        with open(f"{out}/{name}", "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")

    save("sam.schema.subset.json", sam_subset(json.loads(load("sam.schema.json"))))
    for type_hash, name in (("1414adb55d096804", "aws-lambda-function"),
                            ("7c34f9c2c8bb2241", "aws-lambda-version"),
                            ("9c55b8fdda504271", "aws-lambda-alias")):
        save(f"{name}.json", cfn_subset(json.loads(load(f"{type_hash}.json"))))
    save("knative-service-v1.json", knative_subset(load("knative-service.yaml")))
    save("k8s-objectmeta-v1.json", strip_docs(json.loads(load("objectmeta-meta-v1.json"))))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
