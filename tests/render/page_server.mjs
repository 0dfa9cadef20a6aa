// The page both browser tests load: a bare Splunk Web page (window.$C) that runs the bundled
// dashboard framework (page.js), served from loopback with the two splunkd endpoints the
// framework calls, answered as splunkd answers a user of the given roles.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILD = { bundle: true, format: 'iife', jsx: 'automatic', loader: { '.js': 'jsx' }, logLevel: 'error',
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' } };

// page.jsx bundled with the dashboard framework (29 MB, seconds of esbuild): built once for what
// it is made of (page.jsx, the locked packages, the options, esbuild's version) and kept in
// build/render/, so that the render and the flow, and the next run, share it. Returns its path.
const CACHE = join(HERE, '..', '..', 'build', 'render');
export async function buildPage() {
    const key = createHash('sha256')
        .update(readFileSync(join(HERE, 'page.jsx')))
        .update(readFileSync(join(HERE, 'package-lock.json')))
        .update(JSON.stringify(BUILD))
        .update(esbuild.version)
        .digest('hex').slice(0, 16);
    const name = `page-${key}.js`;
    const out = join(CACHE, name);
    if (existsSync(out)) return out;
    mkdirSync(CACHE, { recursive: true });
    const tmp = mkdtempSync(join(CACHE, 'partial-'));
    try {
        await esbuild.build({ ...BUILD, entryPoints: [join(HERE, 'page.jsx')], outfile: join(tmp, 'page.js') });
        renameSync(join(tmp, 'page.js'), out);  // whole or not at all, also when two builds race
    } finally {
        rmSync(tmp, { recursive: true, force: true });
    }
    for (const old of readdirSync(CACHE)) {  // builds of what page.jsx and the packages were
        if (/^page-[0-9a-f]+\.js$/.test(old) && old !== name) rmSync(join(CACHE, old), { force: true });
    }
    return out;
}

// What Splunk Web puts on every page (window.$C): the dashboard framework reads splunkd's path,
// the app and the user from it.
export const SPLUNKWEB = { SPLUNKD_PATH: '/splunkd/__raw', APP: 'regsvr32detect', USERNAME: 'analyst', LOCALE: 'en-US',
    MRSPARKLE_ROOT_PATH: '', MRSPARKLE_PORT_NUMBER: 8000,
    SERVER_ZONEINFO: '### SERIALIZED TIMEZONE FORMAT 1.0;Y0 NW 55 54 43;$' };  // UTC

// Serves PAGE (page.js, from buildPage) and INPUT as /input.json. ROUTE(req, res, path) answers what else the
// page asks for and returns true when it did; anything else asked for is a problem (a 404).
export function servePage(page, input, { title, roles, problems, route = () => false }) {
    const files = {
        '/': ['text/html', `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>`
            + '<style>html,body{margin:0;background:#fff}#root{width:1480px}</style>'
            + `<script>window.$C = ${JSON.stringify(SPLUNKWEB)};</script></head>`
            + '<body><div id="root"></div><script src="/page.js"></script></body></html>'],
        '/page.js': ['text/javascript', readFileSync(page)],
        '/input.json': ['application/json', JSON.stringify(input)],
        '/favicon.ico': ['image/x-icon', ''],
        // the time presets of times.conf (none beyond the picker's own) and who is looking
        '/splunkd/__raw/servicesNS/analyst/-/data/ui/times': ['application/json', JSON.stringify({ entry: [] })],
        '/splunkd/__raw/services/authentication/current-context': ['application/json', JSON.stringify({
            entry: [{ name: 'analyst', content: { username: 'analyst', realname: 'Analyst', roles, capabilities: [] } }],
        })],
    };
    const server = createServer((req, res) => {
        const path = req.url.split('?')[0];
        if (route(req, res, path)) return;
        const file = files[path];
        if (!file) {
            problems.push(`the page asked for ${req.method} ${req.url}, which is not served`);
            res.writeHead(404).end();
            return;
        }
        // the bundle does not change while the server runs: the browser may keep it, compiled
        const cache = path === '/page.js' ? { 'Cache-Control': 'max-age=3600' } : {};
        res.writeHead(200, { 'Content-Type': file[0], ...cache }).end(file[1]);
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
