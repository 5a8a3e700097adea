#!/usr/bin/env python3
"""Independent check of SelfCare's identity token with a JOSE stack that is not Varco's.

Plays the back office that receives the token SelfCare hands over, using PyJWT and
`cryptography` only (HTTP with the standard library):

1. fetches SelfCare's JWKS (public RSA keys only) and finds the key named by the
   token's kid with PyJWT's PyJWKClient;
2. verifies the RS256 signature, `iss`, `aud`, `exp`, `iat` and `jti` with PyJWT;
3. checks the claims the README promises: the person (uid, fiscal_number, name,
   family_name), the Ente (`organization` with id, name, fiscal_code, ipaCode and
   the active roles on the environment's product), a lifetime of at most 60 s and
   `desired_exp` (the back-office session's end, at most 9 hours);
4. checks that PyJWT refuses it for another environment's audience, and tampered.

Prints a JSON summary on stdout; exits 1 with a clear message on any mismatch, 3 when
the Python dependencies are missing.

    pip install -r tests/independent/requirements.txt
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from voucher_flow import EXIT_MISMATCH, HTTP_TIMEOUT, Mismatch, b64url, b64url_decode, check, check_eq, http, is_uuid

import jwt  # PyJWT; voucher_flow has exited with code 3 if it is missing

MAX_LIFETIME = 60
MAX_SESSION = 9 * 3600


def run(args) -> dict:
    header = jwt.get_unverified_header(args.token)
    check_eq(header.get("alg"), "RS256", "identity token header alg")
    check(isinstance(header.get("kid"), str) and header["kid"], "identity token header has no kid")

    jwks_answer = http("GET", args.jwks_url, headers={"Accept": "application/json"})
    check_eq(jwks_answer.status, 200, f"GET {args.jwks_url} status")
    jwks = jwks_answer.json("SelfCare's JWKS")
    check(isinstance(jwks, dict) and isinstance(jwks.get("keys"), list) and jwks["keys"], "JWKS has no keys")
    for k in jwks["keys"]:
        check_eq(k.get("kty"), "RSA", "JWKS key type")
        check(not any(m in k for m in ("d", "p", "q", "dp", "dq", "qi")), "JWKS publishes private key material")

    client = jwt.PyJWKClient(args.jwks_url, cache_keys=False, timeout=HTTP_TIMEOUT)
    try:
        signing_key = client.get_signing_key_from_jwt(args.token)
    except jwt.exceptions.PyJWKClientError as e:
        raise Mismatch(f"identity token kid {header.get('kid')!r} not usable from SelfCare's JWKS: {e}")

    def decode(token: str, audience: str) -> dict:
        return jwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=args.expect_iss,
            options={"require": ["exp", "iat", "iss", "aud", "jti"]},
        )

    try:
        claims = decode(args.token, args.expect_aud)
    except jwt.exceptions.InvalidTokenError as e:
        raise Mismatch(f"identity token does not verify: {type(e).__name__}: {e}")

    check_eq(claims.get("iss"), args.expect_iss, "iss")
    check_eq(claims.get("aud"), args.expect_aud, "aud")
    check(is_uuid(claims.get("jti")), f"jti is not a UUID: {claims.get('jti')!r}")
    now = int(time.time())
    iat, exp = claims["iat"], claims["exp"]
    check(abs(iat - now) <= 120, f"iat {iat} far from now {now}")
    check(0 < exp - iat <= MAX_LIFETIME, f"lifetime {exp - iat} s, expected 1..{MAX_LIFETIME}")
    desired = claims.get("desired_exp")
    check(isinstance(desired, int) and exp < desired <= iat + MAX_SESSION,
          f"desired_exp {desired!r} not after exp and within {MAX_SESSION} s of iat")

    check(is_uuid(claims.get("uid")), f"uid is not a UUID: {claims.get('uid')!r}")
    check_eq(claims.get("fiscal_number"), args.expect_fiscal_number, "fiscal_number")
    check_eq(claims.get("name"), args.expect_name, "name")
    check_eq(claims.get("family_name"), args.expect_family_name, "family_name")

    org = claims.get("organization")
    check(isinstance(org, dict), f"organization is not an object: {org!r}")
    check(is_uuid(org.get("id")), f"organization.id is not a UUID: {org.get('id')!r}")
    check_eq(org.get("name"), args.expect_org_name, "organization.name")
    check(isinstance(org.get("fiscal_code"), str) and org["fiscal_code"], "organization.fiscal_code missing")
    check("ipaCode" in org and (org["ipaCode"] is None or isinstance(org["ipaCode"], str)),
          f"organization.ipaCode: {org.get('ipaCode')!r}")
    roles = org.get("roles")
    check(isinstance(roles, list) and roles, f"organization.roles is empty: {roles!r}")
    for r in roles:
        check(isinstance(r, dict) and set(r) == {"partyRole", "role", "productId"}, f"role claim shape: {r!r}")
        check(all(isinstance(v, str) and v for v in r.values()), f"role claim values: {r!r}")
        check_eq(r["productId"], args.expect_product, "role productId (only this environment's product)")

    # Another environment's back office must not accept it, nor anyone a tampered copy.
    try:
        decode(args.token, args.other_aud)
        raise Mismatch(f"PyJWT accepted the token for the audience {args.other_aud!r}")
    except jwt.exceptions.InvalidAudienceError:
        pass
    h, p, s = args.token.split(".")
    payload = json.loads(b64url_decode(p))
    payload["fiscal_number"] = "XXXXXX00X00X000X"
    tampered = f"{h}.{b64url(json.dumps(payload, separators=(',', ':')).encode())}.{s}"
    try:
        decode(tampered, args.expect_aud)
        raise Mismatch("PyJWT accepted a tampered identity token")
    except jwt.exceptions.InvalidSignatureError:
        pass

    return {
        "ok": True,
        "header": header,
        "claims": claims,
        "jwksKids": [k.get("kid") for k in jwks["keys"]],
        "pyjwt": jwt.__version__,
    }


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--token", required=True)
    p.add_argument("--jwks-url", required=True)
    p.add_argument("--expect-iss", required=True)
    p.add_argument("--expect-aud", required=True)
    p.add_argument("--other-aud", required=True, help="another environment's back-office audience")
    p.add_argument("--expect-fiscal-number", required=True)
    p.add_argument("--expect-name", required=True)
    p.add_argument("--expect-family-name", required=True)
    p.add_argument("--expect-org-name", required=True)
    p.add_argument("--expect-product", required=True)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        summary = run(args)
    except Mismatch as e:
        print(f"identity_token.py: MISMATCH: {e}", file=sys.stderr)
        return EXIT_MISMATCH
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
