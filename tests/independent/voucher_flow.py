#!/usr/bin/env python3
"""Independent check of Varco's token endpoint with a JOSE stack that is not Varco's.

It plays a PDND client and a PDND producer at once, using PyJWT and `cryptography`
only (HTTP with the standard library):

1. builds the client assertion exactly as the voucher contract says (header alg RS256,
   kid, typ JWT; claims iss = sub = client id, aud, jti, iat, exp, purposeId, digest);
2. POSTs the form to the token endpoint and checks the answer (200, token_type Bearer,
   expires_in, Cache-Control no-store, X-Rate-Limit-* headers);
3. fetches the JWKS and verifies the voucher as a producer would (typ at+jwt,
   signature, iss, aud, exp) plus the claims of its kind (consumer or api);
4. sends a tampered assertion and checks the generic 400 problem (code 015-0008).

Prints a JSON summary on stdout; exits non-zero with a clear message on any mismatch.

    pip install -r tests/independent/requirements.txt
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

EXIT_MISMATCH = 1
EXIT_MISSING_DEPS = 3

try:
    import jwt  # PyJWT
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError as e:  # pragma: no cover - depends on the machine
    print(
        f"voucher_flow.py: missing Python dependency ({e}); run "
        "`python3 -m pip install -r tests/independent/requirements.txt`",
        file=sys.stderr,
    )
    sys.exit(EXIT_MISSING_DEPS)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GENERIC_CODE = "015-0008"
HTTP_TIMEOUT = 30


class Mismatch(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Mismatch(what)


def check_eq(actual, expected, what: str) -> None:
    if actual != expected:
        raise Mismatch(f"{what}: expected {expected!r}, got {actual!r}")


def is_uuid(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        return str(uuid.UUID(v)) == v.lower()
    except ValueError:
        return False


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# --------------------------------------------------------------------------- HTTP


class Answer:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self, what: str):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Mismatch(f"{what}: body is not JSON ({e}): {self.body[:300]!r}")

    def header(self, name: str):
        return self.headers.get(name)


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> Answer:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
            return Answer(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.headers, e.read())
    except urllib.error.URLError as e:
        raise Mismatch(f"cannot reach {url}: {e.reason}")


def post_token(token_url: str, assertion: str, client_id: str) -> Answer:
    form = urllib.parse.urlencode(
        {
            "client_assertion": assertion,
            "client_assertion_type": ASSERTION_TYPE,
            "grant_type": "client_credentials",
            "client_id": client_id,
        }
    ).encode("ascii")
    return http(
        "POST",
        token_url,
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )


# ---------------------------------------------------------------------- the flow


def build_assertion(args, private_key, now: int) -> tuple[str, dict]:
    claims = {
        "iss": args.client_id,
        "sub": args.client_id,
        "aud": args.audience,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + args.lifetime,
    }
    if args.purpose_id:
        claims["purposeId"] = args.purpose_id
    if args.digest_of is not None:
        claims["digest"] = {
            "alg": "SHA256",
            "value": hashlib.sha256(args.digest_of.encode("utf-8")).hexdigest(),
        }
    token = jwt.encode(
        claims,
        private_key,
        algorithm="RS256",
        headers={"kid": args.kid, "typ": "JWT"},
    )
    # What we sent must be what the contract says (PyJWT may add header fields).
    header = jwt.get_unverified_header(token)
    check_eq(header.get("alg"), "RS256", "assertion header alg")
    check_eq(header.get("kid"), args.kid, "assertion header kid")
    check_eq(header.get("typ"), "JWT", "assertion header typ")
    return token, claims


def rfc7638_kid(private_key) -> str:
    """The RFC 7638 SHA-256 thumbprint of the public half, computed here, not by Varco."""
    nums = private_key.public_key().public_numbers()

    def b64int(i: int) -> str:
        return b64url(i.to_bytes((i.bit_length() + 7) // 8 or 1, "big"))

    canonical = json.dumps({"e": b64int(nums.e), "kty": "RSA", "n": b64int(nums.n)},
                           separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def tamper(assertion: str) -> str:
    """Same header and signature, payload changed (another jti): the signature no
    longer matches, everything else is still valid."""
    h, p, s = assertion.split(".")
    payload = json.loads(b64url_decode(p))
    payload["jti"] = str(uuid.uuid4())
    p2 = b64url(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    check(p2 != p, "tampering changed nothing")
    return f"{h}.{p2}.{s}"


def check_token_answer(a: Answer) -> dict:
    if a.status != 200:
        raise Mismatch(f"token endpoint answered {a.status}, expected 200: {a.body[:500]!r}")
    body = a.json("token answer")
    check(isinstance(body, dict), "token answer is not a JSON object")
    check_eq(body.get("token_type"), "Bearer", "token_type")
    check(isinstance(body.get("access_token"), str) and body["access_token"].count(".") == 2,
          f"access_token is not a compact JWS: {body.get('access_token')!r}")
    exp_in = body.get("expires_in")
    check(isinstance(exp_in, int) and not isinstance(exp_in, bool) and exp_in > 0,
          f"expires_in is not a positive integer: {exp_in!r}")
    cc = a.header("Cache-Control")
    check(cc is not None, "Cache-Control header missing")
    directives = [d.strip().lower() for d in cc.split(",")]
    check("no-store" in directives, f"Cache-Control lacks no-store: {cc!r}")
    rate = {}
    for name in ("X-Rate-Limit-Limit", "X-Rate-Limit-Interval", "X-Rate-Limit-Remaining"):
        v = a.header(name)
        check(v is not None, f"{name} header missing")
        check(v.strip().isdigit(), f"{name} is not a non-negative integer: {v!r}")
        rate[name] = int(v)
    check(rate["X-Rate-Limit-Limit"] > 0, "X-Rate-Limit-Limit is 0")
    check(rate["X-Rate-Limit-Remaining"] <= rate["X-Rate-Limit-Limit"],
          "X-Rate-Limit-Remaining above X-Rate-Limit-Limit")
    return {"body": body, "rate": rate, "cacheControl": cc}


def verify_voucher(args, voucher: str, expires_in: int, assertion_claims: dict) -> dict:
    header = jwt.get_unverified_header(voucher)
    check_eq(header.get("typ"), "at+jwt", "voucher header typ")
    check_eq(header.get("alg"), "RS256", "voucher header alg")
    check(isinstance(header.get("kid"), str) and header["kid"], "voucher header kid missing")

    # The producer's way: the JWKS, the key named by kid.
    jwks_answer = http("GET", args.jwks_url, headers={"Accept": "application/json"})
    check_eq(jwks_answer.status, 200, f"GET {args.jwks_url} status")
    jwks = jwks_answer.json("JWKS")
    check(isinstance(jwks, dict) and isinstance(jwks.get("keys"), list) and jwks["keys"],
          "JWKS has no keys")
    for k in jwks["keys"]:
        check(k.get("kty") == "RSA", f"JWKS key of type {k.get('kty')!r}")
        check("d" not in k and "p" not in k, "JWKS publishes private key material")
    client = jwt.PyJWKClient(args.jwks_url, cache_keys=False, timeout=HTTP_TIMEOUT)
    try:
        signing_key = client.get_signing_key_from_jwt(voucher)
    except jwt.exceptions.PyJWKClientError as e:
        raise Mismatch(f"voucher kid {header.get('kid')!r} not usable from the JWKS: {e}")
    try:
        claims = jwt.decode(
            voucher,
            signing_key.key,
            algorithms=["RS256"],
            audience=args.expect_aud,
            issuer=args.expect_iss,
            options={"require": ["exp", "iat", "iss", "aud", "jti", "sub", "nbf"]},
        )
    except jwt.exceptions.InvalidTokenError as e:
        raise Mismatch(f"voucher does not verify: {type(e).__name__}: {e}")

    # aud is one string (several audiences are joined with ",").
    check_eq(claims.get("aud"), args.expect_aud, "voucher aud")
    check_eq(claims.get("iss"), args.expect_iss, "voucher iss")
    check(is_uuid(claims.get("jti")), f"voucher jti is not a UUID: {claims.get('jti')!r}")
    check_eq(claims.get("sub"), args.client_id, "voucher sub")
    check_eq(claims.get("client_id"), args.client_id, "voucher client_id")
    check_eq(claims["exp"] - claims["iat"], expires_in, "voucher exp - iat vs expires_in")
    check_eq(claims.get("nbf"), claims["iat"], "voucher nbf")
    now = int(time.time())
    check(abs(claims["iat"] - now) <= 120, f"voucher iat {claims['iat']} far from now {now}")
    check("cnf" not in claims, "voucher has cnf without DPoP")

    if args.expect_kind == "consumer":
        check_eq(claims.get("purposeId"), args.purpose_id, "voucher purposeId")
        for name, expected in (
            ("eserviceId", args.expect_eservice_id),
            ("descriptorId", args.expect_descriptor_id),
            ("producerId", args.expect_producer_id),
            ("consumerId", args.expect_consumer_id),
        ):
            check(is_uuid(claims.get(name)), f"voucher {name} is not a UUID: {claims.get(name)!r}")
            if expected is not None:
                check_eq(claims.get(name), expected, f"voucher {name}")
        if "digest" in assertion_claims:
            check_eq(claims.get("digest"), assertion_claims["digest"], "voucher digest")
        else:
            check("digest" not in claims, "voucher has a digest the assertion did not carry")
        for name in ("role", "organizationId", "adminId"):
            check(name not in claims, f"consumer voucher has the API claim {name}")
    else:
        check(claims.get("role") in ("m2m", "m2m-admin"), f"voucher role: {claims.get('role')!r}")
        if args.expect_role is not None:
            check_eq(claims.get("role"), args.expect_role, "voucher role")
        check(is_uuid(claims.get("organizationId")),
              f"voucher organizationId is not a UUID: {claims.get('organizationId')!r}")
        if args.expect_organization_id is not None:
            check_eq(claims.get("organizationId"), args.expect_organization_id, "voucher organizationId")
        if claims["role"] == "m2m-admin":
            check(is_uuid(claims.get("adminId")), f"m2m-admin voucher adminId: {claims.get('adminId')!r}")
        else:
            check("adminId" not in claims, "m2m voucher has adminId")
        for name in ("purposeId", "eserviceId", "descriptorId", "producerId", "consumerId", "digest"):
            check(name not in claims, f"API voucher has the consumer claim {name}")
    return {"header": header, "claims": claims, "jwksKids": [k.get("kid") for k in jwks["keys"]]}


def check_generic_400(a: Answer, what: str) -> dict:
    check_eq(a.status, 400, f"{what}: status")
    ctype = (a.header("Content-Type") or "").split(";")[0].strip().lower()
    check_eq(ctype, "application/problem+json", f"{what}: Content-Type")
    body = a.json(what)
    check(isinstance(body, dict), f"{what}: problem body is not an object")
    check_eq(body.get("status"), 400, f"{what}: problem status")
    check_eq(body.get("detail"), "Bad request", f"{what}: problem detail")
    errors = body.get("errors")
    check(isinstance(errors, list) and errors, f"{what}: problem has no errors: {body!r}")
    check_eq(errors[0].get("code"), GENERIC_CODE, f"{what}: errors[0].code")
    check(is_uuid(body.get("correlationId")), f"{what}: correlationId is not a UUID")
    check("access_token" not in body, f"{what}: a token was issued")
    return body


def run(args) -> dict:
    with open(args.private_key, "rb") as f:
        pem = f.read()
    private_key = serialization.load_pem_private_key(pem, password=None)
    check(isinstance(private_key, rsa.RSAPrivateKey), "the private key is not an RSA key")
    check(private_key.key_size >= 2048, f"the private key has {private_key.key_size} bits")
    # The kid the platform assigned at upload must be the RFC 7638 thumbprint.
    check_eq(args.kid, rfc7638_kid(private_key), "kid vs RFC 7638 thumbprint of the key")

    now = int(time.time())
    assertion, assertion_claims = build_assertion(args, private_key, now)

    answer = check_token_answer(post_token(args.token_url, assertion, args.client_id))
    body = answer["body"]
    voucher = verify_voucher(args, body["access_token"], body["expires_in"], assertion_claims)

    tampered = check_generic_400(post_token(args.token_url, tamper(assertion), args.client_id),
                                 "tampered assertion")

    return {
        "ok": True,
        "kind": args.expect_kind,
        "clientId": args.client_id,
        "kid": args.kid,
        "assertionClaims": assertion_claims,
        "tokenType": body["token_type"],
        "expiresIn": body["expires_in"],
        "rateLimit": answer["rate"],
        "cacheControl": answer["cacheControl"],
        "voucherHeader": voucher["header"],
        "voucherClaims": voucher["claims"],
        "jwksKids": voucher["jwksKids"],
        "tamperedAssertion": {"status": 400, "code": tampered["errors"][0]["code"],
                              "correlationId": tampered["correlationId"]},
        "pyjwt": jwt.__version__,
    }


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--token-url", required=True)
    p.add_argument("--jwks-url", required=True)
    p.add_argument("--audience", required=True, help="aud of the client assertion")
    p.add_argument("--client-id", required=True)
    p.add_argument("--kid", required=True)
    p.add_argument("--private-key", required=True, help="PEM (PKCS#8 or PKCS#1) path")
    p.add_argument("--purpose-id")
    p.add_argument("--digest-of", help="a string whose SHA-256 goes in the assertion's digest")
    p.add_argument("--lifetime", type=int, default=600, help="assertion lifetime, seconds")
    p.add_argument("--expect-iss", required=True)
    p.add_argument("--expect-aud", required=True, help="aud of the voucher")
    p.add_argument("--expect-kind", required=True, choices=["consumer", "api"])
    p.add_argument("--expect-eservice-id")
    p.add_argument("--expect-descriptor-id")
    p.add_argument("--expect-producer-id")
    p.add_argument("--expect-consumer-id")
    p.add_argument("--expect-organization-id")
    p.add_argument("--expect-role", choices=["m2m", "m2m-admin"])
    args = p.parse_args(argv)
    if args.expect_kind == "consumer" and not args.purpose_id:
        p.error("--expect-kind consumer needs --purpose-id")
    if args.expect_kind == "api" and args.purpose_id:
        p.error("--expect-kind api takes no --purpose-id")
    if args.expect_kind == "api" and args.digest_of is not None:
        p.error("--digest-of is for consumer vouchers")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        summary = run(args)
    except Mismatch as e:
        print(f"voucher_flow.py: MISMATCH ({args.expect_kind}): {e}", file=sys.stderr)
        return EXIT_MISMATCH
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
