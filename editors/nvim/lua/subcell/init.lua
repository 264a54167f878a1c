-- subcell for Neovim: run `# %%` cells of a Python buffer in a subcell
-- session and show the output under each cell. This file is the public API;
-- the work is in the modules it requires (lazily, so loading costs nothing
-- until a cell runs).
local M = {}

local api = vim.api

local function notify(msg, level)
  vim.notify('subcell: ' .. msg, level or vim.log.levels.INFO)
end

local function parse(buf)
  return require('subcell.cells').parse(api.nvim_buf_get_lines(buf, 0, -1, false))
end

local function cursor_row()
  return api.nvim_win_get_cursor(0)[1] - 1
end

local function run_cell(buf, cell)
  local cells = require('subcell.cells')
  local session = require('subcell.session')
  if not cells.is_runnable(cell) then
    if cell.reset then -- a `[reset]` cell with no code still resets
      session.reset(buf, function() end)
    end
    return nil
  end
  return require('subcell.runner').run({
    buf = buf,
    code = cell.code,
    code_row = cell.code_row,
    last_row = cell.last_row,
    region = { cell.start_row, cell.end_row },
    reset = cell.reset,
  })
end

---@class subcell.RunOpts
---@field buf? integer  buffer (default: current)
---@field row? integer  0-based row inside the cell (default: cursor)

-- Configures the plugin. Calling it is optional; commands work without it.
---@param opts? subcell.Config
function M.setup(opts)
  require('subcell.config').set(opts)
  local cfg = require('subcell.config').get()
  require('subcell.keymaps').apply(cfg.keymaps, cfg.omnifunc)
end

-- Runs the cell under the cursor.
---@param opts? subcell.RunOpts
---@return subcell.Run|nil run  nil when the cell has nothing to run
function M.run_cell(opts)
  opts = opts or {}
  local buf = opts.buf or api.nvim_get_current_buf()
  local cell = require('subcell.cells').at(parse(buf), opts.row or cursor_row())
  if not cell then
    return nil
  end
  local run = run_cell(buf, cell)
  if not run and not cell.reset then
    notify('nothing to run in this cell')
  end
  return run
end

-- Runs the cell under the cursor and moves to the next cell.
---@return subcell.Run|nil
function M.run_and_advance()
  local buf = api.nvim_get_current_buf()
  local list = parse(buf)
  local cell = require('subcell.cells').at(list, cursor_row())
  if not cell then
    return nil
  end
  local run = run_cell(buf, cell)
  local next_cell = list[cell.index + 1]
  local target = next_cell and (next_cell.code_row or math.min(next_cell.start_row + 1, next_cell.end_row))
    or (api.nvim_buf_line_count(buf) - 1)
  api.nvim_win_set_cursor(0, { target + 1, 0 })
  return run
end

