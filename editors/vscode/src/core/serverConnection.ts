// One running `subcell serve` process and its JSON-RPC connection
// (vscode-jsonrpc over the child's stdio: LSP framing, $/cancelRequest).
//
// Starting answers a Result: a missing binary or a server that dies during
// `initialize` is a value the caller shows, not an exception. Every request
// answers a Result too; when the process exits, pending requests settle as
// 'server-gone' (vscode-jsonrpc only rejects them once the connection is
// disposed, which `onProcessExit` does).
//
// The server's one request to the client, `cell/input`, is announced in
// `initialize` only when an `onInput` answerer is given; vscode-jsonrpc turns
// the server's `$/cancelRequest` for it into the answerer's token.

import { spawn, ChildProcess } from 'node:child_process';
import {
  CancellationToken,
  createMessageConnection,
  MessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import {
  ChangedParams,
  ClearParams,
  CrashedParams,
  DisplayParams,
  ErrorCode,
  InitializeParams,
  InitializeResult,
  InputParams,
  InputResult,
  Method,
  OutputParams,
  StartedParams,
} from './protocol';
import { Failure, fail, ok, Result } from './result';

export interface ServerOptions {
  /** Path of the `subcell` binary, or a bare name looked up on PATH. */
  binary: string;
  /** Extra arguments after `serve`, e.g. `--log-level info`. */
  args?: string[];
  /**
   * The server's working directory. Sessions share the process, so this is
   * where every cell's relative paths (`open('data.csv')`) resolve.
   */
  cwd?: string;
  initializationOptions?: InitializeParams['initializationOptions'];
  clientName?: string;
  clientVersion?: string;
  /** Receives the server's stderr (its human-readable log), line by line. */
  log?: (line: string) => void;
  /**
   * Answers `cell/input` (a cell called `input()`): the text typed, or
   * undefined when the user cancelled (the cell then gets KeyboardInterrupt).
   * The token fires when the server withdraws the request (the cell was
   * interrupted). Without it, the server is told the client cannot answer.
   */
  onInput?: (params: InputParams, token: CancellationToken) => Promise<InputResult | undefined>;
}

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop (shutdown/exit or kill()). */
  expected: boolean;
  /** The last lines the server wrote to stderr, to explain a crash. */
  stderrTail: string[];
}

export type CellEvent =
  | ({ kind: 'started' } & StartedParams)
  | ({ kind: 'output' } & OutputParams)
  | ({ kind: 'display' } & DisplayParams)
  | ({ kind: 'clear' } & ClearParams);

/** What happened to a session as a whole. */
export type SessionEvent = ({ kind: 'crashed' } & CrashedParams) | ({ kind: 'changed' } & ChangedParams);

export type ServerEvent = CellEvent | SessionEvent;

const stderrTailLines = 20;
const initializeTimeoutMs = 20_000;
// How long to wait for the rest of stdout once the process has exited: a
// grandchild that inherited the pipe must not hold the report back.
const drainGraceMs = 500;

