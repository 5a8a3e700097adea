# Produces DPoP proof fixtures independently of the Rust code (python `cryptography`).
import base64, hashlib, json
from cryptography.hazmat.primitives import serialization, hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

b = lambda x: base64.urlsafe_b64encode(x).rstrip(b'=').decode()
enc = lambda o: b(json.dumps(o, separators=(',', ':')).encode())
ath = b(hashlib.sha256(b"fixture-access-token").digest())

ek = serialization.load_pem_private_key(open('ec_p256_private.pem','rb').read(), None)
pn = ek.public_key().public_numbers()
x, y = b(pn.x.to_bytes(32,'big')), b(pn.y.to_bytes(32,'big'))
jwk = {"kty":"EC","crv":"P-256","x":x,"y":y}
jkt = b(hashlib.sha256(('{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' % (x, y)).encode()).digest())
h = {"typ":"dpop+jwt","alg":"ES256","jwk":jwk}
p = {"jti":"es256-fixture-1","htm":"POST","htu":"https://varco.example/token.oauth2","iat":1700000000,"ath":ath}
si = enc(h) + "." + enc(p)
r, s = utils.decode_dss_signature(ek.sign(si.encode(), ec.ECDSA(hashes.SHA256())))
open('dpop_es256.jwt','w').write(si + "." + b(r.to_bytes(32,'big') + s.to_bytes(32,'big')) + "\n")
print("es256 jkt", jkt)

rk = serialization.load_pem_private_key(open('rsa2048_private_pkcs8.pem','rb').read(), None)
rn = rk.public_key().public_numbers()
n = b(rn.n.to_bytes((rn.n.bit_length()+7)//8,'big')); e = b(rn.e.to_bytes((rn.e.bit_length()+7)//8,'big'))
h = {"typ":"dpop+jwt","alg":"RS256","jwk":{"kty":"RSA","n":n,"e":e}}
p = {"jti":"rs256-fixture-1","htm":"POST","htu":"https://varco.example/token.oauth2","iat":1700000000}
si = enc(h) + "." + enc(p)
open('dpop_rs256.jwt','w').write(si + "." + b(rk.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256())) + "\n")
print("rs256 jkt", b(hashlib.sha256(('{"e":"%s","kty":"RSA","n":"%s"}' % (e, n)).encode()).digest()))
