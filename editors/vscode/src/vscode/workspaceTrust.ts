// Restricted Mode. A workspace that is not trusted must not run code, and
// running cells is all subcell does; so in Restricted Mode the extension
// stays active (package.json: untrustedWorkspaces "limited") to say why
// nothing runs, instead of being silently disabled. Settings that choose what
// runs (serverPath, serverArgs, prelude) are taken from the workspace only
// once it is trusted (restrictedConfigurations).

import * as vscode from 'vscode';

export const restrictedMessage = 'subcell runs no code in Restricted Mode: this workspace is not trusted. Trust it to run cells.';

/** True in a trusted workspace; otherwise says why nothing runs and offers the trust editor. */
export function mayRunCode(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(restrictedMessage, 'Manage Workspace Trust').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}
