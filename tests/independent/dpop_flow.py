#!/usr/bin/env python3
"""Independent check of Varco's DPoP flow (RFC 9449) with a JOSE stack that is not Varco's.

Plays a PDND API client using PyJWT and `cryptography` only (HTTP with the standard
library), with a DPoP key of its own (EC P-256, ES256) that Varco has never seen:

1. asks the token endpoint for an API voucher with a client assertion and a DPoP
   proof (typ dpop+jwt, jwk, htm POST, htu the token endpoint, iat, jti), checks
   token_type DPoP, and verifies the voucher with the JWKS: cnf.jkt must be the
   RFC 7638 thumbprint of the DPoP key, computed here;
2. calls the machine API v3 with `Authorization: DPoP <voucher>` and a proof for that
   call (htm GET, htu the URL without its query, ath = SHA-256 of the voucher): 200;
3. checks the refusals: at the token endpoint a proof for another htu and a proof used
   twice (the generic 400, code 015-0008); on v3 the same proof again, a proof for
   another URL and a proof without ath (401 problems); a fresh proof still works.

Prints a JSON summary on stdout; exits 1 with a clear message on any mismatch, 3 when
the Python dependencies are missing.

    pip install -r tests/independent/requirements.txt
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import urllib.parse
import uuid

from voucher_flow import (
    ASSERTION_TYPE,
    EXIT_MISMATCH,
    HTTP_TIMEOUT,
    Mismatch,
    b64url,
    build_assertion,
    check,
    check_eq,
    check_generic_400,
    http,
    rfc7638_kid,
)

import jwt  # PyJWT; voucher_flow has exited with code 3 if it is missing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def ec_public_jwk(private_key) -> dict:
    nums = private_key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(nums.x.to_bytes(32, "big")), "y": b64url(nums.y.to_bytes(32, "big"))}


def ec_thumbprint(jwk: dict) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, no whitespace."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def dpop_proof(key, htm: str, htu: str, access_token: str | None = None, jti: str | None = None,
               with_ath: bool = True) -> str:
    claims = {"htm": htm, "htu": htu, "iat": int(time.time()), "jti": jti or str(uuid.uuid4())}
    if access_token is not None and with_ath:
        claims["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
    proof = jwt.encode(claims, key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": ec_public_jwk(key)})
    header = jwt.get_unverified_header(proof)
    check_eq(header.get("typ"), "dpop+jwt", "proof header typ")
    check_eq(header.get("alg"), "ES256", "proof header alg")
    return proof


def post_token(token_url: str, assertion: str, client_id: str, proof: str):
    form = urllib.parse.urlencode(
        {
            "client_assertion": assertion,
            "client_assertion_type": ASSERTION_TYPE,
            "grant_type": "client_credentials",
            "client_id": client_id,
        }
    ).encode("ascii")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json", "DPoP": proof}
    return http("POST", token_url, form, headers)


def call_v3(url: str, voucher: str, proof: str):
    return http("GET", url, headers={"Authorization": f"DPoP {voucher}", "DPoP": proof, "Accept": "application/json"})


def check_api_401(a, what: str) -> dict:
    check_eq(a.status, 401, f"{what}: status")
    ctype = (a.header("Content-Type") or "").split(";")[0].strip().lower()
    check_eq(ctype, "application/problem+json", f"{what}: Content-Type")
    body = a.json(what)
    check_eq(body.get("status"), 401, f"{what}: problem status")
    errors = body.get("errors")
    check(isinstance(errors, list) and len(errors) == 1 and isinstance(errors[0].get("code"), str),
          f"{what}: problem errors: {body!r}")
    return {"status": 401, "title": body.get("title"), "detail": body.get("detail"), "code": errors[0]["code"]}


def run(args) -> dict:
    with open(args.private_key, "rb") as f:
        client_key = serialization.load_pem_private_key(f.read(), password=None)
    check_eq(args.kid, rfc7638_kid(client_key), "kid vs RFC 7638 thumbprint of the client key")
    dpop_key = ec.generate_private_key(ec.SECP256R1())
    jkt = ec_thumbprint(ec_public_jwk(dpop_key))
    assertion_args = argparse.Namespace(client_id=args.client_id, audience=args.audience, lifetime=600,
                                        purpose_id=None, digest_of=None, kid=args.kid)

    def assertion() -> str:
        return build_assertion(assertion_args, client_key, int(time.time()))[0]

    # 1. The voucher, bound to the DPoP key.
    token_proof = dpop_proof(dpop_key, "POST", args.token_url)
    a = post_token(args.token_url, assertion(), args.client_id, token_proof)
    if a.status != 200:
        raise Mismatch(f"token endpoint answered {a.status} to a DPoP request: {a.body[:500]!r}")
    body = a.json("token answer")
    check_eq(body.get("token_type"), "DPoP", "token_type")
    voucher = body.get("access_token")
    check(isinstance(voucher, str) and voucher.count(".") == 2, "access_token is not a compact JWS")
    check("no-store" in (a.header("Cache-Control") or ""), "Cache-Control lacks no-store")
    vheader = jwt.get_unverified_header(voucher)
    check_eq(vheader.get("typ"), "at+jwt", "voucher header typ")
    signing_key = jwt.PyJWKClient(args.jwks_url, cache_keys=False, timeout=HTTP_TIMEOUT).get_signing_key_from_jwt(voucher)
    try:
        claims = jwt.decode(voucher, signing_key.key, algorithms=["RS256"], audience=args.expect_aud,
                            issuer=args.expect_iss, options={"require": ["exp", "iat", "iss", "aud", "jti", "sub"]})
    except jwt.exceptions.InvalidTokenError as e:
        raise Mismatch(f"DPoP voucher does not verify: {type(e).__name__}: {e}")
    check_eq(claims.get("client_id"), args.client_id, "voucher client_id")
    check_eq(claims.get("cnf"), {"jkt": jkt}, "voucher cnf (thumbprint of our DPoP key)")

    # 1b. Token endpoint refusals: a proof for another htu, a proof used again.
    wrong_htu = check_generic_400(
        post_token(args.token_url, assertion(), args.client_id, dpop_proof(dpop_key, "POST", args.wrong_htu)),
        "token request with a proof for another htu")
    reused = check_generic_400(post_token(args.token_url, assertion(), args.client_id, token_proof),
                               "token request with a proof used before")

    # 2. The machine API v3, with a proof for this call.
    htu = args.api_url.split("?", 1)[0].split("#", 1)[0]
    call_proof = dpop_proof(dpop_key, "GET", htu, voucher)
    a = call_v3(args.api_url, voucher, call_proof)
    if a.status != 200:
        raise Mismatch(f"v3 answered {a.status} to a good DPoP call: {a.body[:500]!r}")
    check_eq((a.header("Content-Type") or "").split(";")[0].strip(), "application/json", "v3 Content-Type")
    page = a.json("v3 answer")
    check(isinstance(page.get("results"), list) and isinstance(page.get("pagination"), dict),
          f"v3 answer is not a page: {page!r}")

    # 3. v3 refusals, then a fresh proof that still works.
    replayed = check_api_401(call_v3(args.api_url, voucher, call_proof), "v3 with the same proof again")
    other_url = check_api_401(call_v3(args.api_url, voucher, dpop_proof(dpop_key, "GET", htu + "x", voucher)),
                              "v3 with a proof for another URL")
    no_ath = check_api_401(call_v3(args.api_url, voucher, dpop_proof(dpop_key, "GET", htu, voucher, with_ath=False)),
                           "v3 with a proof without ath")
    again = call_v3(args.api_url, voucher, dpop_proof(dpop_key, "GET", htu, voucher))
    check_eq(again.status, 200, "v3 with a fresh proof after the refusals")

    return {
        "ok": True,
        "tokenType": body["token_type"],
        "jkt": jkt,
        "voucherClaims": claims,
        "v3Results": len(page["results"]),
        "tokenRefusals": {
            "wrongHtu": {"status": 400, "code": wrong_htu["errors"][0]["code"]},
            "reusedProof": {"status": 400, "code": reused["errors"][0]["code"]},
        },
        "v3Refusals": {"replayed": replayed, "otherUrl": other_url, "noAth": no_ath},
        "pyjwt": jwt.__version__,
    }


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--token-url", required=True)
    p.add_argument("--jwks-url", required=True)
    p.add_argument("--audience", required=True, help="aud of the client assertion")
    p.add_argument("--client-id", required=True, help="an API client's id")
    p.add_argument("--kid", required=True)
    p.add_argument("--private-key", required=True, help="the client's PEM (PKCS#8 or PKCS#1) path")
    p.add_argument("--expect-iss", required=True)
    p.add_argument("--expect-aud", required=True, help="the M2M audience")
    p.add_argument("--api-url", required=True, help="a v3 GET URL, e.g. .../api/v3/eservices?offset=0&limit=5")
    p.add_argument("--wrong-htu", required=True, help="a URL that is not the token endpoint")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        summary = run(args)
    except Mismatch as e:
        print(f"dpop_flow.py: MISMATCH: {e}", file=sys.stderr)
        return EXIT_MISMATCH
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
