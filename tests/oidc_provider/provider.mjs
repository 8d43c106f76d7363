// A real OpenID provider for Pac's login tests: the certified npm
// `oidc-provider` (pinned in package.json), listening on 127.0.0.1 only.
// Nothing here forges tokens: the provider issues and signs them itself.
//
//   node provider.mjs '{"port": 0, "clients": [...], "accounts": {...}}'
//
// `port` 0 lets the system choose; the first line on stdout is
// `listening http://127.0.0.1:PORT` (the issuer). Clients are
// oidc-provider client metadata; `accounts` maps a login name (the `sub`)
// to the claims the provider releases for it (e.g. `groups`, `roles`,
// `email`). Logins go through oidc-provider's own development interactions
// (a login form, then a consent form; the password is not checked), which
// a test completes with plain form POSTs.
//
// `tenant` (optional) makes it look like one tenant of Microsoft Entra ID:
// its issuer is `http://127.0.0.1:PORT/TENANT/v2.0`, its ID tokens carry
// `tid` (the account's, from `accounts`), and, as Entra's multi-tenant
// endpoint does, `/organizations/v2.0/.well-known/openid-configuration`
// serves the same metadata with the issuer template
// `http://127.0.0.1:PORT/{tenantid}/v2.0`. The tokens are still issued and
// signed by oidc-provider for its real (tenant) issuer.
//
// State is in memory: one provider per test.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const accounts = cfg.accounts ?? {};

const newKey = (kid) => ({
  ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid,
  use: 'sig',
  alg: 'RS256',
});

// Test controls beside the provider's own routes:
//   POST /__test/rotate  signs with a new key from now on, and publishes only
//                        it (the old one is withdrawn); answers the new kid
//   GET  /__test/stats   {"jwksHits": N}: how often /jwks was fetched
let keys = [newKey('k1')];
let jwksHits = 0;
const cookieKeys = [crypto.randomBytes(32).toString('hex')];

const server = http.createServer();
server.listen(cfg.port ?? 0, '127.0.0.1', () => {
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;
  const prefix = cfg.tenant ? `/${cfg.tenant}/v2.0` : '';
  const issuer = `${base}${prefix}`;
  // A new Provider per key set; its in-memory state (sessions, grants,
  // codes) is module-wide in oidc-provider, so it survives the rebuild.
  const build = () => new Provider(issuer, {
    clients: cfg.clients ?? [],
    jwks: { keys },
    cookies: { keys: cookieKeys },
    // Claims asked for by scope go into the ID token (as Entra's `groups`
    // and `roles` do), not only into userinfo.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub', 'groups', 'roles', 'tid'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    // Every client must use PKCE (S256), confidential ones too, except
    // those listed in `pkceOptional` (clients the test itself drives to
    // fetch raw ID tokens).
    pkce: { required: (_ctx, client) => !(cfg.pkceOptional ?? []).includes(client.clientId) },
    async findAccount(_ctx, sub) {
      const a = accounts[sub];
      if (!a) return undefined;
      return { accountId: sub, async claims() { return { sub, ...a }; } };
    },
  }).callback();
  let handle = build();
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url === '/__test/rotate') {
      const kid = `k${keys.length + 1}-${Date.now()}`;
      keys = [newKey(kid)];
      handle = build();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ kid }));
      return;
    }
    if (req.method === 'GET' && req.url === '/__test/stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jwksHits }));
      return;
    }
    if (cfg.tenant && req.method === 'GET' && req.url === '/organizations/v2.0/.well-known/openid-configuration') {
      // Entra's multi-tenant metadata: the tenant's, with the issuer a
      // template (the provider's own document, fetched and rewritten).
      fetch(`${issuer}/.well-known/openid-configuration`).then((r) => r.json()).then((doc) => {
        doc.issuer = `${base}/{tenantid}/v2.0`;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(doc));
      });
      return;
    }
    if (prefix && req.url.startsWith(prefix)) {
      // Mounted under the issuer's path (oidc-provider reads originalUrl).
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || '/';
    }
    if (req.url.startsWith('/jwks')) jwksHits += 1;
    handle(req, res);
  });
  // The line the Rust helper waits for.
  console.log(`listening ${issuer}`);
});
