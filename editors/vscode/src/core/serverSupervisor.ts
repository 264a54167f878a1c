// Keeps one subcell server for the whole editor: starts it on demand,
// restarts it when it dies and says which sessions died with it, shuts it
// down politely at the end. Cell notifications are routed to the sink of the
// run they belong to, by session and cell id.
//
// A session id is only meaningful for the server process that opened it, so
// every open session is tagged with the server's `generation`; a caller that
// holds an id from an older generation knows it must open a new session.

import { CancellationToken } from 'vscode-jsonrpc/node';
import {
  CellId,
  CloseResult,
  CompleteResult,
  InterruptResult,
  ListResult,
  Method,
  MimeBundle,
  OpenParams,
  OpenResult,
  ResetResult,
  RunResult,
  SessionId,
} from './protocol';
import { fail, ok, Result } from './result';
import { CellEvent, ServerConnection, ServerExit, ServerOptions } from './serverConnection';

/** Receives what a running cell produces, before its result. */
export interface RunSink {
  started(executionCount: number): void;
  write(stream: 'stdout' | 'stderr', text: string): void;
  display(data: MimeBundle): void;
}

export interface OpenedSession {
  session: SessionId;
  generation: number;
}

export interface LostSession {
  session: SessionId;
  name?: string;
}

export interface ServerLoss {
  exit: ServerExit;
  generation: number;
  lostSessions: LostSession[];
  /** Whether a new server is being started right away. */
  restarting: boolean;
}

export interface SupervisorOptions extends ServerOptions {
  /** Restart at once when the server dies (default true). */
  autoRestart?: boolean;
  /** Give up restarting after this many deaths within `restartWindowMs`. */
  maxRestarts?: number;
  restartWindowMs?: number;
}

type Listener<T> = (value: T) => void;

export class ServerSupervisor {
  private server: ServerConnection | undefined;
  private starting: Promise<Result<ServerConnection>> | undefined;
  private generationCounter = 0;
  private disposed = false;
  private readonly sessions = new Map<SessionId, { name?: string }>();
  private readonly sinks = new Map<string, RunSink>();
  private readonly latestCell = new Map<SessionId, string>();
  private readonly deaths: number[] = [];
  private readonly lossListeners: Listener<ServerLoss>[] = [];
  private readonly startListeners: Listener<Result<ServerConnection>>[] = [];

  constructor(private options: SupervisorOptions) {}

  /** New settings (e.g. another binary) apply from the next start. */
  configure(options: SupervisorOptions): void {
    this.options = options;
  }

  get generation(): number {
    return this.generationCounter;
  }

  /** The running server, if any, without starting one. */
  get current(): ServerConnection | undefined {
    return this.server?.isRunning ? this.server : undefined;
  }

  /** Subscribes to server deaths; returns the unsubscribe function. */
  onLoss(listener: Listener<ServerLoss>): () => void {
    return subscribe(this.lossListeners, listener);
  }

  /** Every start attempt's outcome, including automatic restarts. */
  onStart(listener: Listener<Result<ServerConnection>>): () => void {
    return subscribe(this.startListeners, listener);
  }

  /** The running server, started now if needed. */
  connection(): Promise<Result<ServerConnection>> {
    if (this.disposed) return Promise.resolve(fail('server-gone', 'subcell is shutting down'));
    if (this.server?.isRunning) return Promise.resolve(ok(this.server));
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  async openSession(params: OpenParams): Promise<Result<OpenedSession>> {
    const server = await this.connection();
    if (!server.ok) return server;
    const generation = this.generationCounter;
    const opened = await server.value.request<OpenResult>(Method.open, params);
    if (!opened.ok) return opened;
    this.sessions.set(opened.value.session, { name: params.name });
    return ok({ session: opened.value.session, generation });
  }

  async closeSession(opened: OpenedSession): Promise<Result<CloseResult>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    this.sessions.delete(opened.session);
    this.latestCell.delete(opened.session);
    return this.server!.request<CloseResult>(Method.close, { session: opened.session });
  }

