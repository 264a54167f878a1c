// code-server (VS Code 1.100 served to a browser) for the suite: private
// folders for everything it writes (HOME and XDG_* too, or it writes under
// ~/.config and ~/.local), the packaged .vsix installed into a private
// extensions folder, listening on 127.0.0.1 on a port the kernel picks.
//
// It runs in its own process group, so stop() ends it and everything it
// started (extension hosts, language servers, the subcell server) at once;
// its pid is written to `${work}/code-server.pid` for run.sh's trap, which
// ends the group when node itself was killed.

'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/**
 * The folders of one run, all under `work`.
 * `userSettings` is the User settings file (what Preferences › Settings › User edits).
 */
function layout(work) {
  const dirs = {
    home: path.join(work, 'home'),
    config: path.join(work, 'xdg-config'),
    data: path.join(work, 'xdg-data'),
    cache: path.join(work, 'xdg-cache'),
    state: path.join(work, 'xdg-state'),
    userData: path.join(work, 'user-data'),
    extensions: path.join(work, 'extensions'),
  };
  return { ...dirs, userSettings: path.join(dirs.userData, 'User', 'settings.json'), logs: path.join(dirs.userData, 'logs') };
}

function environment(dirs) {
  return {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    XDG_STATE_HOME: dirs.state,
  };
}

function writeUserSettings(dirs, settings) {
  fs.mkdirSync(path.dirname(dirs.userSettings), { recursive: true });
  fs.writeFileSync(dirs.userSettings, JSON.stringify(settings, null, 2) + '\n');
}

function readUserSettings(dirs) {
  return JSON.parse(fs.readFileSync(dirs.userSettings, 'utf8'));
}

/** Installs the .vsix into the private extensions folder (code-server's CLI, no server). */
function installExtension(binary, dirs, vsix) {
  const out = execFileSync(binary, ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions, '--install-extension', vsix, '--force'], {
    env: environment(dirs),
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (!/successfully installed/.test(out)) throw new Error(`installing ${vsix} failed:\n${out}`);
}

/**
 * Writes the User settings, installs the .vsix, starts code-server; resolves
 * with { url, dirs, stop, pid } once it listens. Its output goes to `logFile`.
 */
async function start({ binary, work, vsix, settings, logFile, timeoutMs = 60_000 }) {
  const dirs = layout(work);
  for (const key of ['home', 'config', 'data', 'cache', 'state', 'userData', 'extensions']) fs.mkdirSync(dirs[key], { recursive: true });
  writeUserSettings(dirs, settings);
  installExtension(binary, dirs, vsix);

  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    binary,
    [
      '--auth', 'none',
      '--bind-addr', '127.0.0.1:0',
      '--user-data-dir', dirs.userData,
      '--extensions-dir', dirs.extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--ignore-last-opened',
    ],
    { env: environment(dirs), stdio: ['ignore', out, out], detached: true },
  );
  fs.closeSync(out);
  fs.writeFileSync(path.join(work, 'code-server.pid'), String(child.pid));
  const stop = () => stopGroup(child);
  try {
    const url = await listening(logFile, child, timeoutMs);
    return { url, dirs, stop, pid: child.pid };
  } catch (err) {
    await stop();
    throw err;
  }
}

// code-server prints "HTTP server listening on http://127.0.0.1:PORT/".
function listening(logFile, child, timeoutMs) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const timer = setInterval(() => {
      const text = fs.readFileSync(logFile, 'utf8');
      const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(text);
      if (m) finish(null, m[1]);
      else if (child.exitCode !== null) finish(new Error(`code-server exited (${child.exitCode}) before listening; see ${logFile}`));
      else if (Date.now() > deadline) finish(new Error(`code-server did not listen within ${timeoutMs / 1000} s; see ${logFile}`));
    }, 100);
    function finish(err, url) {
      clearInterval(timer);
      if (err) reject(err);
      else resolve(url);
    }
  });
}

/** SIGTERM to the whole group, SIGKILL after 5 s; resolves when the leader is gone. */
function stopGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(killGroup(child.pid, 'SIGKILL'));
  return new Promise((resolve) => {
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      killGroup(child.pid, 'SIGKILL'); // whatever outlived the leader
      resolve();
    });
    killGroup(child.pid, 'SIGTERM');
  });
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

module.exports = { start, layout, readUserSettings, writeUserSettings };
