// Sets the `subcell.hasCells` context key while the active editor holds a
// Python document with `# %%` markers: the keybindings (Shift+Enter...) only
// apply there, so plain Python files keep their usual keys.

import * as vscode from 'vscode';
import { hasCellMarkers } from '../core/cells';

export const hasCellsKey = 'subcell.hasCells';

export class CellContext implements vscode.Disposable {
  private current: boolean | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor() {
    this.subscriptions = [
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) this.update();
      }),
    ];
    this.update();
  }

  update(): void {
    const document = vscode.window.activeTextEditor?.document;
    const value = !!document && document.languageId === 'python' && hasCellMarkers(document.getText());
    if (value === this.current) return;
    this.current = value;
    void vscode.commands.executeCommand('setContext', hasCellsKey, value);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
