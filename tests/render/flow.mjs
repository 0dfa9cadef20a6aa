// The admin's tuning loop in the browser, run by tests/test_tuning_render.py:
//   APP_COPY=DIR node tests/render/flow.mjs OVERVIEW_ROWS.json OUT_DIR
// Splunk's dashboard framework draws the app's views in headless Chromium (page.jsx). The
// overview is drawn from rows the command produced; a click on a finding under "False positive?
// Allowlist a finding" must open the allowlist form with the finding's cells. The form is then
// drawn live (?live=regsvr32_allowlist_add): every search it runs, with the tokens the browser
// resolved, is answered by tests/support/tuning_searches.py, which runs the app's commands in
// APP_COPY. The flow: prefilled from the finding; with no reason the check shows the loader's
// refusal; cells edited to wildcards and a reason typed; the preview shows what the row clears;
// nothing is written until the checked row is selected; then the row is written, and the health
// view lists it. Fails (exit 1, reasons on stderr) on any console or page error, a panel in an
// error state, or a step that does not show what it should. Writes OUT_DIR/flow.json (what each
// step showed) and the screenshots allowlist_add.png and allowlist_health.png.
import { readFileSync, mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { buildPage, servePage } from './page_server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const VIEWS = join(ROOT, 'app', 'default', 'data', 'ui', 'views');
const [rowsPath, outDir] = process.argv.slice(2);
const APP_COPY = process.env.APP_COPY;
const LOCAL = join(APP_COPY, 'lookups', 'regsvr32_allowlist_local.csv');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const problems = [];
const record = {};
function definitionOf(name) {
    const xml = readFileSync(join(VIEWS, `${name}.xml`), 'utf8');
    return JSON.parse(xml.match(/<definition><!\[CDATA\[([\s\S]*?)\]\]><\/definition>/)[1]);
}

// The searches, answered by the Python model (the app's commands run for real in APP_COPY): one
// process for the whole flow, a request a line and an answer a line, one search at a time.
let model;
let queue = Promise.resolve();
function startModel() {
    const py = spawn('python3', [join(ROOT, 'tests', 'support', 'tuning_searches.py'), '--serve'],
        { env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const waiting = [];
    let out = '';
    let err = '';
    py.stdout.on('data', (d) => {
        out += d;
        for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
            const line = out.slice(0, nl);
            out = out.slice(nl + 1);
            waiting.shift()(line);
        }
    });
    py.stderr.on('data', (d) => { err += d; });
    py.on('close', (code) => {
        if (code) problems.push(`search model failed (exit ${code}): ${err}`);
        while (waiting.length) waiting.shift()(JSON.stringify({ error: `the search model ended: ${err}` }));
    });
    model = { py, waiting, stop: () => new Promise((resolve) => { py.on('close', resolve); py.stdin.end(); }) };
}

function search(body) {
    const answer = queue.then(() => new Promise((resolve) => {
        model.waiting.push(resolve);
        model.py.stdin.write(`${JSON.stringify(JSON.parse(body))}\n`);
    }));
    queue = answer;
    return answer;
}

// The views come from the app's own files; searches go to the Python model.
function route(req, res, path) {
    const view = path.match(/^\/view\/(regsvr32_[a-z_]+)\.json$/);
    if (view) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(definitionOf(view[1])));
        return true;
    }
    if (path === '/search' && req.method === 'POST') {
        let body = '';
        req.on('data', (d) => { body += d; });
        req.on('end', async () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(await search(body)));
        return true;
    }
    return false;
}

function serve(page, overview) {
    return servePage(page, overview, { title: 'regsvr32', roles: ['admin'], problems, route });
}

