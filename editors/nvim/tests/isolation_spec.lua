-- Isolation modes (issue 7): auto sessions that move to a process, the
-- restartInProcess suggestion and :SubcellRestart process, crashes of
-- process sessions, limits, and what :SubcellSessions shows.
local t = require('helpers')
local subcell = require('subcell')
local state = require('subcell.state')
local levels = vim.log.levels

local function session_entry(buf)
  local id = state.notebooks[buf].session
  for _, s in ipairs(t.sessions()) do
    if s.session == id then
      return s
    end
  end
  error('no session/list entry for ' .. tostring(id))
end

-- Runs a command that notifies and waits for a notification matching `pattern`.
local function command_notifies(command, pattern)
  vim.cmd(command)
  t.wait(function()
    return t.notified(pattern)
  end, command .. ' to notify ' .. pattern)
  return t.notified(pattern)
end

t.test('auto: a stateless session moves to a process on import _testsinglephase', function()
  t.setup({ isolation = 'auto' })
  local buf = t.scratch({ '# %%', 'import _testsinglephase', '_testsinglephase.__name__' }, 'auto.py')
  local run = t.run_at(buf, '^import _testsinglephase')
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error or run.failure))
  t.contains(t.virt_text(buf, 2), "Out[1]: '_testsinglephase'")
  local note = t.truthy(t.notified('moved from interpreter to a process'), 'session/changed notification')
  t.eq(levels.INFO, note.level, 'level')
  t.contains(note.msg, 'auto.py')
  t.contains(note.msg, '_testsinglephase')
  local entry = session_entry(buf)
  t.eq('process', entry.isolation, 'session/list isolation')
  t.eq('process', state.notebooks[buf].info.isolation, 'what the plugin knows')
  t.eq(entry.pid, state.notebooks[buf].info.pid, 'pid')
  t.truthy(entry.pid ~= vim.fn.getpid(), 'a process of its own')
  -- :SubcellSessions shows the mode and the pid.
  local listed = command_notifies('SubcellSessions', 'auto%.py')
  t.contains(listed.msg, 'process')
  t.contains(listed.msg, 'pid ' .. entry.pid)
end)

t.test('auto with state: the error suggests :SubcellRestart process, which makes the import work', function()
  t.setup({ isolation = 'auto' })
  local buf = t.scratch({ '# %%', 'x = 1', '# %%', 'import _testsinglephase', '_testsinglephase.__name__', '# %%', 'x' }, 'state.py')
  t.run_at(buf, '^x = 1')
  local run = t.run_at(buf, '^import _testsinglephase')
  t.eq('error', run.state, 'state')
  t.eq('restartInProcess', run.error.suggestion and run.error.suggestion.action, 'suggestion')
  local row = t.row_of(buf, '^_testsinglephase.__name__')
  t.contains(t.virt_text(buf, row), '→ :SubcellRestart process runs this session in a process')
  local diags = t.diagnostics(buf)
  t.eq(t.row_of(buf, '^import _testsinglephase'), diags[1].lnum, 'diagnostic line')
  t.contains(diags[1].message, ':SubcellRestart process')
  t.eq('interpreter', session_entry(buf).isolation, 'not moved: it has variables')

  t.cursor_to(buf, '^import _testsinglephase')
  local note = command_notifies('SubcellRestart process', 'restarted')
  t.contains(note.msg, 'process')
  t.eq('process', session_entry(buf).isolation, 'restarted in a process')
  run = t.run_at(buf, '^import _testsinglephase')
  t.eq('done', run.state, 'the import works: ' .. vim.inspect(run.error))
  t.contains(t.virt_text(buf, row), "Out[1]: '_testsinglephase'")
  t.eq({}, t.diagnostics(buf), 'the error is gone')
  -- The variables went with the old session.
  t.eq('NameError', t.run_at(buf, '^x$').error.type, 'x after the restart')
end)

