// Shared by the tests: where the real server binary and the fixtures are,
// and ways to wait for an event instead of sleeping.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CellRun } from '../src/core/cellRun';
import { ServerSupervisor, SupervisorOptions } from '../src/core/serverSupervisor';

/** The binary under test: $SUBCELL_BINARY, else the stable build. */
export const binary = process.env.SUBCELL_BINARY || 'subcell';

/** test/fixtures, from out/test where the compiled tests run. */
export const fixtures = path.resolve(__dirname, '..', '..', 'test', 'fixtures');

export function readFixture(name: string): string {
  return fs.readFileSync(path.join(fixtures, name), 'utf8');
}

export function supervisor(options: Partial<SupervisorOptions> = {}): ServerSupervisor {
  return new ServerSupervisor({ binary, args: ['--log-level', 'warning'], ...options });
}

/** Resolves once `predicate(run)` holds, checked at every change of the run. */
export function until(run: CellRun, predicate: (run: CellRun) => boolean): Promise<CellRun> {
  if (predicate(run)) return Promise.resolve(run);
  return new Promise((resolve) => run.onChange((r) => predicate(r) && resolve(r)));
}

/** Resolves with the first value an `onX(listener)` subscription delivers. */
export function once<T>(subscribe: (listener: (value: T) => void) => unknown): Promise<T> {
  return new Promise((resolve) => {
    let done = false;
    subscribe((value) => {
      if (!done) {
        done = true;
        resolve(value);
      }
    });
  });
}

/** A cell defining `png(w, h)`: a real PNG of that size made with the standard library, shown by `Picture(w, h)`. */
export const pictureCell = [
  'import struct, zlib',
  'def png(w, h):',
  '    def chunk(kind, data):',
  '        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))',
  '    rows = b"".join(b"\\x00" + b"\\x30\\x80\\xc0" * w for _ in range(h))',
  '    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")',
  'class Picture:',
  '    def __init__(self, w, h): self.w, self.h = w, h',
  '    def _repr_png_(self): return png(self.w, self.h)',
  '    def __repr__(self): return f"<Picture {self.w}x{self.h}>"',
].join('\n');
