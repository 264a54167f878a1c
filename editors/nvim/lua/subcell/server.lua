-- Owns the one subcell process: starts it on demand, initializes it, hands
-- out requests once it is ready, restarts it when it dies (with a limit, so
-- a server that keeps crashing does not loop), and shuts it down politely.
-- A program that never becomes a ready server (missing, not subcell, gone
-- or silent before answering `initialize`) is reported once, not restarted.
local M = {}

local uv = vim.uv or vim.loop

---@type subcell.RpcClient|nil
local client = nil
---@type 'stopped'|'starting'|'ready'|'stopping'
local status = 'stopped'
local waiters = {} -- callbacks waiting for `ready`
local info = nil -- the initialize result
local deaths = {} -- hrtime of recent unexpected exits
local listeners = { notification = {}, exit = {} }
local request_handlers = {} -- method -> fn(params, id): result, err
local last_exit = nil
local generation = 0 -- bumped per process started (0.10+ does not expose the pid)

---@param event 'notification'|'exit'
---@param fn function
function M.on(event, fn)
  table.insert(listeners[event], fn)
end

-- Handles the server's requests for `method` (`cell/input`): `fn(params,
-- id)` returns the result, or nil and an error; it may yield (see rpc.lua).
---@param method string
---@param fn fun(params: table, id: integer|string|nil): any, subcell.RpcError|nil
function M.on_request(method, fn)
  request_handlers[method] = fn
end

local function emit(event, ...)
  for _, fn in ipairs(listeners[event]) do
    local ok, err = pcall(fn, ...)
    if not ok then
      vim.notify('subcell: ' .. tostring(err), vim.log.levels.ERROR)
    end
  end
end

local function flush(err)
  local list = waiters
  waiters = {}
  for _, cb in ipairs(list) do
    cb(err, err == nil and client or nil)
  end
end

-- Counts this death and says whether another restart is allowed.
local function may_restart()
  local cfg = require('subcell.config').get()
  local now = uv.hrtime()
  local recent = {}
  for _, t in ipairs(deaths) do
    if (now - t) / 1e6 < cfg.restart_window_ms then
      recent[#recent + 1] = t
    end
  end
  recent[#recent + 1] = now
  deaths = recent
  return #recent <= cfg.restart_limit
end

-- How long a started program may take to answer `initialize` (tests lower it).
M.start_timeout_ms = 10000

-- The server could not be started: the requests waiting for it fail with
-- `reason` (shown under their cells), and the user is told once, since a
-- wrong `cmd` is a setup problem rather than a problem of one cell.
local function start_failed(reason)
  client, info, status = nil, nil, 'stopped'
  local cmd = require('subcell.config').get().cmd
  vim.notify(string.format('subcell: could not start the server (cmd = %s): %s', cmd, reason), vim.log.levels.ERROR)
  flush(reason)
end

local function start()
  local cfg = require('subcell.config').get()
  status = 'starting'
  -- Only a Neovim that started a server needs to stop one.
  vim.api.nvim_create_autocmd('VimLeavePre', {
    group = vim.api.nvim_create_augroup('subcell_server', { clear = true }),
    callback = function()
      M.stop(1000)
    end,
  })
  local this
  local new, err = require('subcell.rpc').start(cfg.cmd, cfg.args, {
    notification = function(method, params)
      if this == client then
        emit('notification', method, params)
      end
    end,
    request = function(method, params, id)
      local fn = request_handlers[method]
      if this ~= client or not fn then
        return nil
      end
      return fn(params, id)
    end,
    on_exit = function(code, signal)
      if this ~= client then
        return -- an older process we already gave up on
      end
      if status == 'starting' then -- it never answered initialize: no server to restart
        last_exit = { code = code, signal = signal, expected = false }
        local why = signal ~= 0 and ('signal ' .. signal) or ('code ' .. code)
        return start_failed(string.format('it exited (%s) before answering initialize; is it the subcell binary?', why))
      end
      local expected = status == 'stopping'
      client, info, status = nil, nil, 'stopped'
      last_exit = { code = code, signal = signal, expected = expected }
      flush('subcell server exited (code ' .. code .. ', signal ' .. signal .. ')')
      local restart = not expected and may_restart()
      emit('exit', { code = code, signal = signal, expected = expected, restarting = restart })
      if restart then
        M.ensure(function() end)
      end
    end,
  })
  if not new then
    -- Later, like any other failure: the runs queued meanwhile (Run All)
    -- fail together, with one notification.
    return vim.schedule(function()
      start_failed(err)
    end)
  end
  client, this = new, new
  generation = generation + 1
  local params = {
    processId = vim.fn.getpid(),
    clientInfo = { name = 'subcell.nvim', version = tostring(vim.version().major .. '.' .. vim.version().minor) },
    -- cell/input: input(), getpass() and pdb ask us (input.lua).
    capabilities = { input = cfg.input and true or false },
  }
  if next(cfg.init_options) then
    params.initializationOptions = cfg.init_options
  end
  local timer = uv.new_timer()
  local function stop_timer()
    if not timer:is_closing() then
      timer:close()
    end
  end
  local function give_up(reason)
    client = nil -- so its exit is not reported as a crash
    new.terminate()
    start_failed(reason)
  end
  timer:start(M.start_timeout_ms, 0, vim.schedule_wrap(function()
    stop_timer()
    if this == client and status == 'starting' then
      give_up(string.format('no answer to initialize within %g s; is it the subcell binary?', M.start_timeout_ms / 1000))
    end
  end))
  new.request('initialize', params, function(init_err, result)
    stop_timer()
    if this ~= client or (init_err and init_err.code == require('subcell.rpc').SERVER_EXITED) then
      return -- on_exit tells why it ended
    end
    if init_err then
      return give_up('initialize failed: ' .. init_err.message .. '; is it the subcell binary?')
    end
    local name = type(result) == 'table' and type(result.serverInfo) == 'table' and result.serverInfo.name
    if name ~= 'subcell' then
      local as = type(name) == 'string' and string.format('%q', name) or 'a server without a name'
      return give_up(string.format('it answered initialize as %s, not as subcell', as))
    end
    info = result
    new.notify('initialized', vim.empty_dict())
    status = 'ready'
    flush(nil)
  end)
end

-- Calls back with the ready client, starting the server when needed.
---@param callback fun(err: string|nil, client: subcell.RpcClient|nil)
function M.ensure(callback)
  if M.is_ready() then
    return callback(nil, client)
  end
  table.insert(waiters, callback)
  if status == 'stopped' then
    start()
  end
end

-- Sends a request once the server is ready.
---@param method string
---@param params table|nil
---@param callback fun(err: subcell.RpcError|nil, result: any)
function M.request(method, params, callback)
  M.ensure(function(err, c)
    if err then
      return callback({ code = require('subcell.rpc').SERVER_EXITED, message = err }, nil)
    end
    c.request(method, params, callback)
  end)
end

-- `shutdown` then `exit`, waiting at most about 2 * `timeout_ms` in all
-- (VimLeavePre must not hang); a server that does not leave is terminated.
---@param timeout_ms? integer
function M.stop(timeout_ms)
  timeout_ms = timeout_ms or 2000
  local c = client
  if not c then
    return
  end
  local was_ready = status == 'ready'
  status = 'stopping'
  if was_ready then
    local answered = false
    c.request('shutdown', nil, function()
      answered = true
    end)
    vim.wait(timeout_ms, function()
      return answered
    end, 10)
    c.notify('exit', nil)
  else
    c.terminate()
  end
  -- Wait for our on_exit bookkeeping, not just the process, so a start
  -- right after this call does not race with the old process's exit.
  local gone = vim.wait(timeout_ms, function()
    return client ~= c
  end, 10)
  if not gone then
    c.terminate()
    client, info, status = nil, nil, 'stopped'
  end
end

-- Whether a server is running and initialized (requests go out at once).
---@return boolean
function M.is_ready()
  return status == 'ready' and client ~= nil and not client.is_closing()
end

-- Stops the server (if running) and starts a fresh one.
---@param callback? fun(err: string|nil)
function M.restart(callback)
  M.stop()
  deaths = {}
  M.ensure(function(err)
    if callback then
      callback(err)
    end
  end)
end

---@return {status: string, pid: integer|nil, generation: integer, info: table|nil, last_exit: table|nil}
function M.status()
  return {
    status = status,
    pid = client and client.pid or nil,
    generation = generation,
    info = info,
    last_exit = last_exit,
  }
end

return M
