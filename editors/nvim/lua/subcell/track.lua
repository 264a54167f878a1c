-- Keeps a buffer's outputs and diagnostics on the text they belong to.
-- Extmarks follow most edits by themselves; after each change this module
-- handles the two cases where they do not:
--   * the marks of deleted lines land on the line after them, so a deleted
--     cell's output and errors would move onto the next cell: a run whose
--     code lines are all gone is dropped, and an output whose line alone was
--     deleted moves up to the cell's new last line;
--   * `:e!` replaces the text without moving any mark: after a reload, a run
--     whose code is no longer at its mark is dropped.
-- Then the diagnostics are recomputed from the marks.
local M = {}

local api = vim.api
local state = require('subcell.state')
local render = require('subcell.render')

local watched = {} -- buf -> true

-- Whether the run's code still stands where its mark says (after a reload).
local function code_in_place(run)
  local row = render.start_row(run)
  if not row then
    return false
  end
  local want = vim.split(run.code, '\n', { plain = true })
  if want[#want] == '' then
    table.remove(want)
  end
  local have = api.nvim_buf_get_lines(run.buf, row, row + #want, false)
  -- A selection was sent dedented.
  return vim.deep_equal(have, want) or vim.deep_equal(require('subcell.cells').dedent(have), want)
end

-- Brings one run in line with the text; returns whether anything changed.
local function check_run(nb, run, reloaded)
  local last = render.last_row(run)
  if not last or (reloaded and not code_in_place(run)) then
    render.forget(run)
    for i, shown in ipairs(nb.outputs) do
      if shown == run then
        table.remove(nb.outputs, i)
        break
      end
    end
    return true
  end
  local anchor = render.anchor_row(run)
  if anchor and anchor > last then
    render.move(run, last)
    return true
  end
  return false
end

-- Checks every run of the buffer against its text.
---@param buf integer
---@param reloaded boolean the text was reloaded from the file (`:e!`)
function M.check(buf, reloaded)
  local nb = state.notebooks[buf]
  if not (nb and api.nvim_buf_is_valid(buf)) then
    return
  end
  local changed = false
  for _, id in ipairs(nb.runs) do
    local run = state.runs[id]
    if run and run.code_mark then
      changed = check_run(nb, run, reloaded) or changed
    end
  end
  local diagnostics = require('subcell.diagnostics')
  if changed or #vim.diagnostic.get(buf, { namespace = diagnostics.ns }) > 0 then
    diagnostics.refresh(buf)
  end
end

-- Starts following a buffer's edits (once per buffer; runs call this).
---@param buf integer
function M.watch(buf)
  if watched[buf] then
    return
  end
  watched[buf] = true
  local group = api.nvim_create_augroup('subcell_track_' .. buf, { clear = true })
  local function on(events, fn)
    api.nvim_create_autocmd(events, { group = group, buffer = buf, callback = fn })
  end
  on({ 'TextChanged', 'InsertLeave' }, function()
    M.check(buf, false)
  end)
  on('BufReadPost', function()
    M.check(buf, true)
  end)
  on('CursorMoved', function()
    if api.nvim_win_get_cursor(0)[1] == api.nvim_buf_line_count(buf) then
      require('subcell.scroll').reveal_end(api.nvim_get_current_win())
    end
  end)
end

-- Stops following a buffer (its notebook is gone).
---@param buf integer
function M.unwatch(buf)
  watched[buf] = nil
  pcall(api.nvim_del_augroup_by_name, 'subcell_track_' .. buf)
end

return M