-- Runs every cell above the one under the cursor, in order.
---@return subcell.Run[]
function M.run_above()
  local buf = api.nvim_get_current_buf()
  local list = parse(buf)
  local here = require('subcell.cells').at(list, cursor_row())
  local runs = {}
  for _, cell in ipairs(list) do
    if here and cell.index >= here.index then
      break
    end
    runs[#runs + 1] = run_cell(buf, cell)
  end
  return runs
end

-- Runs every cell of the buffer, top to bottom (`[reset]` cells reset first;
-- markdown cells are skipped). Later cells run even when one fails.
---@param buf? integer
---@return subcell.Run[]
function M.run_all(buf)
  buf = buf or api.nvim_get_current_buf()
  local runs = {}
  for _, cell in ipairs(parse(buf)) do
    runs[#runs + 1] = run_cell(buf, cell)
  end
  return runs
end

-- Runs lines `line1`..`line2` (1-based, inclusive), dedented.
---@param line1 integer
---@param line2 integer
---@param buf? integer
---@return subcell.Run|nil
function M.run_selection(line1, line2, buf)
  buf = buf or api.nvim_get_current_buf()
  local lines = require('subcell.cells').dedent(api.nvim_buf_get_lines(buf, line1 - 1, line2, false))
  local first, last
  for i, line in ipairs(lines) do
    if line:match('%S') then
      first = first or i
      last = i
    end
  end
  if not first then
    notify('nothing to run in the selection')
    return nil
  end
  return require('subcell.runner').run({
    buf = buf,
    code = table.concat(lines, '\n', first, last) .. '\n',
    code_row = line1 - 2 + first,
    last_row = line1 - 2 + last,
    region = { line1 - 1, line2 - 1 },
  })
end

-- Resets the buffer's session: variables are gone, imports stay warm.
---@param callback? fun(err: string|nil, result: table|nil)
function M.reset(callback)
  local buf = api.nvim_get_current_buf()
  require('subcell.session').reset(buf, function(err, result)
    if err then
      notify('reset failed: ' .. err, vim.log.levels.ERROR)
    else
      notify(string.format('session reset (%d names removed)', result.removedNames or 0))
    end
    if callback then
      callback(err, result)
    end
  end)
end

-- Interrupts the running cell of the buffer and cancels its queued cells.
---@param callback? fun(err: string|nil, result: table|nil)
function M.interrupt(callback)
  require('subcell.session').interrupt(api.nvim_get_current_buf(), function(err, result)
    if err then
      notify(err, vim.log.levels.WARN)
    elseif not result.interrupted and (result.cancelledCells or 0) == 0 then
      notify('nothing was running')
    end
    if callback then
      callback(err, result)
    end
  end)
end

-- The run shown under the cell at `row` (default: cursor), if any.
---@param opts? subcell.RunOpts
---@return subcell.Run|nil
function M.output_at(opts)
  opts = opts or {}
  local buf = opts.buf or api.nvim_get_current_buf()
  local row = opts.row or cursor_row()
  local cell = require('subcell.cells').at(parse(buf), row)
  local nb = require('subcell.state').notebooks[buf]
  if not (cell and nb) then
    return nil
  end
  local render = require('subcell.render')
  for i = #nb.outputs, 1, -1 do
    local anchor = render.anchor_row(nb.outputs[i])
    if anchor and anchor >= cell.start_row and anchor <= cell.end_row then
      return nb.outputs[i]
    end
  end
  return nil
end

-- Opens the full output of the cell under the cursor (`:SubcellOutput`).
function M.show_output()
  local run = M.output_at()
  if not run then
    return notify('no output for this cell; run it first')
  end
  require('subcell.view').open(run)
end

-- Removes every output and diagnostic subcell drew in the buffer.
function M.clear()
  local buf = api.nvim_get_current_buf()
  local nb = require('subcell.state').notebooks[buf]
  if nb then
    for _, run in ipairs(nb.outputs) do
      require('subcell.render').detach(run)
    end
    nb.outputs = {}
  end
  require('subcell.diagnostics').refresh(buf)
end

-- Lists the server's sessions (`session/list`).
---@param callback fun(err: string|nil, sessions: table[]|nil)
function M.sessions(callback)
  require('subcell.server').request('session/list', nil, function(err, result)
    callback(err and err.message or nil, result and result.sessions or nil)
  end)
end

-- Restarts the buffer's session (`:SubcellRestart [mode]`): variables are
-- gone; with `isolation` ('interpreter', 'process' or 'auto') it runs in
-- that mode from now on (also the buffer's later sessions).
---@param isolation? 'interpreter'|'process'|'auto'
---@param callback? fun(err: string|nil, info: table|nil)
function M.restart(isolation, callback)
  if isolation == '' then
    isolation = nil
  end
  if isolation and not require('subcell.config').ISOLATION[isolation] then
    notify(string.format("unknown isolation %q: use interpreter, process or auto", isolation), vim.log.levels.ERROR)
    return callback and callback('unknown isolation')
  end
  local buf = api.nvim_get_current_buf()
  require('subcell.session').restart(buf, isolation, function(err, info)
    if err then
      notify('restart failed: ' .. err, vim.log.levels.ERROR)
    else
      info = info or {}
      notify(string.format('session of %s restarted: %s, pid %s', require('subcell.session').label(buf), tostring(info.isolation), tostring(info.pid)))
      local view = require('subcell.variables').current()
      if view and view.target == buf then
        require('subcell.variables').refresh()
      end
    end
    if callback then
      callback(err, info)
    end
  end)
end

-- Restarts the server (`:SubcellRestartServer`); every session is lost.
---@param callback? fun(err: string|nil)
function M.restart_server(callback)
  require('subcell.server').restart(function(err)
    notify(err and ('restart failed: ' .. err) or 'server restarted', err and vim.log.levels.ERROR or nil)
    if callback then
      callback(err)
    end
  end)
end

-- Runs the buffer's session on another Python (`:SubcellPython [path]`):
-- an interpreter or an environment directory; without one, a list to pick from.
---@param path? string
---@param callback? fun(err: string|nil, info: table|nil)
function M.python(path, callback)
  require('subcell.python').choose(api.nvim_get_current_buf(), path, callback)
end

-- Opens the variables of the buffer's session (`:SubcellVariables`).
function M.variables()
  require('subcell.variables').open(api.nvim_get_current_buf())
end

-- Shows what `expr` (default: the name under the cursor) is in the
-- buffer's session, in a floating window (`:SubcellInspect [expr]`).
---@param expr? string
function M.inspect(expr)
  if expr and expr ~= '' then
    require('subcell.inspect').inspect_expr(api.nvim_get_current_buf(), expr)
  else
    require('subcell.inspect').inspect_cursor()
  end
end

-- 'omnifunc' completing from the buffer's live session:
-- `:setlocal omnifunc=v:lua.require'subcell'.omnifunc` (or setup{ omnifunc = true }).
function M.omnifunc(findstart, base)
  return require('subcell.inspect').omnifunc(findstart, base)
end

-- One line per session of `session/list`: id, name, state, mode, pid, Python.
---@param list table[]
---@return string[]
function M.format_sessions(list)
  -- Child interpreters (subcell.interpreters) under their parent.
  local ordered, children = {}, {}
  for _, x in ipairs(list) do
    if x.parent then
      children[x.parent] = children[x.parent] or {}
      table.insert(children[x.parent], x)
    end
  end
  local function add(x)
    ordered[#ordered + 1] = x
    for _, child in ipairs(children[x.session] or {}) do
      add(child)
    end
  end
  for _, x in ipairs(list) do
    if not x.parent then
      add(x)
    end
  end
  local lines = {}
  for _, x in ipairs(ordered) do
    local py = x.python and string.format('  Python %s %s', x.python.version or '?', vim.fn.fnamemodify(x.python.executable or '', ':~')) or ''
    lines[#lines + 1] = string.format(
      '%s%s  %-20s %-7s %-11s pid %-7s cells run: %d, queued: %d%s',
      x.parent and '  ' or '',
      x.session,
      x.name or '',
      x.state,
      x.isolation or '?',
      tostring(x.pid or '?'),
      x.cellsRun or 0,
      x.queuedCells or 0,
      py
    )
  end
  return lines
end

-- Shuts the server down (`shutdown`, `exit`); done on VimLeavePre.
function M.stop()
  require('subcell.server').stop()
end

return M