t.test('a segfault in a process session is reported; the next run starts a fresh session', function()
  t.setup({ isolation = 'process' })
  local buf = t.scratch({ '# %%', 'import ctypes; ctypes.string_at(0)', '# %%', '6 * 7' }, 'crash.py')
  local first = state.notebook(buf)
  local run = t.run_at(buf, 'string_at')
  t.eq('crashed', run.state, 'state: ' .. vim.inspect(run.failure))
  local row = t.row_of(buf, 'string_at')
  t.contains(t.virt_text(buf, row), 'session crashed (SIGSEGV)')
  t.contains(t.virt_text(buf, row), 'the next run starts a fresh session')
  local note = t.truthy(t.notified('crashed'), 'crash notification')
  t.eq(levels.ERROR, note.level, 'level')
  t.contains(note.msg, 'crash.py')
  t.contains(note.msg, 'SIGSEGV')
  t.contains(note.msg, 'Segmentation fault') -- from the worker's last stderr lines
  t.eq(nil, first.session, 'the crashed session is forgotten')
  -- :SubcellOutput keeps the worker's stderr.
  t.cursor_to(buf, 'string_at')
  vim.cmd('SubcellOutput')
  local view = t.truthy(require('subcell.view').current(), 'output window')
  local lines = vim.api.nvim_buf_get_lines(view.buf, 0, -1, false)
  t.contains(lines, 'Fatal Python error: Segmentation fault')
  vim.cmd('close')
  -- The next run opens a new session and works.
  local after = t.run_at(buf, '^6 %* 7')
  t.eq('done', after.state, 'state after the crash')
  t.contains(t.virt_text(buf, t.row_of(buf, '^6 %* 7')), 'Out[1]: 42')
  t.eq('process', session_entry(buf).isolation, 'a process session again')
end)

t.test('os._exit in an interpreter session ends only that session, reported with its exit code', function()
  local buf = t.scratch({ '# %%', 'import os; os._exit(3)', '# %%', '"alive"' }, 'exit.py')
  local run = t.run_at(buf, '_exit')
  t.eq('crashed', run.state, 'state: ' .. vim.inspect(run.failure))
  t.contains(t.virt_text(buf, t.row_of(buf, '_exit')), 'session crashed (exit code 3)')
  t.contains(t.truthy(t.notified('crashed'), 'notification').msg, 'exit code 3')
  run = t.run_at(buf, '^"alive"')
  t.eq('done', run.state, 'a fresh session')
end)

t.test('setup{ cell_timeout, memory_limit_mb } reach the session', function()
  t.setup({ isolation = 'process', cell_timeout = 1, memory_limit_mb = 200 })
  local buf = t.scratch({ '# %%', 'import time; time.sleep(10)', '# %%', 'b = bytearray(400 * 2**20)' }, 'limits.py')
  local started = t.hrtime()
  local run = t.run_at(buf, 'sleep')
  t.eq('KeyboardInterrupt', run.error and run.error.type, 'interrupted')
  t.contains(run.error.message, 'time limit of 1 s')
  t.truthy((t.hrtime() - started) / 1e9 < 8, 'well before the sleep ended')
  run = t.run_at(buf, 'bytearray')
  t.eq('MemoryError', run.error and run.error.type, 'past the memory limit: ' .. vim.inspect(run.error))
end)

t.test('memory_limit_mb with interpreter sessions is ignored with one warning', function()
  t.setup({ isolation = 'interpreter', memory_limit_mb = 200 })
  local buf = t.scratch({ '1 + 1' }, 'nolimit.py')
  local run = t.wait_run(subcell.run_cell({ buf = buf, row = 0 }))
  t.eq('done', run.state, 'the session opens anyway')
  local note = t.truthy(t.notified('memory_limit_mb'), 'warning')
  t.eq(levels.WARN, note.level, 'level')
end)

t.test(':SubcellRestart interpreter moves a process session back; a bad mode is refused', function()
  t.setup({ isolation = 'process' })
  local buf = t.scratch({ 'import os; os.getpid()' }, 'back.py')
  t.wait_run(subcell.run_cell({ buf = buf, row = 0 }))
  t.eq('process', session_entry(buf).isolation, 'before')
  command_notifies('SubcellRestart interpreter', 'restarted')
  t.eq('interpreter', session_entry(buf).isolation, 'after')
  t.eq('interpreter', state.notebooks[buf].isolation, 'the buffer keeps the choice')
  t.notifications = {}
  vim.cmd('SubcellRestart sideways')
  t.eq(levels.ERROR, t.truthy(t.notified('unknown isolation'), 'refusal').level, 'level')
  t.eq({ 'process', 'interpreter', 'auto' }, vim.fn.getcompletion('SubcellRestart ', 'cmdline'), 'completion')
  t.eq({ 'interpreter' }, vim.fn.getcompletion('SubcellRestart in', 'cmdline'), 'completion of a prefix')
end)
