// The page the render test loads: Splunk's own dashboard framework, view-only preset, drawing the
// app's Dashboard Studio definition with each search data source replaced by rows that
// | regsvr32detect produced (tests/support/dashboard_data.py). It reports to window.__render.
import React from 'react';
import { createRoot } from 'react-dom/client';
import DashboardCore from '@splunk/dashboard-core';
import { DashboardContextProvider } from '@splunk/dashboard-context';
import EnterpriseViewOnlyPreset from '@splunk/dashboard-presets/EnterpriseViewOnlyPreset';
import { DashboardValidator } from '@splunk/dashboard-validation';
import { createSchemaBasedOnPresets } from '@splunk/dashboard-definition';
import SplunkThemeProvider from '@splunk/themes/SplunkThemeProvider';

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
    const { definition, dataSources } = await (await fetch('/input.json')).json();
    const errors = validate(definition);
    // The validator must be able to say no: a copy with an unknown visualization type.
    const broken = JSON.parse(JSON.stringify(definition));
    Object.values(broken.visualizations)[0].type = 'splunk.no-such-viz';
    const brokenErrors = validate(broken);
    window.__render = { validationErrors: errors, validatorRejectsBroken: brokenErrors.length > 0 };
    createRoot(document.getElementById('root')).render(
        <SplunkThemeProvider family="enterprise" colorScheme="light" density="comfortable">
            <DashboardContextProvider preset={EnterpriseViewOnlyPreset} initialDefinition={withRows(definition, dataSources)}>
                <DashboardCore width="100%" height="100%"
                    onValidationError={(e) => { window.__render.coreValidationError = String(e); }} />
            </DashboardContextProvider>
        </SplunkThemeProvider>
    );
    window.__render.mounted = true;
}

main().catch((e) => { window.__render = { fatal: String(e && e.stack || e) }; console.error(e); });
