/** The report page's style sheet (inlined). @module */

/** CSS of the report page. */
export const STYLE = `
:root { color-scheme: light; font-family: system-ui, sans-serif; font-size: 14px; color: #222; }
body { margin: 0 auto; max-width: 1200px; padding: 0 16px 32px; }
h1 { font-size: 1.5rem; margin: 16px 0 8px; }
h2 { font-size: 1.2rem; margin: 28px 0 4px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.intro { color: #555; margin: 4px 0 8px; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.summary dt { font-weight: 600; }
dl.summary dd { margin: 0; }
.chart { width: 100%; height: 360px; }
.chart.tall { height: 560px; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { border-bottom: 1px solid #eee; padding: 3px 8px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
th { background: #f5f5f5; cursor: pointer; user-select: none; white-space: nowrap; position: sticky; top: 0; }
th[aria-sort=ascending]::after { content: " ▲"; }
th[aria-sort=descending]::after { content: " ▼"; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.empty { color: #777; font-style: italic; }
.warn { color: #a15c00; }
section > table { display: block; max-height: 480px; overflow: auto; }
footer { margin-top: 32px; color: #777; font-size: 0.85rem; }
`;
