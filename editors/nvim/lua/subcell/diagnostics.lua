-- Reports Python errors through vim.diagnostic at buffer lines. The server
-- gives positions relative to a cell's code (line 1 = its first line) plus
-- the cell id; each run has an extmark over its code lines, so the buffer
-- line is that mark's current start row + line - 1, even after edits above
-- (and nowhere once the code was deleted).
--   * error.location (innermost frame in a cell, or a SyntaxError position):
--     ERROR, or WARN for KeyboardInterrupt (an interrupt is not a bug);
--   * other traceback frames in cells of this buffer: HINT, naming the call;
--   * the exceptions chained to it (`raise ... from`, or raised while
--     handling another) and the members of an exception group: HINT at the
--     innermost of their frames in a cell, saying how they lead to the error.
-- The ERROR is the outermost error's own: the one the cell ended with.
local M = {}

local api = vim.api
M.ns = api.nvim_create_namespace('subcell.diagnostics')

local function severity_of(err)
  local sev = vim.diagnostic.severity
  return err.type == 'KeyboardInterrupt' and sev.WARN or sev.ERROR
end

-- Maps a cell-relative position to a 0-based buffer row, or nil when the
-- cell is not one of this buffer's runs or its lines are gone.
---@param buf integer
---@param pos {cell: any, line: integer}|nil
---@return integer|nil
function M.buffer_row(buf, pos)
  if type(pos) ~= 'table' or pos.cell == nil or type(pos.line) ~= 'number' then
    return nil
  end
  local run = require('subcell.state').runs[tostring(pos.cell)]
  if not run or run.buf ~= buf then
    return nil
  end
  local start = require('subcell.render').start_row(run)
  if not start then
    return nil
  end
  local row = start + pos.line - 1
  local count = api.nvim_buf_line_count(buf)
  return math.max(0, math.min(row, count - 1))
end

-- "Type: first line of the message".
local function summary(err)
  local first_line = require('subcell.output').split_lines(err.message or '')[1] or ''
  return (err.type or '?') .. (first_line ~= '' and (': ' .. first_line) or '')
end

-- The buffer row of the innermost of `frames` that is in a cell of `buf`.
local function innermost_row(buf, frames)
  for i = #(frames or {}), 1, -1 do
    local row = M.buffer_row(buf, frames[i])
    if row then
      return row
    end
  end
  return nil
end

-- The diagnostics one run's error contributes.
---@param run subcell.Run
---@return table[]
function M.for_run(run)
  local err = run.error
  if not err then
    return {}
  end
  local out = {}
  local message = summary(err)
  local _, hint = require('subcell.render').suggestion_hint(err)
  local loc = err.location
  local row = M.buffer_row(run.buf, loc)
  if not row then
    -- No position in a cell of ours: point at the run's first line.
    row = require('subcell.render').start_row(run)
  end
  if row then
    local text = hint and string.format('%s (%s)', message, hint) or message
    local d = { lnum = row, col = 0, severity = severity_of(err), message = text, source = 'subcell' }
    if loc and loc.column then -- SyntaxError: the server's columns are 1-based
      d.col = math.max(0, loc.column - 1)
      d.end_lnum, d.end_col = row, d.col + 1 -- at least the character it names
      local end_row = loc.endLine and M.buffer_row(run.buf, { cell = loc.cell, line = loc.endLine })
      if end_row and loc.endColumn and (end_row > row or loc.endColumn - 1 > d.col) then
        d.end_lnum, d.end_col = end_row, loc.endColumn - 1 -- endColumn is exclusive
      end
    end
    out[#out + 1] = d
  end
  for _, frame in ipairs(err.frames or {}) do
    local frow = M.buffer_row(run.buf, frame)
    local same = loc and frame.cell == loc.cell and frame.line == loc.line
    if frow and not same then
      out[#out + 1] = {
        lnum = frow,
        col = 0,
        severity = vim.diagnostic.severity.HINT,
        message = string.format('%s (traceback: called here, in %s)', message, frame['function'] or '?'),
        source = 'subcell',
      }
    end
  end
  local taken = {}
  for _, d in ipairs(out) do
    taken[d.lnum] = true
  end
  local function link_hint(link, why)
    local row = innermost_row(run.buf, link.frames)
    if row and not taken[row] then
      taken[row] = true
      out[#out + 1] = {
        lnum = row,
        col = 0,
        severity = vim.diagnostic.severity.HINT,
        message = string.format('%s (%s)', summary(link), why),
        source = 'subcell',
      }
    end
  end
  local chain = err.chain or {}
  for i, link in ipairs(chain) do
    local next_type = (chain[i + 1] or err).type or '?'
    link_hint(link, link.relation == 'cause' and ('the direct cause of ' .. next_type) or (next_type .. ' was raised while handling it'))
  end
  for _, member in ipairs(err.exceptions or {}) do
    link_hint(member, 'in the ' .. err.type)
  end
  return out
end

-- Recomputes a buffer's diagnostics from the runs it shows.
---@param buf integer
function M.refresh(buf)
  if not api.nvim_buf_is_valid(buf) then
    return
  end
  if not require('subcell.config').get().diagnostics then
    vim.diagnostic.reset(M.ns, buf)
    return
  end
  local nb = require('subcell.state').notebooks[buf]
  local list = {}
  for _, run in ipairs(nb and nb.outputs or {}) do
    vim.list_extend(list, M.for_run(run))
  end
  -- vim.diagnostic keeps line numbers fixed while the text moves; track.lua
  -- calls this again after edits.
  vim.diagnostic.set(M.ns, buf, list)
end

return M
