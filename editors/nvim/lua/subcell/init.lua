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
  require('subcell.keymaps').apply(require('subcell.config').get().keymaps)
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

-- Restarts the server; every session is lost.
function M.restart()
  require('subcell.server').restart(function(err)
    notify(err and ('restart failed: ' .. err) or 'server restarted', err and vim.log.levels.ERROR or nil)
  end)
end

-- Shuts the server down (`shutdown`, `exit`); done on VimLeavePre.
function M.stop()
  require('subcell.server').stop()
end

return M
