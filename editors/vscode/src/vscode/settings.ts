// The extension's settings (package.json "contributes.configuration") read
// into the plain options the core modules take.

import * as vscode from 'vscode';
import { ShapingLimits } from '../core/outputShaping';
import { Isolation, Limits } from '../core/protocol';
import { PlacementDefaults } from '../core/sessionPlacement';
import { SupervisorOptions } from '../core/serverSupervisor';

function section(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('subcell');
}

export function supervisorOptions(version: string, log: (line: string) => void, onInput?: SupervisorOptions['onInput']): SupervisorOptions {
  const config = section();
  const poolSize = config.get<number | null>('poolSize', null);
  const prelude = config.get<string>('prelude', '');
  const initializationOptions: { poolSize?: number; prelude?: string } = {};
  if (typeof poolSize === 'number') initializationOptions.poolSize = poolSize;
  if (prelude) initializationOptions.prelude = prelude;
  return {
    binary: config.get<string>('serverPath', 'subcell') || 'subcell',
    // Cells' relative paths resolve against the workspace, as in a terminal opened there.
    cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    args: config.get<string[]>('serverArgs', []),
    initializationOptions,
    clientName: 'subcell-vscode',
    clientVersion: version,
    log,
    onInput,
  };
}

export function stopOnError(): boolean {
  return section().get<boolean>('runAll.stopOnError', true);
}

export function maxOutputChars(): number {
  return Math.max(1, section().get<number>('output.scrollbackMegabytes', 8)) * 1024 * 1024;
}

export function shapingLimits(): ShapingLimits {
  const config = section();
  return {
    inlineChars: config.get<number>('output.inlineMaxChars', 120),
    previewLines: config.get<number>('output.previewLines', 30),
    previewLineChars: 300,
  };
}

const isolations: Isolation[] = ['interpreter', 'process', 'auto'];

/** `subcell.isolation`, `subcell.cellTimeoutSeconds`, `subcell.memoryLimitMB`, and the Python to use. */
export function placementDefaults(python: () => string | undefined): PlacementDefaults {
  const config = section();
  const isolation = config.get<string>('isolation', 'interpreter');
  const limits: Limits = {};
  const timeout = config.get<number | null>('cellTimeoutSeconds', null);
  const memory = config.get<number | null>('memoryLimitMB', null);
  if (typeof timeout === 'number' && timeout > 0) limits.cellTimeoutSeconds = timeout;
  if (typeof memory === 'number' && memory >= 16) limits.memoryMB = Math.floor(memory);
  return {
    isolation: isolations.includes(isolation as Isolation) ? (isolation as Isolation) : 'interpreter',
    limits,
    python: python(),
  };
}

/** `subcell.python`: an interpreter path or environment folder; empty: not set. */
export function pythonSetting(): string | undefined {
  return section().get<string>('python', '').trim() || undefined;
}

export function codeLensEnabled(): boolean {
  return section().get<boolean>('codeLens.enabled', true);
}

/** Whether a configuration change needs a new server process. */
export function affectsServer(event: vscode.ConfigurationChangeEvent): boolean {
  return ['serverPath', 'serverArgs', 'poolSize', 'prelude'].some((key) => event.affectsConfiguration(`subcell.${key}`));
}
