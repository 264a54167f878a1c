// Every open document's session, by a key (the document's URI). Creates a
// DocumentSession the first time a document runs something; the server
// session itself opens on the first run and closes with the document.

import { CellRun } from './cellRun';
import { DocumentSession, SessionEvent } from './documentSession';
import { PlacementDefaults } from './sessionPlacement';
import { ServerSupervisor } from './serverSupervisor';

export interface DocumentIdentity {
  /** Unique per document, e.g. its URI. */
  key: string;
  /** A label for humans: the file name. */
  name: string;
  /** The document's folder, when it has one on disk. */
  cwd?: string;
}

export interface RegistryOptions {
  stopOnError: () => boolean;
  maxOutputChars: () => number;
  /** Isolation, limits and Python of new sessions. */
  placement?: () => PlacementDefaults;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, { identity: DocumentIdentity; session: DocumentSession }>();
  private readonly listeners: Array<(key: string, run: CellRun) => void> = [];
  private readonly sessionListeners: Array<(key: string, event: SessionEvent) => void> = [];

  constructor(
    readonly supervisor: ServerSupervisor,
    private readonly options: RegistryOptions,
  ) {}

  get(key: string): DocumentSession | undefined {
    return this.sessions.get(key)?.session;
  }

  identity(key: string): DocumentIdentity | undefined {
    return this.sessions.get(key)?.identity;
  }

  getOrCreate(identity: DocumentIdentity): DocumentSession {
    const existing = this.sessions.get(identity.key);
    if (existing) return existing.session;
    const session = new DocumentSession({
      supervisor: this.supervisor,
      name: identity.name,
      cwd: identity.cwd,
      stopOnError: this.options.stopOnError(),
      maxOutputChars: this.options.maxOutputChars(),
      placement: this.options.placement,
    });
    session.onRunChange((run) => this.listeners.forEach((l) => l(identity.key, run)));
    session.onSessionEvent((event) => this.sessionListeners.forEach((l) => l(identity.key, event)));
    this.sessions.set(identity.key, { identity, session });
    return session;
  }

  /** Closes the document's session (server side too) and forgets it. */
  async close(key: string): Promise<void> {
    const entry = this.sessions.get(key);
    if (!entry) return;
    this.sessions.delete(key);
    await entry.session.close();
  }

  keys(): string[] {
    return [...this.sessions.keys()];
  }

  /** The document whose open session has this server id. */
  keyOfSession(sessionId: string): string | undefined {
    for (const [key, entry] of this.sessions) if (entry.session.sessionId === sessionId) return key;
    return undefined;
  }

  onRunChange(listener: (key: string, run: CellRun) => void): void {
    this.listeners.push(listener);
  }

  /** Every document's session events (opened, moved, crashed, ended...). */
  onSessionEvent(listener: (key: string, event: SessionEvent) => void): void {
    this.sessionListeners.push(listener);
  }
}
