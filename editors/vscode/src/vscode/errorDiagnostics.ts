// A cell's Python error as a Diagnostic on the document line that raised it,
// with the rest of the call chain (frames in other cells of the document)
// and the exceptions chained to it or grouped in it as related information;
// its notes follow the message. The mapping itself is core/traceback.ts.
// An error the server attached a suggestion to (an import that needs a
// process) is coded `restartInProcess`, which suggestionActions.ts offers to
// fix.

import * as vscode from 'vscode';
import { DocPosition, ErrorPlace } from '../core/traceback';
import { SessionRegistry } from '../core/sessionRegistry';

/** The code of a diagnostic whose error carries a `restartInProcess` suggestion. */
export const suggestionCode = 'restartInProcess';

export class ErrorDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('subcell');

  constructor(private readonly registry: SessionRegistry) {}

  refresh(document: vscode.TextDocument): void {
    const session = this.registry.get(document.uri.toString());
    if (!session) return this.collection.delete(document.uri);
    const diagnostics: vscode.Diagnostic[] = [];
    for (const { run, mapped } of session.standingErrors()) {
      const primary = mapped.primary!;
      const interrupted = run.error!.type === 'KeyboardInterrupt';
      const diagnostic = new vscode.Diagnostic(
        rangeOf(document, primary.position),
        [mapped.summary, ...mapped.notes].join('\n'),
        interrupted ? vscode.DiagnosticSeverity.Information : vscode.DiagnosticSeverity.Error,
      );
      diagnostic.source = 'subcell';
      diagnostic.code = run.error!.suggestion ? suggestionCode : run.executionCount !== undefined ? `In [${run.executionCount}]` : undefined;
      diagnostic.relatedInformation = [...mapped.related, ...mapped.linked].map((place: ErrorPlace) => {
        return new vscode.DiagnosticRelatedInformation(new vscode.Location(document.uri, rangeOf(document, place.position)), place.label);
      });
      diagnostics.push(diagnostic);
    }
    this.collection.set(document.uri, diagnostics);
  }

  clear(uri: vscode.Uri): void {
    this.collection.delete(uri);
  }

  dispose(): void {
    this.collection.dispose();
  }
}

// The span to underline: the given columns (syntax errors), else the line's
// code without its indentation.
function rangeOf(document: vscode.TextDocument, position: DocPosition): vscode.Range {
  const line = Math.max(0, Math.min(position.line, document.lineCount - 1));
  const text = document.lineAt(line);
  if (position.character !== undefined) {
    const endLine = Math.max(line, Math.min(position.endLine ?? line, document.lineCount - 1));
    let endCharacter = position.endCharacter ?? position.character + 1;
    if (endLine === line && endCharacter <= position.character) endCharacter = position.character + 1;
    return new vscode.Range(line, position.character, endLine, endCharacter);
  }
  return new vscode.Range(line, text.firstNonWhitespaceCharacterIndex, line, text.range.end.character);
}
