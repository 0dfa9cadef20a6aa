// The page both browser tests load: a bare Splunk Web page (window.$C) that runs the bundled
// dashboard framework (page.js), served from loopback with the two splunkd endpoints the
// framework calls, answered as splunkd answers a user of the given roles.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

// What Splunk Web puts on every page (window.$C): the dashboard framework reads splunkd's path,
// the app and the user from it.
export const SPLUNKWEB = { SPLUNKD_PATH: '/splunkd/__raw', APP: 'regsvr32detect', USERNAME: 'analyst', LOCALE: 'en-US',
    MRSPARKLE_ROOT_PATH: '', MRSPARKLE_PORT_NUMBER: 8000,
    SERVER_ZONEINFO: '### SERIALIZED TIMEZONE FORMAT 1.0;Y0 NW 55 54 43;$' };  // UTC

// Serves page.js from DIR and INPUT as /input.json. ROUTE(req, res, path) answers what else the
// page asks for and returns true when it did; anything else asked for is a problem (a 404).
export function servePage(dir, input, { title, roles, problems, route = () => false }) {
    const files = {
        '/': ['text/html', `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>`
            + '<style>html,body{margin:0;background:#fff}#root{width:1480px}</style>'
            + `<script>window.$C = ${JSON.stringify(SPLUNKWEB)};</script></head>`
            + '<body><div id="root"></div><script src="/page.js"></script></body></html>'],
        '/page.js': ['text/javascript', readFileSync(join(dir, 'page.js'))],
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
        res.writeHead(200, { 'Content-Type': file[0] }).end(file[1]);
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
