"""Validates a cdc-guard report the way its consumers read it.

Runs COMMAND (with @FORMAT@ replaced by --format), then:
  sarif: the official SARIF 2.1.0 JSON schema (jsonschema, with "format"
         checked: uri-reference for artifact URIs), and what GitHub code
         scanning relies on besides (rule indexes, fingerprints, locations);
  junit: the Jenkins xUnit plugin's junit-10.xsd (xmlschema), and counts
         that agree with the test cases.
Then runs COMMAND again with @FORMAT@ as json and checks that the report
holds the same findings and input errors as the JSON one.

Exit 0 when all holds; 1 with every problem listed otherwise.
Run by tests/consumers/run_python.sh with the venv of scripts/py-test-env.sh.
"""

import argparse
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

OBJECT_NAME = re.compile(r"^(kafkaconnector|kafkaconnect)/[^/]+/.+$", re.S)
RULE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class Problems:
    def __init__(self):
        self.items = []

    def check(self, ok, message):
        if not ok:
            self.items.append(message)
        return ok


def run(command, fmt):
    argv = [fmt if a == "@FORMAT@" else a for a in command]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return done.returncode, done.stdout, done.stderr


def xml_chars(text):
    """What XML 1.0 can hold of `text` (the renderer drops the rest)."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or (0x20 <= ord(c) <= 0xD7FF) or (0xE000 <= ord(c) <= 0xFFFD) or ord(c) >= 0x10000
    )


def validate_sarif(data, schema_path, twin, args, p):
    import jsonschema

    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        p.check(False, f"not JSON: {e}")
        return
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=jsonschema.FormatChecker())
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        p.check(False, f"schema: at {'/'.join(map(str, error.absolute_path))}: {error.message}")

    runs = doc.get("runs", [])
    if not p.check(len(runs) == 1, f"{len(runs)} runs, want 1"):
        return
    run_ = runs[0]
    driver = run_["tool"]["driver"]
    p.check(driver.get("name") == "cdc-guard", f"driver name {driver.get('name')!r}")
    p.check(bool(driver.get("version")), "no driver version")
    rules = driver.get("rules", [])
    ids = [r["id"] for r in rules]
    p.check(len(ids) == len(set(ids)), f"rule ids repeat: {ids}")
    for r in rules:
        for key in ("shortDescription", "fullDescription"):
            p.check(bool(r.get(key, {}).get("text")), f"rule {r['id']}: no {key}")
        p.check(bool(r.get("help", {}).get("markdown")), f"rule {r['id']}: no help.markdown")
        p.check(r.get("helpUri", "").endswith("#" + r["id"]), f"rule {r['id']}: helpUri {r.get('helpUri')}")

    results = run_.get("results", [])
    fingerprints = set()
    for i, r in enumerate(results):
        where = f"result {i} ({r.get('ruleId')})"
        index = r.get("ruleIndex")
        p.check(index is not None and 0 <= index < len(rules) and rules[index]["id"] == r["ruleId"],
                f"{where}: ruleIndex {index} is not its rule")
        p.check(r.get("level") in ("error", "warning"), f"{where}: level {r.get('level')}")
        fp = r.get("partialFingerprints", {}).get("cdcGuardFinding/v1")
        p.check(bool(fp), f"{where}: no partialFingerprints")
        fingerprints.add(fp)
        locations = r.get("locations", [])
        p.check(len(locations) == 1, f"{where}: {len(locations)} locations")
        for loc in locations:
            physical = loc.get("physicalLocation")
            p.check((physical is not None) == args.physical, f"{where}: physicalLocation {physical}")
            if physical:
                artifact = physical["artifactLocation"]
                p.check(artifact.get("uriBaseId") == "%SRCROOT%" and ":" not in artifact["uri"],
                        f"{where}: not a repository-relative uri: {artifact}")
                p.check(physical.get("region", {}).get("startLine", 0) >= 1, f"{where}: no startLine")
            logical = loc.get("logicalLocations", [])
            p.check(len(logical) == 1 and OBJECT_NAME.match(logical[0].get("fullyQualifiedName", ""))
                    and logical[0].get("kind") == "resource", f"{where}: logicalLocations {logical}")
    p.check(len(fingerprints) == len(results), "two results share a fingerprint")

    invocation = run_.get("invocations", [{}])[0]
    notifications = invocation.get("toolExecutionNotifications", [])
    p.check(invocation.get("executionSuccessful") == (not notifications),
            f"executionSuccessful {invocation.get('executionSuccessful')} with {len(notifications)} notifications")

    # The same findings as the JSON report, in its order.
    got = [(r["ruleId"], r["level"]) for r in results]
    want = [(v["rule"], v["severity"]) for v in twin["violations"]]
    p.check(got == want, f"results {got}\n  JSON has {want}")
    p.check(len(notifications) == len(twin.get("errors", [])),
            f"{len(notifications)} notifications, JSON has {len(twin.get('errors', []))} errors")


def validate_junit(data, schema_path, twin, args, p):
    import xmlschema

    schema = xmlschema.XMLSchema10(schema_path)
    try:
        text = data.decode("utf-8")
        schema.validate(text)
    except (UnicodeDecodeError, xmlschema.XMLSchemaException, ET.ParseError) as e:
        p.check(False, f"junit-10.xsd: {e}")
        return
    root = ET.fromstring(data)
    suites = root.findall("testsuite")
    if not p.check(root.tag == "testsuites" and len(suites) == 1, "want <testsuites> with one <testsuite>"):
        return
    suite = suites[0]
    p.check(suite.get("name") == args.suite, f"suite name {suite.get('name')!r}, want {args.suite!r}")
    cases = suite.findall("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    errored = [c for c in cases if c.find("error") is not None]
    for element in (root, suite):
        counts = {k: element.get(k) for k in ("tests", "failures", "errors")}
        want_counts = {"tests": str(len(cases)), "failures": str(len(failed)), "errors": str(len(errored))}
        p.check(counts == want_counts, f"<{element.tag}> says {counts}, its test cases {want_counts}")
    objects = [c for c in cases if c.find("error") is None]
    for c in objects:
        p.check(bool(OBJECT_NAME.match(c.get("name", ""))), f"test case name {c.get('name')!r}")
        p.check(bool(c.get("classname")), f"test case {c.get('name')!r} without classname")
        for f in c.findall("failure"):
            p.check(bool(RULE_ID.match(f.get("type", ""))), f"failure type {f.get('type')!r}")

    # Failures are the JSON report's deny-level violations, message for message.
    got = sorted((f.get("type"), f.get("message")) for c in cases for f in c.findall("failure"))
    want = sorted((v["rule"], xml_chars(v["message"])) for v in twin["violations"] if v["action"] == "deny")
    p.check(got == want, f"failures {got}\n  JSON has {want}")
    warnings = sum((c.findtext("system-out") or "").count(": warning: [") for c in cases)
    want_warnings = sum(1 for v in twin["violations"] if v["action"] != "deny")
    p.check(warnings == want_warnings, f"{warnings} warnings in system-out, JSON has {want_warnings}")
    checked = twin["summary"]["connectors"] + twin["summary"]["connectClusters"]
    p.check(len(objects) == checked, f"{len(objects)} object test cases, JSON checked {checked}")
    p.check(len(errored) == len(twin.get("errors", [])),
            f"{len(errored)} test cases in error, JSON has {len(twin.get('errors', []))} errors")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["sarif", "junit"], required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--expect-exit", type=int, required=True)
    parser.add_argument("--expect-findings", type=int, help="violations in the report")
    parser.add_argument("--expect-input-errors", type=int, default=0)
    parser.add_argument("--physical", choices=["yes", "no"], default="yes",
                        help="findings point at files (check) or only at objects (audit)")
    parser.add_argument("--suite", default="cdc-guard check", help="the JUnit suite's name")
    parser.add_argument("command", nargs="+", help="the command; @FORMAT@ stands for the format")
    args = parser.parse_args()
    args.physical = args.physical == "yes"

    p = Problems()
    code, out, err = run(args.command, args.format)
    p.check(code == args.expect_exit, f"exit code {code}, want {args.expect_exit}; stderr:\n{err.decode(errors='replace')}")
    twin_code, twin_out, _ = run(args.command, "json")
    p.check(twin_code == code, f"--output json exits {twin_code}, --output {args.format} {code}")
    twin = json.loads(twin_out)
    if args.expect_findings is not None:
        p.check(len(twin["violations"]) == args.expect_findings,
                f"{len(twin['violations'])} findings, want {args.expect_findings}")
    p.check(len(twin.get("errors", [])) == args.expect_input_errors,
            f"{len(twin.get('errors', []))} input errors, want {args.expect_input_errors}")

    if args.format == "sarif":
        validate_sarif(out, args.schema, twin, args, p)
    else:
        validate_junit(out, args.schema, twin, args, p)

    for item in p.items:
        print("FAIL:", item)
    if p.items:
        print(f"--- {args.format} output ---")
        print(out.decode("utf-8", errors="replace")[:6000])
        return 1
    print(f"ok: {args.format} valid against {args.schema.rsplit('/', 1)[-1]}; "
          f"{len(twin['violations'])} findings, {len(twin.get('errors', []))} input errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
