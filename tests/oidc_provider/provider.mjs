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

const server = http.createServer();
server.listen(cfg.port ?? 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: cfg.clients ?? [],
    jwks: { keys: [newKey('k1')] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    // Claims asked for by scope go into the ID token (as Entra's `groups`
    // and `roles` do), not only into userinfo.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub', 'groups', 'roles'],
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
  });
  const handle = provider.callback();
  server.on('request', (req, res) => handle(req, res));
  // The line the Rust helper waits for.
  console.log(`listening ${issuer}`);
});
