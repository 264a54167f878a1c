-- Draws each run's output as virtual lines (an extmark with `virt_lines`)
-- under the last code line of its cell. Streaming output only marks a run
-- dirty; a short timer redraws dirty runs, so a cell printing thousands of
-- chunks a second costs a few redraws, not thousands.
local M = {}

local uv = vim.uv or vim.loop
local api = vim.api
local output = require('subcell.output')

M.ns = api.nvim_create_namespace('subcell')
M.marks_ns = api.nvim_create_namespace('subcell.marks')

local dirty = {} -- run -> true
local timer = nil
local listeners = {}

local function define_highlights()
  for group, link in pairs({
    SubcellBorder = 'Comment',
    SubcellOutput = 'Normal',
    SubcellStderr = 'WarningMsg',
    SubcellDisplay = 'Normal',
    SubcellValue = 'Special',
    SubcellError = 'ErrorMsg',
    SubcellStatus = 'Comment',
    SubcellRunning = 'DiagnosticInfo',
    SubcellCut = 'NonText',
  }) do
    vim.cmd(string.format('highlight default link %s %s', group, link))
  end
end
define_highlights()
-- Colour schemes clear highlights; put the links back.
api.nvim_create_autocmd('ColorScheme', { callback = define_highlights })

local KIND_HL = { stdout = 'SubcellOutput', stderr = 'SubcellStderr', display = 'SubcellDisplay' }

---@param ms number|nil
---@return string
function M.duration(ms)
  if not ms then
    return ''
  end
  if ms < 1 then
    return '<1 ms'
  elseif ms < 1000 then
    return string.format('%d ms', math.floor(ms + 0.5))
  end
  return string.format('%.1f s', ms / 1000)
end

