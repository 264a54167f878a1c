-- Splits a buffer's lines into cells at `# %%` markers, the percent format of
-- VS Code, Spyder and Jupytext, with the same rules as the server's own
-- `subcell run` parser:
--   # %% optional title          a code cell
--   # %% [markdown]              a markdown cell (never run)
--   # %% [reset] optional title  the session is reset before this cell runs
-- Code before the first marker is a cell of its own when it is not blank.
-- Pure Lua over a list of strings; rows are 0-based like the extmark API.
local M = {}

---@class subcell.Cell
---@field index integer        1-based position among the buffer's cells
---@field marker_row integer|nil 0-based row of the `# %%` line (nil: code before the first marker)
---@field start_row integer    first row of the cell's region (the marker, or 0)
---@field end_row integer      last row of the region (before the next marker)
---@field code_row integer|nil row of the code's first line (cell-relative line 1)
---@field last_row integer|nil row of the code's last non-blank line
---@field code string          the code, "" when the cell has none
---@field title string
---@field markdown boolean
---@field reset boolean

---@param line string
---@return boolean
function M.is_marker(line)
  return line:match('^%s*#[ \t]*%%%%') ~= nil
end

local function is_blank(line)
  return line:match('^%s*$') ~= nil
end

-- Reads `[tags]` and the title after `%%`.
local function read_marker(rest, cell)
  local title = {}
  rest = rest:gsub('%[([^%]]*)%]', function(tag)
    tag = tag:match('^%s*(.-)%s*$')
    if tag == 'markdown' or tag == 'md' then
      cell.markdown = true
    elseif tag == 'reset' then
      cell.reset = true
    end
    return ' '
  end)
  for word in rest:gmatch('%S+') do
    title[#title + 1] = word
  end
  cell.title = table.concat(title, ' ')
end

-- Fills code_row/last_row/code from the region's rows.
local function finish(cell, lines)
  local from = cell.marker_row and cell.marker_row + 1 or 0
  local first, last
  for row = from, cell.end_row do
    if not is_blank(lines[row + 1]) then
      first = first or row
      last = row
    end
  end
  cell.code_row, cell.last_row = first, last
  if first then
    cell.code = table.concat(lines, '\n', first + 1, last + 1) .. '\n'
  end
end

---@param lines string[]
---@return subcell.Cell[]
function M.parse(lines)
  local cells = {}
  local current = { marker_row = nil, start_row = 0, code = '', title = '', markdown = false, reset = false }
  local function close(end_row)
    current.end_row = end_row
    finish(current, lines)
    if current.marker_row or current.code_row then
      current.index = #cells + 1
      cells[#cells + 1] = current
    end
  end
  for i, line in ipairs(lines) do
    local row = i - 1
    if M.is_marker(line) then
      close(row - 1)
      current = { marker_row = row, start_row = row, code = '', title = '', markdown = false, reset = false }
      read_marker(line:match('%%%%(.*)$'), current)
    end
  end
  close(#lines - 1)
  return cells
end

-- The cell whose region holds `row`.
---@param cells subcell.Cell[]
---@param row integer 0-based
---@return subcell.Cell|nil
function M.at(cells, row)
  for _, cell in ipairs(cells) do
    if row >= cell.start_row and row <= cell.end_row then
      return cell
    end
  end
  return nil
end

-- Whether running the cell would do anything (markdown, blank and
-- comment-only cells would not).
---@param cell subcell.Cell
---@return boolean
function M.is_runnable(cell)
  if cell.markdown or not cell.code_row then
    return false
  end
  for line in cell.code:gmatch('[^\n]+') do
    if not line:match('^%s*#') and not is_blank(line) then
      return true
    end
  end
  return false
end

-- Removes the indentation all non-blank lines share (for a visual selection
-- taken from inside a block).
---@param lines string[]
---@return string[]
function M.dedent(lines)
  local common
  for _, line in ipairs(lines) do
    if not is_blank(line) then
      local indent = line:match('^[ \t]*')
      if not common or #indent < #common then
        common = indent
      end
    end
  end
  if not common or common == '' then
    return lines
  end
  local out = {}
  for i, line in ipairs(lines) do
    out[i] = line:sub(1, #common) == common and line:sub(#common + 1) or line:gsub('^%s+', '')
  end
  return out
end

return M
