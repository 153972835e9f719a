// Apollo Client's InMemoryCache and urql's Graphcache normalise Posko's objects with no
// custom key fields: every object a client refetches has a `Node` `id`, so a page of
// disputes is stored as separate `Dispute:…`, `Regency:…` and `Agency:…` records that the
// disputes link to, and neither client warns about an object it cannot key.
//   POSKO_JWT_SECRET=… node tests/clients/normalised-caches.mjs http://127.0.0.1:18089
import { createHmac } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Client, fetchExchange } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';

const base = process.argv[2];
const secret = process.env.POSKO_JWT_SECRET;
if (!base || !secret) {
  console.error('usage: POSKO_JWT_SECRET=… node normalised-caches.mjs <base URL>');
  process.exit(2);
}

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
function token(role, agency) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: `cache-${role.toLowerCase()}`, role, agency, iat: now, exp: now + 600 })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
const admin = token('ADMIN', 'KESBANGPOL_DKI');

async function http(query, variables) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const results = [];
function check(name, ok, detail) {
  results.push(ok);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${detail}`}`);
}

// Both clients report through the console (Apollo) or a logger (urql); any warning about
// keys, missing fields or fragments is a failure.
const warnings = [];
for (const level of ['warn', 'error']) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    warnings.push(args.map(String).join(' '));
    original(...args);
  };
}

// Two reports in the same city (one regency record for both) and an assigned agency.
const run = Date.now();
const ids = [];
for (const [n, regencyCode] of [[1, '31.71'], [2, '31.71'], [3, '31.74']]) {
  const made = await http(
    'mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id version } } }',
    { input: { regencyCode, occurredAt: '2024-11-25T10:00:00+07:00', category: 'CAMPAIGN_PROPS', severity: 'LOW', title: `Cache ${run} ${n}`, description: 'Uji normalisasi cache klien.' } },
  );
  ids.push(made.reportDispute.dispute);
}
await http(
  'mutation($input: AssignAgencyInput!) { assignAgency(input: $input) { dispute { id } } }',
  { input: { id: ids[0].id, expectedVersion: ids[0].version, agencyCode: 'POLDA_METRO_JAYA' } },
);

const PAGE = `query Page($search: String!) {
  disputes(first: 10, filter: { search: $search }) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id title status regency { id code name province { id code } } assignedAgencies { id code name kind } } }
  }
}`;

const regencyIds = new Set();

async function apollo() {
  const client = new ApolloClient({
    link: new HttpLink({ uri: `${base}/graphql`, headers: { authorization: `Bearer ${admin}` } }),
    cache: new InMemoryCache(),
  });
  const { data } = await client.query({ query: gql(PAGE), variables: { search: `Cache ${run}` }, fetchPolicy: 'network-only' });
  const nodes = data.disputes.edges.map((edge) => edge.node);
  check('Apollo: the page has the three disputes', nodes.length === 3, JSON.stringify(nodes));
  for (const node of nodes) regencyIds.add(node.regency.id);
  const store = client.cache.extract();
  const keys = Object.keys(store);
  const dispute = store[`Dispute:${ids[0].id}`];
  check('Apollo: each dispute is its own Dispute record', ids.every(({ id }) => store[`Dispute:${id}`]), keys.join(', '));
  check('Apollo: a dispute links to its regency record', dispute?.regency?.__ref === `Regency:${nodes.find((n) => n.id === ids[0].id).regency.id}`, JSON.stringify(dispute));
  check('Apollo: two disputes in one city share one Regency record', keys.filter((k) => k.startsWith('Regency:')).length === 2, keys.join(', '));
  check('Apollo: the assigned agency is an Agency record', dispute?.assignedAgencies?.[0]?.__ref?.startsWith('Agency:') && store[dispute.assignedAgencies[0].__ref]?.code === 'POLDA_METRO_JAYA', JSON.stringify(dispute?.assignedAgencies));
  check('Apollo: regencies link to Province records', keys.some((k) => k.startsWith('Province:')), keys.join(', '));

  // A refetch through node(id:) lands on the same record.
  const { data: refetched } = await client.query({
    query: gql('query Refetch($id: ID!) { node(id: $id) { id ... on Dispute { title status } } }'),
    variables: { id: ids[1].id },
    fetchPolicy: 'network-only',
  });
  const after = client.cache.extract();
  check('Apollo: node(id:) answers the dispute', refetched.node?.id === ids[1].id && refetched.node.title === `Cache ${run} 2`, JSON.stringify(refetched));
  check('Apollo: node(id:) refetches into the same record', Object.keys(after).filter((k) => k.startsWith('Dispute:')).length === 3, Object.keys(after).join(', '));
}

