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
  elseif run.state == 'running' then
    text, hl = 'running…', 'SubcellRunning'
  elseif run.state == 'done' then
    text, hl = count .. took, 'SubcellStatus'
  elseif run.state == 'error' then
    local what = run.error.type == 'KeyboardInterrupt' and 'interrupted' or run.error.type
    text, hl = string.format('%s%s after %s · traceback: :SubcellOutput', count, what, took), 'SubcellError'
  elseif run.state == 'cancelled' then
    text, hl = 'cancelled', 'SubcellStatus'
  else
    text, hl = 'failed: ' .. (run.failure or '?'), 'SubcellError'
  end
  return { { '└ ', 'SubcellBorder' }, { text, hl } }
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
  local value = output.bundle_text(run.value)
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
    local first = output.split_lines(run.error.message or '')[1] or ''
    local msg = first ~= '' and (': ' .. first) or ''
    out[#out + 1] = line(run.error.type .. msg, 'SubcellError', width)
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
end

-- Removes a run's output from the buffer.
---@param run subcell.Run
function M.detach(run)
  dirty[run] = nil
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

-- Current 0-based row of a run's first code line, or nil.
---@param run subcell.Run
---@return integer|nil
function M.start_row(run)
  if not run.start_mark or not api.nvim_buf_is_valid(run.buf) then
    return nil
  end
  return api.nvim_buf_get_extmark_by_id(run.buf, M.marks_ns, run.start_mark, {})[1]
end

-- Called after a run was redrawn (the output window follows along).
---@param fn fun(run: subcell.Run)
function M.on_draw(fn)
  table.insert(listeners, fn)
end

return M
