// A small stand-in for the `vscode` module: just the API the extension
// uses, recording what it draws (decorations, diagnostics, notebook outputs,
// messages) so a test can look at the editor as a user would. VS Code itself
// cannot run here; this lets the real extension code (src/extension.ts and
// src/vscode/*) run against the real server.

import Module = require('node:module');

type Listener<T> = (value: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    for (const l of [...this.listeners]) l(value);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
    readonly query: string,
  ) {}
  static file(path: string): Uri {
    return new Uri('file', path, '');
  }
  static from(parts: { scheme: string; path?: string; query?: string }): Uri {
    return new Uri(parts.scheme, parts.path ?? '', parts.query ?? '');
  }
  static parse(text: string): Uri {
    const m = /^([^:]+):(?:\/\/)?([^?]*)(?:\?(.*))?$/.exec(text)!;
    return new Uri(m[1], decodeURIComponent(m[2]), m[3] ?? '');
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${encodeURI(this.path)}${this.query ? `?${this.query}` : ''}`;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
    this.start = a instanceof Position ? a : new Position(a, b as number);
    this.end = b instanceof Position ? b : new Position(c!, d!);
  }
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}

export class Selection extends Range {
  get active(): Position {
    return this.end;
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class MarkdownString {
  value = '';
  isTrusted: unknown;
  appendMarkdown(text: string): this {
    this.value += text;
    return this;
  }
  appendCodeblock(code: string, language: string): this {
    this.value += `\n\`\`\`${language}\n${code}\n\`\`\`\n`;
    return this;
  }
}

export class Diagnostic {
  source?: string;
  code?: string;
  relatedInformation?: DiagnosticRelatedInformation[];
  constructor(
    readonly range: Range,
    readonly message: string,
    readonly severity: number,
  ) {}
}
export class DiagnosticRelatedInformation {
  constructor(
    readonly location: Location,
    readonly message: string,
  ) {}
}
export class Location {
  constructor(
    readonly uri: Uri,
    readonly range: Range,
  ) {}
}
export class CodeLens {
  constructor(
    readonly range: Range,
    readonly command?: { title: string; command: string; arguments?: unknown[] },
  ) {}
}

export class CodeAction {
  diagnostics?: Diagnostic[];
  isPreferred?: boolean;
  command?: { title: string; command: string; arguments?: unknown[] };
  constructor(
    readonly title: string,
    readonly kind: { value: string },
  ) {}
}
export class Hover {
  constructor(
    readonly contents: MarkdownString,
    readonly range?: Range,
  ) {}
}
export class CompletionItem {
  insertText?: string;
  filterText?: string;
  sortText?: string;
  detail?: string;
  range?: Range;
  constructor(
    readonly label: string,
    readonly kind?: number,
  ) {}
}
export class TreeItem {
  description?: string;
  tooltip?: unknown;
  contextValue?: string;
  command?: { title: string; command: string; arguments?: unknown[] };
  constructor(readonly label: string) {}
}
export class NotebookCellStatusBarItem {
  tooltip?: string;
  command?: { title: string; command: string; arguments?: unknown[] };
  constructor(
    readonly text: string,
    readonly alignment: number,
  ) {}
}
export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
  cancel(): void {
    if (this.token.isCancellationRequested) return;
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
  dispose(): void {}
}

let outputIds = 0;

export class NotebookCellOutputItem {
  constructor(
    readonly data: Uint8Array,
    readonly mime: string,
  ) {}
  static stdout(text: string) {
    return new NotebookCellOutputItem(Buffer.from(text), 'application/vnd.code.notebook.stdout');
  }
  static stderr(text: string) {
    return new NotebookCellOutputItem(Buffer.from(text), 'application/vnd.code.notebook.stderr');
  }
  static error(err: { name: string; message: string; stack?: string }) {
    return new NotebookCellOutputItem(Buffer.from(JSON.stringify({ name: err.name, message: err.message, stack: err.stack })), 'application/vnd.code.notebook.error');
  }
}
export class NotebookCellOutput {
  readonly id = `output-${++outputIds}`;
  constructor(
    public items: NotebookCellOutputItem[],
    readonly metadata?: Record<string, unknown>,
  ) {}
}
export class NotebookCellData {
  metadata?: Record<string, unknown>;
  constructor(
    readonly kind: number,
    readonly value: string,
    readonly languageId: string,
  ) {}
}
export class NotebookRange {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}
}

