// "Run Cell | Run Below | Reset" above every `# %%` cell. The lenses depend
// on the text alone: VS Code redraws lenses a quarter of a second or more
// after they change, too late for a run's state (the Interrupt button is in
// the editor title bar instead, see cellContext.ts).

import * as vscode from 'vscode';
import { hasCode, parseCells } from '../core/cells';
import { codeLensEnabled } from './settings';

export class CellLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changes.event;
  private readonly registration: vscode.Disposable;
  private readonly configuration: vscode.Disposable;

  constructor() {
    this.registration = vscode.languages.registerCodeLensProvider({ language: 'python' }, this);
    this.configuration = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('subcell.codeLens.enabled')) this.changes.fire();
    });
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!codeLensEnabled() || document.uri.scheme === 'vscode-notebook-cell') return [];
    const cells = parseCells(document.getText());
    if (!cells.some((c) => c.markerLine >= 0)) return [];
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
    }
    return lenses;
  }

  dispose(): void {
    this.registration.dispose();
    this.configuration.dispose();
    this.changes.dispose();
  }
}
