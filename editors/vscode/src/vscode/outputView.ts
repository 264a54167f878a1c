// The full output of a cell in a read-only virtual document
// (`subcell-output:`), the place where everything the inline view leaves out
// can be read: all output lines (up to the scrollback), the whole value, the
// traceback with frames pointing into the file. It follows its cell: after a
// re-run it shows the new run, and it keeps updating while the cell runs,
// scrolling along when its end was in view. A run that made a figure or an
// HTML table opens in the rich output view instead (a webview), which can
// show them.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { CellRun } from '../core/cellRun';
import { needsRichView } from '../core/outputHtml';
import { fullOutput } from '../core/outputShaping';
import { SessionRegistry } from '../core/sessionRegistry';
import { KeyedThrottle } from '../core/throttle';
import { RichOutputView } from './richOutputView';

export const outputScheme = 'subcell-output';

export class OutputView implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changes.event;
  private readonly followEnd = new Set<string>();
  private readonly throttle = new KeyedThrottle(200, (uri) => this.fire(uri));
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly registry: SessionRegistry,
    private readonly rich?: RichOutputView,
  ) {
    this.subscriptions.push(
      vscode.workspace.registerTextDocumentContentProvider(outputScheme, this),
      vscode.workspace.onDidChangeTextDocument((e) => this.scrollAlong(e.document)),
    );
  }

  uriFor(key: string, run: CellRun): vscode.Uri {
    const name = this.registry.identity(key)?.name ?? 'output';
    const what = run.title || (run.region ? `line ${run.region.firstLine + 1}` : `cell ${run.id}`);
    const query = new URLSearchParams({ key, run: run.id }).toString();
    return vscode.Uri.from({ scheme: outputScheme, path: `/${name} · ${what.replace(/[/\\]/g, ' ')} · output.log`, query });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const target = this.target(uri);
    if (!target) return 'This output is gone: its document was closed or its session ended.\n';
    const { key, run } = target;
    const session = this.registry.get(key)!;
    const identity = this.registry.identity(key)!;
    const fileLabel = identity.cwd ? path.join(identity.cwd, identity.name) : identity.name;
    return fullOutput(run, { documentName: identity.name, traceback: session.traceback(run, fileLabel) });
  }

  async show(key: string, run: CellRun): Promise<void> {
    if (this.rich && needsRichView(run.latest)) return this.rich.show(key, run);
    const uri = this.uriFor(key, run.latest);
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
    const end = new vscode.Position(document.lineCount - 1, 0);
    editor.revealRange(new vscode.Range(end, end));
  }

  /** A run changed: refresh the open views that show it. */
  runChanged(key: string, run: CellRun): void {
    this.rich?.runChanged(key, run);
    for (const document of vscode.workspace.textDocuments) {
      if (document.uri.scheme !== outputScheme) continue;
      const target = this.target(document.uri);
      if (target && target.key === key && target.run === run.latest) {
        if (run.isActive) this.throttle.schedule(document.uri.toString());
        else this.throttle.runNow(document.uri.toString());
      }
    }
  }

  dispose(): void {
    this.throttle.dispose();
    this.changes.dispose();
    for (const s of this.subscriptions) s.dispose();
  }

  private target(uri: vscode.Uri): { key: string; run: CellRun } | undefined {
    const query = new URLSearchParams(uri.query);
    const key = query.get('key') ?? '';
    const run = this.registry.get(key)?.history.byCellId(query.get('run') ?? '');
    return run ? { key, run: run.latest } : undefined;
  }

  private fire(uriText: string): void {
    const uri = vscode.Uri.parse(uriText);
    // Remember whether the end was in view, to keep it in view after the update.
    const editors = vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === uriText);
    if (editors.some((e) => atEnd(e))) this.followEnd.add(uriText);
    this.changes.fire(uri);
  }

  private scrollAlong(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    if (document.uri.scheme !== outputScheme || !this.followEnd.delete(key)) return;
    const end = new vscode.Position(document.lineCount - 1, 0);
    for (const editor of vscode.window.visibleTextEditors.filter((e) => e.document === document)) {
      editor.revealRange(new vscode.Range(end, end));
    }
  }
}

function atEnd(editor: vscode.TextEditor): boolean {
  const last = editor.visibleRanges[editor.visibleRanges.length - 1];
  return !last || last.end.line >= editor.document.lineCount - 2;
}
