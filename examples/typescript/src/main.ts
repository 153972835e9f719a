// Posko from TypeScript with Apollo Client: typed operations (graphql-codegen's client
// preset, from the repository's schema.graphql), a subscription over graphql-ws, a report,
// cursor pagination merged in Apollo's cache, and automatic persisted queries.
//
//   POSKO_URL=http://127.0.0.1:8080 POSKO_TOKEN=$(posko token --role ADMIN --agency KESBANGPOL_DKI --sub you) npm start
//
// Every step checks what it got and the run exits non-zero on the first surprise, so CI
// (.ci/run) proves the example still works against the current server.
import { createHash, createHmac, randomUUID } from 'node:crypto';

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { relayStylePagination } from '@apollo/client/utilities';
import { OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { graphql } from './gql/index.js';
import type { DisputesPageQuery } from './gql/graphql.js';

const base = (process.env.POSKO_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const token = process.env.POSKO_TOKEN ?? devToken();

// Without POSKO_TOKEN, a development server's HS256 secret (the one `posko token` uses)
// mints an ADMIN token of Kesbangpol DKI here. Real integrations get theirs from the
// identity provider or from `posko token`.
function devToken(): string {
  const secret = process.env.POSKO_JWT_SECRET;
  if (!secret) {
    throw new Error('set POSKO_TOKEN (posko token --role ADMIN --agency KESBANGPOL_DKI --sub you) or POSKO_JWT_SECRET');
  }
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'example-typescript', role: 'ADMIN', agency: 'KESBANGPOL_DKI', iat: now, exp: now + 600 })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

// --- The operations. codegen reads these `graphql(...)` calls and types each one.

const DisputesPage = graphql(`
  query DisputesPage($first: Int!, $after: String, $filter: DisputeFilterInput) {
    disputes(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id refNo title status severity version regency { code name } } }
    }
  }
`);

const ReportDispute = graphql(`
  mutation ReportDispute($input: ReportDisputeInput!) {
    reportDispute(input: $input) { replayed dispute { id refNo status version } }
  }
`);

const DisputeUpdates = graphql(`
  subscription DisputeUpdates($filter: DisputeFilterInput) {
    disputeUpdated(filter: $filter) { dispute { id title status version } event { kind } }
  }
`);

const Provinces = graphql(`
  query ProvincesByCode { provinces { code name } }
`);

// --- The client.

// Every HTTP request the client sends, so the persisted-query step can show what went over
// the wire.
const sent: Array<{ query?: string; extensions?: { persistedQuery?: { sha256Hash: string } } }> = [];
const recordingFetch: typeof fetch = async (input, init) => {
  if (typeof init?.body === 'string') sent.push(JSON.parse(init.body));
  return fetch(input, init);
};

const http = new HttpLink({
  uri: `${base}/graphql`,
  headers: { authorization: `Bearer ${token}` },
  fetch: recordingFetch,
});
// Automatic persisted queries: the client sends the document's SHA-256 only; a server that
// does not know it answers PERSISTED_QUERY_NOT_FOUND and the link sends the document once.
const persisted = new PersistedQueryLink({
  sha256: (text: string) => createHash('sha256').update(text).digest('hex'),
});
const socket = createClient({
  url: `${base.replace(/^http/, 'ws')}/graphql`,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
});

const client = new ApolloClient({
  link: ApolloLink.split(
    ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
    new GraphQLWsLink(socket),
    persisted.concat(http),
  ),
  cache: new InMemoryCache({
    typePolicies: {
      // Pages of `disputes` with the same filter merge into one list, in cursor order.
      Query: { fields: { disputes: relayStylePagination(['filter']) } },
    },
  }),
});

function expect(ok: unknown, what: string, detail?: unknown): asserts ok {
  if (!ok) throw new Error(`${what}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  console.log(`ok   ${what}`);
}

// --- 1. Subscribe to Jakarta's disputes, report one, see it pushed.
async function subscriptionSeesAReport(): Promise<void> {
  const seen = new Map<string, string>(); // dispute id → title
  const subscription = client
    .subscribe({ query: DisputeUpdates, variables: { filter: { provinceCodes: ['31'] } } })
    .subscribe({
      next: ({ data }) => {
        const update = data?.disputeUpdated;
        if (update) seen.set(update.dispute.id, update.dispute.title);
      },
      error: (err: unknown) => console.error('subscription failed:', err),
    });
  try {
    // The server gives no sign of when the subscription is live, and a report made before
    // then is (rightly) not pushed: report again until one arrives rather than guess a delay.
    const deadline = Date.now() + 15_000;
    for (let attempt = 1; Date.now() < deadline; attempt += 1) {
      const title = `Laporan contoh TypeScript ${randomUUID().slice(0, 8)} #${attempt}`;
      const { data } = await client.mutate({
        mutation: ReportDispute,
        variables: {
          input: {
            regencyCode: '31.71',
            occurredAt: new Date(Date.now() - 3_600_000).toISOString(),
            category: 'CAMPAIGN_PROPS',
            severity: 'LOW',
            title,
            description: 'Alat peraga kampanye dipasang di depan sekolah.',
            idempotencyKey: randomUUID(),
          },
        },
      });
      const made = data?.reportDispute.dispute;
      expect(made?.status === 'REPORTED' && made.version === 1, `reported ${made?.refNo}`, data);
      for (let waited = 0; waited < 1_000 && !seen.has(made.id); waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (seen.get(made.id) === title) {
        expect(true, 'the subscription pushed the report');
        return;
      }
    }
    throw new Error('the subscription never pushed a report within 15 s');
  } finally {
    subscription.unsubscribe();
  }
}

// --- 2. Page through Jakarta's disputes with cursors; Apollo's cache merges the pages.
// Small pages, so that even a fresh development database takes several (at most 100 are allowed).
const PAGE_SIZE = 2;
async function pagesThroughDisputes(): Promise<void> {
  const filter = { provinceCodes: ['31'] };
  let after: string | null = null;
  let page: DisputesPageQuery['disputes'] | undefined;
  let pages = 0;
  do {
    const result: { data?: DisputesPageQuery } = await client.query({
      query: DisputesPage,
      variables: { first: PAGE_SIZE, after, filter },
      fetchPolicy: 'network-only',
    });
    page = result.data?.disputes;
    expect(page, `page ${pages + 1} arrived`);
    after = page.pageInfo.endCursor ?? null;
    pages += 1;
  } while (page.pageInfo.hasNextPage && pages < 200);

  const merged = client.readQuery({ query: DisputesPage, variables: { first: PAGE_SIZE, filter } });
  const ids = new Set(merged?.disputes.edges.map((edge) => edge.node.id));
  expect(ids.size === page.totalCount && ids.size > 0,
    `${pages} pages merged into one list of ${ids.size} disputes (totalCount ${page.totalCount})`);
}

// --- 3. Automatic persisted queries: the second run sends the hash alone.
async function persistedQueries(): Promise<void> {
  sent.length = 0;
  await client.query({ query: Provinces, fetchPolicy: 'network-only' });
  const { data } = await client.query({ query: Provinces, fetchPolicy: 'network-only' });
  expect(data?.provinces.some((p) => p.code === '31'), 'provinces answered through a persisted query');
  const hashOnly = sent.filter((body) => body.extensions?.persistedQuery && body.query === undefined);
  const withDocument = sent.filter((body) => body.extensions?.persistedQuery && body.query !== undefined);
  // This instance may already know the hash (an earlier run): then no document is sent at all.
  expect(hashOnly.length >= 1 && withDocument.length <= 1 && sent.length === hashOnly.length + withDocument.length,
    `the document went over the wire ${withDocument.length} time(s), the hash alone ${hashOnly.length} time(s)`, sent);
}

try {
  await subscriptionSeesAReport();
  await pagesThroughDisputes();
  await persistedQueries();
  console.log('example finished');
} finally {
  await socket.dispose();
  client.stop();
}
