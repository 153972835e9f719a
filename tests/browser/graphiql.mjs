// Browser test of the /graphiql page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core,
// which downloads no browser of its own).
//
//   node tests/browser/graphiql.mjs http://127.0.0.1:18080 [screenshot.png]
//
// Checks: the page loads nothing from other hosts, GraphiQL renders, the Docs panel loads the schema (found by
// searching for `Dispute`), the editor autocompletes a field from it, the dev "Explore as a role" bar mints an
// ADMIN token, a query run from the editor is sent with it (the server answers `me` as ADMIN), and a subscription's
// push reaches the result pane.
import { chromium } from 'playwright-core';

const base = process.argv[2];
const screenshot = process.argv[3];
if (!base) {
  console.error('usage: node graphiql.mjs <base URL> [screenshot.png]');
  process.exit(2);
}
const baseHost = new URL(base).host;
const QUERY = '{ me { role agency { code } } }';
const TOTAL_MS = 90_000; // the whole test, launch to close
const STEP_MS = 20_000; // any single wait

let browser;
const foreign = []; // requests to other hosts (blocked, and fail the test)

async function run() {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // No GPU, no sandbox (we run as root in CI) and no background traffic to Google's services,
    // so the foreign-request check only sees what the page itself asks for.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: STEP_MS,
  });
  // A new context is a fresh profile: no GraphiQL tabs left in localStorage, so the default query shows.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(STEP_MS);

  // Every request from the page passes here: other hosts are recorded and aborted (the page must be CDN-free).
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (/^(https?|wss?):$/.test(url.protocol) && url.host !== baseHost) {
      foreign.push(url.href);
      return route.abort();
    }
    return route.continue();
  });

  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  const resp = await page.goto(`${base}/graphiql`, { waitUntil: 'load' });
  if (!resp || !resp.ok()) throw new Error(`GET /graphiql answered ${resp && resp.status()}`);

  // GraphiQL has rendered once its query editor exists.
  const editor = page.locator('.graphiql-query-editor').first();
  await editor.waitFor({ state: 'visible' }).catch(() => {
    throw new Error(`GraphiQL editor did not render${pageErrors.length ? ': ' + pageErrors.join('; ') : ''}`);
  });

  await docsFindDispute(page, pageErrors);
  await autocompletesAField(page, editor);

  // Explore as ADMIN of KESBANGPOL_DKI (the bar is only there when the server runs in development).
  if (!(await page.locator('#posko-dev-bar').isVisible())) {
    throw new Error('the "Explore as a role" bar is hidden: is the server running in development mode?');
  }
  // The bar lists the server's roles and agencies (Polda Banten included, which a hard-coded
  // list once missed), and a role that does not fit its agency shows the server's reason.
  await page.waitForFunction(() => document.getElementById('posko-dev-bar')?.dataset.loaded === 'true')
    .catch(async () => {
      const err = await page.locator('#posko-error').textContent().catch(() => '');
      throw new Error(`the role bar did not load roles and agencies from the server${err ? ': ' + err : ''}`);
    });
  const agencies = await page.locator('#posko-agency-select option').evaluateAll((os) => os.map((o) => o.value));
  if (!agencies.includes('POLDA_BANTEN') || agencies.length < 10) {
    throw new Error(`the agency list is not the server's: ${agencies.join(', ')}`);
  }
  await page.locator('#posko-role-select').selectOption('POLICE');
  await page.locator('#posko-agency-select').selectOption('KPU_DKI');
  await page.locator('#posko-use-role').click();
  await page.waitForFunction(() => document.getElementById('posko-error')?.textContent.includes('roles that fit it: KPU'))
    .catch(async () => {
      const err = await page.locator('#posko-error').textContent().catch(() => '');
      throw new Error(`a role that does not fit showed no server reason; the bar shows: ${err}`);
    });
  await page.locator('#posko-role-select').selectOption('ADMIN');
  await page.locator('#posko-agency-select').selectOption('KESBANGPOL_DKI');
  await page.locator('#posko-use-role').click();
  await page.waitForFunction(() => document.getElementById('posko-role')?.textContent.includes('ADMIN'))
    .catch(async () => {
      const err = await page.locator('#posko-error').textContent().catch(() => '');
      throw new Error(`role bar did not switch to ADMIN${err ? ': ' + err : ''}`);
    });

  await setQuery(page, editor, QUERY);

  // Run it with the toolbar's execute button.
  await page.locator('.graphiql-execute-button').first().click();

  // window.readResult is put into the page by setQuery.
  await page.waitForFunction(() => {
    const text = window.readResult();
    return text.includes('"role": "ADMIN"') && text.includes('KESBANGPOL_DKI');
  }).catch(async () => {
    const text = await page.evaluate(() => window.readResult()).catch(() => '?');
    throw new Error(`result pane never showed ADMIN/KESBANGPOL_DKI; it shows: ${text.slice(0, 300)}`);
  });

  // A subscription runs in GraphiQL too (over Server-Sent Events, as ADMIN): a report made
  // meanwhile appears in the result pane.
  await setQuery(page, editor, 'subscription { disputeUpdated { dispute { title } event { kind } } }');
  await page.locator('.graphiql-execute-button').first().click();
  // The page gives no sign of when the event stream is open, and a report made before then is
  // (rightly) not pushed. So report again every 1.5 s until one shows, instead of guessing a delay
  // that a slow machine overruns.
  const stamp = `Laporan dari GraphiQL ${Date.now()}`;
  const deadline = Date.now() + 15_000;
  let shown = false;
  for (let attempt = 1; !shown && Date.now() < deadline; attempt += 1) {
    const made = await page.evaluate(async (title) => {
      const minted = await fetch('/graphiql/token?role=ADMIN&agency=KESBANGPOL_DKI', {
        headers: { 'x-posko-graphiql-nonce': window.POSKO_NONCE },
      }).then((r) => r.json());
      const res = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${minted.token}` },
        body: JSON.stringify({
          query: 'mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id } } }',
          variables: { input: { regencyCode: '31.71', occurredAt: '2024-11-25T10:00:00+07:00', category: 'CLASH', severity: 'LOW', title, description: 'Uji langganan di GraphiQL.' } },
        }),
      });
      return res.json();
    }, `${stamp} #${attempt}`);
    if (!made?.data?.reportDispute?.dispute?.id) throw new Error(`the report failed: ${JSON.stringify(made)}`);
    shown = await page.waitForFunction((stamp) => window.readResult().includes(stamp), stamp, { timeout: 1_500 })
      .then(() => true, () => false);
  }
  if (!shown) {
    const text = await page.evaluate(() => window.readResult()).catch(() => '?');
    throw new Error(`the subscription's push never showed; the result pane shows: ${text.slice(0, 300).replace(/\s+/g, ' ')}`);
  }

  if (foreign.length) throw new Error(`requests to other hosts: ${foreign.join(', ')}`);
}

// The Docs panel (GraphiQL's documentation explorer) needs the schema from introspection: open it, search for
// `Dispute`, open that type and see its fields. A refused introspection shows "Error fetching schema" instead.
async function docsFindDispute(page, pageErrors) {
  await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
  const explorer = page.locator('.graphiql-doc-explorer');
  await explorer.waitFor({ state: 'visible' });
  const search = explorer.locator('.graphiql-doc-explorer-search-input input');
  await search.waitFor({ state: 'visible' }).catch(async () => {
    const error = await explorer.locator('.graphiql-doc-explorer-error').textContent().catch(() => '');
    throw new Error(`the Docs panel never showed its search box${error ? `: ${error}` : ''}${pageErrors.length ? `; page errors: ${pageErrors.join('; ')}` : ''}`);
  });
  // The search runs 200 ms after the last key press and only over a loaded schema, so wait for the option
  // itself rather than for a delay.
  await search.click();
  await search.pressSequentially('Dispute');
  // A type's option reads `Dispute`; a field's reads `Dispute.refNo`.
  const option = explorer.locator('[data-cy="doc-explorer-option"]', { hasText: /^\s*Dispute\s*$/ }).first();
  await option.click().catch(async () => {
    const shown = await explorer.innerText().catch(() => '?');
    throw new Error(`no "Dispute" among the Docs search results; the panel shows: ${shown.slice(0, 300).replace(/\s+/g, ' ')}`);
  });
  await page.locator('.graphiql-doc-explorer-title', { hasText: /^Dispute$/ }).waitFor({ state: 'visible' });
  const fields = await explorer.locator('.graphiql-doc-explorer-field-name').allInnerTexts();
  for (const wanted of ['refNo', 'status', 'version']) {
    if (!fields.includes(wanted)) throw new Error(`the Docs page of Dispute lists no ${wanted}: ${fields.join(', ')}`);
  }
}

// Autocomplete from the loaded schema: with the cursor in `{ provinces { ▮ } }`, type `na` with real key presses,
// pick `name` from the hint list, run the query and read Jakarta's name in the result.
async function autocompletesAField(page, editor) {
  await setQuery(page, editor, '{ provinces { } }', { parses: false });
  const placed = await page.evaluate(() => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror;
    if (!cm) return false;
    cm.focus();
    cm.setCursor({ line: 0, ch: '{ provinces { '.length });
    return true;
  });
  if (!placed) throw new Error('the query editor is not CodeMirror 5: this test needs updating for the new editor');
  await page.keyboard.type('na');
  const hint = page.locator('.CodeMirror-hints .CodeMirror-hint', { hasText: /^name$/ }).first();
  await hint.waitFor({ state: 'visible' }).catch(async () => {
    const offered = await page.locator('.CodeMirror-hints .CodeMirror-hint').allInnerTexts().catch(() => []);
    throw new Error(`autocomplete did not offer "name" after "{ provinces { na"; it offered: ${offered.join(', ') || 'nothing'}`);
  });
  await hint.click();
  const text = await page.evaluate(() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue());
  if (!/\{ provinces \{ name\s*\}/.test(text)) throw new Error(`accepting the hint left the query as: ${text}`);
  await editorParsed(page);
  await page.locator('.graphiql-execute-button').first().click();
  await page.waitForFunction(() => window.readResult().includes('"name": "Daerah Khusus Ibukota Jakarta"'))
    .catch(async () => {
      const shown = await page.evaluate(() => window.readResult()).catch(() => '?');
      throw new Error(`the autocompleted query's result does not name Jakarta: ${shown.slice(0, 300).replace(/\s+/g, ' ')}`);
    });
}

// Replace the query editor's text. GraphiQL 4 uses CodeMirror 5, whose instance hangs off its DOM node:
// setValue is exact (typing would fight auto-closed brackets). If a later GraphiQL changes editors, fall back to
// the keyboard: select all and insert the text as one input event (no key presses, so no auto-closing).
async function setQuery(page, editor, query, { parses = true } = {}) {
  await page.evaluate(() => {
    // Result text reader for waitForFunction; CodeMirror 5 first, plain DOM text otherwise.
    window.readResult = () => {
      const cm = document.querySelector('.result-window .CodeMirror');
      if (cm && cm.CodeMirror) return cm.CodeMirror.getValue();
      return document.querySelector('.result-window, .graphiql-response')?.innerText ?? '';
    };
  });
  const done = await page.evaluate((q) => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror');
    if (!cm || !cm.CodeMirror) return false;
    cm.CodeMirror.setValue(q);
    return true;
  }, query);
  if (!done) {
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(query);
    return;
  }
  // Unfinished text (left for autocomplete to complete) never parses: nothing to wait for.
  if (parses) await editorParsed(page);
}

