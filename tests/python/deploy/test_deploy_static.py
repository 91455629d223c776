"""cfn-lint and checkov on the template of every example blueprint (YAML and, for cfn-lint, JSON too)."""
import json
import os
import time

import pytest
from nbdeploy import run

# Both tools must only look at the file: checkov's --skip-download plus BC_SKIP_MAPPING (no guideline
# mapping fetch from its platform).
OFFLINE_ENV = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}


def _cfn_lint(tool, template):
    t0 = time.monotonic()
    p = run([tool("cfn-lint"), "--format", "json", "--", template], env=OFFLINE_ENV, timeout=300)
    elapsed = time.monotonic() - t0
    # cfn-lint exits 0 when clean, a bit mask (2 error, 4 warning, 8 informational) otherwise;
    # anything else (1, or no JSON) means it did not run.
    assert p.returncode in (0, 2, 4, 6, 8, 10, 12, 14), f"cfn-lint did not run ({p.returncode}):\n{p.stderr}"
    findings = json.loads(p.stdout or "[]")
    return findings, elapsed, p.returncode


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_cfn_lint_clean(blueprint, fmt, build, tool):
    template = build(blueprint, fmt)
    findings, elapsed, rc = _cfn_lint(tool, template)
    by_level = {}
    for f in findings:
        by_level.setdefault(f["Level"], []).append(f)
    lines = [
        f'  {f["Level"]} {f["Rule"]["Id"]} {f["Location"]["Path"]} line {f["Location"]["Start"]["LineNumber"]}: {f["Message"]}'
        for f in findings
    ]
    print(
        f"\ncfn-lint {blueprint.stem} ({fmt}, {template.stat().st_size} bytes): "
        f"{len(by_level.get('Error', []))} errors, {len(by_level.get('Warning', []))} warnings, "
        f"{len(by_level.get('Informational', []))} informational, {elapsed:.1f}s"
    )
    print("\n".join(lines))
    bad = [f for f in findings if f["Level"] in ("Error", "Warning")]
    assert not bad, f"cfn-lint findings on {template.name}:\n" + "\n".join(lines)
    assert rc in (0, 8), f"cfn-lint exit status {rc} without error/warning findings?"


def test_checkov_clean(blueprint, build, tool):
    template = build(blueprint)
    t0 = time.monotonic()
    p = run(
        [tool("checkov"), "-f", template, "--framework", "cloudformation", "--skip-download", "-o", "json"],
        env=OFFLINE_ENV, timeout=600,
    )
    elapsed = time.monotonic() - t0
    assert p.stdout.strip(), f"checkov printed nothing ({p.returncode}):\n{p.stderr}"
    report = json.loads(p.stdout)
    # One framework gives one report object; a list would mean several frameworks ran.
    reports = report if isinstance(report, list) else [report]
    assert len(reports) == 1 and reports[0].get("check_type") == "cloudformation", (
        f"unexpected checkov output shape: {p.stdout[:500]}"
    )
    summary = reports[0]["summary"]
    results = reports[0]["results"]
    failed = results["failed_checks"]
    print(
        f"\ncheckov {blueprint.stem}: passed {summary['passed']}, failed {summary['failed']}, "
        f"skipped {summary['skipped']}, parsing errors {summary['parsing_errors']}, "
        f"resources {summary['resource_count']}, {elapsed:.1f}s"
    )
    for c in failed:
        print(f"  FAILED {c['check_id']} {c['resource']}: {c['check_name']}")
    for c in results.get("skipped_checks", []):
        print(f"  skipped {c['check_id']} {c['resource']}: {(c.get('check_result') or {}).get('suppress_comment')}")
    assert summary["parsing_errors"] == 0, f"checkov could not parse {template.name}"
    assert summary["failed"] == 0 and not failed, "checkov failed checks: " + ", ".join(
        sorted({f"{c['check_id']} ({c['resource']})" for c in failed})
    )
    assert summary["passed"] > 0, "checkov ran no checks at all"
    assert summary["resource_count"] > 0
