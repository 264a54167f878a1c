-- Output under a buffer's last line. Neovim never scrolls a window past the
-- last line on its own, so virtual lines under it are cut off at the
-- window's bottom (with the last line at the bottom, none show at all).
-- When such output is drawn in a window that shows the last line, or the
-- cursor moves onto that line, the window is scrolled down just enough for
-- the whole block to show, never so far that the cursor leaves the screen.
local M = {}

local api = vim.api

-- Virtual lines subcell draws under `row` (0-based).
local function virt_rows(buf, row)
  local n = 0
  local ns = require('subcell.render').ns
  for _, mark in ipairs(api.nvim_buf_get_extmarks(buf, ns, { row, 0 }, { row, -1 }, { details = true })) do
    n = n + #(mark[4].virt_lines or {})
  end
  return n
end

-- Screen rows of line `lnum` (1-based) in the current window.
local function text_rows(buf, lnum, width)
  if not vim.wo.wrap then
    return 1
  end
  local text = api.nvim_buf_get_lines(buf, lnum - 1, lnum, false)[1] or ''
  return math.max(1, math.ceil(vim.fn.strdisplaywidth(text) / width))
end

-- The lowest top line that shows the last line and the block under it:
-- walks up from the last line while the lines above still fit.
local function top_for_end(win, buf, last, below)
  local info = vim.fn.getwininfo(win)[1]
  local width = math.max(1, info.width - info.textoff)
  local top, used = last, text_rows(buf, last, width) + below
  while top > 1 do
    local above = top - 1
    local fold = vim.fn.foldclosed(above)
    local rows = (fold ~= -1 and 1 or text_rows(buf, above, width)) + virt_rows(buf, above - 1)
    if used + rows > info.height then
      break
    end
    used = used + rows
    top = fold ~= -1 and fold or above
  end
  return top
end

-- Scrolls `win` down so the output under the buffer's last line shows.
---@param win integer
function M.reveal_end(win)
  local buf = api.nvim_win_get_buf(win)
  local last = api.nvim_buf_line_count(buf)
  local below = virt_rows(buf, last - 1)
  if below == 0 then
    return
  end
  api.nvim_win_call(win, function()
    local top = math.min(top_for_end(win, buf, last, below), vim.fn.line('.'))
    if top > vim.fn.line('w0') then
      vim.fn.winrestview({ topline = top })
    end
  end)
end

-- Output was drawn under `row`: if that is the last line, reveal it in
-- the windows that show the end of the buffer.
---@param buf integer
---@param row integer 0-based
function M.drawn(buf, row)
  local last = api.nvim_buf_line_count(buf)
  if row ~= last - 1 then
    return
  end
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    if api.nvim_win_call(win, function() return vim.fn.line('w$') end) == last then
      M.reveal_end(win)
    end
  end
end

return M
