-- Test helpers: fixtures, waiting on conditions (never fixed sleeps), and
-- reading back what a user sees: virtual lines, diagnostics, notifications.
local M = { tests = {}, notifications = {} }

local api = vim.api
local uv = vim.uv or vim.loop

M.BINARY = os.getenv('SUBCELL_BINARY') or 'subcell'
M.TIMEOUT = 15000

-- A line of Python that kills the server from an interpreter session. The
-- session guard refuses os.kill() on the server's pid (an accident
-- barrier); libc's kill() through ctypes is what a crash looks like.
M.KILL_SERVER = 'import ctypes; ctypes.CDLL(None).kill(os.getpid(), signal.SIGKILL)'

---@param name string
---@param fn fun()
function M.test(name, fn)
  table.insert(M.tests, { name = name, fn = fn })
end

local real_notify = vim.notify
vim.notify = function(msg, level)
  table.insert(M.notifications, { msg = msg, level = level })
end

function M.setup(opts)
  require('subcell').setup(vim.tbl_extend('force', { cmd = M.BINARY }, opts or {}))
end

function M.before_each()
  M.notifications = {}
  M.setup()
end

function M.after_each()
  M.stop_typing()
  vim.cmd('silent! %bwipeout!')
  -- Buffers wiped above close their sessions asynchronously; let that finish.
  vim.wait(2000, function()
    return next(require('subcell.state').notebooks) == nil
  end, 10)
end

-- Waits until `cond()` is true; fails the test with `what` otherwise.
---@param cond fun(): any
---@param what string
---@param timeout? integer
function M.wait(cond, what, timeout)
  local ok = vim.wait(timeout or M.TIMEOUT, function()
    local good, res = pcall(cond)
    return good and res
  end, 10)
  if not ok then
    error('timed out waiting for: ' .. what, 2)
  end
end

function M.fixture(name)
  return M.root .. '/tests/fixtures/' .. name
end

-- Opens a fixture file in the current window.
function M.open(name)
  vim.cmd('edit ' .. vim.fn.fnameescape(M.fixture(name)))
  return api.nvim_get_current_buf()
end

-- Writes `lines` to a temporary .py file and opens it.
function M.scratch(lines, name)
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, 'p')
  local path = dir .. '/' .. (name or 'scratch.py')
  vim.fn.writefile(lines, path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  return api.nvim_get_current_buf()
end

-- Row (0-based) of the first line matching a Lua pattern.
function M.row_of(buf, pattern)
  for i, line in ipairs(api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if line:find(pattern) then
      return i - 1
    end
  end
  error(string.format('no line of buffer %d matches %s:\n%s', buf, pattern, table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), '\n')))
end

-- Puts the cursor on the first line matching `pattern`.
function M.cursor_to(buf, pattern)
  api.nvim_win_set_cursor(0, { M.row_of(buf, pattern) + 1, 0 })
end