-- One virtual line: a border, then the text cut to the configured width
-- (`lost`: characters the terminal model already did not keep).
local function line(text, hl, width, lost)
  local cut, rest = output.truncate(text, width)
  rest = rest + (lost or 0)
  local chunks = { { '│ ', 'SubcellBorder' }, { cut, hl } }
  if rest > 0 then
    chunks[#chunks + 1] = { string.format('… [+%d chars]', rest), 'SubcellCut' }
  end
  return chunks
end

local function footer(run)
  local count = run.count and string.format('[%d] ', run.count) or ''
  local took = M.duration(run.duration_ms)
  local text, hl
  if run.state == 'queued' then
    text, hl = 'queued', 'SubcellStatus'
  elseif run.state == 'running' and run.input then
    text, hl = run.input.async and 'waiting for input' or 'waiting for input on the command line (<Esc> interrupts)', 'SubcellRunning'
  elseif run.state == 'running' then
    text, hl = 'running…', 'SubcellRunning'
  elseif run.state == 'done' then
    text, hl = count .. took, 'SubcellStatus'
  elseif run.state == 'error' then
    local what = run.error.type == 'KeyboardInterrupt' and 'interrupted' or run.error.type
    text, hl = string.format('%s%s after %s · traceback: :SubcellOutput', count, what, took), 'SubcellError'
  elseif run.state == 'cancelled' then
    text, hl = 'cancelled', 'SubcellStatus'
  elseif run.state == 'crashed' then
    local cause = run.crash and (' (' .. require('subcell.session').crash_cause(run.crash) .. ')') or ''
    text, hl = string.format('%ssession crashed%s · the next run starts a fresh session · :SubcellOutput', count, cause), 'SubcellError'
  else
    text, hl = 'failed: ' .. (run.failure or '?'), 'SubcellError'
  end
  return { { '└ ', 'SubcellBorder' }, { text, hl } }
end

-- The error's lines under the cell: type and message, its notes, the
-- members of an exception group, and what to do about a suggestion.
---@param err table the protocol's error object
---@return string[]
function M.error_lines(err)
  local first = output.split_lines(err.message or '')[1] or ''
  local lines = { err.type .. (first ~= '' and (': ' .. first) or '') }
  for _, note in ipairs(err.notes or {}) do
    lines[#lines + 1] = '  note: ' .. (output.split_lines(note)[1] or '')
  end
  local members = err.exceptions or {}
  for i, sub in ipairs(members) do
    if i > 5 then
      lines[#lines + 1] = string.format('  … %d more', #members - 5)
      break
    end
    local msg = output.split_lines(sub.message or '')[1] or ''
    lines[#lines + 1] = string.format('  %s %s%s', i == #members and '└' or '├', sub.type or '?', msg ~= '' and (': ' .. msg) or '')
  end
  if err.chain and #err.chain > 0 then
    local link = err.chain[#err.chain]
    local how = link.relation == 'cause' and 'caused by' or 'while handling'
    local msg = output.split_lines(link.message or '')[1] or ''
    lines[#lines + 1] = string.format('  %s %s%s', how, link.type or '?', msg ~= '' and (': ' .. msg) or '')
  end
  local hint = M.suggestion_hint(err)
  if hint then
    lines[#lines + 1] = hint
  end
  return lines
end

-- What the user can do about the error's suggestion, or nil: a line for
-- the output, and a short form for the diagnostic.
---@param err table
---@return string|nil, string|nil
function M.suggestion_hint(err)
  local s = err.suggestion
  if type(s) == 'table' and s.action == 'restartInProcess' then
    return '→ :SubcellRestart process runs this session in a process of its own (its variables are lost)',
      'run :SubcellRestart process'
  end
  return nil
end

-- The virtual lines for a run: capped output tail, value, error, status.
---@param run subcell.Run
---@return table[]
function M.virt_lines(run)
  local cfg = require('subcell.config').get().output
  local width, max = cfg.max_width, cfg.max_lines
  local out = {}
  local lines, kinds, hidden, cuts = run.term:tail(max)
  hidden = hidden + run.term.dropped
  if hidden > 0 then
    out[#out + 1] = line(string.format('… %d earlier lines · :SubcellOutput', hidden), 'SubcellCut', width)
  end
  for i, text in ipairs(lines) do
    out[#out + 1] = line(text, KIND_HL[kinds[i]] or 'SubcellOutput', width, cuts[i])
  end
  local value = run.value_text or output.bundle_text(run.value)
  if value then
    local vlines = output.split_lines(value)
    for i = 1, math.min(#vlines, max) do
      local prefix = i == 1 and string.format('Out[%d]: ', run.count or 0) or '        '
      out[#out + 1] = line(prefix .. vlines[i], 'SubcellValue', width)
    end
    if #vlines > max then
      out[#out + 1] = line(string.format('… %d more lines · :SubcellOutput', #vlines - max), 'SubcellCut', width)
    end
  end
  if run.error then
    for _, text in ipairs(M.error_lines(run.error)) do
      out[#out + 1] = line(text, 'SubcellError', width)
    end
  end
  out[#out + 1] = footer(run)
  return out
end

-- Redraws one run now.
---@param run subcell.Run
function M.draw(run)
  dirty[run] = nil
  if not run.anchor_mark or not api.nvim_buf_is_valid(run.buf) then
    return
  end
  local pos = api.nvim_buf_get_extmark_by_id(run.buf, M.ns, run.anchor_mark, {})
  if not pos[1] then
    return
  end
  api.nvim_buf_set_extmark(run.buf, M.ns, pos[1], 0, { id = run.anchor_mark, virt_lines = M.virt_lines(run) })
  require('subcell.scroll').drawn(run.buf, pos[1])
  if api.nvim_get_mode().mode == 'c' then
    -- The command line (a cell's input() prompt, pdb) does not redraw the
    -- windows by itself: show the output streaming above it.
    pcall(vim.cmd, 'redraw')
  end
  for _, fn in ipairs(listeners) do
    fn(run)
  end
end

local function flush()
  local list = dirty
  dirty = {}
  for run in pairs(list) do
    M.draw(run)
  end
end

-- Marks a run for the next redraw (streaming output goes through here).
---@param run subcell.Run
function M.touch(run)
  dirty[run] = true
  if not timer then
    timer = uv.new_timer()
  end
  if not timer:is_active() then
    timer:start(require('subcell.config').get().output.throttle_ms, 0, vim.schedule_wrap(flush))
  end
end

-- Places the output extmark for a run under `row` and draws it.
---@param run subcell.Run
---@param row integer 0-based
function M.attach(run, row)
  run.anchor_mark = api.nvim_buf_set_extmark(run.buf, M.ns, row, 0, { virt_lines = M.virt_lines(run) })
  require('subcell.scroll').drawn(run.buf, row)
end

-- Removes a run's output from the buffer.
---@param run subcell.Run
function M.detach(run)
  dirty[run] = nil
  if run.drawn_images then
    require('subcell.images').clear(run)
  end
  if run.anchor_mark and api.nvim_buf_is_valid(run.buf) then
    pcall(api.nvim_buf_del_extmark, run.buf, M.ns, run.anchor_mark)
  end
  run.anchor_mark = nil
end

-- Current 0-based row of a run's output anchor, or nil.
---@param run subcell.Run
---@return integer|nil
function M.anchor_row(run)
  if not run.anchor_mark or not api.nvim_buf_is_valid(run.buf) then
    return nil
  end
  return api.nvim_buf_get_extmark_by_id(run.buf, M.ns, run.anchor_mark, {})[1]
end

-- Marks a run's code: an extmark over its whole lines, from the first code
-- line to the start of the line after the last. Its start is cell-relative
-- line 1 wherever edits move it; it collapses to nothing exactly when every
-- one of those lines is deleted (a changed or joined line keeps it open).
---@param run subcell.Run
---@param first_row integer 0-based
---@param last_row integer 0-based
function M.mark_code(run, first_row, last_row)
  run.code_mark = api.nvim_buf_set_extmark(run.buf, M.marks_ns, first_row, 0, { end_row = last_row + 1, end_col = 0 })
end

-- The code mark's current range {row, col, end_row, end_col}, or nil.
local function code_range(run)
  if not run.code_mark or not api.nvim_buf_is_valid(run.buf) then
    return nil
  end
  local m = api.nvim_buf_get_extmark_by_id(run.buf, M.marks_ns, run.code_mark, { details = true })
  if not m[1] then
    return nil
  end
  return { m[1], m[2], m[3].end_row or m[1], m[3].end_col or m[2] }
end

-- Current 0-based row of a run's first code line, or nil.
---@param run subcell.Run
---@return integer|nil
function M.start_row(run)
  local range = code_range(run)
  return range and range[1]
end

-- Current 0-based row of a run's last code line, or nil when all its code
-- lines were deleted (deleted marks land on the next line, not nowhere).
---@param run subcell.Run
---@return integer|nil
function M.last_row(run)
  local r = code_range(run)
  if not r or r[1] > r[3] or (r[1] == r[3] and r[2] >= r[4]) then
    return nil
  end
  return r[4] == 0 and r[3] - 1 or r[3]
end

-- Moves a run's output under `row` (0-based).
---@param run subcell.Run
---@param row integer
function M.move(run, row)
  if run.anchor_mark then
    api.nvim_buf_set_extmark(run.buf, M.ns, row, 0, { id = run.anchor_mark, virt_lines = M.virt_lines(run) })
  end
end

-- Removes a run from the buffer for good: its output and its code mark, so
-- traceback frames no longer map into lines that are gone.
---@param run subcell.Run
function M.forget(run)
  M.detach(run)
  if run.code_mark and api.nvim_buf_is_valid(run.buf) then
    pcall(api.nvim_buf_del_extmark, run.buf, M.marks_ns, run.code_mark)
  end
  run.code_mark = nil
end

-- Called after a run was redrawn (the output window follows along).
---@param fn fun(run: subcell.Run)
function M.on_draw(fn)
  table.insert(listeners, fn)
end

return M