export class FakeDocument {
  version = 1;
  isClosed = false;
  languageId = 'python';
  constructor(
    readonly uri: Uri,
    public text: string,
  ) {}
  get fileName(): string {
    return this.uri.fsPath;
  }
  private get lines(): string[] {
    return this.text.split('\n');
  }
  get lineCount(): number {
    return this.lines.length;
  }
  getText(range?: Range): string {
    if (!range) return this.text;
    const lines = this.lines.slice(range.start.line, range.end.line + 1);
    lines[lines.length - 1] = lines[lines.length - 1].slice(0, range.end.line === range.start.line ? range.end.character : range.end.character);
    lines[0] = lines[0].slice(range.start.character);
    return lines.join('\n');
  }
  lineAt(line: number) {
    const text = this.lines[line];
    return {
      lineNumber: line,
      text,
      range: new Range(line, 0, line, text.length),
      firstNonWhitespaceCharacterIndex: text.length - text.trimStart().length,
      isEmptyOrWhitespace: text.trim() === '',
    };
  }
}

export class FakeEditor {
  selection: Selection;
  /** Decorations as drawn: decoration type key → options. */
  readonly decorations = new Map<string, Array<{ range: Range; renderOptions?: { after?: { contentText?: string } }; hoverMessage?: MarkdownString }>>();
  constructor(readonly document: FakeDocument) {
    this.selection = new Selection(0, 0, 0, 0);
  }
  get selections(): Selection[] {
    return [this.selection];
  }
  get visibleRanges(): Range[] {
    return [new Range(0, 0, this.document.lineCount - 1, 0)];
  }
  /** How many times decorations were set: redraw cost. */
  decorationCalls = 0;
  setDecorations(type: { key: string }, options: never[]): void {
    this.decorationCalls++;
    this.decorations.set(type.key, options);
  }
  /** Every `after` text drawn, by line: what the user reads next to the cells. */
  inlineTexts(): Map<number, string> {
    const byLine = new Map<number, string>();
    for (const options of this.decorations.values()) {
      for (const o of options) byLine.set(o.range.start.line, o.renderOptions?.after?.contentText ?? '');
    }
    return byLine;
  }
  revealRange(): void {}
  async edit(callback: (builder: { insert(at: Position, text: string): void }) => void): Promise<boolean> {
    callback({ insert: (_at, text) => (this.document.text += text) });
    return true;
  }
}

export interface FakeCell {
  index: number;
  kind: number;
  notebook: FakeNotebook;
  document: FakeDocument;
  metadata: Record<string, unknown>;
  outputs: NotebookCellOutput[];
  executionOrder?: number;
  success?: boolean;
  /** As VS Code keeps it once an execution ended. */
  executionSummary?: { executionOrder?: number; success?: boolean; timing?: { startTime: number; endTime: number } };
  /** An execution is open on the cell (VS Code allows one at a time). */
  executing?: boolean;
  /** What happened to the cell's outputs, in order: for streaming assertions. */
  events: string[];
  onEvent?: (event: string) => void;
}

export class FakeNotebook {
  readonly cells: FakeCell[] = [];
  constructor(
    readonly uri: Uri,
    readonly notebookType: string,
  ) {}
  get cellCount(): number {
    return this.cells.length;
  }
  getCells(range?: NotebookRange): FakeCell[] {
    return range ? this.cells.slice(range.start, range.end) : this.cells;
  }
  /** Appends a code cell, as a user (or an edit) would. */
  add(code: string, metadata: Record<string, unknown> = {}): FakeCell {
    const cell: FakeCell = {
      index: this.cells.length,
      kind: 2,
      notebook: this,
      document: new FakeDocument(Uri.from({ scheme: 'vscode-notebook-cell', path: this.uri.path, query: `cell=${this.cells.length}` }), code),
      metadata,
      outputs: [],
      events: [],
    };
    this.cells.push(cell);
    return cell;
  }
}

