-- One server session per buffer: opened on the first run (in the isolation
-- mode, with the limits and the Python the configuration or the buffer's
-- :SubcellRestart / :SubcellPython choice say), restarted or moved on
-- request, closed when the buffer is deleted or wiped, and forgotten (and
-- reported) when the server dies or the session crashes; the buffer's next
-- run then opens a fresh one.
local M = {}

local api = vim.api
local state = require('subcell.state')
local server = require('subcell.server')
local rpc = require('subcell.rpc')

local function notify(msg, level)
  vim.notify('subcell: ' .. msg, level or vim.log.levels.INFO)
end

local function label(buf)
  local name = api.nvim_buf_is_valid(buf) and api.nvim_buf_get_name(buf) or ''
  return name ~= '' and vim.fn.fnamemodify(name, ':t') or ('[buffer ' .. buf .. ']')
end
M.label = label

local function watch_buffer(buf)
  local group = api.nvim_create_augroup('subcell_buf_' .. buf, { clear = true })
  api.nvim_create_autocmd({ 'BufDelete', 'BufWipeout' }, {
    group = group,
    buffer = buf,
    callback = function()
      -- BufDelete also fires when a buffer is renamed; a buffer that is
      -- still loaded afterwards was not deleted.
      vim.schedule(function()
        if not (api.nvim_buf_is_valid(buf) and api.nvim_buf_is_loaded(buf)) then
          M.close(buf)
        end
      end)
    end,
  })
end

local warned = {} -- one-time warnings, by text

local function warn_once(msg)
  if not warned[msg] then
    warned[msg] = true
    notify(msg, vim.log.levels.WARN)
  end
end

-- The Python a new session of `nb` runs, and where that choice came from:
-- :SubcellPython, setup{ python }, or the environment Neovim was started in.
---@return string|nil python, string|nil source
function M.python_for(nb)
  if nb and nb.python then
    return nb.python, ':SubcellPython'
  end
  local cfg = require('subcell.config').get()
  if cfg.python and cfg.python ~= '' then
    return vim.fn.expand(cfg.python), 'setup{ python }'
  end
  for _, var in ipairs({ 'VIRTUAL_ENV', 'CONDA_PREFIX' }) do
    local dir = vim.env[var]
    if dir and dir ~= '' then
      return dir, '$' .. var
    end
  end
  return nil, nil
end

-- The isolation mode new sessions get when the buffer and setup{} name none.
local function server_default_isolation()
  local info = server.status().info
  local caps = info and info.capabilities and info.capabilities.isolation
  return caps and caps.default or 'interpreter'
end

-- `session/open` params for the buffer.
local function open_params(buf, nb)
  local cfg = require('subcell.config').get()
  local params = { name = label(buf) }
  local dir = vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ':p:h')
  if api.nvim_buf_get_name(buf) ~= '' and vim.fn.isdirectory(dir) == 1 then
    params.cwd = dir -- so modules next to the file import
  end
  params.isolation = nb.isolation or cfg.isolation
  local limits = {}
  if cfg.cell_timeout then
    limits.cellTimeoutSeconds = cfg.cell_timeout
  end
  if cfg.memory_limit_mb then
    local mode = params.isolation or server_default_isolation()
    if mode == 'interpreter' then
      warn_once('memory_limit_mb applies to process and auto sessions; interpreter sessions share the server\'s memory, so they get none')
    else
      limits.memoryMB = cfg.memory_limit_mb
    end
  end
  if next(limits) then
    params.limits = limits
  end
  return params
end

local function info_of(result)
  return { isolation = result.isolation, pid = result.pid, python = result.python }
end

-- Opens the buffer's session; `done(err_message)` once it is open or failed.
local function open(buf, nb, done)
  server.ensure(function(start_err)
    if start_err then
      return done(start_err)
    end
    local params = open_params(buf, nb)
    local python, source = M.python_for(nb)
    params.python = python
    server.request('session/open', params, function(err, result)
      -- A Python taken from the environment Neovim runs in is a guess: when
      -- the server cannot run it, say so once and use its default instead.
      local about_python = err and err.code == rpc.INVALID_PARAMS and (err.message or ''):find('python', 1, true)
      if about_python and python and source:sub(1, 1) == '$' then
        warn_once(string.format('%s=%s cannot run sessions (%s); using the server\'s Python', source:sub(2), python, err.message))
        params.python = nil
        return server.request('session/open', params, function(err2, result2)
          done(err2 and err2.message or nil, result2)
        end)
      end
      done(err and err.message or nil, result)
    end)
  end)
