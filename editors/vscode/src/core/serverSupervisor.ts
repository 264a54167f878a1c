// Keeps one subcell server for the whole editor: starts it on demand,
// restarts it when it dies and says which sessions died with it, shuts it
// down politely at the end. Notifications are routed (eventRouter.ts) to the
// sink of the run they belong to, or to the session's listener.
//
// A session id is only meaningful for the server process that opened it, so
// every open session is tagged with the server's `generation`; a caller that
// holds an id from an older generation knows it must open a new session.

import { CancellationToken } from 'vscode-jsonrpc/node';
import { EventRouter, RunSink, SessionListener } from './eventRouter';
import {
  CellId,
  CloseResult,
  CompleteResult,
  InspectResult,
  InterruptResult,
  Isolation,
  ListResult,
  Method,
  OpenParams,
  OpenResult,
  ResetResult,
  RunResult,
  SessionId,
  VariablesResult,
} from './protocol';
import { fail, ok, Result } from './result';
import { ServerConnection, ServerEvent, ServerExit, ServerOptions } from './serverConnection';

export type { RunSink, SessionListener } from './eventRouter';

export interface OpenedSession {
  session: SessionId;
  generation: number;
  /** Where it runs and on which Python, as `session/open` (or a restart) answered. */
  result: OpenResult;
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
  private readonly router = new EventRouter();
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
    return ok({ session: opened.value.session, generation, result: opened.value });
  }

  /** Notifications about the session as a whole go to `listener`. */
  listen(opened: OpenedSession, listener: SessionListener): void {
    if (this.isLive(opened)) this.router.listen(opened.session, listener);
  }

  async closeSession(opened: OpenedSession): Promise<Result<CloseResult>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    this.sessions.delete(opened.session);
    this.router.dropSession(opened.session);
    return this.server!.request<CloseResult>(Method.close, { session: opened.session });
  }

  /** `session/restart`: a fresh session under the same id, in `isolation` if given. */
  async restartSession(opened: OpenedSession, isolation?: Isolation): Promise<Result<OpenedSession>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    const params = isolation ? { session: opened.session, isolation } : { session: opened.session };
    const restarted = await this.server!.request<OpenResult>(Method.restart, params);
    if (!restarted.ok) return restarted;
    return ok({ session: opened.session, generation: opened.generation, result: restarted.value });
  }

  async run(opened: OpenedSession, code: string, cell: string, sink: RunSink, token?: CancellationToken): Promise<Result<RunResult>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    this.router.addRun(opened.session, cell, sink);
    const result = await this.server!.request<RunResult>(Method.run, { session: opened.session, code, cell }, token);
    if (!result.ok) this.router.removeRun(opened.session, cell); // it never ran: no late output to route
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

  /** `cell/inspect`: answered while a cell of the session runs. */
  async inspect(opened: OpenedSession, code: string, cursor?: number): Promise<Result<InspectResult>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    return this.server!.request<InspectResult>(Method.inspect, { session: opened.session, code, cursor });
  }

  /** `session/variables`, one page: answered while a cell of the session runs. */
  async variables(opened: OpenedSession, offset: number, limit: number): Promise<Result<VariablesResult>> {
    if (!this.isLive(opened)) return fail('unknown-session', 'the session ended with an earlier server');
    return this.server!.request<VariablesResult>(Method.variables, { session: opened.session, offset, limit });
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
      this.router.clear();
      const generation = this.generationCounter;
      server.onEvent((event) => this.route(event));
      server.onExit((exit) => this.onExit(generation, exit));
    }
    for (const listener of this.startListeners) listener(started);
    return started;
  }

  private onExit(generation: number, exit: ServerExit): void {
    const lostSessions = [...this.sessions].map(([session, info]) => ({ session, name: info.name }));
    this.sessions.clear();
    this.router.clear();
    const now = Date.now();
    const window = this.options.restartWindowMs ?? 60_000;
    this.deaths.push(now);
    while (this.deaths.length && this.deaths[0] < now - window) this.deaths.shift();
    const crashLoop = this.deaths.length > (this.options.maxRestarts ?? 3);
    const restarting = !this.disposed && !exit.expected && (this.options.autoRestart ?? true) && !crashLoop;
    for (const listener of this.lossListeners) listener({ exit, generation, lostSessions, restarting });
    if (restarting) void this.connection();
  }

  // A crashed session's id is free on the server: forget it once its
  // listener was told.
  private route(event: ServerEvent): void {
    this.router.route(event);
    if (event.kind === 'crashed') {
      this.sessions.delete(event.session);
      this.router.dropSession(event.session);
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
