// What the live session knows about names, in `# %%` files and notebook
// cells: a hover with the signature and docstring (`cell/inspect`, answered
// even while a cell of the session runs), and completions (`cell/complete`,
// which the server answers after the running cell: so none are asked while
// the session is busy, rather than leave the suggest widget waiting).

import * as vscode from 'vscode';
import { completeQuery, completions, hoverText, inspectQuery } from '../core/codeQuery';
import { SessionRegistry } from '../core/sessionRegistry';
import { NotebookKernels } from './notebookKernels';
import { liveSessionOf } from './sessionLookup';

const selector: vscode.DocumentSelector = [
  { language: 'python', scheme: 'file' },
  { language: 'python', scheme: 'untitled' },
  { language: 'python', scheme: 'vscode-notebook-cell' },
];

export class SessionLanguage implements vscode.HoverProvider, vscode.CompletionItemProvider, vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly registry: SessionRegistry,
    private readonly kernels: NotebookKernels,
  ) {
    this.subscriptions = [vscode.languages.registerHoverProvider(selector, this), vscode.languages.registerCompletionItemProvider(selector, this, '.')];
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const session = liveSessionOf(document, this.registry, this.kernels);
    const query = session && inspectQuery(document.lineAt(position.line).text, position.character);
    if (!session || !query) return undefined;
    const inspected = await this.registry.supervisor.inspect(session.live!, query.code, query.cursor);
    const text = inspected.ok ? hoverText(inspected.value) : undefined;
    if (!text) return undefined;
    const md = new vscode.MarkdownString();
    md.appendCodeblock(text.heading, 'python');
    if (text.type) md.appendMarkdown(`*${text.type}* · subcell session of ${session.name}\n\n`);
    if (text.repr) md.appendCodeblock(text.repr, 'text');
    if (text.docstring) md.appendCodeblock(text.docstring, 'text');
    return new vscode.Hover(md, new vscode.Range(position.line, query.start, position.line, query.end));
  }

  async provideCompletionItems(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.CompletionItem[]> {
    const session = liveSessionOf(document, this.registry, this.kernels);
    if (!session || session.isBusy) return [];
    const query = completeQuery(document.lineAt(position.line).text, position.character);
    if (!query.code.trim()) return [];
    const result = await this.registry.supervisor.complete(session.live!, query.code, query.cursor);
    if (!result.ok) return [];
    return completions(query, result.value).map((c, i) => {
      const item = new vscode.CompletionItem(c.label, vscode.CompletionItemKind.Variable);
      item.insertText = c.insertText;
      item.filterText = c.insertText;
      item.range = new vscode.Range(position.line, c.start, position.line, c.end);
      item.sortText = String(i).padStart(5, '0');
      item.detail = 'subcell session';
      return item;
    });
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
