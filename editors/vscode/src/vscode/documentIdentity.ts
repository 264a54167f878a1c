// Which session a document or notebook belongs to: keyed by its URI, named
// after its file, with its folder as the session's import path.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { DocumentIdentity } from '../core/sessionRegistry';

export function identityOf(uri: vscode.Uri): DocumentIdentity {
  const name = path.posix.basename(uri.path) || uri.toString();
  const cwd = uri.scheme === 'file' ? path.dirname(uri.fsPath) : undefined;
  return { key: uri.toString(), name, cwd };
}