function stdoutDrained(proc: ChildProcess): Promise<void> {
  const out = proc.stdout;
  if (!out || out.readableEnded || out.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, drainGraceMs);
    out.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class ServerConnection {
  private readonly exitListeners: Array<(exit: ServerExit) => void> = [];
  private readonly eventListeners: Array<(event: ServerEvent) => void> = [];
  private readonly stderrTail: string[] = [];
  private exitInfo: ServerExit | undefined;
  private stopping = false;
  private readonly exited: Promise<ServerExit>;
  info!: InitializeResult;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly connection: MessageConnection,
    private readonly options: ServerOptions,
  ) {
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        // Read what the server wrote before it died (replies, output) first.
        void stdoutDrained(proc).then(() => resolve(this.onProcessExit(code, signal)));
      });
    });
    this.collectStderr();
    connection.onNotification(Method.started, (p: StartedParams) => this.emit({ kind: 'started', ...p }));
    connection.onNotification(Method.output, (p: OutputParams) => this.emit({ kind: 'output', ...p }));
    connection.onNotification(Method.display, (p: DisplayParams) => this.emit({ kind: 'display', ...p }));
    connection.onNotification(Method.clear, (p: ClearParams) => this.emit({ kind: 'clear', ...p }));
    connection.onNotification(Method.crashed, (p: CrashedParams) => this.emit({ kind: 'crashed', ...p }));
    connection.onNotification(Method.changed, (p: ChangedParams) => this.emit({ kind: 'changed', ...p }));
    connection.onRequest(Method.input, (p: InputParams, token: CancellationToken) => this.answerInput(p, token));
    // A write to a dead pipe is reported by the exit handler; keep it from
    // surfacing as an unhandled stream error.
    connection.onError(() => undefined);
    proc.stdin?.on('error', () => undefined);
    proc.on('error', () => undefined); // e.g. a failed kill(); the exit handler reports the rest
  }

  /** Spawns the binary and runs `initialize`; fails as a value. */
  static async start(options: ServerOptions): Promise<Result<ServerConnection>> {
    const proc = spawn(options.binary, ['serve', ...(options.args ?? [])], { stdio: ['pipe', 'pipe', 'pipe'], cwd: options.cwd });
    const spawned = await new Promise<Error | undefined>((resolve) => {
      proc.once('spawn', () => resolve(undefined));
      proc.once('error', (err) => resolve(err));
    });
    if (spawned) {
      return fail('spawn-failed', `cannot start ${options.binary}: ${spawned.message}`);
    }
    const connection = createMessageConnection(
      new StreamMessageReader(proc.stdout!),
      new StreamMessageWriter(proc.stdin!),
    );
    const server = new ServerConnection(proc, connection, options);
    connection.listen();
    // Something that is not a subcell server may never answer: give up on it.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Result<InitializeResult>>((resolve) => {
      timer = setTimeout(() => resolve(fail('spawn-failed', `no answer to initialize within ${initializeTimeoutMs / 1000} s`)), initializeTimeoutMs);
    });
    const init = await Promise.race([
      server.request<InitializeResult>(Method.initialize, {
        processId: process.pid,
        clientInfo: { name: options.clientName ?? 'subcell-vscode', version: options.clientVersion },
        capabilities: { input: !!options.onInput },
        initializationOptions: options.initializationOptions ?? null,
      }),
      timeout,
    ]);
    clearTimeout(timer);
    if (!init.ok) {
      server.kill();
      const exit = await server.exited;
      const why = exit.stderrTail.length ? `\n${exit.stderrTail.join('\n')}` : '';
      return fail('spawn-failed', `${options.binary} did not initialize: ${init.failure.message}${why}`);
    }
    server.info = init.value;
    await server.notify(Method.initialized, {});
    return ok(server);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get isRunning(): boolean {
    return this.exitInfo === undefined;
  }

  onExit(listener: (exit: ServerExit) => void): void {
    if (this.exitInfo) listener(this.exitInfo);
    else this.exitListeners.push(listener);
  }

  /** Every notification about cells and sessions, in arrival order. */
  onEvent(listener: (event: ServerEvent) => void): void {
    this.eventListeners.push(listener);
  }

  async request<R>(method: string, params?: object, token?: CancellationToken): Promise<Result<R>> {
    if (!this.isRunning) return fail('server-gone', 'the subcell server is not running');
    try {
      // An undefined token must not be passed: vscode-jsonrpc would send it
      // as a second positional parameter.
      const args: unknown[] = params === undefined ? [] : [params];
      if (token) args.push(token);
      const value = await this.connection.sendRequest<R>(method, ...args);
      return ok(value);
    } catch (err) {
      return { ok: false, failure: this.failureOf(err) };
    }
  }

  async notify(method: string, params?: object): Promise<void> {
    if (!this.isRunning) return;
    try {
      await this.connection.sendNotification(method, params);
    } catch {
      // The exit handler reports a dead server.
    }
  }

  /** `shutdown` then `exit`, as LSP; kills the process if it does not go. */
  async shutdown(graceMs = 3000): Promise<ServerExit> {
    if (!this.isRunning) return this.exited;
    this.stopping = true;
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.request(Method.shutdown);
    await this.notify(Method.exit);
    this.proc.stdin?.end();
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Stops the process at once (SIGKILL by default); pending requests fail. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.stopping = true;
    if (this.isRunning) this.proc.kill(signal);
  }

  /** Waits for the process to exit, however that happens. */
  whenExited(): Promise<ServerExit> {
    return this.exited;
  }

  private emit(event: ServerEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }

  // A cancelled input is an error answer: the cell gets KeyboardInterrupt.
  private async answerInput(params: InputParams, token: CancellationToken): Promise<InputResult | ResponseError<void>> {
    const cancelled = () => new ResponseError<void>(ErrorCode.RequestCancelled, 'the user cancelled the input');
    if (!this.options.onInput) return new ResponseError<void>(ErrorCode.MethodNotFound, 'this client does not answer cell/input');
    try {
      const answer = await this.options.onInput(params, token);
      return answer && !token.isCancellationRequested ? answer : cancelled();
    } catch {
      return cancelled();
    }
  }

  private onProcessExit(code: number | null, signal: NodeJS.Signals | null): ServerExit {
    this.exitInfo = { code, signal, expected: this.stopping, stderrTail: [...this.stderrTail] };
    // Disposing rejects every pending request, which request() turns into
    // 'server-gone'.
    this.connection.dispose();
    for (const listener of this.exitListeners.splice(0)) listener(this.exitInfo);
    return this.exitInfo;
  }

  private collectStderr(): void {
    let partial = '';
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.stderrTail.push(line);
        if (this.stderrTail.length > stderrTailLines) this.stderrTail.shift();
        this.options.log?.(line);
      }
    });
  }

  private failureOf(err: unknown): Failure {
    // -32099..-32096 are vscode-jsonrpc's own codes (write/read errors,
    // connection disposed or inactive): the server did not answer.
    const clientSide = err instanceof ResponseError && err.code >= -32099 && err.code <= -32096;
    if (err instanceof ResponseError && !clientSide) {
      switch (err.code) {
        case ErrorCode.RequestCancelled:
          return { kind: 'cancelled', message: err.message, code: err.code };
        case ErrorCode.UnknownSession:
          return { kind: 'unknown-session', message: err.message, code: err.code };
        case ErrorCode.SessionCrashed:
          return { kind: 'crashed', message: err.message, code: err.code };
        default:
          return { kind: 'protocol', message: err.message, code: err.code };
      }
    }
    return { kind: 'server-gone', message: 'the subcell server exited before it answered' };
  }
}
