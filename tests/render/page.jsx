// The page the render test loads: Splunk's own dashboard framework, view-only preset, drawing the
// app's Dashboard Studio definition with each search data source replaced by rows that
// | regsvr32detect produced (tests/support/dashboard_data.py). It reports to window.__render.
// ?live=VIEW instead draws views/VIEW with its searches run: each search, its tokens resolved by
// the framework, is sent to POST /search and answered by tests/support/tuning_searches.py (the
// commands for real); form.TOKEN=VALUE in the address sets input tokens, as in Splunk Web.
import React from 'react';
import { createRoot } from 'react-dom/client';
import DashboardCore from '@splunk/dashboard-core';
import { DashboardContextProvider } from '@splunk/dashboard-context';
import EnterpriseViewOnlyPreset from '@splunk/dashboard-presets/EnterpriseViewOnlyPreset';
import { DashboardValidator } from '@splunk/dashboard-validation';
import { createSchemaBasedOnPresets } from '@splunk/dashboard-definition';
import SplunkThemeProvider from '@splunk/themes/SplunkThemeProvider';
import TestDataSource from '@splunk/datasources/TestDataSource';

const LIVE = new URLSearchParams(window.location.search).get('live');

// A search answered by the test's server from the query the framework resolved.
class ModelledSearch extends TestDataSource {
    constructor(options = {}, context = {}) {
        super({}, context);
        this.query = options.query;
        this.dsId = context.id;
    }

    request(params) {
        return (observer) => {
            let stop = () => {};
            let stopped = false;
            window.__render.queries.push({ id: this.dsId, query: this.query });
            fetch('/search', { method: 'POST', body: JSON.stringify({ view: LIVE, id: this.dsId, query: this.query }) })
                .then((r) => r.json())
                .then((res) => {
                    if (stopped) return;
                    if (res.error) {
                        observer.error({ level: 'error', message: res.error, meta: { status: 'failed' } });
                        return;
                    }
                    this.data = res;
                    this.progress = 100;
                    stop = super.request(params)(observer);
                });
            return () => { stopped = true; stop(); };
        };
    }
}

const LIVE_PRESET = { ...EnterpriseViewOnlyPreset, dataSources: { ...EnterpriseViewOnlyPreset.dataSources, 'ds.search': ModelledSearch } };

// A chain becomes one search: its parent's query, then its own (what Splunk runs for it).
function searched(definition) {
    const full = (id) => {
        const ds = definition.dataSources[id];
        return ds.type === 'ds.chain' ? `${full(ds.options.extend)}\n${ds.options.query}` : ds.options.query;
    };
    const dataSources = {};
    for (const [id, ds] of Object.entries(definition.dataSources)) {
        dataSources[id] = { type: 'ds.search', name: ds.name, options: { query: full(id) } };
    }
    return { ...definition, dataSources };
}

function formTokens() {
    const tokens = {};
    for (const [k, v] of new URLSearchParams(window.location.search)) {
        if (k.startsWith('form.')) tokens[k.slice(5)] = v;
    }
    return { default: tokens };
}

function validate(definition) {
    const validator = new DashboardValidator();
    const problem = validator.setSchema(createSchemaBasedOnPresets(EnterpriseViewOnlyPreset));
    if (problem) throw problem;
    return validator.validate(definition) || [];
}

// Every data source becomes a ds.test holding that data source's rows; nothing else changes.
// ?break=ID makes data source ID fail instead, so the test can show that its checks notice.
function withRows(definition, rows) {
    const broken = new URLSearchParams(window.location.search).get('break');
    const dataSources = {};
    for (const [id, ds] of Object.entries(definition.dataSources)) {
        if (!rows[id]) throw new Error(`no rows for data source ${id}`);
        dataSources[id] = { type: 'ds.test', name: ds.name,
            options: id === broken ? { error: `${id} broken on purpose` } : { data: rows[id] } };
    }
    return { ...definition, dataSources };
}

async function main() {
    const { definition, dataSources } = LIVE ? { definition: await (await fetch(`/view/${LIVE}.json`)).json() }
        : await (await fetch('/input.json')).json();
    const errors = validate(definition);
    // The validator must be able to say no: a copy with an unknown visualization type.
    const broken = JSON.parse(JSON.stringify(definition));
    Object.values(broken.visualizations)[0].type = 'splunk.no-such-viz';
    const brokenErrors = validate(broken);
    window.__render = { validationErrors: errors, validatorRejectsBroken: brokenErrors.length > 0, queries: [], tokens: {} };
    createRoot(document.getElementById('root')).render(
        <SplunkThemeProvider family="enterprise" colorScheme="light" density="comfortable">
            <DashboardContextProvider preset={LIVE ? LIVE_PRESET : EnterpriseViewOnlyPreset}
                initialDefinition={LIVE ? searched(definition) : withRows(definition, dataSources)}
                initialTokenBinding={LIVE ? formTokens() : undefined}
                onTokenBindingChange={(tokens) => { window.__render.tokens = tokens; }}>
                <DashboardCore width="100%" height="100%"
                    onValidationError={(e) => { window.__render.coreValidationError = String(e); }} />
            </DashboardContextProvider>
        </SplunkThemeProvider>
    );
    window.__render.mounted = true;
}

main().catch((e) => { window.__render = { fatal: String(e && e.stack || e) }; console.error(e); });
