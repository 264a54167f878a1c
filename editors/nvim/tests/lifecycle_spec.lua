-- Sessions and the server process: one session per buffer, closed with the
-- buffer; a dead server is restarted and the lost sessions are named; the
-- server is shut down on VimLeavePre.
local t = require('helpers')
local subcell = require('subcell')
local server = require('subcell.server')
local state = require('subcell.state')

local function session_ids()
  local ids = {}
  for _, s in ipairs(t.sessions()) do
    ids[s.session] = s.name
  end
  return ids
end

-- Opens two buffers and runs a cell in each; returns buffers and session ids.
local function two_notebooks()
  local a = t.scratch({ '# %%', 'x = "a"', '# %%', 'x' }, 'alpha.py')
  t.run_at(a, '^x = "a"')
  local b = t.scratch({ '# %%', 'x = "b"', '# %%', 'x' }, 'beta.py')
  t.run_at(b, '^x = "b"')
  return a, b, state.notebooks[a].session, state.notebooks[b].session
end

t.test('each buffer gets its own session', function()
  local a, b, sa, sb = two_notebooks()
  t.truthy(sa ~= sb, 'distinct sessions')
  local ids = session_ids()
  t.eq('alpha.py', ids[sa], 'name of the first session')
  t.eq('beta.py', ids[sb], 'name of the second session')
  vim.api.nvim_set_current_buf(a)
  t.run_at(a, '^x$')
  t.contains(t.virt_text(a, 3), "Out[2]: 'a'") -- not 'b': separate namespaces
  vim.api.nvim_set_current_buf(b)
  t.run_at(b, '^x$')
  t.contains(t.virt_text(b, 3), "Out[2]: 'b'")
end)

t.test('wiping a buffer closes its session', function()
  local a, _, sa, sb = two_notebooks()
  vim.cmd('bwipeout! ' .. a)
  t.wait(function()
    local ids = session_ids()
    return ids[sa] == nil and ids[sb] ~= nil
  end, 'session/list without the wiped buffer session')
  t.eq(nil, state.notebooks[a], 'notebook forgotten')
end)

t.test('deleting a buffer closes its session; renaming it does not', function()
  local a, b, sa, sb = two_notebooks()
  vim.api.nvim_set_current_buf(b)
  vim.cmd('file ' .. vim.fn.fnameescape(vim.fn.tempname() .. '-renamed.py'))
  vim.cmd('bdelete! ' .. a)
  t.wait(function()
    return session_ids()[sa] == nil
  end, 'session/list without the deleted buffer session')
  t.truthy(session_ids()[sb], 'the renamed buffer keeps its session')
  t.eq(sb, state.notebooks[b].session, 'still attached')
end)

