"""Helpers for the deploy tests: bounded commands, moto's gaps, a small CloudFormation evaluator."""
import subprocess

import pytest

REGION = "us-east-1"
COMMAND_TIMEOUT = 300  # seconds, for any one tool run


def run(cmd, *, timeout=COMMAND_TIMEOUT, **kw):
    """subprocess.run with a bound, text output and the command in the failure message."""
    try:
        return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"timed out after {timeout}s: {' '.join(map(str, cmd))}\n{e.stdout}\n{e.stderr}")


# --------------------------------------------------------------------------------------------------
# What moto 5.2.5 cannot model, and the explicit adaptation of a template to it.
#
# Each entry was verified by deploying the unchanged template to moto_server 5.2.5 first:
#   - KMS Tags: the deploy fails, moto's log shows KeyError 'TagKey' in moto/kms/models.py create_key
#     (its tagging service expects TagKey/TagValue, CloudFormation passes Key/Value).
#   - AWS::SageMaker::CodeRepository: "No Moto CloudFormation support"; the resource is skipped and the
#     notebook's `Fn::GetAtt [Repo, CodeRepositoryName]` fails the change set with
#     "Template error: instance of Fn::GetAtt references undefined resource".
#   - NotebookInstance InstanceType: moto validates it against a fixed list from before the g4dn/g5
#     families ("Value 'ml.g5.xlarge' at 'instanceType' failed to satisfy constraint").
#   - Fn::Sub in lifecycle scripts: moto resolves Fn::Sub with two regular expressions; the escape
#     `${!name}` loses its `!` only when no double quote follows before the `}`, so bash such as
#     `${!f#"$H/.jupyter/"}` reaches the decoded script as `${!f#...}` instead of `${f#...}`.
#   - AWS::SageMaker::Domain / UserProfile / Space / StudioLifecycleConfig: no moto CloudFormation model;
#     the profiles' and policies' Fn::GetAtt/Fn::Sub of the domain fail the stack. Policy statements that
#     name the domain are dropped one by one (listed by Sid); a policy left without any is removed.
# Not removed, because moto skips them without failing and nothing refers to them, are the types
# below in IGNORED_TYPES: the test lists them from `list-stack-resources` and asserts that set too.
# --------------------------------------------------------------------------------------------------

REASONS = {
    "kms-tags": "moto 5.2.5 crashes creating AWS::KMS::Key with Tags (KeyError 'TagKey' in its tagging service)",
    "unmodelled-referenced": "moto 5.2.5 has no CloudFormation model for this type and Fn::GetAtt/Ref on it fails the stack",
    "reference-to-removed": "refers to a resource removed for moto",
    "instance-type": "moto 5.2.5 checks NotebookInstance InstanceType against an outdated list without this type; "
                     "replaced by ml.t3.medium",
    "sub-to-join": "moto 5.2.5's Fn::Sub is regex-based and mangles `${!...}` escapes that contain a double quote; "
                   "rewritten as the equivalent Fn::Join of literals and Ref/Fn::GetAtt",
}

# Types moto 5.2.5 has no CloudFormation model for (checked against moto.cloudformation.parsing in a test).
UNMODELLED_TYPES = {
    "AWS::SageMaker::CodeRepository",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::S3::BucketPolicy",
    "AWS::SageMaker::Domain",
    "AWS::SageMaker::UserProfile",
    "AWS::SageMaker::Space",
    "AWS::SageMaker::StudioLifecycleConfig",
}
# moto 5.2.5's enum for NotebookInstance InstanceType (copied from its validation error).
MOTO_NOTEBOOK_INSTANCE_TYPES = {
    "ml.p2.xlarge", "ml.m5.4xlarge", "ml.m4.16xlarge", "ml.t3.xlarge", "ml.p3.16xlarge", "ml.t2.xlarge",
    "ml.p2.16xlarge", "ml.c4.2xlarge", "ml.c5.2xlarge", "ml.c4.4xlarge", "ml.c5d.2xlarge", "ml.c5.4xlarge",
    "ml.c5d.4xlarge", "ml.c4.8xlarge", "ml.c5d.xlarge", "ml.c5.9xlarge", "ml.c5.xlarge", "ml.c5d.9xlarge",
    "ml.c4.xlarge", "ml.t2.2xlarge", "ml.c5d.18xlarge", "ml.t3.2xlarge", "ml.t3.medium", "ml.t2.medium",
    "ml.c5.18xlarge", "ml.p3.2xlarge", "ml.m5.xlarge", "ml.m4.10xlarge", "ml.t2.large", "ml.m5.12xlarge",
    "ml.m4.xlarge", "ml.t3.large", "ml.m5.24xlarge", "ml.m4.2xlarge", "ml.p2.8xlarge", "ml.m5.2xlarge",
    "ml.p3.8xlarge", "ml.m4.4xlarge",
}
MOTO_FALLBACK_INSTANCE_TYPE = "ml.t3.medium"


