// The subcell servers the extension started, found by their binary: the
// suite copies the binary to a path of its own, so only its servers match
// (argv[0] equal to that path and argv[1] "serve", read from /proc, no
// pattern matching; the server's worker processes run `subcell worker`).

'use strict';

const fs = require('node:fs');

/** Pids of the processes started as `binary serve ...`. */
function pidsOf(binary) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // it ended meanwhile
    }
    if (argv[0] === binary && argv[1] === 'serve') pids.push(Number(entry));
  }
  return pids;
}

/** Kills the server started from `binary` (there must be exactly one); returns its pid. */
function killServer(binary) {
  const pids = pidsOf(binary);
  if (pids.length !== 1) throw new Error(`expected one server running ${binary}, found ${JSON.stringify(pids)}`);
  process.kill(pids[0], 'SIGKILL');
  return pids[0];
}

/** argv and parent pid of a running process, or undefined when it is gone. */
function processOf(pid) {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // /proc/PID/stat: "pid (comm) state ppid ...": comm may hold spaces, so read after its ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { argv, ppid };
  } catch {
    return undefined;
  }
}

module.exports = { pidsOf, killServer, processOf };