t.test('a dead server is restarted and the lost sessions are named', function()
  local a, b, sa, sb = two_notebooks()
  local old = server.status().generation
  vim.api.nvim_set_current_buf(a)
  vim.api.nvim_buf_set_lines(a, -1, -1, false, { '# %%', 'import os, signal', t.KILL_SERVER })
  local killer = t.run_at(a, 'kill%(')
  t.eq('failed', killer.state, 'the cell that killed the server')
  t.contains(t.virt_text(a, 6), 'server exited')
  t.wait(function()
    return t.notified('lost sessions')
  end, 'the notification')
  local note = t.notified('lost sessions')
  t.eq(vim.log.levels.ERROR, note.level, 'level')
  t.contains(note.msg, 'signal 9')
  t.contains(note.msg, sa .. ' (alpha.py)')
  t.contains(note.msg, sb .. ' (beta.py)')
  t.contains(note.msg, 'Restarted')
  t.wait(function()
    return server.status().status == 'ready'
  end, 'the new server')
  t.eq(old + 1, server.status().generation, 'a new process')
  t.eq({}, t.sessions(), 'sessions on the new server')
  -- Running again opens a fresh session.
  vim.api.nvim_set_current_buf(b)
  local run = t.run_at(b, '^x$')
  t.eq('NameError', run.error and run.error.type, 'state is gone')
  run = t.run_at(b, '^x = "b"')
  t.eq(1, #t.sessions(), 'one new session')
  t.eq('done', run.state, 'state')
end)

t.test('a server that keeps dying is not restarted forever', function()
  t.setup({ restart_limit = 1, restart_window_ms = 60000 })
  server.restart() -- forget earlier deaths
  local buf = t.scratch({ 'import os, signal', t.KILL_SERVER })
  for round = 1, 2 do
    t.notifications = {}
    local run = t.wait_run(subcell.run_cell({ buf = buf, row = 0 }))
    t.eq('failed', run.state, 'round ' .. round .. ': ' .. vim.inspect(run.failure) .. vim.inspect(run.error) .. vim.inspect(t.notifications))
    t.wait(function()
      return t.notified('lost sessions')
    end, 'notification ' .. round)
  end
  local note = t.notified('lost sessions').msg
  t.contains(note, 'was not restarted')
  t.not_contains(note, ':SubcellRestart', 'a command nobody needs')
  t.contains(note, 'the next cell you run starts it again')
  t.eq('stopped', server.status().status, 'server status')
  -- As the message says: running a cell starts it.
  local other = t.scratch({ '6 * 7' }, 'other.py')
  local run = t.wait_run(subcell.run_cell({ buf = other, row = 0 }))
  t.eq('done', run.state, 'state')
  t.contains(t.virt_text(other, 0), 'Out[1]: 42')
end)

t.test('VimLeavePre sends shutdown and exit; the server exits with status 0', function()
  local buf = t.scratch({ 'print("hi")' })
  t.wait_run(subcell.run_cell({ buf = buf, row = 0 }))
  t.eq('ready', server.status().status, 'running')
  vim.api.nvim_exec_autocmds('VimLeavePre', {})
  t.wait(function()
    return server.status().status == 'stopped'
  end, 'the server to stop')
  local exit = server.status().last_exit
  t.eq({ code = 0, signal = 0, expected = true }, exit, 'exit')
  t.eq(nil, t.notified('lost sessions'), 'no death notification')
end)

-- The notifications at ERROR level.
local function errors()
  return vim.tbl_filter(function(n)
    return n.level == vim.log.levels.ERROR
  end, t.notifications)
end

-- Runs both cells of a new buffer with `cmd` as the binary; both must fail.
local function run_with(cmd, args)
  subcell.stop()
  t.setup({ cmd = cmd, args = args })
  local buf = t.scratch({ '# %%', '1 + 1', '# %%', '2 + 2' })
  for _, run in ipairs(subcell.run_all()) do
    t.eq('failed', t.wait_run(run).state, 'state')
  end
  return buf
end

t.test('a missing binary is reported once as an error, and under each cell', function()
  local buf = run_with('/nonexistent/subcell')
  t.contains(t.virt_text(buf, 1), '/nonexistent/subcell')
  t.contains(t.virt_text(buf, 3), 'not found')
  t.eq(1, #errors(), 'one notification for the two cells')
  t.contains(errors()[1].msg, '/nonexistent/subcell')
end)

-- A script in a temporary file, made executable.
local function script(lines)
  local path = vim.fn.tempname() .. '-not-subcell'
  vim.fn.writefile(lines, path)
  vim.fn.setfperm(path, 'rwx------')
  return path
end

t.test('a program that is not subcell and exits is reported once, not restarted', function()
  local fake = script({ '#!/bin/sh', 'echo "usage: not-subcell" >&2', 'exit 3' })
  local buf = run_with(fake)
  t.contains(t.virt_text(buf, 1), 'exited (code 3)')
  t.eq(1, #errors(), 'one notification')
  t.contains(errors()[1].msg, fake)
  t.eq(nil, t.notified('lost sessions'), 'no lost-sessions report for a server that never ran')
  t.eq('stopped', server.status().status, 'not restarted')
end)

t.test('a program that answers, but not as subcell, is reported once', function()
  local buf = run_with('cat', {}) -- echoes every request back
  t.contains(t.virt_text(buf, 1), 'initialize failed')
  t.eq(1, #errors(), 'one notification')
  t.contains(errors()[1].msg, 'cmd = cat')
  local other = script({
    '#!/bin/sh',
    [[body='{"jsonrpc":"2.0","id":1,"result":{"serverInfo":{"name":"other"}}}']],
    [[printf 'Content-Length: %d\r\n\r\n%s' "${#body}" "$body"]],
    'exec cat >/dev/null',
  })
  t.notifications = {}
  buf = run_with(other)
  t.contains(t.virt_text(buf, 1), 'it answered initialize as "other", not as subcell')
  t.eq(1, #errors(), 'one notification')
  t.eq('stopped', server.status().status, 'status')
end)

t.test('a program that never answers initialize is given up on', function()
  local saved = server.start_timeout_ms
  server.start_timeout_ms = 200
  local ok, err = pcall(run_with, 'sleep', { '30' })
  server.start_timeout_ms = saved
  assert(ok, err)
  t.contains(t.virt_text(vim.api.nvim_get_current_buf(), 1), 'no answer to initialize within 0.2 s')
  t.eq(1, #errors(), 'one notification')
end)
