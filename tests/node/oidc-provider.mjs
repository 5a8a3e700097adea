// A real OpenID Connect provider for Varco's tests: `oidc-provider` (the certified
// Node implementation, nobody here wrote it) on 127.0.0.1, standing in for the
// provider SelfCare reaches SPID and CIE through.
//
//   node oidc-provider.mjs --port 0 --client-id varco --client-secret s3cret \
//        --redirect-uri http://127.0.0.1:8080/selfcare/login/oidc/callback
//
// Options (each also as an environment variable, OIDC_PORT, OIDC_CLIENT_ID, ...):
//   --port           port to listen on; 0 (the default) picks a free one
//   --client-id      the one registered client (default "varco")
//   --client-secret  its secret (client_secret_basic); without one the client is
//                    public (token_endpoint_auth_method "none", PKCE only)
//   --redirect-uri   its redirect URI (required)
//   --claims-in      "id_token" (default): name, family_name and fiscal_number are in
//                    the ID Token; "userinfo": only in the UserInfo response, as the
//                    OpenID Connect spec has it for the code flow
//   --claim-style    "spid" (default): fiscal_number, family_name; "camel":
//                    fiscalNumber, familyName (as some gateways spell them)
//   --rotate-keys    sign with a new key that the first JWKS response does not list
//                    yet (the relying party must fetch the keys again)
//   --acr            the authentication level (`acr`) of a login: "requested" (the
//                    default) gives the first level of the request's acr_values, as
//                    a SPID gateway authenticates at the level asked; a value (e.g.
//                    https://www.spid.gov.it/SpidL1) gives that one; "none", no acr
//
// Login (the library's development interactions): GET the authorization URL, follow
// to /interaction/<uid>, POST `prompt=login&login=<codice fiscale>&password=x` to
// the form's action, follow, POST `prompt=consent` likewise, follow to the client.
// Known people: RSSMRA80A01H501U (Mario Rossi), BNCMRA85M41F205D (Maria Bianchi),
// BNCLRA99T71L219W (Laura Bianchi); any other login is refused.
//
// Prints `READY <issuer>` once listening; exits on SIGTERM/SIGINT, when stdin
// (if a pipe) closes, or when the parent process goes away.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { fstatSync } from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT ?? '0' },
    'client-id': { type: 'string', default: process.env.OIDC_CLIENT_ID ?? 'varco' },
    'client-secret': { type: 'string', default: process.env.OIDC_CLIENT_SECRET ?? '' },
    'redirect-uri': { type: 'string', default: process.env.OIDC_REDIRECT_URI ?? '' },
    'claims-in': { type: 'string', default: process.env.OIDC_CLAIMS_IN ?? 'id_token' },
    'claim-style': { type: 'string', default: process.env.OIDC_CLAIM_STYLE ?? 'spid' },
    'rotate-keys': { type: 'boolean', default: process.env.OIDC_ROTATE_KEYS === '1' },
    acr: { type: 'string', default: process.env.OIDC_ACR ?? 'requested' },
  },
});

function fail(message) {
  process.stderr.write(`oidc-provider.mjs: ${message}\n`);
  process.exit(2);
}

const port = Number(opts.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${opts.port}`);
if (!opts['redirect-uri']) fail('--redirect-uri is required');
if (!['id_token', 'userinfo'].includes(opts['claims-in'])) fail('--claims-in is id_token or userinfo');
if (!['spid', 'camel'].includes(opts['claim-style'])) fail('--claim-style is spid or camel');

const PEOPLE = {
  RSSMRA80A01H501U: { name: 'Mario', family: 'Rossi' },
  BNCMRA85M41F205D: { name: 'Maria', family: 'Bianchi' },
  BNCLRA99T71L219W: { name: 'Laura', family: 'Bianchi' },
};
const camel = opts['claim-style'] === 'camel';
const FISCAL = camel ? 'fiscalNumber' : 'fiscal_number';
const FAMILY = camel ? 'familyName' : 'family_name';

function rsaSigningKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}
// The first key of the set is the one the provider signs with.
const signing = rsaSigningKey(`new-${randomBytes(6).toString('hex')}`);
const older = rsaSigningKey(`old-${randomBytes(6).toString('hex')}`);

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const client = {
  client_id: opts['client-id'],
  redirect_uris: [opts['redirect-uri']],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  id_token_signed_response_alg: 'RS256',
};
if (opts['client-secret']) {
  client.client_secret = opts['client-secret'];
  client.token_endpoint_auth_method = 'client_secret_basic';
} else {
  client.token_endpoint_auth_method = 'none';
}

// SPID's levels, advertised in the discovery document (acr_values_supported).
const SPID_LEVELS = [1, 2, 3].map((n) => `https://www.spid.gov.it/SpidL${n}`);

const provider = new Provider(issuer, {
  acrValues: SPID_LEVELS,
  clients: [client],
  jwks: { keys: [signing, older] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // PKCE (S256, the only method oidc-provider offers) for every client.
  pkce: { required: () => true },
  scopes: ['openid'],
  claims: { acr: null, openid: ['sub'], profile: ['name', FAMILY, FISCAL] },
  // false: the profile claims go into the ID Token even in the code flow.
  conformIdTokenClaims: opts['claims-in'] === 'userinfo',
  features: { devInteractions: { enabled: true }, userinfo: { enabled: true } },
  async findAccount(_ctx, sub) {
    const person = PEOPLE[sub];
    if (!person) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, name: person.name, [FAMILY]: person.family, [FISCAL]: `TINIT-${sub}` };
      },
    };
  },
  renderError(ctx, out) {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `oidc-provider error: ${out.error}: ${out.error_description ?? ''}\n`;
  },
});

if (opts['rotate-keys']) {
  // The first JWKS response lists only the older key, as if the provider had added
  // its new signing key after the relying party started.
  let first = true;
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks' && ctx.method === 'GET' && first && ctx.body?.keys) {
      first = false;
      ctx.body = { keys: ctx.body.keys.filter((k) => k.kid === older.kid) };
    }
  });
}

if (opts.acr !== 'none') {
  // The development login records no level: add the one this provider grants
  // to the login's result, which the ID Token's acr comes from.
  const finished = provider.interactionFinished.bind(provider);
  provider.interactionFinished = async (req, res, result, options) => {
    if (result?.login) {
      let acr = opts.acr;
      if (acr === 'requested') {
        const { params } = await provider.interactionDetails(req, res);
        acr = String(params.acr_values ?? '').split(' ').find(Boolean);
      }
      if (acr) result.login.acr = acr;
    }
    return finished(req, res, result, options);
  };
}

provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider server_error: ${err?.stack ?? err}\n`));
server.on('request', provider.callback());

function stop() {
  server.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
try {
  if (fstatSync(0).isFIFO()) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
} catch {
  // No stdin at all: rely on the signals and the parent check below.
}
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 1000).unref();

process.stdout.write(`READY ${issuer}\n`);