end

-- Calls back with the buffer's session id, opening a session when needed.
-- Callbacks run in the order they were registered, so requests queued
-- behind an opening session reach the server in order.
---@param buf integer
---@param callback fun(err: string|nil, session: string|nil)
function M.ensure(buf, callback)
  local nb = state.notebook(buf)
  if nb.session then
    return callback(nil, nb.session)
  end
  table.insert(nb.waiters, callback)
  if nb.opening then
    return
  end
  nb.opening = true
  watch_buffer(buf)
  open(buf, nb, function(err, result)
    nb.opening = false
    local list = nb.waiters
    nb.waiters = {}
    if not err and state.notebooks[buf] ~= nb then
      -- The buffer went away while the session was opening.
      server.request('session/close', { session = result.session }, function() end)
      err = 'buffer closed'
    end
    if not err then
      nb.session = result.session
      nb.info = info_of(result)
      M.forget_crash(result.session) -- ids are used again after a crash
    end
    for _, cb in ipairs(list) do
      cb(err, nb.session)
    end
  end)
end

local function close_result(buf, result)
  if result and (result.interpreter == 'abandoned' or result.interpreter == 'killed') then
    notify(
      string.format(
        'the session of %s did not end in time: %s',
        label(buf),
        result.interpreter == 'killed' and 'its worker process was killed' or 'its interpreter was abandoned (a cell stuck in C); the server keeps it until it exits'
      ),
      vim.log.levels.WARN
    )
  end
end

-- Closes the buffer's session and forgets its runs.
---@param buf integer
---@param callback? fun(err: string|nil)
function M.close(buf, callback)
  local nb = state.notebooks[buf]
  state.forget(buf)
  pcall(api.nvim_del_augroup_by_name, 'subcell_buf_' .. buf)
  require('subcell.track').unwatch(buf)
  -- No server, no session to close (and no reason to start one).
  if not (nb and nb.session and server.is_ready()) then
    return callback and callback(nil)
  end
  server.request('session/close', { session = nb.session }, function(err, result)
    close_result(buf, result)
    if callback then
      callback(err and err.message or nil)
    end
  end)
end

-- Gives the buffer's session a fresh namespace (in order with queued cells).
---@param buf integer
---@param callback fun(err: string|nil, result: table|nil)
function M.reset(buf, callback)
  M.ensure(buf, function(err, session)
    if err then
      return callback(err)
    end
    server.request('session/reset', { session = session }, function(rerr, result)
      callback(rerr and rerr.message or nil, result)
    end)
  end)
end

-- Interrupts the running cell and drops the queued ones.
---@param buf integer
---@param callback fun(err: string|nil, result: table|nil)
function M.interrupt(buf, callback)
  local nb = state.notebooks[buf]
  if not (nb and nb.session) then
    return callback('no session for this buffer')
  end
  server.request('cell/interrupt', { session = nb.session }, function(err, result)
    callback(err and err.message or nil, result)
  end)
end

-- Restarts the buffer's session (`session/restart`): variables are gone,
-- queued cells are cancelled. With `isolation`, the new session runs in
-- that mode, and so do the buffer's later sessions. Without a session, one
-- is opened.
---@param buf integer
---@param isolation 'interpreter'|'process'|'auto'|nil
---@param callback fun(err: string|nil, info: table|nil)
function M.restart(buf, isolation, callback)
  local nb = state.notebook(buf)
  if isolation then
    nb.isolation = isolation
  end
  local function fresh()
    M.ensure(buf, function(err)
      callback(err, nb.info)
    end)
  end
  if not nb.session then
    return fresh()
  end
  local params = { session = nb.session, isolation = isolation }
  server.request('session/restart', params, function(err, result)
    if err and err.code == -32010 then -- UnknownSession: it crashed or the server restarted meanwhile
      nb.session = nil
      return fresh()
    end
    if err then
      return callback(err.message)
    end
    nb.info = info_of(result)
    callback(nil, nb.info)
  end)
end

