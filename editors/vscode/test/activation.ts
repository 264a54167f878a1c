// Activates the whole extension (src/extension.ts) against the stand-in
// `vscode` module and the real server, for the tests that look at what the
// editor draws. Each test file runs in its own process (node --test), so
// each activates its own extension with its own settings.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { binary } from './helpers';
import { createFake, FakeCell, FakeDocument, FakeEditor, FakeNotebook, installFake, outputText, Uri } from './fakeVscode';

const root = path.resolve(__dirname, '..', '..');
export const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

export interface Activated {
  fake: ReturnType<typeof createFake>;
  extension: { activate(context: unknown): void; deactivate(): Promise<void> };
  subscriptions: Array<{ dispose(): unknown }>;
  /** Opens a text document in a visible, active editor. */
  openEditor(file: string, text: string): FakeEditor;
  /** A notebook of `notebookType` with these code cells. */
  openNotebook(file: string, cells: string[], notebookType?: string): FakeNotebook;
  /** Runs cells with the subcell controller of their notebook. */
  runCells(notebook: FakeNotebook, cells: FakeCell[]): Promise<void>;
  /** Deactivates and restores `require('vscode')`. */
  close(): Promise<void>;
}

/** `prepare` may change the stand-in before the extension activates (e.g. install another extension). */
export function activateExtension(settings: Record<string, unknown> = {}, prepare?: (fake: ReturnType<typeof createFake>) => void): Activated {
  const fake = createFake({ serverPath: binary, serverArgs: ['--log-level', 'warning'], ...settings });
  prepare?.(fake);
  const restore = installFake(fake.fake);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const extension = require('../src/extension');
  const subscriptions: Array<{ dispose(): unknown }> = [];
  extension.activate({ subscriptions, extension: { id: 'subcell.subcell', packageJSON: manifest } });
  const { window, workspace, controllers } = fake;
  return {
    fake,
    extension,
    subscriptions,
    openEditor(file, text) {
      const document = new FakeDocument(Uri.file(file), text);
      const editor = new FakeEditor(document);
      workspace.textDocuments.push(document);
      window.visibleTextEditors.push(editor);
      window.activeTextEditor = editor;
      window.activeNotebookEditor = undefined;
      fake.events.activeEditor.fire(editor);
      return editor;
    },
    openNotebook(file, cells, notebookType = 'jupyter-notebook') {
      const notebook = new FakeNotebook(Uri.file(file), notebookType);
      for (const code of cells) notebook.add(code);
      workspace.notebookDocuments.push(notebook);
      workspace.textDocuments.push(...notebook.cells.map((c) => c.document));
      window.activeTextEditor = undefined;
      window.activeNotebookEditor = { notebook };
      fake.events.activeNotebookEditor.fire(window.activeNotebookEditor);
      return notebook;
    },
    async runCells(notebook, cells) {
      const controller = [...controllers.values()].find((c) => c.notebookType === notebook.notebookType)!;
      await controller.executeHandler(cells, notebook, controller);
    },
    async close() {
      await extension.deactivate();
      for (const s of subscriptions) s.dispose();
      restore();
    },
  };
}

/** The text of every output of a cell, one string per output. */
export function outputsOf(cell: FakeCell): string[] {
  return cell.outputs.map(outputText);
}

/** Resolves once `predicate()` holds, checked after each of the fake's recorded events. */
export async function eventually<T>(what: string, read: () => T, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