-- The virtual lines subcell drew under `row`, as plain strings.
---@return string[]
function M.virt_lines(buf, row)
  local ns = require('subcell.render').ns
  local marks = api.nvim_buf_get_extmarks(buf, ns, { row, 0 }, { row, -1 }, { details = true })
  local lines = {}
  for _, mark in ipairs(marks) do
    for _, vline in ipairs(mark[4].virt_lines or {}) do
      local text = {}
      for _, chunk in ipairs(vline) do
        text[#text + 1] = chunk[1]
      end
      lines[#lines + 1] = table.concat(text)
    end
  end
  return lines
end

-- Every row that has subcell output under it.
---@return integer[]
function M.output_rows(buf)
  local rows = {}
  for _, mark in ipairs(api.nvim_buf_get_extmarks(buf, require('subcell.render').ns, 0, -1, {})) do
    rows[#rows + 1] = mark[2]
  end
  return rows
end

function M.virt_text(buf, row)
  return table.concat(M.virt_lines(buf, row), '\n')
end

function M.diagnostics(buf)
  local list = vim.diagnostic.get(buf, { namespace = require('subcell.diagnostics').ns })
  table.sort(list, function(a, b)
    return a.lnum < b.lnum
  end)
  return list
end

local FINAL = { done = true, error = true, cancelled = true, failed = true, crashed = true }

function M.wait_run(run, timeout)
  assert(run, 'no run was started')
  M.wait(function()
    return FINAL[run.state]
  end, 'cell ' .. run.id .. ' to finish (state ' .. run.state .. ')', timeout)
  return run
end

-- Runs the cell at the line matching `pattern` and waits for its result.
function M.run_at(buf, pattern, timeout)
  M.cursor_to(buf, pattern)
  return M.wait_run(require('subcell').run_cell(), timeout)
end

-- session/list, synchronously.
function M.sessions()
  local done, result
  require('subcell').sessions(function(err, list)
    done, result = true, err and error(err) or list
  end)
  M.wait(function()
    return done
  end, 'session/list')
  return result
end

function M.notified(pattern)
  for _, n in ipairs(M.notifications) do
    if n.msg:find(pattern) then
      return n
    end
  end
  return nil
end

function M.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(string.format('%s: expected %s, got %s', what or 'value', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function M.contains(haystack, needle, what)
  if type(haystack) == 'table' then
    haystack = table.concat(haystack, '\n')
  end
  if not tostring(haystack):find(needle, 1, true) then
    error(string.format('%s: %q not found in:\n%s', what or 'text', needle, tostring(haystack)), 2)
  end
end

function M.not_contains(haystack, needle, what)
  if type(haystack) == 'table' then
    haystack = table.concat(haystack, '\n')
  end
  if tostring(haystack):find(needle, 1, true) then
    error(string.format('%s: %q should not be in:\n%s', what or 'text', needle, tostring(haystack)), 2)
  end
end

-- Ends the test as skipped (counted neither passed nor failed), saying why.
---@param reason string
function M.skip(reason)
  error({ skip = reason }, 0)
end

function M.truthy(v, what)
  if not v then
    error((what or 'value') .. ' is falsy', 2)
  end
  return v
end

M.hrtime = uv.hrtime

-- Watches the editor's responsiveness: a 20 ms timer that must keep firing.
-- stop() returns the longest gap between its ticks (ms) and the tick count.
function M.stall_watch()
  local ticks, max_gap, last = 0, 0, uv.hrtime()
  local timer = uv.new_timer()
  timer:start(20, 20, vim.schedule_wrap(function()
    local now = uv.hrtime()
    max_gap = math.max(max_gap, (now - last) / 1e6)
    last, ticks = now, ticks + 1
  end))
  return {
    stop = function()
      timer:stop()
      timer:close()
      return max_gap, ticks
    end,
  }
end
M.real_notify = real_notify

local typists = {}

-- Types `answers` (strings; false for <Esc>; true for Ctrl-D) into the prompts cells open
-- (input(), getpass(), pdb), one per prompt, as a person at the keyboard
-- would: each when its prompt is open on the command line. Returns the
-- prompts seen, in order ({prompt, password, id}).
---@param answers (string|false)[]
---@return table[]
function M.type_answers(answers)
  local seen, last = {}, nil
  local timer = uv.new_timer()
  typists[#typists + 1] = timer
  timer:start(30, 30, vim.schedule_wrap(function()
    local p = require('subcell.input').active()
    if not p or p == last or not p.sync then
      return
    end
    last = p
    seen[#seen + 1] = { prompt = p.prompt, password = p.password, id = p.id }
    local answer = table.remove(answers, 1)
    if answer == nil then
      return
    end
    if answer == false then
      api.nvim_input('<Esc>')
    elseif answer == true then
      api.nvim_input('<C-d>')
    else
      api.nvim_input((answer:gsub('<', '<lt>')) .. '<CR>')
    end
  end))
  return seen
end

-- Stops every typist (after_each).
function M.stop_typing()
  for _, timer in ipairs(typists) do
    if not timer:is_closing() then
      timer:stop()
      timer:close()
    end
  end
  typists = {}
end

-- Asks the server whether it has `method` (a request answered with
-- MethodNotFound does not exist yet); skips the test when it has not.
---@param method string
---@param params table
function M.require_method(method, params)
  local done, missing
  require('subcell.server').request(method, params, function(err)
    done, missing = true, err and err.code == -32601
  end)
  M.wait(function()
    return done
  end, method)
  if missing then
    M.skip('the server has no ' .. method .. ' yet (protocol/README.md specifies it)')
  end
end

return M
