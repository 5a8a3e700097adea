#!/usr/bin/env python3
"""Checks recorded HTTP answers against the response schemas of an OpenAPI 3.0 file.

Input (stdin): JSON lines {"method": "get", "path": "/eservices/{eserviceId}",
"status": 200, "body": {...}} where path is the operation's path template in the
OpenAPI file. Prints one line per violation and exits 1 if there is any.

OpenAPI 3.0 schemas are not quite JSON Schema: `nullable` becomes a "null" type,
and boolean `exclusiveMaximum`/`exclusiveMinimum` are draft-4 style. PDND's files
also list, in a few schemas, required properties that the same schema does not
declare while forbidding additional ones (e.g. EService requires "descriptors"):
no object could satisfy those, so such required entries are dropped and reported
once as spec notes.
"""
import json
import sys

import jsonschema
import yaml

notes = set()


def convert(node, spec, seen):
    """Resolves $ref and turns an OpenAPI 3.0 schema into a draft-4 JSON Schema."""
    if isinstance(node, list):
        return [convert(x, spec, seen) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        name = ref.rsplit("/", 1)[-1]
        if name in seen:  # recursive schemas: stop (none in the parts we check)
            return {}
        target = spec
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return convert(target, spec, seen | {name})
    out = {}
    for k, v in node.items():
        if k in ("nullable", "example", "description", "discriminator", "xml", "externalDocs", "deprecated",
                 "readOnly", "writeOnly"):
            continue  # annotations of this schema, not constraints
        if k == "properties":
            # A map of property names (one may well be called "description").
            out[k] = {name: convert(sub, spec, seen) for name, sub in v.items()}
        else:
            out[k] = convert(v, spec, seen)
    if node.get("nullable"):
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
    if out.get("additionalProperties") is False and "required" in out:
        declared = set(out.get("properties", {}))
        missing = [r for r in out["required"] if r not in declared]
        if missing:
            notes.add(f"required but undeclared (dropped): {', '.join(missing)}")
            out["required"] = [r for r in out["required"] if r in declared]
    return out


def response_schema(spec, method, path, status):
    op = spec["paths"].get(path, {}).get(method.lower())
    if op is None:
        return None, f"no operation {method.upper()} {path} in the file"
    responses = op.get("responses", {})
    resp = responses.get(str(status)) or responses.get("default")
    if resp is None:
        return None, f"{method.upper()} {path}: status {status} is not a documented response"
    if "$ref" in resp:
        resp = convert(resp, spec, set())
    content = resp.get("content", {})
    media = content.get("application/json") or content.get("application/problem+json")
    if media is None:
        return {}, None
    return convert(media.get("schema", {}), spec, set()), None


def main():
    spec_path = sys.argv[1]
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    failures = 0
    checked = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        rec = json.loads(line)
        schema, err = response_schema(spec, rec["method"], rec["path"], rec["status"])
        checked += 1
        where = f'{rec["method"].upper()} {rec["path"]} -> {rec["status"]}'
        if err:
            print(f"VIOLATION {where}: {err}")
            failures += 1
            continue
        validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
        for e in validator.iter_errors(rec.get("body")):
            loc = "/".join(str(p) for p in e.absolute_path)
            print(f"VIOLATION {where} at /{loc}: {e.message[:300]}")
            failures += 1
    for n in sorted(notes):
        print(f"NOTE spec: {n}")
    print(json.dumps({"checked": checked, "violations": failures}))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