// GraphiQL parses the editor's text 100 ms after a change (debounced) and hands the parsed document to the
// fetcher, which picks the transport by it (a subscription goes over Server-Sent Events). Running before that
// parse would send the new text with the previous document, so wait until the parse has caught up.
async function editorParsed(page) {
  await page.waitForFunction(() => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror;
    return !cm || cm.documentAST?.loc?.source?.body === cm.getValue();
  });
}

const timer = new Promise((_, reject) => {
  setTimeout(() => reject(new Error(`timed out after ${TOTAL_MS / 1000} s`)), TOTAL_MS).unref();
});

let failure;
try {
  await Promise.race([run(), timer]);
} catch (e) {
  failure = e;
}
try {
  const page = browser?.contexts()[0]?.pages()[0];
  if (screenshot && page) await page.screenshot({ path: screenshot, timeout: 5_000 });
} catch (e) {
  console.error(`screenshot failed: ${e.message}`);
}
await browser?.close().catch(() => {});

if (failure) {
  console.log('0 passed, 1 failed');
  // Playwright appends a multi-line, colored call log to its errors; the first line says what went wrong.
  console.log(`graphiql: ${String(failure.message).split('\n')[0]}`);
  process.exit(1);
}
console.log('1 passed, 0 failed');
process.exit(0);
