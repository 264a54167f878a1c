// Answers the server's `cell/input` requests (a cell called `input()`,
// `getpass.getpass()`, or `breakpoint()`): an input box naming the document
// and the cell's prompt, masked for a password. Escape cancels, which the
// server turns into KeyboardInterrupt in the cell; when the server withdraws
// the request (the cell was interrupted), the box closes.

import * as vscode from 'vscode';
import { CancellationToken } from 'vscode-jsonrpc/node';
import { InputParams, InputResult } from '../core/protocol';
import { SessionRegistry } from '../core/sessionRegistry';

export function inputAnswerer(registry: SessionRegistry): (params: InputParams, token: CancellationToken) => Promise<InputResult | undefined> {
  return async (params, token) => {
    const key = registry.keyOfSession(params.session);
    const name = (key && registry.identity(key)?.name) ?? params.session;
    const source = new vscode.CancellationTokenSource();
    const withdrawn = token.onCancellationRequested(() => source.cancel());
    try {
      const text = await vscode.window.showInputBox(
        {
          title: `subcell: ${name} [${params.executionCount}] ${params.password ? 'asks for a password' : 'asks for input'}`,
          prompt: params.prompt.trim() || undefined,
          placeHolder: params.password ? 'getpass(): what you type is hidden' : 'input(): Enter sends it, Escape interrupts the cell',
          password: params.password,
          ignoreFocusOut: true,
        },
        source.token,
      );
      return text === undefined || token.isCancellationRequested ? undefined : { text };
    } finally {
      withdrawn.dispose();
      source.dispose();
    }
  };
}