def refs_in(value):
    """Logical ids a value refers to through Ref, Fn::GetAtt or Fn::Sub (pseudo parameters excluded)."""
    found = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                found.add(v)
            elif k == "Fn::GetAtt":
                found.add(v[0] if isinstance(v, list) else v.split(".")[0])
            elif k == "Fn::Sub":
                text, names = (v[0], v[1]) if isinstance(v, list) else (v, {})
                for bang, name in SUB_VAR.findall(text):
                    if not bang and name not in names:
                        found.add(name.split(".")[0])
                found |= refs_in(names)
            else:
                found |= refs_in(v)
    elif isinstance(value, list):
        for v in value:
            found |= refs_in(v)
    return {r for r in found if not r.startswith("AWS::")}


def adapt_for_moto(template):
    """Return (adapted copy, changes): the template minus exactly what moto 5.2.5 cannot take.

    `changes` is a sorted list of (reason key, target) pairs; the caller prints them and asserts them
    against an expected set, so nothing is ever dropped silently."""
    import copy

    t = copy.deepcopy(template)
    res = t["Resources"]
    changes = []

    for lid, r in res.items():
        if r["Type"] == "AWS::KMS::Key" and "Tags" in r.get("Properties", {}):
            del r["Properties"]["Tags"]
            changes.append(("kms-tags", f"{lid}.Tags"))

    # Unmodelled resources that something refers to (the others moto skips on its own).
    referenced = set()
    for lid, r in res.items():
        referenced |= refs_in(r.get("Properties", {})) | set(_depends(r))
    referenced |= refs_in(t.get("Outputs", {}))
    removed = {lid for lid, r in res.items() if r["Type"] in UNMODELLED_TYPES and lid in referenced}
    for lid in sorted(removed):
        del res[lid]
        changes.append(("unmodelled-referenced", f"{lid} ({template['Resources'][lid]['Type']})"))
    for lid, r in res.items():
        deps = _depends(r)
        if deps and set(deps) & removed:
            for d in sorted(set(deps) & removed):
                changes.append(("reference-to-removed", f"{lid}.DependsOn[{d}]"))
            kept = [d for d in deps if d not in removed]
            if kept:
                r["DependsOn"] = kept
            else:
                del r["DependsOn"]
        props = r.get("Properties", {})
        for key in sorted(props):
            if refs_in(props[key]) & removed:
                if key == "PolicyDocument":
                    # A policy keeps its other statements: only those naming a removed resource go.
                    statements = props[key]["Statement"]
                    for s in statements:
                        if refs_in(s) & removed:
                            changes.append(("reference-to-removed", f"{lid}.PolicyDocument[{s.get('Sid', '?')}]"))
                    props[key]["Statement"] = [s for s in statements if not (refs_in(s) & removed)]
                elif isinstance(props[key], list):
                    # A list (e.g. AdditionalCodeRepositories): drop the entries, keep the rest.
                    kept = [v for v in props[key] if not (refs_in(v) & removed)]
                    changes.append(("reference-to-removed", f"{lid}.{key}[{len(props[key]) - len(kept)} entries]"))
                    props[key] = kept
                    if not kept:
                        del props[key]
                else:
                    changes.append(("reference-to-removed", f"{lid}.{key}"))
                    del props[key]
    for lid in sorted(res):
        doc = res[lid].get("Properties", {}).get("PolicyDocument")
        if doc is not None and not doc.get("Statement"):
            del res[lid]
            changes.append(("reference-to-removed", f"{lid} (no statement left)"))
    for oid in sorted(t.get("Outputs", {})):
        if refs_in(t["Outputs"][oid]) & removed:
            del t["Outputs"][oid]
            changes.append(("reference-to-removed", f"Outputs.{oid}"))

    for lid, r in res.items():
        if r["Type"] == "AWS::SageMaker::NotebookInstance":
            it = r["Properties"].get("InstanceType")
            if isinstance(it, str) and it not in MOTO_NOTEBOOK_INSTANCE_TYPES:
                r["Properties"]["InstanceType"] = MOTO_FALLBACK_INSTANCE_TYPE
                changes.append(("instance-type", f"{lid}.InstanceType={it}"))
        if r["Type"] == "AWS::SageMaker::NotebookInstanceLifecycleConfig":
            for hook in ("OnCreate", "OnStart"):
                for i, item in enumerate(r["Properties"].get(hook, [])):
                    content = item["Content"]
                    inner = content.get("Fn::Base64") if isinstance(content, dict) else None
                    if isinstance(inner, dict) and "Fn::Sub" in inner:
                        item["Content"] = {"Fn::Base64": sub_to_join(inner["Fn::Sub"])}
                        changes.append(("sub-to-join", f"{lid}.{hook}[{i}].Content"))
    return t, sorted(changes)


