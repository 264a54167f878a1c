// The Pythons a user may want a session to run on, found without running
// any of them: the workspace's `.venv`/`venv`, pyenv's versions, conda's
// environments (the usual folders, and `conda env list` when conda is on
// PATH), and the system's python3. Each is an interpreter path the server's
// `session/open` takes as `python`. Missing folders are simply skipped.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PythonCandidate {
  /** What the list shows, e.g. "pyenv 3.12.1". */
  label: string;
  /** The interpreter's path: what session/open's `python` gets. */
  executable: string;
  /** Where it came from: "workspace", "pyenv", "conda", "system". */
  source: string;
}

export interface CandidateSearch {
  /** Workspace folders: their `.venv` and `venv`. */
  folders: string[];
  home: string;
  /** `conda env list --json`: undefined when there is no conda. */
  condaEnvs?: () => Promise<string[]>;
  /** Absolute paths of system interpreters to offer when they exist. */
  system?: string[];
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function subfolders(folder: string): string[] {
  try {
    return fs
      .readdirSync(folder, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => path.join(folder, e.name))
      .sort();
  } catch {
    return [];
  }
}

/** The interpreter inside an environment folder (a venv, a conda env, a pyenv version). */
export function interpreterIn(envFolder: string): string | undefined {
  return ['bin/python', 'bin/python3'].map((p) => path.join(envFolder, p)).find(isFile);
}

function fromFolders(folders: string[], source: string, label: (folder: string) => string): PythonCandidate[] {
  const found: PythonCandidate[] = [];
  for (const folder of folders) {
    const executable = interpreterIn(folder);
    if (executable) found.push({ label: label(folder), executable, source });
  }
  return found;
}

export async function findPythons(search: CandidateSearch): Promise<PythonCandidate[]> {
  const workspace = search.folders.flatMap((f) => ['.venv', 'venv'].map((name) => path.join(f, name)));
  const pyenv = subfolders(path.join(search.home, '.pyenv', 'versions'));
  const condaFolders = ['miniconda3', 'anaconda3', 'miniforge3'].flatMap((c) => subfolders(path.join(search.home, c, 'envs')));
  const listed = search.condaEnvs ? await search.condaEnvs().catch(() => []) : [];
  const conda = [...new Set([...condaFolders, ...listed])];
  const system = (search.system ?? []).filter(isFile).map((executable) => ({ label: `system ${executable}`, executable, source: 'system' }));
  const all = [
    ...fromFolders(workspace, 'workspace', (f) => `workspace ${path.basename(path.dirname(f))}/${path.basename(f)}`),
    ...fromFolders(pyenv, 'pyenv', (f) => `pyenv ${path.basename(f)}`),
    ...fromFolders(conda, 'conda', (f) => `conda ${path.basename(f)}`),
    ...system,
  ];
  const seen = new Set<string>();
  return all.filter((c) => !seen.has(c.executable) && seen.add(c.executable));
}

/** `conda env list --json`'s environment folders; rejects when conda is not there. */
export function condaEnvList(timeoutMs = 5000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('conda', ['env', 'list', '--json'], { timeout: timeoutMs }, (err, stdout) => {
      if (err) return reject(err);
      try {
        const envs = JSON.parse(stdout).envs;
        resolve(Array.isArray(envs) ? envs.filter((e: unknown): e is string => typeof e === 'string') : []);
      } catch (parseError) {
        reject(parseError);
      }
    });
  });
}
