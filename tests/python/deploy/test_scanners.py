"""The AWS Guard Rules Registry (its rule files, vendored under tests/guard-registry, run by the real
cfn-guard binary) on every example, and proof that nbsynth's waiver counterparts are real:

- every example template: 0 unsuppressed Guard failures; the suppressions are counted and listed;
- control: the same template without `Metadata.guard` fails only suppressed (rule, resource) pairs,
  and every resource that carries suppressions fails, so none is decorative;
- the mapping table (`nbsynth explain RULE`, "Counterparts"): every listed Guard rule, checkov check
  and cfn-lint rule fails on the policy corpus file of its nbsynth rule and not on the corpus base,
  and the suppression nbsynth would write silences it there.
"""
import copy
import json
import os
import pathlib
import re
import shutil

import pytest
import yaml
from nbdeploy import run

ROOT = pathlib.Path(__file__).resolve().parents[3]
REGISTRY = ROOT / "tests/guard-registry/rules"
CORPUS = ROOT / "tests/policy/corpus"
OFFLINE_ENV = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags, read as their long forms."""


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


def load(path):
    return yaml.load(path.read_text(), Loader=CfnLoader)


@pytest.fixture(scope="session")
def cfn_guard():
    path = shutil.which("cfn-guard")
    assert path, "cfn-guard is not on PATH: run `bash .ci/setup-tools` (these tests never skip)"
    assert REGISTRY.is_dir() and any(REGISTRY.rglob("*.guard")), f"no Guard Rules Registry rules under {REGISTRY}"
    return path


def _resources_in(value, out):
    """Logical ids named by `/Resources/<id>` paths anywhere in cfn-guard's report of a check."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "path" and isinstance(v, str) and v.startswith("/Resources/"):
                out.add(v.split("/")[2])
            else:
                _resources_in(v, out)
    elif isinstance(value, list):
        for v in value:
            _resources_in(v, out)
    return out


def guard(cfn_guard, template):
    """{rule: set(resources)} of the registry rules the template fails."""
    p = run([cfn_guard, "validate", "-r", REGISTRY, "-d", template, "-o", "json", "-z", "--show-summary", "none"],
            timeout=300)
    # 0 all pass, 19 some rule failed; anything else means it did not run.
    assert p.returncode in (0, 19), f"cfn-guard did not run ({p.returncode}):\n{p.stderr}\n{p.stdout[:2000]}"
    reports = json.loads(p.stdout)
    assert len(reports) == 1, f"one data file, one report: {len(reports)}"
    failed = {}
    for item in reports[0]["not_compliant"]:
        rule = item["Rule"]["name"]
        failed.setdefault(rule, set()).update(_resources_in(item, set()) or {"(template)"})
    ran = len(reports[0]["not_compliant"]) + len(reports[0]["compliant"]) + len(reports[0]["not_applicable"])
    return failed, ran


def suppressions(template_doc, key):
    out = {}
    for rid, r in template_doc.get("Resources", {}).items():
        md = r.get("Metadata") or {}
        if key == "guard":
            for rule in (md.get("guard") or {}).get("SuppressedRules", []):
                out.setdefault(rule, set()).add(rid)
        elif key == "checkov":
            for s in (md.get("checkov") or {}).get("skip", []):
                out.setdefault(s["id"], set()).add(rid)
    return out


