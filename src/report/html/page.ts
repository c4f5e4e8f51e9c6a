/**
 * @module report/html/page
 * The HTML shell shared by `analyze --html` and `diff --html`: inline styles (light and dark,
 * print), the server-rendered first screen handed in as markup, the chart data as embedded
 * JSON, and the bundled client script. Nothing is loaded from anywhere: the file works from
 * file:// and offline, and its Content-Security-Policy forbids any request.
 */
import { PAGE_CSS } from './style.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** Embeds JSON in a <script> element: `<` is escaped so no string can close the element. */
function embedJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** What goes into a page. */
export interface PageParts {
  readonly title: string;
  /** One line under the title (requests, window, files). */
  readonly subtitle: string;
  /** Tab labels and the markup of each model's section, in order. */
  readonly sections: readonly { readonly model: string; readonly html: string }[];
  /** Data for the client script. */
  readonly data: unknown;
  /** The bundled client script. */
  readonly script: string;
}

/** The whole self-contained page. */
export function renderPage(parts: PageParts): string {
  const tabs =
    parts.sections.length > 1
      ? `<nav class="tabs" role="tablist">${parts.sections
          .map((s, i) => `<button role="tab" data-tab="${i}" aria-selected="${i === 0}">${escapeHtml(s.model)}</button>`)
          .join('')}</nav>`
      : '';
  const sections = parts.sections.map((s, i) => `<section class="model" data-model-index="${i}" data-model="${escapeHtml(s.model)}"${i === 0 ? '' : ' hidden'}>${s.html}</section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(parts.title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header class="top"><h1>${escapeHtml(parts.title)}</h1><p class="sub">${escapeHtml(parts.subtitle)}</p></header>
${tabs}
<main>
${sections}
</main>
<footer class="foot">latency-doctor · self-contained report: no network access, charts drawn with Chart.js</footer>
<script type="application/json" id="ld-data">${embedJson(parts.data)}</script>
<script>${parts.script.replace(/<\/script/gi, '<\\/script')}</script>
</body>
</html>
`;
}
