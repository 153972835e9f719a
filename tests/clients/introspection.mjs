// The introspection queries that standard tools send, built by the tools' own packages, run
// against a live Posko under its default limits. Each answer must build a client schema
// (graphql-js's buildClientSchema of the same version) that holds `Dispute`; a hand-made
// 50-level `ofType` query must still be refused.
//
//   node tests/clients/introspection.mjs http://127.0.0.1:18089
//
// Which query is which tool's:
// - graphql-js 16 and 17 `getIntrospectionQuery()`: GraphiQL, graphql-codegen's URL loader,
//   Postman, Insomnia and most JavaScript tools call it, with and without the options below.
// - Apollo: Apollo's language server (`apollo client:codegen`, the VS Code extension) sends
//   graphql-js's `getIntrospectionQuery()` with no options, which is graphql-js 16's default
//   case here. Rover (`rover graph introspect`) sends a document of its own, kept in its Rust
//   crate rather than in any npm package; it has the shape of `getIntrospectionQuery` with
//   `inputValueDeprecation` and none of the other options, so that is what "Apollo Rover"
//   builds below.
import * as graphql16 from 'graphql';
import * as graphql17 from 'graphql17';

const base = process.argv[2];
if (!base) {
  console.error('usage: node introspection.mjs <base URL>');
  process.exit(2);
}

const results = [];
function check(name, ok, detail) {
  results.push(ok);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${detail}`}`);
}

async function post(query) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: await res.json() };
}

const short = (value) => JSON.stringify(value).slice(0, 400);

async function introspects(name, lib, options) {
  const query = lib.getIntrospectionQuery(options);
  // The query must really be the package's with the options asked for.
  const expected = [[options?.inputValueDeprecation, 'inputFields(includeDeprecated: true)'], [options?.oneOf, 'isOneOf']];
  const missing = expected.filter(([wanted, text]) => wanted && !query.includes(text)).map(([, text]) => text);
  if (missing.length) {
    check(`${name}: the package built the query asked for`, false, `no ${missing.join(', ')}`);
    return;
  }
  const { status, body } = await post(query);
  if (status !== 200 || body.errors || !body.data) {
    check(`${name}: the server answers without errors`, false, `HTTP ${status} ${short(body.errors ?? body)}`);
    return;
  }
  let schema;
  try {
    schema = lib.buildClientSchema(body.data);
  } catch (err) {
    check(`${name}: buildClientSchema accepts the answer`, false, err.message);
    return;
  }
  const dispute = schema.getType('Dispute');
  check(`${name}: a client schema with Dispute`, lib.isObjectType(dispute) && 'refNo' in dispute.getFields(),
    dispute ? Object.keys(dispute.getFields?.() ?? {}).join(',') : 'no Dispute');
  const report = schema.getMutationType()?.getFields().reportDispute;
  check(`${name}: mutations and their arguments survive`, report?.args.some((a) => a.name === 'input'),
    String(report));
}

async function refusesDeepOfType() {
  let nested = 'name';
  for (let i = 0; i < 50; i += 1) nested = `ofType { ${nested} }`;
  const { status, body } = await post(`{ __schema { types { ${nested} } } }`);
  const code = body.errors?.[0]?.extensions?.code;
  check('a hand-made 50-level ofType query is QUERY_TOO_COMPLEX', code === 'QUERY_TOO_COMPLEX' && !body.data,
    `HTTP ${status} ${short(body)}`);
}

try {
  await introspects(`graphql-js ${graphql16.version} getIntrospectionQuery()`, graphql16);
  await introspects(`graphql-js ${graphql16.version} getIntrospectionQuery({ inputValueDeprecation })`, graphql16,
    { inputValueDeprecation: true });
  await introspects(`graphql-js ${graphql16.version} with every option`, graphql16,
    { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true });
  await introspects(`graphql-js ${graphql17.version} getIntrospectionQuery()`, graphql17);
  await introspects(`graphql-js ${graphql17.version} getIntrospectionQuery({ inputValueDeprecation, oneOf })`, graphql17,
    { inputValueDeprecation: true, oneOf: true });
  await introspects(`graphql-js ${graphql17.version} with every option`, graphql17,
    { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true });
  await introspects('Apollo Rover (graph introspect) shape', graphql16,
    { descriptions: true, specifiedByUrl: false, directiveIsRepeatable: false, schemaDescription: false, inputValueDeprecation: true });
  await refusesDeepOfType();
} catch (err) {
  check('the client ran to the end', false, err?.stack || String(err));
}
const failed = results.filter((ok) => !ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