def test_guard_registry_on_every_example(blueprint, build, cfn_guard, tmp_path):
    template = build(blueprint, "json")
    doc = json.loads(template.read_text())
    failed, ran = guard(cfn_guard, template)
    suppressed = suppressions(doc, "guard")
    pairs = sorted((rule, rid) for rule, ids in suppressed.items() for rid in ids)
    print(f"\nGuard Rules Registry on {blueprint.stem}: {ran} rules, {sum(map(len, failed.values()))} failures, "
          f"{len(pairs)} suppressions")
    for rule, rid in pairs:
        reasons = [w["reason"] for w in doc["Resources"][rid].get("Metadata", {}).get("nbsynth", {}).get("waivers", [])]
        print(f"  suppressed {rule} on {rid}: {'; '.join(reasons) or '(no nbsynth reason!)'}")
        assert reasons, f"{rid} suppresses {rule} without an nbsynth waiver giving the reason"
    assert ran > 150, f"the registry ran only {ran} rules"
    assert not failed, f"Guard Rules Registry failures on {blueprint.stem}: {failed}"

    # Control: without the suppressions, every failure is a suppressed (rule, resource) pair and every
    # suppressing resource fails at least one of them. (A waiver suppresses all counterparts of its
    # nbsynth rule; a sibling that judges another shape of the defect may not fire here.)
    bare = copy.deepcopy(doc)
    for r in bare["Resources"].values():
        (r.get("Metadata") or {}).pop("guard", None)
    bare_path = tmp_path / "bare.json"
    bare_path.write_text(json.dumps(bare))
    failed_bare, _ = guard(cfn_guard, bare_path)
    got = sorted((rule, rid) for rule, ids in failed_bare.items() for rid in ids)
    print(f"  without Metadata.guard: {got}")
    assert set(got) <= set(pairs), f"failures {sorted(set(got) - set(pairs))} are not suppressed"
    silent = {rid for _, rid in pairs} - {rid for _, rid in got}
    assert not silent, f"{sorted(silent)} carry suppressions but fail no Guard rule without them"
    print(f"  suppressed but not firing here (siblings): {sorted(set(pairs) - set(got))}")


def test_some_example_carries_guard_suppressions(build):
    blueprints = sorted((ROOT / "blueprints").glob("*.yaml"))
    counted = {b.stem: sum(map(len, suppressions(json.loads(build(b, "json").read_text()), "guard").values()))
               for b in blueprints}
    print(f"\nGuard suppressions per example: {counted}")
    assert any(counted.values()), "no example exercises a Guard suppression, so the control above proves nothing"


