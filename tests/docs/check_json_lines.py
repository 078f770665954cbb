#!/usr/bin/python3
"""check_json_lines.py SCHEMA DOC FILE... — every JSON line ringstamp printed (FILEs) is valid
against the JSON Schema, every key it carries is described in DOC (as `key`), every key the
schema knows is described too, and every line type in the schema was seen at least once.
Prints each problem; exit 1 when there is any."""
import json
import re
import sys

import jsonschema

schema_path, doc_path, *files = sys.argv[1:]
schema = json.load(open(schema_path))
validator = jsonschema.Draft202012Validator(schema)
documented = set(re.findall(r"`([a-z0-9_]+)`", open(doc_path).read()))
problems = []
# Objects whose keys are data, not names: labels are the user's own.
FREE_KEYS = {"labels"}


def keys_of(value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            if k not in FREE_KEYS:
                keys_of(v, out)
    elif isinstance(value, list):
        for v in value:
            keys_of(v, out)


def schema_keys(node, out):
    if isinstance(node, dict):
        for k, v in node.get("properties", {}).items():
            out.add(k)
        for k in ("propertyNames",):
            if isinstance(node.get(k), dict):
                out.update(node[k].get("enum", []))
        for v in node.values():
            schema_keys(v, out)
    elif isinstance(node, list):
        for v in node:
            schema_keys(v, out)


seen_types = set()
printed = set()
lines = 0
for path in files:
    for n, text in enumerate(open(path), 1):
        if not text.strip():
            continue
        lines += 1
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{n}: not one JSON object on the line: {e}")
            continue
        seen_types.add(obj.get("type"))
        for e in validator.iter_errors(obj):
            where = "/".join(str(p) for p in e.absolute_path) or "(line)"
            problems.append(f"{path}:{n}: type {obj.get('type')}: {where}: {e.message[:300]}")
        keys_of(obj, printed)

for k in sorted(printed - documented):
    problems.append(f"key `{k}` is printed but not described in {doc_path}")
known = set()
schema_keys(schema, known)
for k in sorted(known - documented):
    problems.append(f"key `{k}` is in {schema_path} but not described in {doc_path}")
all_types = set(schema["properties"]["type"]["enum"])
for t in sorted(all_types - seen_types):
    problems.append(f"no line of type {t} was printed: the check did not cover it")
if lines == 0:
    problems.append("no JSON line at all")
for p in problems:
    print(p, file=sys.stderr)
print(f"{lines} lines of {len(seen_types)} types checked, {len(printed)} keys, "
      f"{len(problems)} problems")
sys.exit(1 if problems else 0)
