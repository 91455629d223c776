#!/usr/bin/env python3
"""Refresh the vendored CloudFormation resource provider schemas from an installed cfn-lint.

Usage: .venv/bin/python schemas/resources/refresh.py   (run from the repository root)

The schemas are the ones cfn-lint ships (`cfnlint/data/schemas`), which AWS publishes under
MIT-0. The script never downloads anything: it reads the installed cfn-lint package, so the
version recorded in PROVENANCE.md is exactly the version that produced the files.

What it writes, all deterministic (sorted keys, two-space indent, trailing newline):
  schemas/resources/<aws-service-type>.json   one cleaned schema per type in TYPES
  schemas/resources/all-types.txt             every type name of every region, to tell a
                                              misspelt type from one we do not vendor
  schemas/resources/PROVENANCE.md             source version, licence, per-file hash, clean-ups
  src/policy/schema/embedded.rs               the table that embeds the files in the binary

Clean-ups (each is recorded per file in PROVENANCE.md when it changed something):
  - drop `$schema`: 25 provider schemas name a meta-schema address that JSON Schema validators
    do not know; the schemas are Draft 7 and are compiled as such;
  - rewrite the Java/Python regex anchors `\\A` -> `^`, `\\Z` and `\\z` -> `$`: the Rust
    regex engines reject them, so the pattern would fail to compile;
  - drop patterns listed in DROP_PATTERNS (none fail today; the Rust test
    `policy::schema::tests::every_vendored_schema_compiles` fails when one does);
  - drop annotation-only keywords (description, handlers, tagging, examples, ...) and
    the AWS extension keywords that are not validation keywords, to keep the binary small.
    Property *names* are never touched.
  - KEEP `createOnlyProperties` and `conditionalCreateOnlyProperties` (top-level lists of
    JSON pointers such as `/properties/GitConfig/RepositoryUrl`): `nbsynth plan` reads them
    to tell a replacement from an in-place update. JSON Schema validators ignore them.
"""
import hashlib
import json
import pathlib
import re
import sys

import cfnlint

# Every type nbsynth emits, what the CDK competitor emits, and common neighbours of a notebook stack.
TYPES = sorted({
    # nbsynth output
    "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress", "AWS::KMS::Key", "AWS::KMS::Alias", "AWS::IAM::Role",
    "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SageMaker::NotebookInstance",
    "AWS::SageMaker::NotebookInstanceLifecycleConfig", "AWS::SageMaker::CodeRepository",
    "AWS::Logs::LogGroup", "AWS::EC2::FlowLog",
    # what a less careful stack adds: internet paths, NACLs, addresses
    "AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::NatGateway",
    "AWS::EC2::EIP", "AWS::EC2::EgressOnlyInternetGateway", "AWS::EC2::Route",
    "AWS::EC2::NetworkAcl", "AWS::EC2::NetworkAclEntry", "AWS::EC2::SubnetNetworkAclAssociation",
    "AWS::EC2::PrefixList", "AWS::EC2::Instance",
    # neighbours: storage, identity, functions, secrets, notifications
    "AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::IAM::InstanceProfile", "AWS::IAM::User",
    "AWS::IAM::Group", "AWS::Lambda::Function", "AWS::Lambda::Permission",
    "AWS::SageMaker::Domain", "AWS::SageMaker::UserProfile", "AWS::SageMaker::Space",
    "AWS::SageMaker::StudioLifecycleConfig",
    "AWS::SSM::Parameter", "AWS::SecretsManager::Secret", "AWS::CodeCommit::Repository",
    "AWS::CloudWatch::Alarm", "AWS::Events::Rule", "AWS::SNS::Topic", "AWS::SQS::Queue",
    "AWS::Logs::MetricFilter",
})

# Annotation keywords: no effect on validation.
ANNOTATIONS = {
    "description", "$comment", "examples", "title", "handlers", "tagging", "primaryIdentifier",
    "additionalIdentifiers", "readOnlyProperties", "writeOnlyProperties",
    "deprecatedProperties", "nonPublicProperties",
    "nonPublicDefinitions", "propertyTransform", "sourceUrl", "documentationUrl", "replacementStrategy",
    "taggable", "insertionOrder", "arrayType", "relationshipRef", "resourceLink", "typeName",
    "default", "cfnSchema", "deprecated",
}
# Keywords whose value is one subschema / a list of them / a map name -> subschema.
ONE = {"items", "additionalItems", "not", "contains", "propertyNames", "if", "then", "else", "additionalProperties"}
LIST = {"anyOf", "oneOf", "allOf"}
MAP = {"properties", "patternProperties", "definitions"}
DROP_PATTERNS: set = set()
ANCHORS = [(r"\A", "^"), (r"\Z", "$"), (r"\z", "$")]


