// The full output of a run that made a figure or an HTML table, in a
// webview beside the file (core/outputHtml.ts draws it): the text output
// view cannot show a picture. One panel per document, showing the run it was
// opened for (the latest run of that cell), redrawn while the run changes.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { CellRun } from '../core/cellRun';
import { outputHtml } from '../core/outputHtml';
import { SessionRegistry } from '../core/sessionRegistry';
import { KeyedThrottle } from '../core/throttle';

export const richOutputViewType = 'subcell.richOutput';

export class RichOutputView implements vscode.Disposable {
  private readonly panels = new Map<string, { panel: vscode.WebviewPanel; run: CellRun }>();
  private readonly throttle = new KeyedThrottle(200, (key) => this.draw(key));

  constructor(private readonly registry: SessionRegistry) {}

  show(key: string, run: CellRun): void {
    let entry = this.panels.get(key);
    if (!entry) {
      const panel = vscode.window.createWebviewPanel(richOutputViewType, '', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: false, enableFindWidget: true });
      entry = { panel, run: run.latest };
      this.panels.set(key, entry);
      panel.onDidDispose(() => {
        this.panels.delete(key);
        this.throttle.forget(key);
      });
    } else {
      entry.run = run.latest;
      entry.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    this.draw(key);
  }

  /** A run changed: redraw the panel that shows it. */
  runChanged(key: string, run: CellRun): void {
    const entry = this.panels.get(key);
    if (!entry || entry.run !== run.latest) return;
    if (run.isActive) this.throttle.schedule(key);
    else this.throttle.runNow(key);
  }

  dispose(): void {
    this.throttle.dispose();
    for (const { panel } of this.panels.values()) panel.dispose();
  }

  private draw(key: string): void {
    const entry = this.panels.get(key);
    const session = this.registry.get(key);
    const identity = this.registry.identity(key);
    if (!entry || !session || !identity) return;
    const run = entry.run;
    const what = run.title || (run.region ? `line ${run.region.firstLine + 1}` : `cell ${run.id}`);
    entry.panel.title = `${identity.name} · ${what} · output`;
    const fileLabel = identity.cwd ? path.join(identity.cwd, identity.name) : identity.name;
    entry.panel.webview.html = outputHtml(run, { documentName: identity.name, traceback: session.traceback(run, fileLabel), cspSource: entry.panel.webview.cspSource });
  }
}
