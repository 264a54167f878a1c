// Runs a function at most once per interval, always including the last
// request: streaming output can change a run hundreds of times a second,
// the editor only needs to redraw a few times.

export class Throttle {
  private timer: NodeJS.Timeout | undefined;
  private lastRun = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly action: () => void,
  ) {}

  schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastRun + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.runNow(), wait);
  }

  /** Runs now (e.g. when a cell finished) and drops a pending run. */
  runNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastRun = Date.now();
    this.action();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Throttles per key: one Throttle per document or output view. */
export class KeyedThrottle {
  private readonly throttles = new Map<string, Throttle>();

  constructor(
    private readonly intervalMs: number,
    private readonly action: (key: string) => void,
  ) {}

  schedule(key: string): void {
    this.get(key).schedule();
  }

  runNow(key: string): void {
    this.get(key).runNow();
  }

  forget(key: string): void {
    this.throttles.get(key)?.dispose();
    this.throttles.delete(key);
  }

  dispose(): void {
    for (const t of this.throttles.values()) t.dispose();
    this.throttles.clear();
  }

  private get(key: string): Throttle {
    let throttle = this.throttles.get(key);
    if (!throttle) {
      throttle = new Throttle(this.intervalMs, () => this.action(key));
      this.throttles.set(key, throttle);
    }
    return throttle;
  }
}
