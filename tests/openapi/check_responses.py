#!/usr/bin/env python3
"""Checks recorded HTTP answers against the response schemas of an OpenAPI 3.0 file.

Input (stdin): JSON lines {"method": "get", "path": "/eservices/{eserviceId}",
"status": 200, "contentType": "application/json", "text": "{...}"} where path is the
operation's path template in the OpenAPI file, contentType the answer's Content-Type
header (null when it had none) and text its body as received. A record may give
"body" (the parsed JSON) instead of "text". Prints one line per violation and exits 1
if there is any.

A JSON operation (its documented response for that status has a JSON media type) must
be answered with one of the documented media types as Content-Type and a body that is
JSON; a record without "contentType" cannot show that and is a violation. An answer
documented without content must have no body. `date-time` (like every format the
schemas use) is always checked: the checker refuses to run (exit 2) when jsonschema's
date-time format checker is not active, which happens when rfc3339-validator is not
installed.

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


def is_json_media(name):
    name = name.split(";")[0].strip().lower()
    return name == "application/json" or (name.startswith("application/") and name.endswith("+json"))


def documented_response(spec, method, path, status):
    """The response object documented for this status, with its $ref resolved."""
    op = spec["paths"].get(path, {}).get(method.lower())
    if op is None:
        return None, f"no operation {method.upper()} {path} in the file"
    responses = op.get("responses", {})
    resp = responses.get(str(status)) or responses.get("default")
    if resp is None:
        return None, f"{method.upper()} {path}: status {status} is not a documented response"
    if "$ref" in resp:
        resp = convert(resp, spec, set())
    return resp, None


def check_record(spec, rec, format_checker):
    """The violations of one recorded answer (a list of messages)."""
    resp, err = documented_response(spec, rec["method"], rec["path"], rec["status"])
    if err:
        return [err]
    content = resp.get("content") or {}
    json_media = [m for m in content if is_json_media(m)]
    has_text = "text" in rec
    if not json_media:
        if not content and has_text and rec["text"] not in ("", None):
            return [f"documented without content, answered with a body: {rec['text'][:200]!r}"]
        return []  # e.g. multipart/form-data: not checked here
    problems = []
    if "contentType" not in rec:
        problems.append(f"a JSON operation ({', '.join(json_media)}) recorded without the answer's Content-Type")
    else:
        ctype = rec["contentType"]
        media = ctype.split(";")[0].strip().lower() if isinstance(ctype, str) else None
        if media not in json_media:
            problems.append(f"answered with Content-Type {ctype!r}, documented: {', '.join(json_media)}")
    if has_text:
        text = rec["text"]
        if text in ("", None):
            return problems + ["a JSON operation answered without a body"]
        try:
            body = json.loads(text)
        except (TypeError, ValueError) as e:
            return problems + [f"the body is not JSON ({e}): {str(text)[:200]!r}"]
    elif "body" in rec and rec["body"] is not None:
        body = rec["body"]
    else:
        return problems + ["a JSON operation answered without a body"]
    schema = convert(json_media_schema(content, json_media, rec.get("contentType")), spec, set())
    validator = jsonschema.Draft4Validator(schema, format_checker=format_checker)
    for e in validator.iter_errors(body):
        loc = "/".join(str(p) for p in e.absolute_path)
        problems.append(f"at /{loc}: {e.message[:300]}")
    return problems


def json_media_schema(content, json_media, ctype):
    """The schema of the media type answered, else of the first documented JSON one."""
    media = ctype.split(";")[0].strip().lower() if isinstance(ctype, str) else None
    chosen = media if media in json_media else json_media[0]
    return content[chosen].get("schema", {})


def active_format_checker():
    """jsonschema's format checker, refusing to go on without its date-time check.

    jsonschema registers "date-time" only when rfc3339-validator can be imported; a
    missing package would otherwise silently accept any string as a date-time."""
    checker = jsonschema.FormatChecker()
    probes = (("2024-02-29T10:20:30Z", True), ("2024-02-29T10:20:30.5+01:00", True),
              ("2024-13-01T10:20:30Z", False), ("2024-02-29 10:20:30", False), ("ieri", False))
    if "date-time" not in checker.checkers or any(checker.conforms(v, "date-time") != ok for v, ok in probes):
        print("FATAL: jsonschema's date-time format checker is not active (is rfc3339-validator installed? "
              "python3 -m pip install -r tests/independent/requirements.txt)", file=sys.stderr)
        sys.exit(2)
    return checker


def main():
    spec_path = sys.argv[1]
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    format_checker = active_format_checker()
    failures = 0
    checked = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        rec = json.loads(line)
        checked += 1
        where = f'{rec["method"].upper()} {rec["path"]} -> {rec["status"]}'
        for problem in check_record(spec, rec, format_checker):
            print(f"VIOLATION {where}: {problem}")
            failures += 1
    for n in sorted(notes):
        print(f"NOTE spec: {n}")
    print(json.dumps({"checked": checked, "violations": failures}))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
