#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keeps data/workflow.schema.json in step with the validator in sdk/ark-workflow.c.

Every tests/workflows/valid/*.json and examples/*.json must pass the schema. Every
tests/workflows/invalid/*.json must be refused, either because it is not strict JSON (what the
daemon refuses before looking at the schema: trailing data, comments, duplicate member names,
NaN) or by the schema, unless its .expect file has a line "semantic": its problem is one the
schema can not express (cycles, unknown needs, duplicate ids, duration overflow) and only the
daemon finds it.

Usage: check-workflow-schema.py SOURCE_ROOT
"""

import glob
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    print("1..0 # SKIP python3-jsonschema is not installed")
    sys.exit(77)


class NotStrictJson(ValueError):
    pass


def reject_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise NotStrictJson(f"duplicate member '{key}'")
        seen[key] = value
    return seen


def reject_constant(name):
    raise NotStrictJson(f"{name} is not JSON")


def load_strict(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode("utf-8")
    return json.loads(text, object_pairs_hook=reject_duplicates, parse_constant=reject_constant)


def is_semantic(path):
    expect = path[: -len(".json")] + ".expect"
    try:
        with open(expect, encoding="utf-8") as f:
            return any(line.strip() == "semantic" for line in f)
    except FileNotFoundError:
        return False


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    root = sys.argv[1]
    with open(os.path.join(root, "data", "workflow.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    valid = sorted(glob.glob(os.path.join(root, "tests", "workflows", "valid", "*.json")))
    valid += sorted(glob.glob(os.path.join(root, "examples", "*.json")))
    invalid = sorted(glob.glob(os.path.join(root, "tests", "workflows", "invalid", "*.json")))
    if not valid or not invalid:
        print("Bail out! no fixtures found under", root)
        return 1

    results = []
    for path in valid:
        name = os.path.relpath(path, root)
        try:
            doc = load_strict(path)
        except (ValueError, UnicodeDecodeError) as e:
            results.append((False, f"{name} is valid", f"not strict JSON: {e}"))
            continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        detail = "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
        results.append((not errors, f"{name} is valid", detail))

    for path in invalid:
        name = os.path.relpath(path, root)
        if is_semantic(path):
            results.append((None, f"{name} is invalid", "semantic, only the daemon can tell"))
            continue
        try:
            doc = load_strict(path)
        except (ValueError, UnicodeDecodeError) as e:
            results.append((True, f"{name} is invalid", f"not strict JSON: {e}"))
            continue
        errors = list(validator.iter_errors(doc))
        results.append((bool(errors), f"{name} is invalid",
                        "the schema accepts it" if not errors else errors[0].message))

    print(f"1..{len(results)}")
    failed = 0
    for n, (ok, what, detail) in enumerate(results, 1):
        if ok is None:
            print(f"ok {n} {what} # SKIP {detail}")
        elif ok:
            print(f"ok {n} {what}")
        else:
            failed += 1
            print(f"not ok {n} {what}")
            print(f"# {detail}")
    print(f"# {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
