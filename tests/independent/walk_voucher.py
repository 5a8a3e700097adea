#!/usr/bin/env python3
"""The voucher of the browser walk (tests/node/seed-walk.mjs), with PyJWT, not Varco.

The walk reads from "Simula l'ottenimento del voucher" the kid, the clientId, the
audience of the client assertion, the purposeId and the token endpoint's URL, and
hands them here with the private key it generated (PEM, on stdin; never on the
command line). This script:

1. builds the client assertion (header alg RS256, kid, typ JWT; claims iss = sub =
   clientId, aud, purposeId if given, jti, iat, exp) with PyJWT;
2. POSTs it to the token endpoint (application/x-www-form-urlencoded);
3. verifies the voucher against the environment's JWKS with PyJWT: signature, typ
   at+jwt, iss, aud (the e-service's audience, or the M2M one for a client API
   Interoperabilità), purposeId (or none), client_id, sub, role if asked.

Prints one JSON line (the voucher's header and claims, and the client assertion
built, for the "Debug client assertion" tool) on stdout; exits 1 with the
reason on any mismatch.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

try:
    import jwt  # PyJWT
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"walk_voucher.py: missing PyJWT ({e}); pip install -r tests/independent/requirements.txt", file=sys.stderr)
    sys.exit(3)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TIMEOUT = 30


def fail(what: str) -> None:
    print(f"walk_voucher.py: {what}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    p = argparse.ArgumentParser()
    for name in ("token-url", "kid", "client-id", "aud", "jwks-url", "expect-iss", "expect-aud"):
        p.add_argument(f"--{name}", required=True)
    # Without a purposeId: a client API Interoperabilità's assertion, and its voucher
    # has no purposeId; --expect-role then names the voucher's role (m2m, m2m-admin).
    p.add_argument("--purpose-id")
    p.add_argument("--expect-role")
    args = p.parse_args()
    private_key = sys.stdin.read().encode("ascii")

    now = int(time.time())
    claims = {
        "iss": args.client_id,
        "sub": args.client_id,
        "aud": args.aud,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
    }
    if args.purpose_id is not None:
        claims["purposeId"] = args.purpose_id
    assertion = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": args.kid, "typ": "JWT"})

    form = urllib.parse.urlencode(
        {
            "client_id": args.client_id,
            "client_assertion": assertion,
            "client_assertion_type": ASSERTION_TYPE,
            "grant_type": "client_credentials",
        }
    ).encode("ascii")
    req = urllib.request.Request(
        args.token_url,
        data=form,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except urllib.error.URLError as e:
        fail(f"cannot reach {args.token_url}: {e.reason}")
    if status != 200:
        fail(f"POST {args.token_url} answered {status}: {body[:500]!r}")
    answer = json.loads(body)
    if answer.get("token_type") != "Bearer" or not isinstance(answer.get("access_token"), str):
        fail(f"token endpoint's answer: {answer}")
    voucher = answer["access_token"]

    header = jwt.get_unverified_header(voucher)
    if header.get("typ") != "at+jwt" or header.get("alg") != "RS256":
        fail(f"voucher header: {header}")
    try:
        key = jwt.PyJWKClient(args.jwks_url, cache_keys=False, timeout=TIMEOUT).get_signing_key_from_jwt(voucher)
        got = jwt.decode(
            voucher,
            key.key,
            algorithms=["RS256"],
            audience=args.expect_aud,
            issuer=args.expect_iss,
            options={"require": ["exp", "iat", "iss", "aud", "jti", "sub"]},
        )
    except jwt.exceptions.PyJWTError as e:
        fail(f"the voucher does not verify against {args.jwks_url}: {type(e).__name__}: {e}")
    for name, expected in (
        ("aud", args.expect_aud),
        ("iss", args.expect_iss),
        ("purposeId", args.purpose_id),
        ("client_id", args.client_id),
        ("sub", args.client_id),
    ) + ((("role", args.expect_role),) if args.expect_role is not None else ()):
        if got.get(name) != expected:
            fail(f"voucher {name} is {got.get(name)!r}, expected {expected!r}")
    if args.purpose_id is None and "purposeId" in got:
        fail(f"voucher purposeId is {got['purposeId']!r}, expected none")
    print(
        json.dumps(
            {"ok": True, "expiresIn": answer.get("expires_in"), "header": header, "claims": got, "assertion": assertion}
        )
    )


if __name__ == "__main__":
    main()
