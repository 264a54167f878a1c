-- The full-output window (:SubcellOutput): every line a run kept, its value
-- and its traceback, in a scratch split that keeps updating while the cell
-- streams and follows the cell when it is run again.
local M = {}

local api = vim.api
local output = require('subcell.output')

---@type {buf: integer, win: integer|nil, run: subcell.Run}|nil
local current = nil

local STATUS = {
  queued = 'queued',
  running = 'running…',
  done = 'done',
  error = 'error',
  cancelled = 'cancelled',
  failed = 'failed',
  crashed = 'session crashed',
}

-- The text of the window for a run, and rows to highlight.
---@param run subcell.Run
---@return string[], table<integer, string>
function M.lines(run)
  local render = require('subcell.render')
  local lines, hl = {}, {}
  local function add(text, group)
    lines[#lines + 1] = text
    if group then
      hl[#lines - 1] = group
    end
  end
  local head = { 'subcell', require('subcell.session').label(run.buf), STATUS[run.state] or run.state }
  if run.count then
    table.insert(head, 3, string.format('[%d]', run.count))
  end
  if run.duration_ms then
    head[#head + 1] = render.duration(run.duration_ms)
  end
  add(table.concat(head, ' · '), 'Title')
  if run.failure then
    add(run.failure, 'ErrorMsg')
  end
  if run.crash then
    add(run.crash.message or '', 'ErrorMsg')
    local stderr = output.split_lines(run.crash.stderr or '')
    if #stderr > 0 and stderr[1] ~= '' then
      add('The session\'s last stderr lines:', 'NonText')
      for _, text in ipairs(stderr) do
        add(text, 'WarningMsg')
      end
    end
    add('The next run of this buffer starts a fresh session.', 'NonText')
  end
  if run.term.dropped > 0 then
    add(string.format('… %d earlier lines dropped (scrollback)', run.term.dropped), 'NonText')
  end
  local out, kinds, _, cuts = run.term:all()
  for i, text in ipairs(out) do
    if cuts[i] then
      text = text .. string.format(' … [%d more characters not kept]', cuts[i])
    end
    add(text, kinds[i] == 'stderr' and 'WarningMsg' or nil)
  end
  local value = run.value_text or output.bundle_text(run.value)
  if value then
    for i, text in ipairs(output.split_lines(value)) do
      add((i == 1 and string.format('Out[%d]: ', run.count or 0) or '        ') .. text, 'Special')
    end
    local others = {}
    for mime in pairs(run.value) do
      if mime ~= 'text/plain' then
        others[#others + 1] = mime
      end
    end
    if #others > 0 then
      table.sort(others)
      add('(also available: ' .. table.concat(others, ', ') .. ')', 'NonText')
    end
  end
  if run.error then
    for _, text in ipairs(M.traceback_lines(run)) do
      add(text, 'ErrorMsg')
    end
    local hint = require('subcell.render').suggestion_hint(run.error)
    if hint then
      add(hint, 'WarningMsg')
    end
  end
  return lines, hl
end

-- The traceback, with the buffer line added to each `File "<cell N>"` line
-- (the server numbers lines within the cell).
---@param run subcell.Run
---@return string[]
function M.traceback_lines(run)
  local err = run.error
  local cell_of = {} -- executionCount -> cell id, from the frames
  local function learn(frames)
    for _, frame in ipairs(frames or {}) do
      if frame.executionCount and frame.cell ~= nil then
        cell_of[frame.executionCount] = frame.cell
      end
    end
  end
  learn(err.frames)
  for _, link in ipairs(err.chain or {}) do -- the traceback prints the whole chain
    learn(link.frames)
  end
  for _, member in ipairs(err.exceptions or {}) do
    learn(member.frames)
  end
  if err.location and err.location.executionCount and err.location.cell ~= nil then
    cell_of[err.location.executionCount] = err.location.cell
  end
  local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(run.buf), ':t')
  local diagnostics = require('subcell.diagnostics')
  local out = {}
  for _, text in ipairs(output.split_lines(err.traceback or (err.type .. ': ' .. (err.message or '')))) do
    local count, line = text:match('^[%s|]*File "<cell (%d+)>", line (%d+)')
    local row = count and diagnostics.buffer_row(run.buf, { cell = cell_of[tonumber(count)], line = tonumber(line) })
    if row then
      text = string.format('%s  → %s:%d', text, name ~= '' and name or 'buffer', row + 1)
    end
    out[#out + 1] = text
  end
  return out
end

local function valid()
  return current and api.nvim_buf_is_valid(current.buf)
end

-- Names the window's buffer after the run it shows, with the number its
-- first line shows: subcell://output/tour.py[4] ([*] before the run starts).
local function rename(buf, run)
  local name = string.format('subcell://output/%s[%s]', require('subcell.session').label(run.buf), run.count or '*')
  local old = api.nvim_buf_get_name(buf)
  if name == old then
    return
  end
  pcall(api.nvim_buf_set_name, buf, name)
  if old == '' then
    return
  end
  -- Like :file, a rename leaves an unlisted buffer holding the old name.
  for _, other in ipairs(api.nvim_list_bufs()) do
    if other ~= buf and api.nvim_buf_get_name(other) == old and not api.nvim_buf_is_loaded(other) then
      pcall(api.nvim_buf_delete, other, { force = true })
    end
  end
end

-- Rewrites the window's buffer; keeps following the end if the cursor was there.
---@param run subcell.Run
function M.update(run)
  if not valid() then
    current = nil
    return
  end
  current.run = run
  local buf = current.buf
  local win = current.win and api.nvim_win_is_valid(current.win) and current.win or nil
  local follow = win and api.nvim_win_get_cursor(win)[1] >= api.nvim_buf_line_count(buf)
  local lines, hl = M.lines(run)
  rename(buf, run)
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  local ns = api.nvim_create_namespace('subcell.view')
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  for row, group in pairs(hl) do
    api.nvim_buf_add_highlight(buf, ns, group, row, 0, -1)
  end
  if follow then
    api.nvim_win_set_cursor(win, { #lines, 0 })
  end
end

local function make_buffer()
  local buf = api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].filetype = 'subcell-output'
  vim.keymap.set('n', 'q', '<cmd>close<cr>', { buffer = buf, nowait = true, desc = 'Close subcell output' })
  return buf
end

-- Shows a run's full output in the output window (opening it if needed).
---@param run subcell.Run
function M.open(run)
  if not valid() then
    current = { buf = make_buffer() }
  end
  local win = vim.fn.bufwinid(current.buf)
  if win == -1 then
    vim.cmd(require('subcell.config').get().output_split)
    win = api.nvim_get_current_win()
    api.nvim_win_set_buf(win, current.buf)
    vim.wo[win].wrap = false -- a 100k-character line stays one screen row
    vim.wo[win].number = false
    vim.wo[win].list = false
  else
    api.nvim_set_current_win(win)
  end
  current.win = win
  M.update(run)
end

-- A cell was run again: the window follows it.
function M.replaced(old, new)
  if current and current.run == old then
    M.update(new)
  end
end

---@return {buf: integer, win: integer|nil, run: subcell.Run}|nil
function M.current()
  return valid() and current or nil
end

require('subcell.render').on_draw(function(run)
  if current and current.run == run then
    M.update(run)
  end
end)

return M
