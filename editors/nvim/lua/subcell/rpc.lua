-- The one place that knows how Neovim's JSON-RPC client is called: a shim
-- over `vim.lsp.rpc.start`, whose signature changed in 0.10
-- (0.7–0.9: `start(cmd, args, dispatchers, extra)`; 0.10+: `start(cmd_list,
-- dispatchers, extra)`). Framing stays in Neovim; this file only adds what
-- subcell needs on top:
--   * every request's callback runs exactly once, as `callback(err, result)`,
--     also when the server answers RequestCancelled (which `vim.lsp.rpc`
--     swallows) and when the process dies with requests in flight;
--   * `on_exit` runs on the main loop (vim.lsp.rpc calls it in a luv callback);
--   * requests from the server (`cell/input`) reach `handlers.request` with
--     their id, which vim.lsp.rpc does not pass on (see `request_id`).
local M = {}

M.REQUEST_CANCELLED = -32800
M.METHOD_NOT_FOUND = -32601
M.SESSION_CRASHED = -32013
M.INVALID_PARAMS = -32602
M.SERVER_EXITED = -32099 -- ours: the process ended before answering

---@class subcell.RpcError
---@field code integer
---@field message string
---@field data any

---@class subcell.RpcClient
---@field request fun(method: string, params: table|nil, callback: fun(err: subcell.RpcError|nil, result: any)): boolean
---@field notify fun(method: string, params: table|nil): boolean
---@field terminate fun()
---@field is_closing fun(): boolean
---@field pid integer|nil

---@class subcell.RpcHandlers
---@field notification fun(method: string, params: table)
---@field request fun(method: string, params: table, id: integer|string|nil): any, subcell.RpcError|nil
---@field on_exit fun(code: integer, signal: integer)

-- Newer vim.lsp.rpc decodes JSON null as vim.NIL (0.7 drops null fields);
-- make both look the same: absent.
local function denull(v)
  if v == vim.NIL then
    return nil
  end
  if type(v) == 'table' then
    for k, x in pairs(v) do
      if x == vim.NIL then
        v[k] = nil
      elseif type(x) == 'table' then
        denull(x)
      end
    end
  end
  return v
end
M.denull = denull

local function has_new_api()
  return vim.fn.has('nvim-0.10') == 1
end

-- The id of the server request whose `params` table this is. vim.lsp.rpc
-- calls `server_request(method, params)` without the id, which a later
-- `$/cancelRequest {id}` names; both 0.7 and 0.10+ call it from a closure
-- over the decoded message (`decoded`), so the id is read from there,
-- matched by the identity of `params`. nil if a future version hides it.
---@param params table|nil
---@return integer|string|nil
local function request_id(params)
  if type(params) ~= 'table' then
    return nil
  end
  for level = 3, 10 do
    local info = debug.getinfo(level, 'f')
    if not info then
      return nil
    end
    for i = 1, 60 do
      local name, value = debug.getupvalue(info.func, i)
      if not name then
        break
      end
      if name == 'decoded' and type(value) == 'table' and value.params == params then
        return value.id
      end
    end
  end
  return nil
end

-- Starts `cmd args...` and returns a client, or nil and an error message.
---@param cmd string
---@param args string[]
---@param handlers subcell.RpcHandlers
---@return subcell.RpcClient|nil, string|nil
function M.start(cmd, args, handlers)
  if vim.fn.executable(cmd) ~= 1 then
    return nil, string.format('subcell binary %q not found or not executable (set cmd in setup{})', cmd)
  end
  local lsp_rpc = require('vim.lsp.rpc')
  local pending = {} -- request id -> finish(err, result)
  local exited = false

  local dispatchers = {
    -- Already scheduled onto the main loop by vim.lsp.rpc (both versions).
    notification = function(method, params)
      handlers.notification(method, denull(params) or {})
    end,
    on_error = function() end, -- framing/decoding trouble is logged by vim.lsp.log
    -- Called on the main loop; on 0.10+ inside a coroutine, so a handler may
    -- yield until the user answers (0.7 needs the answer before it returns).
    server_request = function(method, params)
      local id = request_id(params)
      local result, err = handlers.request(method, denull(params) or {}, id)
      if result == nil and err == nil then
        err = { code = M.METHOD_NOT_FOUND, message = 'subcell.nvim does not handle ' .. tostring(method) }
      end
      return result, err
    end,
    on_exit = vim.schedule_wrap(function(code, signal)
      exited = true
      local waiting = pending
      pending = {}
      for _, finish in pairs(waiting) do
        finish({ code = M.SERVER_EXITED, message = 'subcell server exited' })
      end
      handlers.on_exit(code, signal)
    end),
  }

  local ok, raw
  if has_new_api() then
    local argv = { cmd }
    vim.list_extend(argv, args)
    ok, raw = pcall(lsp_rpc.start, argv, dispatchers)
  else
    ok, raw = pcall(lsp_rpc.start, cmd, args, dispatchers)
  end
  if not ok or not raw then
    return nil, 'could not start ' .. cmd .. (ok and '' or (': ' .. tostring(raw)))
  end

  local client = { pid = raw.pid }

  function client.is_closing()
    if exited then
      return true
    end
    if raw.is_closing then
      return raw.is_closing()
    end
    return raw.handle == nil or raw.handle:is_closing()
  end

  function client.terminate()
    if raw.terminate then
      raw.terminate()
    elseif raw.handle and not raw.handle:is_closing() then
      raw.handle:kill(15)
    end
  end

  function client.notify(method, params)
    if client.is_closing() then
      return false
    end
    return raw.notify(method, params) and true or false
  end

  function client.request(method, params, callback)
    local done, id = false, nil
    local function finish(err, result)
      if done then
        return
      end
      done = true
      if id then
        pending[id] = nil
      end
      callback(err, result)
    end
    if client.is_closing() then
      finish({ code = M.SERVER_EXITED, message = 'subcell server is not running' })
      return false
    end
    -- vim.lsp.rpc drops RequestCancelled replies without calling `callback`,
    -- but it always calls the reply hook first. Two schedules put our check
    -- after the (scheduled) result callback on 0.7 and on 0.10+, so a reply
    -- that never reached `callback` was a cancellation.
    local function on_reply()
      vim.schedule(function()
        vim.schedule(function()
          finish({ code = M.REQUEST_CANCELLED, message = 'cancelled' })
        end)
      end)
    end
    local sent, message_id = raw.request(method, params, function(err, result)
      if err then
        err = { code = err.code, message = err.message or tostring(err), data = err.data }
      end
      finish(denull(err), denull(result))
    end, on_reply)
    if not sent then
      finish({ code = M.SERVER_EXITED, message = 'subcell server is not running' })
      return false
    end
    id = message_id
    if not done then
      pending[id] = finish
    end
    return true
  end

  return client
end

return M
