// Render test of the overview dashboard (Dashboard Studio), run by tests/test_dashboard_render.py:
//   node tests/render/render.mjs VIEW.xml ROWS.json OUT.png
// Builds page.jsx with esbuild (once: page_server.mjs), serves it on a loopback port, opens it in headless Chromium and
// fails (exit 1, reasons on stderr) on: a definition Splunk's validator rejects, any console
// error, page error or unanswered request, any visualization in an error state, any panel drawn
// empty (or not showing its rows, value or series) although its data source has rows, a
// drilldown that does not open the right search. It then breaks one data source on purpose to
// show that these checks notice. Writes a PNG screenshot of the whole dashboard.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { buildPage, servePage } from './page_server.mjs';

const [viewPath, rowsPath, pngPath] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const problems = [];
const pending = [];  // console messages still being read

function definitionOf(xml) {
    const m = xml.match(/<definition><!\[CDATA\[([\s\S]*?)\]\]><\/definition>/);
    if (!m) throw new Error(`${viewPath}: no <definition><![CDATA[...]]></definition>`);
    return JSON.parse(m[1]);
}

// The overview as an ordinary user sees it.
function serve(page, input) {
    return servePage(page, input, { title: 'regsvr32 overview', roles: ['user'], problems });
}

// What each visualization shows, read from the DOM. The framework wraps each one in an element
// whose data-id is its id in the definition; inside, "viz-waiting-for-input" is the placeholder
// drawn instead of data, with a message: "No search results returned", or the error (a data
// source error is drawn that way); an element whose data-test names an error is an error too.
function inspectPanels() {
    // how far down (or right) a node inside a panel can be seen
    const shown = (panel, node, overflow, side) => {
        let edge = panel.getBoundingClientRect()[side];
        for (let p = node.parentElement; p && p !== panel; p = p.parentElement) {
            if (getComputedStyle(p)[overflow] !== 'visible') edge = Math.min(edge, p.getBoundingClientRect()[side]);
        }
        return edge;
    };
    const out = {};
    for (const el of document.querySelectorAll('[data-test="select-outline"][data-id]')) {
        out[el.getAttribute('data-id')] = {
            placeholder: el.querySelectorAll('[data-test="viz-waiting-for-input"]').length > 0,
            message: [...el.querySelectorAll('[data-test="viz-waiting-for-input-message"]')].map((e) => e.innerText).join(' '),
            errors: [...el.querySelectorAll('[data-test*="error" i]')].map((e) => `${e.getAttribute('data-test')}: ${e.innerText}`),
            // the status icon in the corner: "Warning" when a search returned nothing, "Error" ...
            status: [...el.querySelectorAll('[data-test="simple-status-icon-container"] svg')].map((e) => e.getAttribute('aria-label')),
            tableRows: el.querySelectorAll('[data-test="body"] [data-test="row"]').length,
            // rows or cells of a table drawn outside what shows of it (the panel, or a box inside
            // it that clips or scrolls): cut off, and with no scroll bar in a dashboard's panel
            clippedRows: [...el.querySelectorAll('[data-test="body"] [data-test="row"]')]
                .filter((r) => r.getBoundingClientRect().bottom > shown(el, r, 'overflowY', 'bottom') + 1).length,
            clippedCells: [...el.querySelectorAll('[data-test="body"] [data-test="row"] [data-test="cell"]')]
                .filter((c) => c.getBoundingClientRect().right > shown(el, c, 'overflowX', 'right') + 1).length,
            pager: /\bNext\b/.test(el.innerText),
            marks: el.querySelectorAll('svg path, svg rect, canvas').length,
            text: el.innerText,
        };
    }
    return out;
}

// Does each panel show what its data source holds? Returns the problems and one line per panel.
function judge(definition, dataSources, panels) {
    const found = [];
    const report = [];
    for (const [id, viz] of Object.entries(definition.visualizations)) {
        const ds = dataSources[viz.dataSources.primary];
        const rows = ds.columns.length ? ds.columns[0].length : 0;
        const panel = panels[id];
        if (!panel) { found.push(`${id}: not drawn at all`); continue; }
        for (const e of panel.errors) found.push(`${id}: error state: ${e}`);
        const noResults = rows === 0 && /^No search results returned$/.test(panel.message.trim());
        if (panel.placeholder && !noResults) found.push(`${id}: error state: ${panel.message}`);
        if (panel.status.some((s) => !(noResults && s === 'Warning'))) found.push(`${id}: status ${panel.status.join(', ')}`);
        const series = ds.fields.map((f) => f.name).filter((name) => !name.startsWith('_'));
        const last = ds.columns.length ? ds.columns[ds.columns.length - 1][rows - 1] : undefined;
        const drawn = {
            'splunk.table': panel.tableRows === Math.min(rows, (viz.options || {}).count || 10),  // one page
            'splunk.column': panel.marks > 0 && series.every((name) => panel.text.includes(name)),  // legend
            'splunk.singlevalue': panel.text.split('\n').includes(String(last)),  // the value itself
        }[viz.type];
        if (drawn === undefined) found.push(`${id}: no check for visualization type ${viz.type}`);
        if (viz.type === 'splunk.table') {
            const count = (viz.options || {}).count || 10;
            if (panel.clippedRows) found.push(`${id}: ${panel.clippedRows} table row(s) cut off by the panel's height`);
            if (panel.clippedCells) found.push(`${id}: ${panel.clippedCells} cell(s) cut off by the panel's width`);
            if (rows > count && !panel.pager && !panel.placeholder) found.push(`${id}: ${rows} rows, ${count} a page, and no pager`);
        }
        if (rows > 0 && (panel.placeholder || !drawn)) found.push(`${id}: drawn empty, but ${viz.dataSources.primary} has ${rows} rows`);
        report.push(`${id.padEnd(18)} ${viz.type.padEnd(19)} ${String(rows).padStart(3)} rows  ${
            panel.placeholder ? `placeholder "${panel.message}"` : `${panel.tableRows} table rows, ${panel.marks} marks`}`);
    }
    return { found, report };
}

