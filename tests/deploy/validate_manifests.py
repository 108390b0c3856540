#!/usr/bin/python3
"""Validates what `mlfaas export` writes against the schema fixtures in schemas/ (README.md).

Usage: validate_manifests.py SCHEMA_DIR sam|knative FILE
Exit status: 0 valid, 1 invalid (each error on a line of stderr), 2 unusable input or setup.
       validate_manifests.py --each SCHEMA_DIR sam|knative FILE...
Checks each FILE as the first form does, in one process (python and jsonschema start once), and
prints a JSON array on stdout: per FILE, {"status": what the first form would exit with,
"errors": what it would print on stderr} (an uncaught exception: 1 and its traceback, as python
exits with it). Exit status 0, or 2 on bad usage.

sam: the template against the SAM schema (aws/serverless-application-model), then each property
SAM passes through to CloudFormation (passed_through below) against the CloudFormation resource
schema it goes to, and the Properties of each AWS::Lambda::* resource against that type's schema
(cfn-lint's copies of the CloudFormation registry schemas). As CloudFormation does, a value that
is an intrinsic function ({"Ref": ...}, {"Fn::GetAtt": ...}) stands for a value resolved at
deploy time: it is not checked against the schema of the resolved value.
knative: the document against the Service CRD's openAPIV3Schema (knative/serving), and its
metadata against Kubernetes' ObjectMeta.
"""
import json
import sys
import traceback

import jsonschema
import yaml

CFN_TYPES = {
    "AWS::Lambda::Function": "aws-lambda-function.json",
    "AWS::Lambda::Version": "aws-lambda-version.json",
    "AWS::Lambda::Alias": "aws-lambda-alias.json",
}


def is_intrinsic(value):
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def skipping_intrinsics(cls):
    """`cls` with every keyword accepting an intrinsic function as its instance."""
    def wrap(check):
        def checked(validator, value, instance, schema):
            if is_intrinsic(instance):
                return
            yield from check(validator, value, instance, schema) or ()
        return checked
    return jsonschema.validators.extend(
        cls, {k: wrap(v) for k, v in cls.VALIDATORS.items()})


SamValidator = skipping_intrinsics(jsonschema.Draft4Validator)
CfnValidator = skipping_intrinsics(jsonschema.Draft7Validator)


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref X, !GetAtt A.B, ...) as their long forms."""


def _short_form(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else "Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _short_form)


def errors_of(validator, instance, where):
    for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in e.absolute_path)
        yield f"{where}/{path}: {e.message}"


def cfn_property_validator(cfn, type_name, prop):
    schema = cfn[type_name]
    resolver = jsonschema.RefResolver.from_schema(schema)
    return CfnValidator(schema["properties"][prop], resolver=resolver)


def passed_through(sam_prop, name, cfn):
    """(CloudFormation type, property) that SAM hands a function property to, or None.

    SAM's schema says so in two ways: "__samPassThrough" with the schemaPath of the target
    (definitions, TYPE, properties, Properties, properties, NAME), or the bare "PassThroughProp"
    (MemorySize, Timeout, ReservedConcurrentExecutions, ...), which SAM's translator copies to
    the AWS::Lambda::Function property of the same name (samtranslator/model/sam_resources.py).
    """
    through = sam_prop.get("__samPassThrough")
    if through:
        path = through["schemaPath"]
        return path[1], path[5]
    if sam_prop.get("allOf") == [{"$ref": "#/definitions/PassThroughProp"}] and \
            name in cfn["AWS::Lambda::Function"]["properties"]:
        return "AWS::Lambda::Function", name
    return None


def check_sam(schemas, doc):
    sam = schemas("sam.schema.subset.json")
    cfn = {t: schemas(f) for t, f in CFN_TYPES.items()}
    yield from errors_of(SamValidator(sam), doc, "")
    fn_props = sam["definitions"][
        "samtranslator__internal__schema_source__aws_serverless_function__Properties"]["properties"]
    for rid, res in (doc.get("Resources") or {}).items():
        if not isinstance(res, dict):
            continue
        rtype, props = res.get("Type"), res.get("Properties") or {}
        where = f"Resources/{rid}/Properties"
        if rtype == "AWS::Serverless::Function":
            for name, value in props.items():
                target = passed_through(fn_props.get(name) or {}, name, cfn)
                if target is None:
                    continue
                if target[0] not in cfn:
                    yield f"{where}/{name}: no fixture for {target[0]}"
                    continue
                validator = cfn_property_validator(cfn, *target)
                yield from errors_of(validator, value, f"{where}/{name}")
        elif rtype in cfn:
            yield from errors_of(CfnValidator(cfn[rtype]), props, where)
        elif not str(rtype).startswith("AWS::Serverless::"):
            yield f"Resources/{rid}: no schema fixture for type {rtype}"


def check_knative(schemas, doc):
    yield from errors_of(jsonschema.Draft7Validator(schemas("knative-service-v1.json")), doc, "")
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    if meta is not None:
        objmeta = jsonschema.Draft7Validator(schemas("k8s-objectmeta-v1.json"))
        yield from errors_of(objmeta, meta, "metadata")
    if not isinstance(doc, dict) or doc.get("apiVersion") != "serving.knative.dev/v1" \
            or doc.get("kind") != "Service":
        yield "/: not a serving.knative.dev/v1 Service"


def check_file(schema_dir, kind, path):
    """(exit status, error lines) of checking `path`."""
    def schemas(name):
        with open(f"{schema_dir}/{name}", encoding="utf-8") as f:
            return json.load(f)

    try:
        with open(path, encoding="utf-8") as f:
            docs = list(yaml.load_all(f, Loader=CfnLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        return 2, [f"{path}: {e}"]
    if len(docs) != 1:
        return 1, [f"{path}: expected one YAML document, found {len(docs)}"]
    errors = list((check_sam if kind == "sam" else check_knative)(schemas, docs[0]))
    return (1 if errors else 0), errors


def main(argv):
    if len(argv) >= 5 and argv[1] == "--each" and argv[3] in ("sam", "knative"):
        schema_dir, kind = argv[2:4]
        results = []
        for path in argv[4:]:
            try:
                status, errors = check_file(schema_dir, kind, path)
            except Exception:  # noqa: BLE001 -- as the first form: a traceback, exit status 1
                status, errors = 1, [traceback.format_exc().rstrip("\n")]
            results.append({"status": status, "errors": "".join(e + "\n" for e in errors)})
        json.dump(results, sys.stdout)
        return 0
    if len(argv) != 4 or argv[2] not in ("sam", "knative"):
        print(__doc__, file=sys.stderr)
        return 2
    status, errors = check_file(*argv[1:])
    for e in errors:
        print(e, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
