-- One server session per buffer: opened on the first run, closed when the
-- buffer is deleted or wiped, forgotten (and reported) when the server dies.
local M = {}

local api = vim.api
local state = require('subcell.state')
local server = require('subcell.server')

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
  local params = { name = label(buf) }
  local dir = vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ':p:h')
  if api.nvim_buf_get_name(buf) ~= '' and vim.fn.isdirectory(dir) == 1 then
    params.cwd = dir -- so modules next to the file import
  end
  server.request('session/open', params, function(err, result)
    nb.opening = false
    local list = nb.waiters
    nb.waiters = {}
    if not err and state.notebooks[buf] ~= nb then
      -- The buffer went away while the session was opening.
      server.request('session/close', { session = result.session }, function() end)
      err = { message = 'buffer closed' }
    end
    if not err then
      nb.session = result.session
    end
    for _, cb in ipairs(list) do
      cb(err and err.message or nil, nb.session)
    end
  end)
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
  server.request('session/close', { session = nb.session }, function(err)
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

-- The server exited: every session is gone. If it died, tell the user which.
server.on('exit', function(ev)
  local lost = {}
  for buf, nb in pairs(state.notebooks) do
    if nb.session then
      lost[#lost + 1] = string.format('%s (%s)', nb.session, label(buf))
      nb.session = nil
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
