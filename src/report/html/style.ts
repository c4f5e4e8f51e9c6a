/**
 * @module report/html/style
 * The page's stylesheet: system fonts only (nothing to load), light and dark through
 * `prefers-color-scheme`, and a print layout (every model, no tabs, open details, light colours).
 * Chart colours are CSS variables too; the client reads them, so charts follow the theme.
 */

/** The inline stylesheet. */
export const PAGE_CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#1b1f24;--muted:#5b6470;--line:#dde1e6;--accent:#2457d6;--bad:#c2362b;--good:#1f7a3d;--warn:#a86400;
--c-preprocess:#7b61ff;--c-serialize:#b04fc2;--c-network:#3b8fd9;--c-queue:#e0662b;--c-transfer:#c9a227;--c-compute:#2e9e6a;--c-prefill:#1597a8;--c-decode:#6f9a1f;--c-postprocess:#d0457a;--c-other:#9aa3ad;--c-request:#6b7785;--c-client:#4a5561;
--c-p50:#2e9e6a;--c-p95:#e0a020;--c-p99:#d0452b;--c-before:#8a94a3;--c-after:#2457d6;--c-gpu:#b04fc2;--c-clock:#3b8fd9;--c-throttle:rgba(208,69,43,.16);--grid:rgba(0,0,0,.07)}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--card:#181c22;--fg:#e6e9ed;--muted:#9aa3ad;--line:#2b313a;--accent:#7aa2ff;--bad:#ff7b6e;--good:#5fd08e;--warn:#f0b45a;
--c-other:#6b7480;--c-request:#8792a0;--c-client:#a4aebb;--c-before:#8a94a3;--c-after:#7aa2ff;--c-throttle:rgba(255,123,110,.2);--grid:rgba(255,255,255,.08)}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Helvetica,Arial,sans-serif}
code,pre,.num{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
.top{padding:14px 24px 6px}.top h1{margin:0;font-size:18px;font-weight:650}.sub{margin:2px 0 0;color:var(--muted)}
.tabs{display:flex;gap:4px;padding:6px 24px 0;border-bottom:1px solid var(--line)}
.tabs button{font:inherit;color:var(--muted);background:none;border:1px solid transparent;border-bottom:none;padding:6px 12px;border-radius:6px 6px 0 0;cursor:pointer}
.tabs button[aria-selected=true]{color:var(--fg);background:var(--card);border-color:var(--line);margin-bottom:-1px}
main{padding:12px 24px 24px}
.first{display:grid;grid-template-columns:minmax(300px,1.05fr) minmax(320px,1fr);gap:14px;align-items:start}
.first .mix,.first .wide{grid-column:1/-1}.scroll{overflow-x:auto}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;min-width:0}
.card h2{margin:0 0 8px;font-size:13px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.verdict .fix{font-size:22px;font-weight:700;color:var(--bad);margin:0}
.verdict.none .fix{color:var(--good)}.verdict.insufficient .fix{color:var(--warn)}
.verdict .why{margin:6px 0 10px;font-size:15px}
.facts{display:flex;flex-wrap:wrap;gap:6px 18px;margin:0 0 10px;padding:0}
.facts div{min-width:0}.facts dt{font-size:11px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}.facts dd{margin:0;font-weight:600}
.next{border-top:1px solid var(--line);padding-top:10px}
.next p{margin:0 0 6px}
.next pre{margin:6px 0 0;padding:8px 10px;background:var(--bg);border:1px solid var(--line);border-radius:6px;overflow:auto;font-size:12px;max-height:180px}
.copy{font:inherit;font-size:12px;padding:3px 10px;border-radius:6px;border:1px solid var(--accent);background:none;color:var(--accent);cursor:pointer;float:right;margin-left:8px}
.copy.done{background:var(--accent);color:var(--card)}
table{border-collapse:collapse;width:100%}
th,td{padding:4px 8px;text-align:right;border-bottom:1px solid var(--line);white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{font-size:11px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
tr.e2e td{font-weight:700;border-top:2px solid var(--line)}
td .sw{display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:6px;vertical-align:baseline}
td.faster{color:var(--good);font-weight:600}td.slower{color:var(--bad);font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:14px;margin-top:14px}
.chart{position:relative;height:260px}.chart.tall{height:300px}.chart.short{height:200px}
.note{color:var(--muted);font-size:12px;margin:6px 0 0}
details.rules{margin-top:14px}details.rules summary{cursor:pointer;font-weight:600}
details.rules pre{white-space:pre-wrap;font-size:12px;margin:10px 0 0}
.notes{margin:8px 0 0;padding-left:18px;color:var(--muted)}
.foot{padding:0 24px 18px;color:var(--muted);font-size:12px}
@media (max-width:900px){.first{grid-template-columns:1fr}.charts{grid-template-columns:1fr}}
@media print{:root{color-scheme:light;--bg:#fff;--card:#fff;--fg:#000;--muted:#444;--line:#ccc;--grid:rgba(0,0,0,.1)}
.tabs,.copy{display:none}section.model[hidden]{display:block}section.model{break-before:page}section.model:first-of-type{break-before:auto}
.card,.chart{break-inside:avoid}.charts{grid-template-columns:1fr}}
`;
