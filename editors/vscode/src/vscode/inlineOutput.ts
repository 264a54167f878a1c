// Output drawn in the editor after each cell that ran: an `after` decoration
// on the cell's last code line with the one-line summary (capped, see
// outputShaping.ts), and a hover with the tail of the output and links to
// the full output view.

import * as vscode from 'vscode';
import { CellRun } from '../core/cellRun';
import { inlineSummary, preview, ShapingLimits, Tone } from '../core/outputShaping';
import { SessionRegistry } from '../core/sessionRegistry';

const colours: Record<Tone, string> = {
  pending: 'editorCodeLens.foreground',
  success: 'editorCodeLens.foreground',
  muted: 'disabledForeground',
  error: 'editorError.foreground',
};

export class InlineOutput implements vscode.Disposable {
  private readonly types = new Map<Tone, vscode.TextEditorDecorationType>();

  constructor(
    private readonly registry: SessionRegistry,
    private readonly limits: () => ShapingLimits,
  ) {
    for (const tone of Object.keys(colours) as Tone[]) {
      this.types.set(
        tone,
        vscode.window.createTextEditorDecorationType({
          after: { color: new vscode.ThemeColor(colours[tone]), margin: '0 0 0 3ch', fontStyle: tone === 'pending' ? 'italic' : 'normal' },
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        }),
      );
    }
  }

  /** Redraws the runs of one document in every editor that shows it. */
  refresh(key: string): void {
    const editors = vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === key);
    if (editors.length === 0) return;
    const runs = this.registry.get(key)?.history.current().filter((r) => r.region) ?? [];
    for (const editor of editors) this.draw(editor, key, runs);
  }

  clear(key: string): void {
    for (const editor of vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === key)) {
      for (const type of this.types.values()) editor.setDecorations(type, []);
    }
  }

  dispose(): void {
    for (const type of this.types.values()) type.dispose();
  }

  private draw(editor: vscode.TextEditor, key: string, runs: CellRun[]): void {
    const byTone = new Map<Tone, vscode.DecorationOptions[]>([...this.types.keys()].map((t) => [t, []]));
    const limits = this.limits();
    const document = editor.document;
    for (const run of runs) {
      const region = run.region!;
      const line = Math.min(region.firstLine + Math.max(region.lineCount, 1) - 1, document.lineCount - 1);
      if (line < 0) continue;
      const end = document.lineAt(line).range.end;
      const view = inlineSummary(run, limits);
      byTone.get(view.tone)!.push({
        range: new vscode.Range(end, end),
        renderOptions: { after: { contentText: view.text } },
        hoverMessage: hover(key, run, limits),
      });
    }
    for (const [tone, options] of byTone) editor.setDecorations(this.types.get(tone)!, options);
  }
}

/** A command link the hover can carry: `command:id?[args]`. */
export function commandLink(label: string, command: string, args: unknown[]): string {
  return `[${label}](command:${command}?${encodeURIComponent(JSON.stringify(args))})`;
}

function hover(key: string, run: CellRun, limits: ShapingLimits): vscode.MarkdownString {
  const shown = preview(run, limits);
  const md = new vscode.MarkdownString();
  md.isTrusted = { enabledCommands: ['subcell.showRunOutput', 'subcell.interrupt'] };
  const label = run.executionCount !== undefined ? `In [${run.executionCount}]` : 'not run';
  md.appendMarkdown(`**subcell** · ${label} · ${run.state}\n\n`);
  if (shown.hiddenLines > 0) md.appendMarkdown(`*${shown.hiddenLines.toLocaleString('en-US')} earlier lines not shown*\n\n`);
  if (shown.lines.length) md.appendCodeblock(shown.lines.join('\n'), 'text');
  const links = [commandLink(run.error ? 'Show traceback' : 'Show full output', 'subcell.showRunOutput', [key, run.id])];
  if (run.isActive) links.unshift(commandLink('Interrupt', 'subcell.interrupt', [key]));
  md.appendMarkdown(`\n\n${links.join(' · ')}`);
  return md;
}