async function urql() {
  let inspected = null;
  const client = new Client({
    url: `${base}/graphql`,
    fetchOptions: { headers: { authorization: `Bearer ${admin}` } },
    exchanges: [
      cacheExchange({
        // Connections, edges and page info are pages, not entities: declaring them
        // embedded is how Graphcache is told so. No entity gets custom key fields.
        keys: { DisputeConnection: () => null, DisputeEdge: () => null, PageInfo: () => null },
        logger: (severity, message) => {
          if (severity !== 'debug') warnings.push(`urql ${severity}: ${message}`);
        },
        updates: {
          Query: {
            // Runs after the page is written: read the normalised store back.
            disputes: (_result, _args, cache) => {
              inspected = ids.map(({ id }) => {
                const key = cache.keyOfEntity({ __typename: 'Dispute', id });
                const regency = cache.resolve(key, 'regency');
                const agencies = cache.resolve(key, 'assignedAgencies');
                return {
                  key,
                  title: cache.resolve(key, 'title'),
                  regency,
                  regencyName: typeof regency === 'string' ? cache.resolve(regency, 'name') : undefined,
                  agencies,
                  agencyCode: Array.isArray(agencies) && agencies[0] ? cache.resolve(agencies[0], 'code') : undefined,
                };
              });
            },
          },
        },
      }),
      fetchExchange,
    ],
  });
  const answer = await client.query(PAGE, { search: `Cache ${run}` }, { requestPolicy: 'network-only' }).toPromise();
  check('urql: the query answers', !answer.error && answer.data?.disputes?.edges?.length === 3, JSON.stringify(answer.error ?? answer.data));
  check('urql: the cache saw the page', Array.isArray(inspected), 'the updater did not run');
  if (!inspected) return;
  check('urql: each dispute is its own Dispute record', inspected.every((d) => d.key?.startsWith('Dispute:') && d.title?.startsWith(`Cache ${run}`)), JSON.stringify(inspected));
  check('urql: disputes link to Regency records', inspected.every((d) => typeof d.regency === 'string' && d.regency.startsWith('Regency:') && d.regencyName), JSON.stringify(inspected));
  check('urql: two disputes in one city link to one Regency record', inspected[0].regency === inspected[1].regency && inspected[0].regency !== inspected[2].regency, JSON.stringify(inspected));
  check('urql: the assigned agency is an Agency record', inspected[0].agencies?.[0]?.startsWith('Agency:') && inspected[0].agencyCode === 'POLDA_METRO_JAYA', JSON.stringify(inspected[0]));
  check('urql: Regency keys are the ids Apollo saw', inspected.every((d) => regencyIds.has(d.regency.slice('Regency:'.length))), JSON.stringify([...regencyIds]));
}

try {
  await apollo();
  await urql();
} catch (err) {
  check('the clients ran', false, err.stack ?? String(err));
}
check('no client warned (missing keys, missing fields, fragments)', warnings.length === 0, warnings.join('\n'));
if (results.some((ok) => !ok)) process.exit(1);
console.log('Apollo Client and urql normalise Posko’s objects without custom keys');
