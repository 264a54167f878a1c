// "Run Cell | Run Below | Reset" above every `# %%` cell, and "Interrupt"
// while the document's session is busy.

import * as vscode from 'vscode';
import { hasCode, parseCells } from '../core/cells';
import { SessionRegistry } from '../core/sessionRegistry';
import { codeLensEnabled } from './settings';

export class CellLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changes.event;
  private readonly registration: vscode.Disposable;

  constructor(private readonly registry: SessionRegistry) {
    this.registration = vscode.languages.registerCodeLensProvider({ language: 'python' }, this);
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!codeLensEnabled() || document.uri.scheme === 'vscode-notebook-cell') return [];
    const cells = parseCells(document.getText());
    if (!cells.some((c) => c.markerLine >= 0)) return [];
    const busy = this.registry.get(document.uri.toString())?.isBusy ?? false;
    const lenses: vscode.CodeLens[] = [];
    for (const cell of cells) {
      if (cell.markdown || (cell.markerLine < 0 && !hasCode(cell))) continue;
      const line = Math.max(cell.markerLine, 0);
      const range = new vscode.Range(line, 0, line, 0);
      const at = [document.uri, line];
      lenses.push(
        new vscode.CodeLens(range, { title: '$(play) Run Cell', command: 'subcell.runCell', arguments: at }),
        new vscode.CodeLens(range, { title: 'Run Below', command: 'subcell.runBelow', arguments: at }),
        new vscode.CodeLens(range, { title: 'Reset', command: 'subcell.resetSession', arguments: [document.uri] }),
      );
      if (busy) lenses.push(new vscode.CodeLens(range, { title: '$(debug-stop) Interrupt', command: 'subcell.interrupt', arguments: [document.uri] }));
    }
    return lenses;
  }

  refresh(): void {
    this.changes.fire();
  }

  dispose(): void {
    this.registration.dispose();
    this.changes.dispose();
  }
}
