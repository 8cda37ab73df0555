// Throwaway OpenID provider for Sesame end-to-end tests. NEVER deploy this:
// accounts accept any password, keys and cookie secrets are random per run,
// and everything lives in memory (the demos keep theirs in IDP_STATE_DIR).
//
// Contract with the test harness:
//   - stdout carries exactly one line, `READY http://127.0.0.1:<port>`;
//     everything else (including oidc-provider's own notices) goes to stderr.
//   - GET /test/stats    -> {"token_requests": {...}, "revocation_requests": n, "rate_limited": n, "early_requests": n,
//                            "device": {"authorizations", "polls", "slow_down", "forced_slow_down",
//                                       "issued_codes"}}
//   - POST /test/rate_limit?count=N&retry_after=S -> the next N token requests get 429 (see below)
//   - DELETE /test/stats -> resets the counters (204)
//   - clients: `desktop-app`, `desktop-app-2` (native, public, PKCE), `introspector`
//     (secret `introspector-secret`, for RFC 7662 calls), `machine-client` (secret
//     `machine-secret`, client_credentials only, scopes api:read api:write).
// Env: IDP_PORT (default: any free port), IDP_ACCESS_TOKEN_TTL (s, 3600), IDP_REFRESH_TOKEN_TTL (s, 86400),
//      IDP_ROTATE ("1" rotate refresh tokens on every use, "0" never),
//      IDP_DEVICE_CODE_TTL (s, 600), IDP_DEVICE_INTERVAL (s, 1: the `interval` the device
//      authorization response names), IDP_DEVICE_SLOW_DOWN (n, 0: answer the first n polls of
//      every device code with slow_down, as if they came too fast),
//      IDP_EXACT_REDIRECT_URI (`desktop-app` becomes a web client registered with exactly
//      this redirect URI: compared as a whole, no RFC 8252 §7.3 loopback port matching),
//      IDP_STATE_DIR (the demos only: keep grants, tokens, sessions and keys in this
//      directory across restarts, file_adapter.mjs; the tests keep everything in memory).
//
// Device flow (RFC 8628): oidc-provider answers the polls but leaves the polling discipline
// to the deployment, so this server enforces it: a device code polled sooner than its
// interval gets slow_down and 5 s more interval (§3.5), counted in stats.device.slow_down.

import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createFileAdapter, loadOrCreateKeys } from './file_adapter.mjs';

// oidc-provider prints NOTICEs with console.info (stdout). The harness parses
// stdout, so route every console method to stderr before the library loads.
for (const m of ['log', 'info', 'debug']) console[m] = console.error;
const { default: Provider } = await import('oidc-provider');

const num = (name, dflt) => {
  const v = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const ACCESS_TTL = num('IDP_ACCESS_TOKEN_TTL', 3600);
const REFRESH_TTL = num('IDP_REFRESH_TOKEN_TTL', 86400);
const ROTATE = (process.env.IDP_ROTATE ?? '1') !== '0';
const DEVICE_CODE_TTL = num('IDP_DEVICE_CODE_TTL', 600);
const DEVICE_INTERVAL = num('IDP_DEVICE_INTERVAL', 1);
const DEVICE_SLOW_DOWN = num('IDP_DEVICE_SLOW_DOWN', 0);
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const EXACT_REDIRECT_URI = process.env.IDP_EXACT_REDIRECT_URI || null;

// issued_codes: so the e2e leak scan can look for device codes in Sesame's files.
const newDeviceStats = () => ({ authorizations: 0, polls: 0, slow_down: 0, forced_slow_down: 0, issued_codes: [] });
const stats = { token_requests: {}, revocation_requests: 0, rate_limited: 0, early_requests: 0, device: newDeviceStats() };
const resetStats = () => {
  Object.assign(stats, { token_requests: {}, revocation_requests: 0, rate_limited: 0, early_requests: 0, device: newDeviceStats() });
};

// POST /test/rate_limit?count=N&retry_after=S: the next N token requests get HTTP 429 with
// `Retry-After: S`. A token request inside a quiet period asked for earlier is counted in
// `early_requests` (and refused the same way): a client that honours Retry-After makes none.
const rateLimit = { count: 0, retryAfter: 0, quietUntil: 0 };
const tooMany = (res) => {
  stats.rate_limited += 1;
  rateLimit.quietUntil = Math.max(rateLimit.quietUntil, Date.now() + rateLimit.retryAfter * 1000);
  res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(rateLimit.retryAfter) });
  res.end(JSON.stringify({ error: 'rate_limited' }));
};