-- Runs the buffer's session on another Python: `python` is an interpreter
-- or an environment directory (nil: back to the default). The running
-- session is closed (its variables are gone) and a new one opened.
---@param buf integer
---@param python string|nil
---@param callback fun(err: string|nil, info: table|nil)
function M.set_python(buf, python, callback)
  local nb = state.notebook(buf)
  nb.python = python
  local old = nb.session
  local function reopen()
    M.ensure(buf, function(err)
      callback(err, nb.info)
    end)
  end
  if not old then
    return reopen()
  end
  nb.session, nb.info = nil, nil
  server.request('session/close', { session = old }, function(_, result)
    close_result(buf, result)
    reopen()
  end)
end

-- The last `n` non-blank lines of a text.
local function last_lines(text, n)
  local lines = {}
  for line in ((text or '') .. '\n'):gmatch('([^\n]*)\n') do
    if line:match('%S') then
      lines[#lines + 1] = line
    end
  end
  return { unpack(lines, math.max(1, #lines - n + 1)) }
end

-- How a crash ended the session, in a few words: "SIGSEGV", "exit code 3".
---@param crash table the session/crashed params
---@return string
function M.crash_cause(crash)
  if crash.cause == 'signal' then
    return crash.signal or 'a signal'
  elseif crash.cause == 'exit' then
    return 'exit code ' .. tostring(crash.exitCode)
  elseif crash.cause == 'timeLimit' then
    return 'time limit'
  end
  return tostring(crash.cause)
end

local crashes = {} -- session id -> session/crashed params

---@param id string
function M.forget_crash(id)
  crashes[id] = nil
end

-- The crash that ended session `id`, if it crashed.
---@param id string|nil
---@return table|nil
function M.crash_of(id)
  return id and crashes[id] or nil
end

local function on_crashed(p)
  crashes[p.session] = p
  local nb = state.by_session(p.session)
  local who = nb and label(nb.buf) or ('session ' .. p.session)
  if nb then
    -- The next run of the buffer opens a fresh session.
    nb.session, nb.info = nil, nil
  end
  local msg = string.format(
    'the session of %s crashed (%s): %s. The next run starts a fresh session.',
    who,
    M.crash_cause(p),
    p.message or ''
  )
  local tail = last_lines(p.stderr, 6)
  -- faulthandler's dump starts with the line that says what happened.
  local fatal = (p.stderr or ''):match('(Fatal Python error:[^\n]*)')
  if fatal and not vim.tbl_contains(tail, fatal) then
    table.insert(tail, 1, fatal)
    table.insert(tail, 2, '…')
  end
  if #tail > 0 then
    msg = msg .. '\nIts last stderr lines:\n  ' .. table.concat(tail, '\n  ')
  end
  vim.notify('subcell: ' .. msg, vim.log.levels.ERROR)
  require('subcell.runner').crashed(p)
end

local function on_changed(p)
  local nb = state.by_session(p.session)
  if nb then
    nb.info = vim.tbl_extend('force', nb.info or {}, { isolation = p.isolation, pid = p.pid })
  end
  notify(string.format(
    'the session of %s moved from %s to %s (pid %s): %s',
    nb and label(nb.buf) or p.session,
    p.previous or '?',
    p.isolation == 'process' and 'a process' or tostring(p.isolation),
    tostring(p.pid),
    p.reason or ''
  ))
end

server.on('notification', function(method, params)
  if method == 'session/crashed' then
    on_crashed(params)
  elseif method == 'session/changed' then
    on_changed(params)
  end
end)

-- The server exited: every session is gone. If it died, tell the user which.
server.on('exit', function(ev)
  local lost = {}
  for buf, nb in pairs(state.notebooks) do
    if nb.session then
      lost[#lost + 1] = string.format('%s (%s)', nb.session, label(buf))
      nb.session, nb.info = nil, nil
    end
  end
  if ev.expected then
    return
  end
  table.sort(lost)
  local why = ev.signal ~= 0 and ('signal ' .. ev.signal) or ('code ' .. ev.code)
  local msg = string.format(
    'subcell: the server exited (%s); lost sessions: %s. %s',
    why,
    #lost > 0 and table.concat(lost, ', ') or 'none',
    ev.restarting and 'Restarted it; run cells again to rebuild state.'
      or 'It keeps dying, so it was not restarted; the next cell you run starts it again.'
  )
  vim.notify(msg, vim.log.levels.ERROR)
end)

return M