// What a panel shows: its text, table rows (cells), placeholder and error state.
function panelOf(id) {
    const el = document.querySelector(`[data-test="select-outline"][data-id="${id}"]`);
    if (!el) return null;
    // how far down a row can be seen: the panel, or a box inside it that clips or scrolls
    const shown = (node) => {
        let edge = el.getBoundingClientRect().bottom;
        for (let p = node.parentElement; p && p !== el; p = p.parentElement) {
            if (getComputedStyle(p).overflowY !== 'visible') edge = Math.min(edge, p.getBoundingClientRect().bottom);
        }
        return edge;
    };
    return {
        clipped: [...el.querySelectorAll('[data-test="body"] [data-test="row"]')]
            .filter((r) => r.getBoundingClientRect().bottom > shown(r) + 1).length,
        text: el.innerText,
        rows: [...el.querySelectorAll('[data-test="body"] [data-test="row"]')].map(
            (r) => [...r.querySelectorAll('[data-test="cell"]')].map((c) => c.innerText.trim())),
        head: [...el.querySelectorAll('[data-test="head-cell"], th')].map((c) => c.innerText.trim()),
        placeholder: el.querySelectorAll('[data-test="viz-waiting-for-input"]').length > 0,
        message: [...el.querySelectorAll('[data-test="viz-waiting-for-input-message"]')].map((e) => e.innerText).join(' '),
        errors: [...el.querySelectorAll('[data-test*="error" i]')].map((e) => e.innerText),
    };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits until the panel shows what `ok` wants (or the time is up); returns what it showed.
async function waitPanel(page, id, ok, what, timeout = 30000) {
    const until = Date.now() + timeout;
    let panel;
    while (Date.now() < until) {
        panel = await page.evaluate(panelOf, id);
        if (panel && ok(panel)) {
            if (panel.clipped) problems.push(`${id}: ${panel.clipped} table row(s) cut off by the panel's height`);
            return panel;
        }
        await sleep(500);
    }
    problems.push(`${id}: ${what}; it showed ${JSON.stringify(panel)}`);
    return panel;
}

// The text input whose title is LABEL: its current value, or a new one typed in (then Enter).
async function input(page, label, value) {
    const handle = await page.evaluateHandle((label) => {
        const titles = [...document.querySelectorAll('label, [data-test="input-title"], [data-test*="title"]')]
            .filter((e) => e.innerText && e.innerText.trim() === label);
        for (const t of titles) {
            let box = t.parentElement;
            for (let i = 0; i < 4 && box; i += 1, box = box.parentElement) {
                const field = box.querySelector('input[type="text"], input:not([type])');
                if (field) return field;
            }
        }
        return null;
    }, label);
    const field = handle.asElement();
    if (!field) {
        problems.push(`no text input titled ${JSON.stringify(label)}`);
        return undefined;
    }
    if (value === undefined) return field.evaluate((e) => e.value);
    await field.click({ clickCount: 3 });
    await page.keyboard.down('Control');
    await page.keyboard.press('KeyA');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    if (value) await field.type(value);
    await page.keyboard.press('Enter');
    await sleep(300);
    return value;
}

async function tokens(page) {
    return page.evaluate(() => (window.__render.tokens || {}).default || {});
}

async function main() {
    const overview = { definition: definitionOf('regsvr32_overview'), ...JSON.parse(readFileSync(rowsPath, 'utf8')) };
    const profile = mkdtempSync(join(tmpdir(), 'regsvr32-chromium-'));
    let browser;
    let server;
    try {
        startModel();
        server = await serve(await buildPage(), overview);
        const base = `http://127.0.0.1:${server.address().port}/`;
        browser = await puppeteer.launch({
            executablePath: CHROMIUM, headless: true, userDataDir: profile, env: { ...process.env, TZ: 'UTC' },
            args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
        });
        const page = await browser.newPage();
        await page.setViewport({ width: 1480, height: 1200 });
        page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
        const load = async (url) => {
            await page.goto(url, { waitUntil: 'load' });
            await page.waitForFunction(() => window.__render && (window.__render.fatal || window.__render.mounted), { timeout: 60000 });
            const fatal = await page.evaluate(() => window.__render.fatal);
            if (fatal) throw new Error(`the page failed: ${fatal}`);
            const invalid = await page.evaluate(() => window.__render.validationErrors);
            for (const e of invalid || []) problems.push(`Splunk's validator: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
        };

        // 1. The overview: the false positive's row opens the form with its cells.
        await load(base);
        await waitPanel(page, 'viz_tune', (p) => p.rows.length > 0 && !p.placeholder, 'the findings to tune should be listed');
        const tune = overview.dataSources.ds_tune;
        const col = (name) => tune.columns[tune.fields.findIndex((f) => f.name === name)];
        const index = col('rule_id').findIndex((r) => r === 'R32-048');
        if (index < 0 || index >= 5) throw new Error(`no R32-048 finding on the first page of ds_tune: ${col('rule_id')}`);
        await page.evaluate(() => { window.__opened = []; window.open = (u) => { window.__opened.push(String(u)); return null; }; });
        const rows = await page.$$('[data-id="viz_tune"] [data-test="body"] [data-test="row"]');
        await (await rows[index].$('[data-test="cell"]')).click();
        await page.waitForFunction(() => window.__opened.length > 0, { timeout: 5000 }).catch(() => {});
        await sleep(250);  // a second window would be one too many
        const opened = await page.evaluate(() => window.__opened);
        record.opened = opened;
        if (opened.length !== 1 || !opened[0].startsWith('/app/regsvr32detect/regsvr32_allowlist_add?')) {
            throw new Error(`a click on the finding opened ${JSON.stringify(opened)}`);
        }
        const finding = Object.fromEntries(['rule_id', 'image', 'parent_image', 'module', 'url_host', 'user', 'host']
            .map((c) => [c, col(c)[index] || '']));
        record.finding = finding;

        // 2. The form, prefilled from the address the click opened.
        const query = opened[0].split('?')[1];
        await load(`${base}?live=regsvr32_allowlist_add&${query}`);
        const prefilled = await tokens(page);
        record.prefilled = prefilled;
        for (const [c, v] of Object.entries(finding)) {
            if ((prefilled[c] || '').trim() !== v) problems.push(`prefill: token ${c} is ${JSON.stringify(prefilled[c])}, the finding has ${JSON.stringify(v)}`);
            const shown = await input(page, (definitionOf('regsvr32_allowlist_add').inputs[`input_${c}`] || {}).title);
            if ((shown || '').trim() !== v) problems.push(`prefill: the ${c} input shows ${JSON.stringify(shown)}, the finding has ${JSON.stringify(v)}`);
        }
        if (prefilled.expires !== '+90d') problems.push(`the expiry should default to +90d: ${prefilled.expires}`);

        // 3. No reason yet: the check shows the loader's refusal.
        const refused = await waitPanel(page, 'viz_check', (p) => p.rows.length === 1 && p.text.includes('refused'),
            'the row without a reason should be refused');
        record.refused = refused.rows[0];
        if (!refused.text.includes('empty reason: say why this is allowed')) problems.push(`the refusal is not the loader's message: ${refused.text}`);

        // 4. Edit: the Office version folder and the host to wildcards, the user to any; a reason.
        const edits = {
            module: finding.module.replace(/\\Office16\\/i, '\\Office*\\'),
            host: 'ws-*',
            user: '',
            reason: 'Office Click-to-Run registers its own MSOSB.DLL (CHG-2291)',
        };
        const titles = definitionOf('regsvr32_allowlist_add').inputs;
        for (const [c, v] of Object.entries(edits)) await input(page, titles[`input_${c}`].title, v);
        record.edits = edits;
        const edited = await tokens(page);
        for (const [c, v] of Object.entries(edits)) {
            if ((edited[c] || '').trim() !== v) problems.push(`edit: token ${c} is ${JSON.stringify(edited[c])}, typed ${JSON.stringify(v)}`);
        }

        // 5. The preview and the check, for the edited row; nothing written yet.
        const checked = await waitPanel(page, 'viz_check', (p) => p.rows.length === 1 && p.rows[0].includes('ok') && p.text.includes('CHG-2291'),
            'the edited row should be checked ok');
        record.checked = checked.rows[0];
        record.preview = await waitPanel(page, 'viz_preview', (p) => p.rows.length > 0 && !p.placeholder, 'the preview should list findings');
        record.preview_hosts = await waitPanel(page, 'viz_preview_hosts', (p) => p.rows.length > 0, 'the preview by host should have rows');
        record.warning = await waitPanel(page, 'viz_warning', (p) => p.rows.length === 1, 'the warning should say something');
        record.cleared = await waitPanel(page, 'viz_cleared', (p) => /\d/.test(p.text), 'the count of cleared findings');
        record.written_before_confirm = existsSync(LOCAL);
        const write = await page.evaluate(panelOf, 'viz_write');
        record.write_before_confirm = write;

        // 6. Confirm: select the checked row; the row is written, once.
        // (the first click after typing may only take the focus from the input: tried again)
        for (let i = 0; i < 3 && !(await tokens(page)).confirm; i += 1) {
            const cells = await page.$$('[data-id="viz_check"] [data-test="body"] [data-test="row"] [data-test="cell"]');
            const cell = cells[checked.rows[0].indexOf('ok')];      // the status cell, "ok"
            await cell.scrollIntoView();
            const box = await cell.boundingBox();
            record.click_target = await page.evaluate((x, y) => {
                const e = document.elementFromPoint(x, y);
                return e ? `${e.tagName} ${e.getAttribute('data-test')} ${e.innerText.slice(0, 40)}` : null;
            }, box.x + box.width / 2, box.y + box.height / 2);
            await cell.click();
            await page.waitForFunction(() => ((window.__render.tokens || {}).default || {}).confirm, { timeout: 2000 }).catch(() => {});
        }
        record.written = await waitPanel(page, 'viz_write', (p) => p.rows.length === 1 && p.text.includes('written to regsvr32_allowlist_local'),
            'the confirmed row should be written');
        record.confirm = (await tokens(page)).confirm;
        await sleep(1500);
        await page.screenshot({ path: join(outDir, 'allowlist_add.png'), fullPage: true });

        // 7. The health view lists the row: active, attributed, with its hits.
        await load(`${base}?live=regsvr32_allowlist_health`);
        record.health_all = await waitPanel(page, 'viz_rows', (p) => p.rows.length > 0, 'the health view should list the rows');
        record.health_counts = await waitPanel(page, 'viz_active', (p) => /\d/.test(p.text), 'the active count');
        await sleep(1500);
        await page.screenshot({ path: join(outDir, 'allowlist_health.png'), fullPage: true });
        // searchable: the row by its ticket
        await input(page, definitionOf('regsvr32_allowlist_health').inputs.input_filter.title, 'CHG-2291');
        record.health = await waitPanel(page, 'viz_rows', (p) => p.rows.length === 1, 'a search for the ticket should find the one row');
        record.queries = await page.evaluate(() => window.__render.queries.length);
    } finally {
        if (browser) await browser.close();
        if (server) server.close();
        if (model) await model.stop();
        rmSync(profile, { recursive: true, force: true });
        writeFileSync(join(outDir, 'flow.json'), JSON.stringify(record, null, 1));
    }
    for (const p of problems) console.error(p);
    process.exit(problems.length ? 1 : 0);
}

main().catch((e) => { for (const p of problems) console.error(p); console.error(e.stack || String(e)); process.exit(2); });
