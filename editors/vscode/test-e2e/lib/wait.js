// Waiting for a condition, never for a time: polls `read` until `done(value)`
// holds or the deadline passes, then fails saying what it waited for and
// what it saw last.

'use strict';

const pollMs = 50;

async function until(what, read, done, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${what}; last seen: ${JSON.stringify(last)?.slice(0, 600)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

module.exports = { until };
