#!/usr/bin/env bash
# Refreshes GraphiQL's browser bundles in web/vendor/ from npm, at the versions that
# web/package.json and web/package-lock.json pin. Run it after changing those versions,
# then commit web/vendor/. The Rust build never runs npm: `cargo build` needs only Cargo.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
cp node_modules/react/umd/react.production.min.js \
   node_modules/react-dom/umd/react-dom.production.min.js \
   node_modules/graphiql/graphiql.min.js \
   node_modules/graphiql/graphiql.min.css vendor/
cp node_modules/graphiql/LICENSE vendor/LICENSE.graphiql
cp node_modules/react/LICENSE vendor/LICENSE.react
cp node_modules/react-dom/LICENSE vendor/LICENSE.react-dom
node -e '
  const v = (p) => require(`./node_modules/${p}/package.json`).version;
  console.log(`graphiql ${v("graphiql")}, react ${v("react")}, react-dom ${v("react-dom")}`);
'