def _depends(r):
    d = r.get("DependsOn", [])
    return [d] if isinstance(d, str) else list(d)


# --------------------------------------------------------------------------------------------------
# A small evaluator of CloudFormation intrinsics with CloudFormation's (not moto's) semantics, fed
# with what moto created: used to compute what each resolved property must be.
# --------------------------------------------------------------------------------------------------
import re  # noqa: E402

SUB_VAR = re.compile(r"\$\{(!?)([^}]*)\}")


def sub_tokens(text):
    """Split an Fn::Sub string into ("lit", text) and ("var", name) tokens; `${!x}` is the literal `${x}`."""
    out, pos = [], 0
    for m in SUB_VAR.finditer(text):
        out.append(("lit", text[pos:m.start()]))
        if m.group(1):
            out.append(("lit", "${" + m.group(2) + "}"))
        else:
            out.append(("var", m.group(2)))
        pos = m.end()
    out.append(("lit", text[pos:]))
    merged = []
    for kind, val in out:
        if kind == "lit" and merged and merged[-1][0] == "lit":
            merged[-1] = ("lit", merged[-1][1] + val)
        elif not (kind == "lit" and val == ""):
            merged.append((kind, val))
    return merged


def sub_to_join(sub):
    text, names = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
    parts = []
    for kind, val in sub_tokens(text):
        if kind == "lit":
            parts.append(val)
        elif val in names:
            parts.append(names[val])
        elif "." in val:
            parts.append({"Fn::GetAtt": val.split(".", 1)})
        else:
            parts.append({"Ref": val})
    return {"Fn::Join": ["", parts]}


def sub_unescaped(text):
    """The Fn::Sub source with only the `${!...}` escapes undone: what nbsynth writes as plain text."""
    return "".join(val if kind == "lit" else "${" + val + "}" for kind, val in sub_tokens(text))


class Evaluator:
    """Resolve intrinsics: `ref(name)` and `getatt(name, attr)` supply what moto created."""

    def __init__(self, template, params, ref, getatt, pseudo, azs):
        self.t, self.params, self._ref, self._getatt, self.pseudo, self.azs = template, params, ref, getatt, pseudo, azs

    def condition(self, name):
        return bool(self.eval(self.t["Conditions"][name]))

    def ref(self, name):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        return self._ref(name)

    def eval(self, v):
        if isinstance(v, list):
            return [self.eval(x) for x in v]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (k, a), = v.items()
            if k == "Ref":
                return self.ref(a)
            if k == "Fn::GetAtt":
                name, attr = a if isinstance(a, list) else a.split(".", 1)
                return self._getatt(name, attr)
            if k == "Fn::Sub":
                text, names = (a[0], a[1]) if isinstance(a, list) else (a, {})
                names = {n: self.eval(x) for n, x in names.items()}
                out = []
                for kind, val in sub_tokens(text):
                    if kind == "lit":
                        out.append(val)
                    elif val in names:
                        out.append(str(names[val]))
                    elif "." in val:
                        out.append(str(self._getatt(*val.split(".", 1))))
                    else:
                        out.append(str(self.ref(val)))
                return "".join(out)
            if k == "Fn::Join":
                return a[0].join(str(x) for x in self.eval(a[1]))
            if k == "Fn::Select":
                return self.eval(a[1])[int(self.eval(a[0]))]
            if k == "Fn::GetAZs":
                return list(self.azs)
            if k == "Fn::Base64":
                import base64
                return base64.b64encode(self.eval(a).encode()).decode()
            if k == "Fn::Equals":
                x, y = self.eval(a)
                return x == y
            if k == "Fn::Not":
                return not self.eval(a[0])
            if k == "Fn::And":
                return all(self.eval(a))
            if k == "Fn::Or":
                return any(self.eval(a))
            if k == "Condition":
                return self.condition(a)
            if k == "Fn::If":
                return self.eval(a[1] if self.condition(a[0]) else a[2])
            if k.startswith("Fn::"):
                raise AssertionError(f"evaluator does not know {k}")
        return {k: self.eval(x) for k, x in v.items() if not (isinstance(x, dict) and x.get("Ref") == "AWS::NoValue")}
