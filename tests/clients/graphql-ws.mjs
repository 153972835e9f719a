// The Node `graphql-ws` client (the protocol's reference implementation) against a live
// Posko: it subscribes as POLICE, sees a report that ADMIN makes over HTTP, reads a field
// it may not (the reporter) as null + FORBIDDEN, and is closed with 4403 when its token
// expires.
//   POSKO_JWT_SECRET=… node tests/clients/graphql-ws.mjs http://127.0.0.1:18089
import { createHmac } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const base = process.argv[2];
const secret = process.env.POSKO_JWT_SECRET;
if (!base || !secret) {
  console.error('usage: POSKO_JWT_SECRET=… node graphql-ws.mjs <base URL>');
  process.exit(2);
}

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
function token(role, agency, seconds) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: `ws-${role.toLowerCase()}`, role, agency, iat: now, exp: now + seconds })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

async function http(query, variables, bearer) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

const results = [];
function check(name, ok, detail) {
  results.push(ok);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${detail}`}`);
}

const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms));

async function receivesAReportWithAForbiddenField() {
  const client = createClient({
    url: base.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token('POLICE', 'POLDA_METRO_JAYA', 600)}` },
    retryAttempts: 0,
  });
  const updates = client.iterate({
    query: 'subscription { disputeUpdated { dispute { id title reporter { name } } event { kind } } }',
  });
  const first = updates.next();
  await new Promise((r) => setTimeout(r, 300));
  const title = `Laporan dari graphql-ws ${Date.now()}`;
  const made = await http(
    'mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id } } }',
    { input: { regencyCode: '31.71', occurredAt: '2024-11-25T10:00:00+07:00', category: 'INTIMIDATION', severity: 'HIGH', title, description: 'Uji klien graphql-ws.', reporter: { name: 'Rahasia', kind: 'VOTER' } } },
    token('ADMIN', 'KESBANGPOL_DKI', 600),
  );
  const id = made?.data?.reportDispute?.dispute?.id;
  const { value } = await Promise.race([first, timeout(10_000, 'the pushed report')]);
  const update = value?.data?.disputeUpdated;
  check('the report made by ADMIN reaches the POLICE subscriber', update?.dispute?.id === id && update?.dispute?.title === title, JSON.stringify(value));
  check('the event is the report', update?.event?.kind === 'REPORTED', JSON.stringify(value));
  check('the reporter is null for POLICE before escalation', update?.dispute?.reporter === null, JSON.stringify(value));
  check('with a FORBIDDEN error at its path', value?.errors?.[0]?.extensions?.code === 'FORBIDDEN' && value.errors[0].path.join('.') === 'disputeUpdated.dispute.reporter', JSON.stringify(value?.errors));
  check('the reporter\'s name never leaves the server', !JSON.stringify(value).includes('Rahasia'), JSON.stringify(value));
  await updates.return();
  await client.dispose();
}

async function closedWith4403WhenTheTokenExpires() {
  const closed = new Promise((resolve) => {
    const client = createClient({
      url: base.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${token('KPU', 'KPU_DKI', 2)}` },
      retryAttempts: 0,
      on: { closed: (event) => resolve(event.code) },
    });
    client.subscribe({ query: 'subscription { disputeStatsUpdated { total } }' }, { next() {}, error() {}, complete() {} });
  });
  const code = await Promise.race([closed, timeout(10_000, 'the close on expiry')]);
  check('an expired token closes the socket with 4403', code === 4403, String(code));
}

try {
  await receivesAReportWithAForbiddenField();
  await closedWith4403WhenTheTokenExpires();
} catch (err) {
  check('the client ran to the end', false, err?.stack || String(err));
}
const failed = results.filter((ok) => !ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