export function createFake(settings: Record<string, unknown>) {
  const commands = new Map<string, (...args: unknown[]) => unknown>();
  const contexts = new Map<string, unknown>();
  const messages: string[] = [];
  const diagnostics = new Map<string, Diagnostic[]>();
  const contentProviders = new Map<string, { provideTextDocumentContent(uri: Uri): string; onDidChange?: unknown }>();
  const codeLensProviders: Array<{ provideCodeLenses(doc: FakeDocument): CodeLens[] }> = [];
  const controllers = new Map<string, Record<string, any>>();
  const log: string[] = [];
  const calls: Array<{ command: string; args: unknown[] }> = [];
  const providers = {
    codeActions: [] as Array<{ provideCodeActions(doc: FakeDocument, range: Range, context: { diagnostics: Diagnostic[] }): CodeAction[] }>,
    hovers: [] as Array<{ provideHover(doc: FakeDocument, position: Position): Promise<Hover | undefined> }>,
    completions: [] as Array<{ provideCompletionItems(doc: FakeDocument, position: Position): Promise<CompletionItem[]> }>,
    cellStatus: [] as Array<{ provideCellStatusBarItems(cell: FakeCell): NotebookCellStatusBarItem[] }>,
  };
  const treeViews = new Map<string, { message?: string; description?: string; provider: { getChildren(node?: unknown): unknown[]; getTreeItem(node: unknown): TreeItem } }>();
  const statusItems: Array<{ id: string; text: string; tooltip?: string; command?: { command: string; arguments?: unknown[] }; visible: boolean }> = [];
  const panels: Array<{ title: string; webview: { html: string; cspSource: string }; disposed: boolean }> = [];
  /**
   * What the user answers: `input(options, token)` for input boxes, `pick(items)`
   * for quick picks, `choose(message, buttons)` for a notification's buttons.
   */
  const user = {
    input: async (_options: Record<string, unknown>, _token?: { onCancellationRequested(l: () => void): unknown }): Promise<string | undefined> => undefined,
    pick: async (_items: Array<{ label: string; description?: string }>): Promise<unknown> => undefined,
    choose: (_message: string, _buttons: string[]): string | undefined => undefined,
  };
  const events = {
    activeEditor: new EventEmitter<unknown>(),
    visibleEditors: new EventEmitter<unknown>(),
    changeDocument: new EventEmitter<unknown>(),
    closeDocument: new EventEmitter<unknown>(),
    closeNotebook: new EventEmitter<unknown>(),
    configuration: new EventEmitter<unknown>(),
    activeNotebookEditor: new EventEmitter<unknown>(),
  };
  const respond = async (m: string, buttons: string[]) => {
    messages.push(m);
    return user.choose(m, buttons);
  };
  let decorationTypes = 0;

  const window = {
    activeTextEditor: undefined as FakeEditor | undefined,
    visibleTextEditors: [] as FakeEditor[],
    activeNotebookEditor: undefined as { notebook: FakeNotebook } | undefined,
    onDidChangeActiveNotebookEditor: events.activeNotebookEditor.event,
    createTreeView: (id: string, options: { treeDataProvider: { getChildren(node?: unknown): unknown[]; getTreeItem(node: unknown): TreeItem } }) => {
      const view = { message: undefined as string | undefined, description: undefined as string | undefined, provider: options.treeDataProvider, dispose: () => treeViews.delete(id) };
      treeViews.set(id, view);
      return view;
    },
    createStatusBarItem: (id: string) => {
      const item = { id, text: '', name: '', tooltip: undefined as string | undefined, command: undefined, visible: false, show: () => void (item.visible = true), hide: () => void (item.visible = false), dispose: () => undefined };
      statusItems.push(item);
      return item;
    },
    createWebviewPanel: (_type: string, title: string) => {
      const disposed = new EventEmitter<void>();
      const panel = {
        title,
        webview: { html: '', cspSource: 'vscode-webview:' },
        disposed: false,
        reveal: () => undefined,
        onDidDispose: disposed.event,
        dispose: () => ((panel.disposed = true), disposed.fire()),
      };
      panels.push(panel);
      return panel;
    },
    showInputBox: (options: Record<string, unknown>, token?: { onCancellationRequested(l: () => void): unknown }) => user.input(options, token),
    showQuickPick: async (items: Promise<Array<{ label: string }>> | Array<{ label: string }>) => user.pick(await items),
    createOutputChannel: () => {
      // As VS Code's: writing to a disposed channel throws.
      let disposed = false;
      const check = () => {
        if (disposed) throw new Error('Channel has been closed');
      };
      return {
        appendLine: (line: string) => (check(), void log.push(line)),
        show: () => check(),
        dispose: () => void (disposed = true),
      };
    },
    createTextEditorDecorationType: () => ({ key: `decoration-${++decorationTypes}`, dispose: () => undefined }),
    showInformationMessage: (m: string, ...buttons: string[]) => respond(m, buttons),
    showWarningMessage: (m: string, ...buttons: string[]) => respond(m, buttons),
    showErrorMessage: (m: string, ...buttons: string[]) => respond(m, buttons),
    setStatusBarMessage: (m: string) => (messages.push(m), { dispose: () => undefined }),
    onDidChangeActiveTextEditor: events.activeEditor.event,
    onDidChangeVisibleTextEditors: events.visibleEditors.event,
    showTextDocument: async (document: FakeDocument) => new FakeEditor(document),
  };

  const workspace = {
    isTrusted: true,
    textDocuments: [] as FakeDocument[],
    notebookDocuments: [] as FakeNotebook[],
    getConfiguration: () => ({ get: (key: string, fallback?: unknown) => (key in settings ? settings[key] : fallback) }),
    onDidChangeTextDocument: events.changeDocument.event,
    onDidCloseTextDocument: events.closeDocument.event,
    onDidCloseNotebookDocument: events.closeNotebook.event,
    onDidChangeConfiguration: events.configuration.event,
    registerTextDocumentContentProvider: (scheme: string, provider: { provideTextDocumentContent(uri: Uri): string }) => {
      contentProviders.set(scheme, provider);
      return { dispose: () => contentProviders.delete(scheme) };
    },
    openTextDocument: async (uri: Uri) => {
      const provider = contentProviders.get(uri.scheme)!;
      const document = new FakeDocument(uri, provider.provideTextDocumentContent(uri));
      workspace.textDocuments.push(document);
      return document;
    },
    applyEdit: async (edit: { edits: Array<[Uri, Array<{ index: number; cells: NotebookCellData[] }>]> }) => {
      for (const [uri, inserts] of edit.edits) {
        const notebook = workspace.notebookDocuments.find((n) => n.uri.toString() === uri.toString())!;
        for (const insert of inserts) for (const data of insert.cells) notebook.add(data.value, data.metadata ?? {});
      }
      return true;
    },
  };

  const fake = {
    __esModule: true,
    EventEmitter,
    Uri,
    Position,
    Range,
    Selection,
    ThemeColor,
    MarkdownString,
    Diagnostic,
    DiagnosticRelatedInformation,
    Location,
    CodeLens,
    CodeAction,
    CodeActionKind: { QuickFix: { value: 'quickfix' } },
    Hover,
    CompletionItem,
    CompletionItemKind: { Variable: 5 },
    TreeItem,
    NotebookCellStatusBarItem,
    NotebookCellStatusBarAlignment: { Left: 1, Right: 2 },
    StatusBarAlignment: { Left: 1, Right: 2 },
    CancellationTokenSource,
    extensions: { getExtension: (_id: string): unknown => undefined },
    NotebookCellOutput,
    NotebookCellOutputItem,
    NotebookCellData,
    NotebookRange,
    WorkspaceEdit: class {
      edits: Array<[Uri, unknown[]]> = [];
      set(uri: Uri, edits: unknown[]) {
        this.edits.push([uri, edits]);
      }
    },
    NotebookEdit: { insertCells: (index: number, cells: NotebookCellData[]) => ({ index, cells }) },
    DecorationRangeBehavior: { ClosedClosed: 1 },
    DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
    ViewColumn: { Beside: -2 },
    NotebookCellKind: { Markup: 1, Code: 2 },
    NotebookControllerAffinity: { Default: 1, Preferred: 2 },
    window,
    workspace,
    env: { remoteName: undefined as string | undefined },
    languages: {
      createDiagnosticCollection: () => ({
        set: (uri: Uri, list: Diagnostic[]) => diagnostics.set(uri.toString(), list),
        delete: (uri: Uri) => diagnostics.delete(uri.toString()),
        dispose: () => undefined,
      }),
      registerCodeLensProvider: (_selector: unknown, provider: { provideCodeLenses(doc: FakeDocument): CodeLens[] }) => {
        codeLensProviders.push(provider);
        return { dispose: () => undefined };
      },
      registerCodeActionsProvider: (_selector: unknown, provider: (typeof providers.codeActions)[number]) => {
        providers.codeActions.push(provider);
        return { dispose: () => undefined };
      },
      registerHoverProvider: (_selector: unknown, provider: (typeof providers.hovers)[number]) => {
        providers.hovers.push(provider);
        return { dispose: () => undefined };
      },
      registerCompletionItemProvider: (_selector: unknown, provider: (typeof providers.completions)[number]) => {
        providers.completions.push(provider);
        return { dispose: () => undefined };
      },
    },
    commands: {
      registerCommand: (id: string, handler: (...args: unknown[]) => unknown) => {
        if (commands.has(id)) throw new Error(`command ${id} registered twice`);
        commands.set(id, handler);
        return { dispose: () => commands.delete(id) };
      },
      executeCommand: async (id: string, ...args: unknown[]) => {
        calls.push({ command: id, args });
        if (id === 'setContext') return void contexts.set(args[0] as string, args[1]);
        if (id === 'interactive.open') {
          // VS Code opens an untitled notebook of type 'interactive'.
          const notebook = new FakeNotebook(Uri.from({ scheme: 'untitled', path: '/Interactive-1.interactive' }), 'interactive');
          workspace.notebookDocuments.push(notebook);
          return { notebookUri: notebook.uri, inputUri: Uri.from({ scheme: 'vscode-interactive-input', path: '/InteractiveInput-1' }) };
        }
        if (id === 'notebook.cell.execute') {
          // VS Code runs the cells with the notebook's kernel: the preselected one.
          const { ranges, document } = args[0] as { ranges: Array<{ start: number; end: number }>; document: Uri };
          const notebook = workspace.notebookDocuments.find((n) => n.uri.toString() === document.toString())!;
          const controller = [...controllers.values()].find((c) => c.notebookType === notebook.notebookType)!;
          const cells = ranges.flatMap((r) => notebook.getCells(new NotebookRange(r.start, r.end)));
          return controller.executeHandler(cells, notebook, controller);
        }
        const handler = commands.get(id);
        if (!handler) throw new Error(`no command ${id}`);
        return handler(...args);
      },
    },
    notebooks: {
      registerNotebookCellStatusBarItemProvider: (_type: string, provider: (typeof providers.cellStatus)[number]) => {
        providers.cellStatus.push(provider);
        return { dispose: () => undefined };
      },
      createNotebookController: (id: string, notebookType: string, label: string, handler: unknown) => {
        const selected = new EventEmitter<unknown>();
        const controller: Record<string, any> = {
          id,
          notebookType,
          label,
          executeHandler: handler,
          onDidChangeSelectedNotebooks: selected.event,
          updateNotebookAffinity: () => undefined,
          dispose: () => controllers.delete(id),
          createNotebookCellExecution: (cell: FakeCell) => fakeExecution(cell),
        };
        controllers.set(id, controller);
        return controller;
      },
    },
  };

  return { fake, settings, commands, contexts, messages, diagnostics, codeLensProviders, controllers, events, window, workspace, log, calls, providers, treeViews, statusItems, panels, user };
}