def clean(node, changes):
    if isinstance(node, list):
        return [clean(n, changes) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$schema":
            changes.add("dropped $schema")
            continue
        if key in ANNOTATIONS:
            continue
        if key == "pattern" and isinstance(value, str):
            fixed = value
            for old, new in ANCHORS:
                fixed = fixed.replace(old, new)
            if fixed != value:
                changes.add(f"pattern {value!r} -> {fixed!r}")
            if fixed in DROP_PATTERNS:
                changes.add(f"dropped pattern {fixed!r}")
                continue
            out[key] = fixed
        elif key in ONE:
            out[key] = clean(value, changes)
        elif key in LIST:
            out[key] = [clean(v, changes) for v in value]
        elif key in MAP and isinstance(value, dict):
            out[key] = {name: clean(v, changes) for name, v in value.items()}
        elif key == "dependencies" and isinstance(value, dict):
            out[key] = {k: (clean(v, changes) if isinstance(v, dict) else v) for k, v in value.items()}
        else:
            out[key] = value
    return out


def file_name(type_name):
    return type_name.lower().replace("::", "-") + ".json"


def main():
    root = pathlib.Path(__file__).resolve().parents[2]
    out_dir = root / "schemas" / "resources"
    data = pathlib.Path(cfnlint.__file__).parent / "data" / "schemas"
    version = (pathlib.Path(cfnlint.__file__).parent / "version.py").read_text()
    version = re.search(r'__version__ = "([^"]+)"', version).group(1)

    every_type = set()
    for provider in sorted((data / "providers").glob("*.json")):
        every_type |= set(json.loads(provider.read_text()))
    us_east_1 = json.loads((data / "providers" / "us-east-1.json").read_text())

    for old in out_dir.glob("aws-*.json"):
        old.unlink()
    rows = []
    for type_name in TYPES:
        digest = us_east_1[type_name]
        source = data / "resources" / f"{digest}.json"
        raw = source.read_bytes()
        changes = set()
        cleaned = clean(json.loads(raw), changes)
        name = file_name(type_name)
        (out_dir / name).write_text(json.dumps(cleaned, indent=2, sort_keys=True) + "\n")
        rows.append((type_name, name, f"resources/{digest}.json", hashlib.sha256(raw).hexdigest()[:16], sorted(changes)))

    (out_dir / "all-types.txt").write_text("".join(f"{t}\n" for t in sorted(every_type)))

    lines = [
        "# Provenance of the vendored CloudFormation resource schemas",
        "",
        "Generated by `schemas/resources/refresh.py`; do not edit by hand, run the script again.",
        "",
        f"- Source: the resource provider schemas shipped in the `cfn-lint` Python package, version {version}",
        "  (`cfnlint/data/schemas/`; the type -> file map is `providers/us-east-1.json`).",
        "- Licence: MIT-0 (the schemas are published by AWS under MIT No Attribution, as cfn-lint states",
        "  in its source headers). No attribution is required; we record it anyway.",
        f"- `all-types.txt`: the union of the type names of all {len(list((data / 'providers').glob('*.json')))} region files,"
        f" {len(every_type)} types.",
        "- Clean-ups applied to every file: annotation keywords removed (descriptions, handlers, tagging,",
        "  read/write-only lists, AWS extension keywords); keys sorted. Per-file changes beyond that below.",
        "- Kept: `createOnlyProperties` and `conditionalCreateOnlyProperties` (replacement knowledge for",
        "  `nbsynth plan`, which names this source in its output).",
        "",
        "| Type | File | Source file | sha256 of source (16) | Changes |",
        "|---|---|---|---|---|",
    ]
    for type_name, name, src, digest, changes in rows:
        notes = "; ".join(changes).replace("|", "\\|") or "-"
        lines.append(f"| {type_name} | {name} | {src} | {digest} | {notes} |")
    (out_dir / "PROVENANCE.md").write_text("\n".join(lines) + "\n")

    table = [
        "// Generated by schemas/resources/refresh.py; do not edit by hand.",
        "",
        "/// (type name, cleaned provider schema), sorted by type name for binary search.",
        "pub(super) const SCHEMAS: &[(&str, &str)] = &[",
    ]
    for type_name, name, *_ in rows:
        table.append(f'    ("{type_name}", include_str!("../../../schemas/resources/{name}")),')
    table += ["];", "", "/// Every resource type CloudFormation knows in any region, one per line, sorted.",
              'pub(super) const ALL_TYPES: &str = include_str!("../../../schemas/resources/all-types.txt");', "",
              "/// Where the vendored schemas come from (named by `nbsynth plan`).",
              f'pub(super) const SOURCE: &str = "cfn-lint {version} provider schemas (us-east-1)";', ""]
    embedded = root / "src" / "policy" / "schema" / "embedded.rs"
    embedded.parent.mkdir(parents=True, exist_ok=True)
    embedded.write_text("\n".join(table))
    print(f"{len(rows)} schemas from cfn-lint {version}; {len(every_type)} type names", file=sys.stderr)


if __name__ == "__main__":
    main()