def counterparts(nbsynth):
    """{nbsynth rule: {"guard": [...], "checkov": [...], "cfn-lint": [...]}} from `nbsynth explain`."""
    p = run([nbsynth, "rules"], timeout=60)
    assert p.returncode == 0, p.stderr
    ids = sorted(set(re.findall(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\b", p.stdout)))
    table = {}
    for rule in ids:
        e = run([nbsynth, "explain", rule], timeout=60)
        if e.returncode != 0 or "Counterparts (" not in e.stdout:
            continue
        tail = e.stdout.split("Counterparts (", 1)[1]
        row = {}
        for tool, label in (("guard", "Guard Rules Registry"), ("checkov", "checkov"), ("cfn-lint", "cfn-lint")):
            m = re.search(rf"^  {re.escape(label)}\s+(.+)$", tail, re.M)
            row[tool] = [] if not m or m.group(1).strip() == "none" else [x.strip() for x in m.group(1).split(",")]
        table[rule] = row
    assert table, "`nbsynth explain` lists no counterparts at all"
    return table


def _with_metadata(doc, resources, key, value):
    doc = copy.deepcopy(doc)
    for rid in resources:
        md = doc["Resources"][rid].setdefault("Metadata", {})
        md[key] = value
    return doc


def test_counterparts_fail_on_the_same_defect_and_their_suppression_works(nbsynth, cfn_guard, tool, tmp_path):
    table = counterparts(nbsynth)
    base = CORPUS / "_base.yaml"
    guard_base, _ = guard(cfn_guard, base)
    lines, problems = [], []
    checkov_cases = {}
    for rule, row in sorted(table.items()):
        files = sorted(CORPUS.glob(f"{rule}--*.yaml"))
        assert files, f"{rule} has counterparts but no corpus file"
        for g in row["guard"]:
            hits = {}
            for f in files:
                failed, _ = guard(cfn_guard, f)
                if g in failed and g not in guard_base:
                    hits[f] = failed[g]
            if not hits:
                problems.append(f"{rule}: Guard {g} fails on none of {[f.name for f in files]}")
                continue
            for f, resources in hits.items():
                resources.discard("(template)")
                doc = _with_metadata(load(f), resources, "guard", {"SuppressedRules": row["guard"]})
                p = tmp_path / f"{f.stem}.guard.json"
                p.write_text(json.dumps(doc))
                after, _ = guard(cfn_guard, p)
                lines.append(f"  {rule} -> Guard {g}: fails on {f.name} ({sorted(resources)}); suppressed: "
                             f"{'silent' if g not in after else 'STILL FAILS'}")
                if g in after:
                    problems.append(f"{rule}: Guard {g} still fails on {f.name} with the suppression")
        if row["checkov"]:
            checkov_cases[rule] = (files, row["checkov"])
        for lint in row["cfn-lint"]:
            hit = False
            for f in files:
                found = _cfn_lint_ids(tool, f)
                if lint in found and lint not in _cfn_lint_ids(tool, base):
                    hit = True
                    doc = load(f)
                    resources = set(found[lint])
                    doc = _with_metadata(doc, resources, "cfn-lint", {"config": {"ignore_checks": row["cfn-lint"]}})
                    p = tmp_path / f"{f.stem}.lint.json"
                    p.write_text(json.dumps(doc))
                    after = _cfn_lint_ids(tool, p)
                    lines.append(f"  {rule} -> cfn-lint {lint}: fails on {f.name} ({sorted(resources)}); "
                                 f"suppressed: {'silent' if lint not in after else 'STILL FAILS'}")
                    if lint in after:
                        problems.append(f"{rule}: cfn-lint {lint} still fails on {f.name} with the suppression")
            if not hit:
                problems.append(f"{rule}: cfn-lint {lint} fails on none of {[f.name for f in files]}")
    lines += _checkov_counterparts(tool, base, checkov_cases, tmp_path, problems)
    print("\nCounterparts checked on the policy corpus:\n" + "\n".join(lines))
    assert not problems, "\n".join(problems)


def _cfn_lint_ids(tool, template):
    """{rule id: [resources]} of cfn-lint's findings, informational ones included."""
    p = run([tool("cfn-lint"), "--include-checks", "I", "--format", "json", "--", template], env=OFFLINE_ENV,
            timeout=300)
    assert p.returncode in (0, 2, 4, 6, 8, 10, 12, 14), f"cfn-lint did not run ({p.returncode}):\n{p.stderr}"
    out = {}
    for f in json.loads(p.stdout or "[]"):
        path = f["Location"]["Path"]
        rid = path[1] if len(path) > 1 and path[0] == "Resources" else "(template)"
        out.setdefault(f["Rule"]["Id"], []).append(rid)
    return out


def _checkov(tool, directory):
    p = run([tool("checkov"), "-d", directory, "--framework", "cloudformation", "--skip-download", "-o", "json"],
            env=OFFLINE_ENV, timeout=900)
    assert p.stdout.strip(), f"checkov printed nothing ({p.returncode}):\n{p.stderr}"
    report = json.loads(p.stdout)
    report = report if isinstance(report, dict) else report[0]
    failed = {}
    for c in report["results"]["failed_checks"]:
        name = pathlib.Path(c["file_path"]).name
        rid = c["resource"].split(".", 1)[1] if "." in c["resource"] else c["resource"]
        failed.setdefault(name, {}).setdefault(c["check_id"], set()).add(rid)
    return failed


def _checkov_counterparts(tool, base, cases, tmp_path, problems):
    """One checkov run over the defect files and the base, one over the same files with the skips."""
    plain, skipped = tmp_path / "checkov-plain", tmp_path / "checkov-skipped"
    plain.mkdir()
    skipped.mkdir()
    shutil.copy(base, plain / base.name)
    for files, _ in cases.values():
        for f in files:
            shutil.copy(f, plain / f.name)
    before = _checkov(tool, plain)
    base_failed = before.get(base.name, {})
    hits = []
    for rule, (files, ids) in sorted(cases.items()):
        for check in ids:
            found = [(f, before.get(f.name, {}).get(check, set())) for f in files]
            found = [(f, r) for f, r in found if r and check not in base_failed]
            if not found:
                problems.append(f"{rule}: checkov {check} fails on none of {[f.name for f in files]}")
            for f, resources in found:
                skip = [{"id": i, "comment": f"waived: {rule}"} for i in ids]
                doc = _with_metadata(load(f), resources, "checkov", {"skip": skip})
                name = f"{f.stem}--{check}.json"
                (skipped / name).write_text(json.dumps(doc))
                hits.append((rule, check, f, resources, name))
    after = _checkov(tool, skipped) if hits else {}
    lines = []
    for rule, check, f, resources, name in hits:
        still = check in after.get(name, {})
        lines.append(f"  {rule} -> checkov {check}: fails on {f.name} ({sorted(resources)}); suppressed: "
                     f"{'STILL FAILS' if still else 'silent'}")
        if still:
            problems.append(f"{rule}: checkov {check} still fails on {f.name} with the skip")
    return lines
