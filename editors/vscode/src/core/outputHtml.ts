// The full output of a run as an HTML page, for the rich output view (a
// webview): the streams as text, each display as the richest thing a page
// without scripts can show (a PNG, JPEG or SVG picture, an HTML table, else
// its text), then the value and the traceback. The page allows no script
// and loads nothing: pictures are data URIs.

import { CellRun } from './cellRun';
import { MimeBundle } from './protocol';
import { formatDuration } from './outputShaping';

export interface HtmlContext {
  documentName: string;
  /** The traceback with cell frames pointing into the document. */
  traceback?: string;
  /** The webview's own source for the CSP (`webview.cspSource`). */
  cspSource?: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** One bundle as HTML: a picture, the object's HTML, or its text. */
export function bundleHtml(bundle: MimeBundle): string {
  for (const mime of ['image/png', 'image/jpeg']) {
    if (typeof bundle[mime] === 'string') return `<img class="figure" alt="figure" src="data:${mime};base64,${bundle[mime]}">`;
  }
  if (typeof bundle['image/svg+xml'] === 'string') {
    const svg = Buffer.from(bundle['image/svg+xml'] as string, 'utf8').toString('base64');
    return `<img class="figure" alt="figure" src="data:image/svg+xml;base64,${svg}">`;
  }
  if (typeof bundle['text/html'] === 'string') return `<div class="html">${bundle['text/html']}</div>`;
  return `<pre>${escapeHtml(bundle['text/plain'])}</pre>`;
}

function header(run: CellRun, context: HtmlContext): string {
  const where = run.region ? ` · line ${run.region.firstLine + 1}` : '';
  const state = run.state === 'succeeded' || run.state === 'failed' ? `${run.state} in ${formatDuration(run.durationMs)}` : run.state;
  return `<h1>${escapeHtml(`${context.documentName}${where} · In [${run.executionCount ?? ' '}] · ${state}`)}</h1>`;
}

function body(run: CellRun, context: HtmlContext): string[] {
  const parts: string[] = [];
  if (run.output.droppedLines > 0) parts.push(`<p class="note">${run.output.droppedLines.toLocaleString('en-US')} earlier lines dropped (past the scrollback)</p>`);
  for (const block of run.output.blocksShown) {
    parts.push(block.kind === 'stream' ? `<pre>${escapeHtml(block.text.text())}</pre>` : bundleHtml(block.data));
  }
  if (run.value) parts.push(`<div class="value">${bundleHtml(run.value)}</div>`);
  if (run.error) parts.push(`<pre class="error">${escapeHtml(context.traceback ?? run.error.traceback)}</pre>`);
  if (run.crash) parts.push(`<pre class="error">${escapeHtml(`The session crashed: ${run.crash.message}\n\n${run.crash.stderr}`)}</pre>`);
  else if (run.problem) parts.push(`<p class="note">${escapeHtml(run.problem.message)}</p>`);
  return parts;
}

export function outputHtml(run: CellRun, context: HtmlContext): string {
  const csp = `default-src 'none'; img-src data: ${context.cspSource ?? ''}; style-src 'unsafe-inline'`;
  return [
    '<!DOCTYPE html><html><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<style>body{font-family:var(--vscode-editor-font-family,monospace);color:var(--vscode-foreground)}',
    'h1{font-size:1em;font-weight:normal;opacity:.7}pre{white-space:pre-wrap;margin:.3em 0}',
    '.error{color:var(--vscode-errorForeground)}.figure{max-width:100%;background:#fff;display:block;margin:.5em 0}',
    '.html table{border-collapse:collapse}.html td,.html th{border:1px solid var(--vscode-panel-border);padding:2px 6px}</style>',
    '</head><body>',
    header(run, context),
    ...body(run, context),
    '</body></html>',
  ].join('\n');
}

/** Whether a run has something only the rich view can show (a picture, HTML). */
export function needsRichView(run: CellRun): boolean {
  const rich = (data: MimeBundle) => Object.keys(data).some((mime) => mime.startsWith('image/') || mime === 'text/html');
  return run.output.blocksShown.some((b) => b.kind === 'display' && rich(b.data)) || (!!run.value && rich(run.value));
}
