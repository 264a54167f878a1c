// Keeps what a `# %%` document shows in step with its runs and its text:
// inline output, error diagnostics and output views are redrawn a few times
// a second while cells stream, at once when a cell finishes; the busy
// context key follows at once; run regions follow edits; closing the
// document closes its session.

import * as vscode from 'vscode';
import { CellRun } from '../core/cellRun';
import { lineEditOf } from '../core/runHistory';
import { SessionRegistry } from '../core/sessionRegistry';
import { KeyedThrottle } from '../core/throttle';
import { CellContext } from './cellContext';
import { ErrorDiagnostics } from './errorDiagnostics';
import { InlineOutput } from './inlineOutput';
import { OutputView } from './outputView';

const redrawMs = 100;

export class DocumentViews implements vscode.Disposable {
  private readonly throttle = new KeyedThrottle(redrawMs, (key) => this.redraw(key));
  private readonly busy = new Map<string, boolean>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly registry: SessionRegistry,
    private readonly inline: InlineOutput,
    private readonly diagnostics: ErrorDiagnostics,
    private readonly context: CellContext,
    private readonly outputView: OutputView,
  ) {
    registry.onRunChange((key, run) => this.runChanged(key, run));
    this.subscriptions = [
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => this.inline.refresh(e.document.uri.toString()))),
      vscode.workspace.onDidChangeTextDocument((e) => this.edited(e)),
      vscode.workspace.onDidCloseTextDocument((document) => void this.closed(document)),
    ];
  }

  redraw(key: string): void {
    this.inline.refresh(key);
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
    if (document) this.diagnostics.refresh(document);
  }

  dispose(): void {
    this.throttle.dispose();
    for (const s of this.subscriptions) s.dispose();
  }

  private runChanged(key: string, run: CellRun): void {
    this.outputView.runChanged(key, run);
    if (run.isActive) this.throttle.schedule(key);
    else this.throttle.runNow(key);
    const busy = this.registry.get(key)?.isBusy ?? false;
    if (this.busy.get(key) !== busy) {
      this.busy.set(key, busy);
      this.context.update();
    }
  }

  private edited(event: vscode.TextDocumentChangeEvent): void {
    const key = event.document.uri.toString();
    const session = this.registry.get(key);
    if (!session || event.contentChanges.length === 0) return;
    for (const change of event.contentChanges) {
      session.history.applyEdit(
        lineEditOf({
          startLine: change.range.start.line,
          startCharacter: change.range.start.character,
          endLine: change.range.end.line,
          endCharacter: change.range.end.character,
          text: change.text,
        }),
      );
    }
    this.throttle.schedule(key);
  }

  private async closed(document: vscode.TextDocument): Promise<void> {
    const key = document.uri.toString();
    if (!this.registry.get(key)) return;
    this.throttle.forget(key);
    this.busy.delete(key);
    this.diagnostics.clear(document.uri);
    await this.registry.close(key);
  }
}
