-- Answers the server's `cell/input` requests: a cell called input(),
-- getpass.getpass(), or read sys.stdin (breakpoint() and pdb do). The
-- answer is typed on the command line (`input()`; `inputsecret()` for a
-- password), or in `vim.ui.input` when a plugin replaced it and Neovim lets
-- the answer come later (0.10+, where vim.lsp.rpc runs the handler in a
-- coroutine; 0.7 needs the answer before the handler returns).
-- <Esc> (or Ctrl-C) cancels: the server gets an error and the cell a
-- KeyboardInterrupt. Ctrl-D on an empty line ends the input, as in a
-- terminal: the cell gets EOFError (pdb quits). `$/cancelRequest` from the server (the cell was
-- interrupted, or ran past its time limit) closes the prompt. The server
-- echoes the prompt and the answer into the cell's output itself.
local M = {}

local api = vim.api
local state = require('subcell.state')
local server = require('subcell.server')
local rpc = require('subcell.rpc')

local CANCELLED = '\1subcell: cancelled\1' -- input()'s cancelreturn
local pending = {} -- every open prompt, oldest first
local stack = {} -- prompts open on the command line, innermost last
local keys_ns = api.nvim_create_namespace('subcell.input')

---@class subcell.Prompt
---@field id integer|string|nil  the server's request id
---@field session string
---@field cell any
---@field run subcell.Run|nil
---@field prompt string          what the command line shows
---@field password boolean
---@field sync boolean|nil       open on the command line (we are inside input())
---@field async boolean|nil      open in a vim.ui.input that answers later
---@field cancelled boolean|nil
---@field escaped boolean|nil    the user pressed <Esc> or Ctrl-C
---@field eof boolean|nil        the user pressed Ctrl-D on an empty line
---@field settle fun(text: string|nil)|nil

local function yieldable()
  if coroutine.isyieldable then
    return coroutine.isyieldable()
  end
  local co, main = coroutine.running()
  return co ~= nil and not main
end

-- Whether vim.ui.input is Neovim's own (an input() on the command line).
local function stock_ui_input()
  local info = debug.getinfo(vim.ui.input, 'S')
  return info and info.source and info.source:find('vim/ui.lua', 1, true) ~= nil
end

-- Asks on the command line, inside this call; nil when cancelled.
local function ask_sync(p)
  p.sync = true
  table.insert(stack, p)
  -- inputsecret() has no cancelreturn: watch for the keys that cancel it,
  -- and for Ctrl-D on an empty line (end of input).
  vim.on_key(function(key)
    local top = stack[#stack]
    if top and (key == '\27' or key == '\3') then
      top.escaped = true
    elseif top and key == '\4' and not top.eof and vim.fn.getcmdline() == '' then
      top.eof = true
      api.nvim_input('<C-\\><C-n>')
    end
  end, keys_ns)
  local ok, value
  if p.password then
    ok, value = pcall(vim.fn.inputsecret, p.prompt)
  else
    ok, value = pcall(vim.fn.input, { prompt = p.prompt, cancelreturn = CANCELLED })
  end
  for i = #stack, 1, -1 do
    if stack[i] == p then
      table.remove(stack, i)
    end
  end
  if #stack == 0 then
    vim.on_key(nil, keys_ns)
  end
  if p.eof then
    return nil, true
  end
  if not ok or value == CANCELLED or (p.password and p.escaped and value == '') then
    return nil
  end
  return value
end

-- Asks with vim.ui.input, yielding until it answers (or the prompt is cancelled).
local function ask_async(p)
  local co = coroutine.running()
  local settled, waiting, value = false, false, nil
  p.settle = function(text)
    if settled then
      return
    end
    settled, value = true, text
    if waiting then
      waiting = false
      local ok, err = coroutine.resume(co)
      if not ok then
        vim.notify('subcell: ' .. tostring(err), vim.log.levels.ERROR)
      end
    end
  end
  p.async = true
  vim.ui.input({ prompt = p.prompt }, function(text)
    vim.schedule(function() -- never resume from inside the UI's own callback stack
      p.settle(text)
    end)
  end)
  if not settled then
    waiting = true
    coroutine.yield()
  end
  return value
end

local function remove(p)
  for i = #pending, 1, -1 do
    if pending[i] == p then
      table.remove(pending, i)
    end
  end
  if p.run and p.run.input == p then
    p.run.input = nil
    require('subcell.render').touch(p.run)
  end
end

-- The `cell/input` handler (server.on_request): returns the result or an error.
---@param params table {session, cell, executionCount, prompt, password}
---@param id integer|string|nil
---@return table|nil, table|nil
function M.answer(params, id)
  local run = params.cell ~= nil and state.runs[tostring(params.cell)] or nil
  local shown = params.prompt or ''
  if run and run.buf ~= api.nvim_get_current_buf() then
    shown = require('subcell.session').label(run.buf) .. ': ' .. shown
  end
  ---@type subcell.Prompt
  local p = { id = id, session = params.session, cell = params.cell, run = run, prompt = shown, password = params.password == true }
  table.insert(pending, p)
  local async = not p.password and yieldable() and not stock_ui_input()
  p.async = async
  if run then
    run.input = p
    require('subcell.render').draw(run)
  end
  local text, eof
  if async then
    text = ask_async(p)
  else
    vim.cmd('redraw') -- the output so far, before the command line takes over
    text, eof = ask_sync(p)
  end
  remove(p)
  if eof and not p.cancelled then
    return { eof = true }
  end
  if text == nil or p.cancelled then
    return nil, { code = rpc.REQUEST_CANCELLED, message = p.cancelled and 'the prompt was closed' or 'cancelled by the user' }
  end
  return { text = text } -- the server writes the prompt and the answer into the output
end

-- Closes an open prompt: its request is answered with an error.
---@param p subcell.Prompt
local function cancel(p)
  if p.cancelled then
    return
  end
  p.cancelled = true
  if p.sync then
    if stack[#stack] == p then
      -- Abandon the command line: input() returns, and the handler answers.
      api.nvim_input('<C-\\><C-n>')
    end -- an outer prompt answers with the error once the inner ones are done
  elseif p.settle then
    p.settle(nil)
  end
end

-- The cell of `run` ended: a prompt it left open is closed.
---@param run subcell.Run
function M.finished(run)
  if run.input then
    cancel(run.input)
  end
end

-- The innermost open prompt (tests answer it), or nil.
---@return subcell.Prompt|nil
function M.active()
  return stack[#stack] or pending[#pending]
end

server.on_request('cell/input', M.answer)

-- `$/cancelRequest {id}` from the server: closes the prompt of request `id`.
---@param id integer|string
function M.cancel_request(id)
  local target
  for _, p in ipairs(pending) do
    if p.id ~= nil and p.id == id then
      target = p
    end
  end
  -- The request id was not found (a Neovim whose vim.lsp.rpc hides it):
  -- with one prompt open, that is the one.
  if not target and #pending == 1 and pending[1].id == nil then
    target = pending[1]
  end
  if target then
    cancel(target)
  end
end

server.on('notification', function(method, params)
  if method == '$/cancelRequest' then
    M.cancel_request(params.id)
  end
end)

return M
