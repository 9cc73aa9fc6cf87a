// marc's TEST identity provider — NOT MitID.
//
// A real OpenID provider (npm oidc-provider 9, OpenID-certified) for marc's
// demo and tests: authorization code flow with PKCE (S256, required), one
// confidential client, test identities from a JSON file, its own Danish login
// pages (pick an identity, no password). Every page it shows says at the top
// that it is a test identity provider and not MitID.
//
//   IDP_CLIENT_SECRET=... node idp.mjs --identities ids.json --client-id marc \
//     --redirect-uri http://127.0.0.1:8080/auth/callback [--port 0] \
//     [--cpr-claim dk.cpr] [--cvr-claim dk.cvr] [--exit-with-stdin]
//
// It binds 127.0.0.1 only. When it listens it prints one line on stdout:
// {"issuer":"http://127.0.0.1:PORT"}; everything else goes to stderr.
// The client secret comes from the environment, never the command line
// (which other users can read in /proc).
//
// identities.json:
//   { "persons": [{ "cpr": "DDMMYY-SSSS", "name": "...", "note": "..." }],
//     "organisations": [{ "cvr": "12345678", "name": "...", "person": "...", "note": "..." }] }
//
// Claims (scope "profile"): a person's CPR (10 digits) under --cpr-claim and
// `name`; an organisation's CVR under --cvr-claim, `name` (the person acting)
// and `organization_name`.

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

function fail(msg) {
  process.stderr.write(`idp: ${msg}\n`);
  process.exit(2);
}