// As VS Code's: one execution per cell at a time; outputs are found by id.
function fakeExecution(cell: FakeCell) {
  if (cell.executing) throw new Error('the cell is already executing');
  cell.executing = true;
  const find = (output: NotebookCellOutput) => cell.outputs.findIndex((o) => o.id === output.id);
  const record = (event: string) => {
    cell.events.push(event);
    cell.onEvent?.(event);
  };
  let startTime = 0;
  return {
    cell,
    token: { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) },
    set executionOrder(order: number | undefined) {
      cell.executionOrder = order;
    },
    start: (time?: number) => ((startTime = time ?? Date.now()), record('start')),
    end: (success: boolean | undefined, endTime?: number) => {
      cell.executing = false;
      cell.success = success;
      cell.executionSummary = { executionOrder: cell.executionOrder, success, timing: { startTime, endTime: endTime ?? Date.now() } };
      record('end');
    },
    clearOutput: async () => {
      cell.outputs = [];
      record('clear');
    },
    appendOutput: async (output: NotebookCellOutput) => {
      cell.outputs.push(output);
      record(`output:${output.items.map((i) => i.mime).join(',')}`);
    },
    appendOutputItems: async (item: NotebookCellOutputItem, output: NotebookCellOutput) => {
      cell.outputs[find(output)].items.push(item);
      record('append');
    },
    replaceOutputItems: async (items: NotebookCellOutputItem | NotebookCellOutputItem[], output: NotebookCellOutput) => {
      const index = find(output);
      if (index < 0) throw new Error('no such output');
      cell.outputs[index].items = Array.isArray(items) ? items : [items];
      record('replace');
    },
  };
}

/** Makes `require('vscode')` return the fake while `body` runs the extension. */
export function installFake(fake: object): () => void {
  const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const original = loader._load;
  loader._load = function (request: string, ...rest: unknown[]) {
    if (request === 'vscode') return fake;
    return original.call(this, request, ...rest);
  };
  return () => {
    loader._load = original;
  };
}

/** The text a stream output shows: its items concatenated, as VS Code renders them. */
export function outputText(output: NotebookCellOutput): string {
  return output.items.map((i) => Buffer.from(i.data).toString('utf8')).join('');
}
