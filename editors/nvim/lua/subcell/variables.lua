-- The :SubcellVariables window: the user's variables in the buffer's
-- session (`session/variables`: name, type, length or shape, repr), a page
-- at a time, refreshed after each cell of that buffer finishes. The server
-- answers while a cell runs, so it also shows what a long cell has built
-- so far (`r` refreshes).
local M = {}

local api = vim.api

---@class subcell.VariablesView
---@field buf integer        the window's scratch buffer
---@field win integer|nil
---@field target integer     the notebook buffer it shows
---@field offset integer
---@field result table|nil   the last session/variables result
---@field err string|nil
---@field loading boolean|nil

---@type subcell.VariablesView|nil
local current = nil
local seq = 0 -- answers to older requests are dropped

local function valid()
  return current and api.nvim_buf_is_valid(current.buf)
end

local function page_size()
  return require('subcell.config').get().variables_page_size or 200
end

local function size_of(v)
  if type(v.shape) == 'table' then
    local dims = {}
    for _, d in ipairs(v.shape) do
      dims[#dims + 1] = tostring(d)
    end
    return table.concat(dims, '×')
  elseif v.length then
    return 'len ' .. tostring(v.length)
  end
  return ''
end

local function cut(s, width)
  local text, rest = require('subcell.output').truncate(s, width)
  return rest > 0 and (text:sub(1, -2) .. '…') or text
end

local function pad(s, width)
  return s .. string.rep(' ', width - require('subcell.output').char_count(s))
end

-- The window's text for a view: a header, then one row per variable.
---@param view subcell.VariablesView
---@return string[] lines, table<integer, string> highlights by 0-based row
function M.lines(view)
  local label = require('subcell.session').label(view.target)
  local lines, hl = {}, {}
  local function add(text, group)
    lines[#lines + 1] = text
    hl[#lines - 1] = group
  end
  local r = view.result
  local head = { 'subcell', 'variables', label }
  if r then
    local shown = #(r.variables or {})
    head[#head + 1] = shown > 0 and string.format('%d–%d of %d', r.offset + 1, r.offset + shown, r.total) or string.format('0 of %d', r.total)
  end
  if view.loading then
    head[#head + 1] = 'updating…'
  end
  add(table.concat(head, ' · '), 'Title')
  local keys = 'r refresh · <CR> inspect · q close'
  if r and r.total > page_size() then
    keys = ']] next page · [[ previous · ' .. keys
  end
  add(keys, 'NonText')
  if view.err then
    add(view.err, 'ErrorMsg')
    if not r then
      return lines, hl
    end
  end
  if not r then
    return lines, hl
  end
  if #(r.variables or {}) == 0 then
    add(r.total == 0 and 'no variables yet' or 'no variables on this page', 'NonText')
    return lines, hl
  end
  local rows = { { 'name', 'type', 'size', 'value' } }
  for _, v in ipairs(r.variables) do
    local repr = (v['repr'] or ''):gsub('\r?\n', '⏎')
    rows[#rows + 1] = { cut(v.name or '?', 30), cut(v.type or '?', 36), size_of(v), repr }
  end
  local widths = { 0, 0, 0 }
  for _, row in ipairs(rows) do
    for c = 1, 3 do
      widths[c] = math.max(widths[c], require('subcell.output').char_count(row[c]))
    end
  end
  for i, row in ipairs(rows) do
    add(string.format('%s  %s  %s  %s', pad(row[1], widths[1]), pad(row[2], widths[2]), pad(row[3], widths[3]), row[4]), i == 1 and 'NonText' or nil)
  end
  return lines, hl
end

local function draw()
  if not valid() then
    current = nil
    return
  end
  local lines, hl = M.lines(current)
  local buf = current.buf
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  local ns = api.nvim_create_namespace('subcell.variables')
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  for row, group in pairs(hl) do
    api.nvim_buf_add_highlight(buf, ns, group, row, 0, -1)
  end
  pcall(api.nvim_buf_set_name, buf, 'subcell://variables/' .. require('subcell.session').label(current.target))
end

-- Asks the server for the view's page again.
function M.refresh()
  if not valid() then
    current = nil
    return
  end
  local view = current
  local nb = require('subcell.state').notebooks[view.target]
  if not (nb and nb.session) then
    view.result, view.err = nil, 'no session for this buffer yet: run a cell'
    return draw()
  end
  seq = seq + 1
  local mine = seq
  view.loading = true
  draw()
  require('subcell.server').request('session/variables', { session = nb.session, offset = view.offset, limit = page_size() }, function(err, result)
    if mine ~= seq or current ~= view then
      return
    end
    view.loading = false
    if err and err.code == -32015 then -- SessionBusy: the cell is in one long C call
      view.err = 'not updated: ' .. err.message .. ' (it updates when the cell ends; r retries)'
    elseif err then
      view.result, view.err = nil, 'session/variables failed: ' .. err.message
    else
      view.result, view.err = result, nil
      if view.offset > 0 and #(result.variables or {}) == 0 and result.total > 0 then
        -- The page emptied (variables were deleted): show the last one.
        view.offset = math.max(0, math.floor((result.total - 1) / page_size()) * page_size())
        return M.refresh()
      end
    end
    draw()
  end)
end

local function turn(pages)
  if not valid() then
    return
  end
  local total = current.result and current.result.total or 0
  local offset = current.offset + pages * page_size()
  if offset < 0 or offset >= total then
    return
  end
  current.offset = offset
  M.refresh()
end

-- The variable name on the cursor's row of the window, or nil.
local function name_at_cursor()
  local r = current and current.result
  local row = api.nvim_win_get_cursor(0)[1] - 3 - (current.err and 1 or 0) -- below the header, the keys, a message, the column titles
  local v = r and r.variables and r.variables[row]
  return v and v.name
end

local function make_buffer()
  local buf = api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].filetype = 'subcell-variables'
  local function map(lhs, fn, desc)
    vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, silent = true, desc = 'subcell: ' .. desc })
  end
  map('q', '<cmd>close<cr>', 'Close the variables')
  map('r', M.refresh, 'Refresh the variables')
  map(']]', function()
    turn(1)
  end, 'Next page of variables')
  map('[[', function()
    turn(-1)
  end, 'Previous page of variables')
  map('<CR>', function()
    local name = name_at_cursor()
    if name and current then
      require('subcell.inspect').inspect_expr(current.target, name)
    end
  end, 'Inspect the variable')
  return buf
end

-- Opens (or focuses) the variables window for buffer `target`.
---@param target integer
function M.open(target)
  if not valid() then
    current = { buf = make_buffer(), target = target, offset = 0 }
  elseif current.target ~= target then
    current.target, current.offset, current.result, current.err = target, 0, nil, nil
  end
  local win = vim.fn.bufwinid(current.buf)
  if win == -1 then
    vim.cmd(require('subcell.config').get().variables_split)
    win = api.nvim_get_current_win()
    api.nvim_win_set_buf(win, current.buf)
    vim.wo[win].wrap = false
    vim.wo[win].number = false
    vim.wo[win].list = false
  else
    api.nvim_set_current_win(win)
  end
  current.win = win
  M.refresh()
end

---@return subcell.VariablesView|nil
function M.current()
  return valid() and current or nil
end

-- After each cell of the shown buffer, and after its session changes.
require('subcell.runner').on_finish(function(run)
  if valid() and current.target == run.buf then
    M.refresh()
  end
end)

return M