  async run(opened: OpenedSession, code: string, cell: string, sink: RunSink, token?: CancellationToken): Promise<Result<RunResult>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    const key = sinkKey(opened.session, cell);
    this.sinks.set(key, sink);
    const result = await this.server!.request<RunResult>(Method.run, { session: opened.session, code, cell }, token);
    if (!result.ok) this.sinks.delete(key); // it never ran: no late output to route
    return result;
  }

  async reset(opened: OpenedSession): Promise<Result<ResetResult>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    return this.server!.request<ResetResult>(Method.reset, { session: opened.session });
  }

  async interrupt(opened: OpenedSession, cell?: CellId): Promise<Result<InterruptResult>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    const params = cell === undefined ? { session: opened.session } : { session: opened.session, cell };
    return this.server!.request<InterruptResult>(Method.interrupt, params);
  }

  async complete(opened: OpenedSession, code: string, cursor?: number): Promise<Result<CompleteResult>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    return this.server!.request<CompleteResult>(Method.complete, { session: opened.session, code, cursor });
  }

  async list(): Promise<Result<ListResult>> {
    if (!this.server?.isRunning) return ok({ sessions: [] });
    return this.server.request<ListResult>(Method.list);
  }

  /** Whether `opened` still lives on the running server. */
  isLive(opened: OpenedSession | undefined): boolean {
    return !!opened && opened.generation === this.generationCounter && !!this.server?.isRunning && this.sessions.has(opened.session);
  }

  /** Stops the server on purpose (the sessions are reported as lost) and starts a new one. */
  async restart(): Promise<Result<ServerConnection>> {
    const server = this.server;
    if (server?.isRunning) {
      await server.shutdown();
    }
    return this.connection();
  }

  /** `shutdown` + `exit`; nothing starts again afterwards. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const server = this.server ?? (this.starting ? await this.starting.then((r) => (r.ok ? r.value : undefined)) : undefined);
    if (server?.isRunning) await server.shutdown();
  }

  private async start(): Promise<Result<ServerConnection>> {
    const started = await ServerConnection.start(this.options);
    if (started.ok) {
      const server = started.value;
      this.server = server;
      this.generationCounter++;
      this.sessions.clear();
      this.sinks.clear();
      this.latestCell.clear();
      const generation = this.generationCounter;
      server.onCellEvent((event) => this.route(event));
      server.onExit((exit) => this.onExit(generation, exit));
    }
    for (const listener of this.startListeners) listener(started);
    return started;
  }

  private onExit(generation: number, exit: ServerExit): void {
    const lostSessions = [...this.sessions].map(([session, info]) => ({ session, name: info.name }));
    this.sessions.clear();
    this.sinks.clear();
    this.latestCell.clear();
    const now = Date.now();
    const window = this.options.restartWindowMs ?? 60_000;
    this.deaths.push(now);
    while (this.deaths.length && this.deaths[0] < now - window) this.deaths.shift();
    const crashLoop = this.deaths.length > (this.options.maxRestarts ?? 3);
    const restarting = !this.disposed && !exit.expected && (this.options.autoRestart ?? true) && !crashLoop;
    for (const listener of this.lossListeners) listener({ exit, generation, lostSessions, restarting });
    if (restarting) void this.connection();
  }

  // Notifications go to their run's sink. Output a thread writes after its
  // cell finished is attributed by the server to the session's latest cell,
  // so a sink stays registered until the next cell of its session starts.
  private route(event: CellEvent): void {
    const key = sinkKey(event.session, event.cell);
    const sink = this.sinks.get(key);
    if (!sink) return;
    switch (event.kind) {
      case 'started': {
        const previous = this.latestCell.get(event.session);
        if (previous && previous !== key) this.sinks.delete(previous);
        this.latestCell.set(event.session, key);
        sink.started(event.executionCount);
        return;
      }
      case 'output':
        sink.write(event.stream, event.text);
        return;
      case 'display':
        sink.display(event.data);
        return;
    }
  }
}

function subscribe<T>(listeners: Listener<T>[], listener: Listener<T>): () => void {
  listeners.push(listener);
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  };
}

function sinkKey(session: SessionId, cell: CellId): string {
  return `${session}\u0000${String(cell)}`;
}