// Provider is attached after listen() because the issuer must contain the
// port the OS picked; until then requests get a 503.
let providerCallback = null;
const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/test/stats') {
    if (req.method === 'DELETE') { resetStats(); res.writeHead(204).end(); return; }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (path === '/test/rate_limit' && req.method === 'POST') {
    const q = new URL(req.url, 'http://x').searchParams;
    Object.assign(rateLimit, { count: Number(q.get('count') ?? 1), retryAfter: Number(q.get('retry_after') ?? 1) });
    res.writeHead(204).end();
    return;
  }
  if (path === '/token' && req.method === 'POST') {
    // Allow a second of slack for clock granularity on the client's side.
    if (Date.now() < rateLimit.quietUntil - 1000) { stats.early_requests += 1; tooMany(res); return; }
    if (rateLimit.count > 0) { rateLimit.count -= 1; tooMany(res); return; }
  }
  if (!providerCallback) { res.writeHead(503).end('starting'); return; }
  providerCallback(req, res);
});

await new Promise((resolve) => server.listen(Number(process.env.IDP_PORT ?? 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

// Fresh signing key per run: tests must never depend on key material. (A demo with
// IDP_STATE_DIR keeps its keys, so what it issued yesterday still verifies.)
const STATE_DIR = process.env.IDP_STATE_DIR;
const freshKeys = () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    jwk: { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' },
    cookie: randomBytes(32).toString('base64url'),
  };
};
const keys = STATE_DIR ? loadOrCreateKeys(STATE_DIR, freshKeys) : freshKeys();
const { jwk } = keys;

const nativeClient = (clientId, extraGrants = []) => ({
  client_id: clientId,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  // Native + loopback: oidc-provider accepts any port at runtime.
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token', ...extraGrants],
  response_types: ['code'],
});

// The device flow's pages, plain enough for tests/browser.py; `test-page` says which is which.
const htmlEscape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (name, title, body) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="test-page" content="${name}"><title>${title}</title></head>
<body><h1>${title}</h1>${body}</body></html>`;

const capitalise = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

const provider = new Provider(issuer, {
  clients: [
    EXACT_REDIRECT_URI
      // oidc-provider ignores loopback ports for native clients only.
      ? { ...nativeClient('desktop-app', [DEVICE_GRANT]), application_type: 'web', redirect_uris: [EXACT_REDIRECT_URI] }
      : nativeClient('desktop-app', [DEVICE_GRANT]),
    nativeClient('desktop-app-2'), // spare, for multi-client tests; no device flow
    {
      // Confidential client used only by tests to call introspection.
      client_id: 'introspector',
      client_secret: 'introspector-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
    {
      // A machine account: confidential, client credentials only, no user. Its scopes
      // are the API ones (an allow-list: oidc-provider refuses others for this client).
      client_id: 'machine-client',
      client_secret: 'machine-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read api:write',
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: [keys.cookie] },
  ...(STATE_DIR ? { adapter: createFileAdapter(STATE_DIR) } : {}),
  clockTolerance: 0,
  scopes: ['openid', 'email', 'profile', 'offline_access', 'api:read', 'api:write'],
  claims: { email: ['email', 'email_verified'], profile: ['name'] },
  features: {
    devInteractions: { enabled: true },
    userinfo: { enabled: true },
    // Opaque access tokens for machine-client (no resource indicators: the token is for
    // this provider, and introspection answers for it like for user tokens).
    clientCredentials: { enabled: true },
    revocation: {
      enabled: true,
      // Default policy, made explicit (silences the "should change" warning):
      // a client may revoke only its own tokens.
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    introspection: {
      enabled: true,
      // Any *authenticated* client (the introspector) may introspect any
      // token; public clients only their own.
      allowedPolicy: async (ctx, client, token) => client.clientAuthMethod !== 'none'
        || token.clientId === client.clientId,
    },
    // Logout is not part of the tested surface.
    rpInitiatedLogout: { enabled: false },
    deviceFlow: {
      enabled: true,
      charset: 'base-20',
      mask: '****-****',
      async userCodeInputSource(ctx, form, out, err) {
        let msg = 'Enter the code displayed on your device';
        if (err?.name === 'AbortedError') msg = 'The sign-in was aborted';
        else if (err) msg = `The code was not accepted (${htmlEscape(err.name ?? err.message)})`;
        ctx.body = page(err?.name === 'AbortedError' ? 'device-aborted' : err ? 'device-error' : 'device-input', 'Sign-in',
          `<p>${msg}</p>${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
      },
      async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
        ctx.body = page('device-confirm', 'Confirm Device',
          `<p><strong>${htmlEscape(client.clientId)}</strong> asks to sign in; your device shows <code>${htmlEscape(userCode)}</code></p>${form}
          <button type="submit" form="op.deviceConfirmForm">Continue</button>
          <button type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button>`);
      },
      async successSource(ctx) {
        ctx.body = page('device-success', 'Sign-in Success', '<p>You can close this page and return to your device.</p>');
      },
    },
  },
  // Clients registered with the refresh_token grant always get one (native
  // apps), even without offline_access.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => ROTATE,
  ttl: {
    AccessToken: ACCESS_TTL,
    ClientCredentials: ACCESS_TTL,
    RefreshToken: REFRESH_TTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    DeviceCode: DEVICE_CODE_TTL,
    Interaction: 600,
    Session: 86400,
    // The grant must outlive the refresh token or refresh fails early.
    Grant: REFRESH_TTL * 2,
  },
  clientBasedCORS: () => false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.test`, email_verified: true, name: capitalise(id) };
      },
    };
  },
});

// RFC 8628 §3.5 polling discipline (see the top of this file). Reading the body here is the
// only way to see the grant type before oidc-provider answers; it then reads the body from
// `req.body` (and says once on stderr that it did).
const devicePolls = new Map(); // device_code -> { last: ms, interval: s, forced: n }
const readBody = async (req) => { const chunks = []; for await (const c of req) chunks.push(c); return Buffer.concat(chunks); };
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/token' && ctx.is('application/x-www-form-urlencoded')) {
    const raw = await readBody(ctx.req);
    ctx.req.body = raw;
    const params = new URLSearchParams(raw.toString());
    const poll = params.get('grant_type') === DEVICE_GRANT && devicePolls.get(params.get('device_code'));
    if (poll) {
      stats.device.polls += 1;
      const now = Date.now();
      // A little slack for timer granularity; a client that ignores the interval is far off.
      const early = now - poll.last < poll.interval * 1000 - 50;
      poll.last = now;
      if (poll.forced > 0 || early) {
        if (poll.forced > 0) { poll.forced -= 1; stats.device.forced_slow_down += 1; } else { stats.device.slow_down += 1; }
        poll.interval += 5;
        console.error(`DEVICE poll answered slow_down; interval now ${poll.interval}s`);
        ctx.status = 400;
        ctx.set('cache-control', 'no-store');
        ctx.body = { error: 'slow_down', error_description: `poll at most every ${poll.interval} seconds` };
        return;
      }
    }
  }
  await next();
  if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body?.device_code) {
    stats.device.authorizations += 1;
    stats.device.issued_codes.push(ctx.body.device_code);
    devicePolls.set(ctx.body.device_code, { last: Date.now(), interval: DEVICE_INTERVAL, forced: DEVICE_SLOW_DOWN });
    // oidc-provider names no interval, which means 5 s; tests want quicker polls.
    ctx.body = { ...ctx.body, interval: DEVICE_INTERVAL };
  }
});

// Count token/revocation endpoint calls so tests can assert how many
// refreshes the broker performed.
provider.use(async (ctx, next) => {
  await next();
  const route = ctx.oidc?.route;
  if (route === 'token' || (ctx.method === 'POST' && ctx.path === '/token')) {
    const gt = ctx.oidc?.params?.grant_type || ctx.oidc?.body?.grant_type || 'unknown';
    stats.token_requests[gt] = (stats.token_requests[gt] ?? 0) + 1;
    console.error(`TOKEN grant_type=${gt} status=${ctx.status}`);
  } else if (route === 'revocation') {
    stats.revocation_requests += 1;
    console.error(`REVOKE status=${ctx.status}`);
  }
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

providerCallback = provider.callback();
process.stdout.write(`READY ${issuer}\n`);
console.error(`idp: issuer=${issuer} access_ttl=${ACCESS_TTL} refresh_ttl=${REFRESH_TTL} rotate=${ROTATE} device_code_ttl=${DEVICE_CODE_TTL} device_interval=${DEVICE_INTERVAL} device_slow_down=${DEVICE_SLOW_DOWN}`);

// server.close() would wait for keep-alive sockets; tests want a fast exit.
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