const BROKEN = 'ds_top_users';
const BROKEN_VIZ = 'viz_top_users';

// Loads URL and returns what the panels show once DRAWN(panels) holds (the charts take a while
// to draw), or what they show after 30 s, for the checks to report.
async function load(page, url, drawn) {
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__render && (window.__render.fatal || window.__render.mounted), { timeout: 60000 });
    const until = Date.now() + 30000;
    let panels = await page.evaluate(inspectPanels);
    while (!drawn(panels) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 250));
        panels = await page.evaluate(inspectPanels);
    }
    await Promise.all(pending);
    return panels;
}

// A click on the newest finding must open the host's process activity around it: the search,
// earliest and latest of the drilldown, filled from that row.
async function drilldown(page, input) {
    await page.evaluate(() => { window.__opened = []; window.open = (u) => { window.__opened.push(String(u)); return null; }; });
    await page.click('[data-id="viz_newest"] [data-test="body"] [data-test="row"] [data-test="cell"]');
    await page.waitForFunction(() => window.__opened.length > 0, { timeout: 5000 }).catch(() => {});
    await new Promise((r) => setTimeout(r, 250));  // a second window would be one too many
    const opened = await page.evaluate(() => window.__opened);
    const ds = input.dataSources.ds_newest;
    const first = (name) => ds.columns[ds.fields.findIndex((f) => f.name === name)][0];
    const want = { q: `\`regsvr32_process_activity("${first('dest')}")\``, earliest: first('_drill_earliest'), latest: first('_drill_latest') };
    if (opened.length !== 1) return [`drilldown: a click on the newest finding opened ${JSON.stringify(opened)}`];
    const params = new URL(opened[0], 'http://splunk.invalid/').searchParams;
    const wrong = Object.entries(want).filter(([k, v]) => params.get(k) !== String(v));
    console.log(`drilldown opens ${opened[0]}`);
    return wrong.length ? [`drilldown: ${opened[0]} should have ${JSON.stringify(want)}`] : [];
}

async function main() {
    const input = { definition: definitionOf(readFileSync(viewPath, 'utf8')), ...JSON.parse(readFileSync(rowsPath, 'utf8')) };
    const profile = mkdtempSync(join(tmpdir(), 'regsvr32-chromium-'));
    let browser, server;
    try {
        server = await serve(await buildPage(), input);
        browser = await puppeteer.launch({
            executablePath: CHROMIUM, headless: true, userDataDir: profile,
            env: { ...process.env, TZ: 'UTC' },
            args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--disable-dev-shm-usage'],
        });
        const page = await browser.newPage();
        await page.setViewport({ width: 1480, height: 1200 });
        page.on('console', async (m) => {
            if (m.type() !== 'error') return;
            const done = Promise.all(m.args().map((a) => a.evaluate((x) => (x instanceof Error ? x.stack : String(x)))))
                .then((parts) => problems.push(`console error: ${parts.join(' ') || m.text()} (${m.location().url || ''})`),
                    () => problems.push(`console error: ${m.text()}`));
            pending.push(done);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
        const url = `http://127.0.0.1:${server.address().port}/`;
        const panels = await load(page, url, (p) => !judge(input.definition, input.dataSources, p).found.length);
        const render = await page.evaluate(() => window.__render);
        if (render.fatal) problems.push(`the page failed: ${render.fatal}`);
        for (const e of render.validationErrors || []) problems.push(`Splunk's validator: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
        if (!render.validatorRejectsBroken) problems.push("Splunk's validator accepted a broken definition: it is not checking");
        if (render.coreValidationError) problems.push(`DashboardCore: ${render.coreValidationError}`);
        const { found, report } = judge(input.definition, input.dataSources, panels);
        problems.push(...found);
        console.log(report.join('\n'));
        await page.screenshot({ path: pngPath, fullPage: true });
        problems.push(...await drilldown(page, input));

        // The checks themselves: one data source made to fail must be reported, and only it.
        const before = problems.length;
        const brokenPanels = await load(page, `${url}?break=${BROKEN}`, (p) => {
            const found = judge(input.definition, input.dataSources, p).found;
            return found.length > 0 && found.every((f) => f.startsWith(`${BROKEN_VIZ}:`));
        });
        problems.splice(before);  // the console error the broken data source causes is expected
        const noticed = judge(input.definition, input.dataSources, brokenPanels).found;
        if (!noticed.length || noticed.some((p) => !p.startsWith(`${BROKEN_VIZ}:`))) {
            problems.push(`the checks missed a broken data source or blamed another panel: ${JSON.stringify(noticed)}`);
        }
    } finally {
        if (browser) await browser.close();
        if (server) server.close();
        rmSync(profile, { recursive: true, force: true });
    }
    for (const p of problems) console.error(p);
    process.exit(problems.length ? 1 : 0);
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(2); });