const { values: opt } = (() => {
  try {
    return parseArgs({
      options: {
        identities: { type: 'string' },
        'client-id': { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'post-logout-redirect-uri': { type: 'string', multiple: true },
        port: { type: 'string', default: '0' },
        'cpr-claim': { type: 'string', default: 'dk.cpr' },
        'cvr-claim': { type: 'string', default: 'dk.cvr' },
        'exit-with-stdin': { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (e) {
    return fail(e.message);
  }
})();

if (!opt.identities) fail('--identities FILE is required');
if (!opt['client-id']) fail('--client-id is required');
if (!opt['redirect-uri']?.length) fail('--redirect-uri is required');
const clientSecret = process.env.IDP_CLIENT_SECRET;
if (!clientSecret) fail('IDP_CLIENT_SECRET (the client secret) is not set');
const port = Number(opt.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port ${opt.port}: not a port`);
const cprClaim = opt['cpr-claim'];
const cvrClaim = opt['cvr-claim'];
for (const u of [...opt['redirect-uri'], ...(opt['post-logout-redirect-uri'] ?? [])]) {
  try {
    new URL(u);
  } catch {
    fail(`${u}: not a URL`);
  }
}

// ------------------------------------------------------------ identities

const digits = (s) => String(s ?? '').replace(/[^0-9]/g, '');
const subOf = (kind, number) => `${kind}-${createHash('sha256').update(`${kind}:${number}`).digest('hex').slice(0, 16)}`;

/** sub → { kind, label, detail, claims } */
const accounts = new Map();
(() => {
  let raw;
  try {
    raw = JSON.parse(readFileSync(opt.identities, 'utf8'));
  } catch (e) {
    fail(`cannot read the identities file ${opt.identities}: ${e.message}`);
  }
  for (const p of raw.persons ?? []) {
    const cpr = digits(p.cpr);
    if (cpr.length !== 10 || !p.name) fail(`person ${JSON.stringify(p)}: needs a 10-digit cpr and a name`);
    const sub = subOf('person', cpr);
    accounts.set(sub, {
      kind: 'person',
      name: p.name,
      detail: `CPR ${cpr.slice(0, 6)}-${cpr.slice(6)}`,
      note: p.note ?? '',
      data: { 'data-cpr': cpr },
      claims: { name: p.name, [cprClaim]: cpr },
    });
  }
  for (const o of raw.organisations ?? []) {
    const cvr = digits(o.cvr);
    if (cvr.length !== 8 || !o.name || !o.person) {
      fail(`organisation ${JSON.stringify(o)}: needs an 8-digit cvr, a name and the person acting`);
    }
    const sub = subOf('org', `${cvr}:${o.person}`);
    accounts.set(sub, {
      kind: 'organisation',
      name: o.name,
      detail: `CVR ${cvr} · ${o.person}`,
      note: o.note ?? '',
      data: { 'data-cvr': cvr },
      claims: { name: o.person, organization_name: o.name, [cvrClaim]: cvr },
    });
  }
  if (accounts.size === 0) fail('the identities file holds no persons or organisations');
})();

// ------------------------------------------------------------ pages

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
})[c]);

const CSS = `
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,"DejaVu Sans",sans-serif;font-size:1rem;line-height:1.5;color:#1a1a1a;background:#fff}
.test-banner{background:#8a1010;color:#fff;padding:.75rem 1rem;border-bottom:4px solid #3d0000}
.test-banner p{margin:0;max-width:40rem;margin-inline:auto}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
ul.identities{list-style:none;margin:0;padding:0}
ul.identities li{margin:0 0 .5rem}
button{font:inherit;cursor:pointer;border-radius:4px}
button.identity{display:block;width:100%;text-align:left;padding:.75rem 1rem;background:#f3f6fa;color:#1a1a1a;border:2px solid #1d4f91;overflow-wrap:anywhere}
button.identity .name{display:block;font-weight:700}
button.identity .detail{display:block;color:#333}
button.primary{background:#1d4f91;color:#fff;border:2px solid #1d4f91;padding:.6rem 1.2rem;margin:.25rem .5rem .25rem 0}
button.secondary{background:#fff;color:#1d4f91;border:2px solid #1d4f91;padding:.6rem 1.2rem;margin:.25rem .5rem .25rem 0}
button:hover{text-decoration:underline}
button:focus-visible{outline:3px solid #d4a000;outline-offset:2px}
dl{margin:0 0 1rem}dt{font-weight:700}dd{margin:0 0 .5rem}
.error{color:#8a1010;font-weight:700}
`;

// Chromium applies form-action to the redirects after a form, and those end
// at the client's redirect URI.
const formAction = ["'self'", ...new Set(opt['redirect-uri'].concat(opt['post-logout-redirect-uri'] ?? []).map((u) => new URL(u).origin))].join(' ');
const CSP = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;

/** A whole page: the test banner first, then `body`. */
function page(title, body) {
  return `<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · TEST-login (ikke MitID)</title>
<link rel="stylesheet" href="/assets/idp.css">
</head>
<body>
<header class="test-banner" id="test-banner">
<p><strong>TEST-login — dette er ikke MitID.</strong> En testudbyder af log ind til marc's demo og test, med opdigtede personer. Brug den aldrig til rigtige personer.</p>
</header>
<main>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, clientName) {
  const group = (kind, heading, id) => {
    const items = [...accounts.entries()].filter(([, a]) => a.kind === kind);
    if (items.length === 0) return '';
    const buttons = items.map(([sub, a]) => {
      const data = Object.entries(a.data).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
      const note = a.note ? ` · ${esc(a.note)}` : '';
      return `<li><button type="submit" class="identity" name="identity" value="${esc(sub)}"${data}>`
        + `<span class="name">${esc(a.name)}</span><span class="detail">${esc(a.detail)}${note}</span></button></li>`;
    }).join('\n');
    return `<section aria-labelledby="${id}"><h2 id="${id}">${heading}</h2>\n<ul class="identities">\n${buttons}\n</ul></section>`;
  };
  return page('Vælg testidentitet', `<h1>Vælg en testidentitet</h1>
<p>Du logger ind hos <strong>${esc(clientName)}</strong>. Vælg, hvem du vil logge ind som. Der er ingen adgangskode.</p>
<form method="post" action="/interaction/${esc(uid)}/login" id="identities">
${group('person', 'Personer', 'persons')}
${group('organisation', 'Virksomheder (erhverv)', 'organisations')}
</form>
<form method="post" action="/interaction/${esc(uid)}/abort">
<button type="submit" class="secondary" id="abort">Afbryd log ind</button>
</form>`);
}

function consentPage(uid, clientName, account, scopes) {
  const what = [];
  if (scopes.includes('profile')) {
    what.push('dit navn');
    what.push(account?.kind === 'organisation' ? 'virksomhedens CVR-nummer og navn' : 'dit CPR-nummer');
  }
  const list = what.length ? `<ul>${what.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '';
  return page('Giv samtykke', `<h1>Giv samtykke</h1>
<p>Du er logget ind som <strong>${esc(account?.name ?? '?')}</strong>.</p>
<p><strong>${esc(clientName)}</strong> vil gerne have oplysninger om dig:</p>
${list}
<form method="post" action="/interaction/${esc(uid)}/confirm">
<button type="submit" class="primary" id="consent">Giv samtykke og fortsæt</button>
</form>
<form method="post" action="/interaction/${esc(uid)}/abort">
<button type="submit" class="secondary" id="abort">Afbryd</button>
</form>`);
}

function messagePage(title, message, status) {
  return { status, body: page(title, `<h1>${esc(title)}</h1>\n<p class="error" id="error">${esc(message)}</p>`) };
}

// ------------------------------------------------------------ provider

const server = createServer();
server.on('clientError', (_err, socket) => socket.destroy());
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
}).catch((e) => fail(`cannot listen on 127.0.0.1:${port}: ${e.message}`));
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: randomBytes(8).toString('hex') };

const provider = new Provider(issuer, {
  clients: [{
    client_id: opt['client-id'],
    client_secret: clientSecret,
    client_name: opt['client-id'],
    redirect_uris: opt['redirect-uri'],
    post_logout_redirect_uris: opt['post-logout-redirect-uri'] ?? [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  responseTypes: ['code'],
  pkce: { required: () => true },
  scopes: ['openid', 'profile'],
  claims: { openid: ['sub'], profile: ['name', 'organization_name', cprClaim, cvrClaim] },
  // The ID token carries the profile claims itself (as brokers' do), not
  // only the userinfo endpoint.
  conformIdTokenClaims: false,
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  findAccount: async (_ctx, sub) => {
    const a = accounts.get(sub);
    if (!a) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...a.claims }) };
  },
  interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.type = 'html';
        ctx.body = page('Log ud', `<h1>Vil du logge ud?</h1>
${form}
<button type="submit" class="primary" form="op.logoutForm" name="logout" value="yes" id="logout">Ja, log mig ud</button>
<button type="submit" class="secondary" form="op.logoutForm" id="stay">Nej, forbliv logget ind</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.type = 'html';
        ctx.body = page('Logget ud', '<h1>Du er logget ud</h1>\n<p id="logged-out">Du er logget ud af TEST-login.</p>');
      },
    },
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    const detail = [out.error, out.error_description].filter(Boolean).join(': ');
    ctx.body = page('Der opstod en fejl', `<h1>Der opstod en fejl</h1>\n<p class="error" id="error">${esc(detail)}</p>`);
  },
});

/** The request body as form fields (small forms only). */
async function formOf(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 8192) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// Headers on every answer, set first: oidc-provider's own form_post page
// adds its inline script's hash to this CSP's script-src.
provider.use(async (ctx, next) => {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Content-Security-Policy', CSP);
  await next();
});

// Our own routes: the style sheet and the interaction (login, consent) pages.
provider.use(async (ctx, next) => {
  if (ctx.path === '/assets/idp.css' && ctx.method === 'GET') {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'max-age=3600');
    ctx.body = CSS;
    return;
  }
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
  if (!m) {
    await next();
    if (ctx.status === 404 && ctx.body == null) {
      const p = messagePage('Siden findes ikke', 'Siden findes ikke hos TEST-login.', 404);
      ctx.status = p.status;
      ctx.type = 'html';
      ctx.body = p.body;
    }
    return;
  }
  const [, uid, action] = m;
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    const p = messagePage('Log ind er udløbet', 'Dit log ind er udløbet eller findes ikke. Gå tilbage og start forfra.', 400);
    ctx.status = p.status;
    ctx.type = 'html';
    ctx.body = p.body;
    return;
  }
  if (details.uid !== uid) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = messagePage('Forkert log ind', 'Siden hører ikke til dit log ind.', 400).body;
    return;
  }
  const client = await provider.Client.find(details.params.client_id);
  const clientName = client?.clientName ?? details.params.client_id;
  const { prompt } = details;
  const finish = async (result, merge) => {
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.status = 303;
    ctx.redirect(to);
  };

  if (ctx.method === 'GET' && !action) {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    if (prompt.name === 'login') {
      ctx.body = loginPage(uid, clientName);
    } else if (prompt.name === 'consent') {
      const scopes = String(details.params.scope ?? '').split(' ');
      ctx.body = consentPage(uid, clientName, accounts.get(details.session?.accountId), scopes);
    } else {
      ctx.status = 400;
      ctx.body = messagePage('Ukendt trin', `TEST-login kender ikke trinnet ${prompt.name}.`, 400).body;
    }
    return;
  }
  if (ctx.method !== 'POST' || !action) {
    ctx.status = 405;
    return;
  }
  if (action === 'abort') {
    await finish({ error: 'access_denied', error_description: 'Brugeren afbrød log ind.' }, false);
    return;
  }
  if (action === 'login') {
    if (prompt.name !== 'login') {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = messagePage('Forkert trin', 'Du er allerede logget ind.', 400).body;
      return;
    }
    const sub = (await formOf(ctx.req)).get('identity') ?? '';
    if (!accounts.has(sub)) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = messagePage('Ukendt testidentitet', 'Vælg en af testidentiteterne på listen.', 400).body;
      return;
    }
    await finish({ login: { accountId: sub } }, false);
    return;
  }
  // confirm: grant what the client asked for.
  if (prompt.name !== 'consent') {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = messagePage('Forkert trin', 'Der er ikke noget at give samtykke til.', 400).body;
    return;
  }
  const { details: missing } = prompt;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await finish({ consent: details.grantId ? {} : { grantId } }, true);
});

provider.on('server_error', (_ctx, err) => process.stderr.write(`idp: server error: ${err.stack ?? err}\n`));

server.on('request', provider.callback());

const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (opt['exit-with-stdin']) {
  // The owner holds our stdin: when it goes, so do we.
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
