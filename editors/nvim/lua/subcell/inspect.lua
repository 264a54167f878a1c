-- What a name is in the live session: :SubcellInspect shows `cell/inspect`
-- (type, signature, docstring, repr) in a floating window, and the
-- omnifunc completes from the session's namespace with `cell/complete`.
-- The server answers `cell/inspect` while a cell of the session runs;
-- completion waits behind the running cell, so the omnifunc asks
-- asynchronously and fills the menu when the answer comes.
local M = {}

local api = vim.api
local output = require('subcell.output')

-- Byte length of the first `n` code points of `s`.
local function bytes_of(s, n)
  local i, count = 1, 0
  while count < n and i <= #s do
    local b = s:byte(i)
    i = i + (b >= 0xF0 and 4 or b >= 0xE0 and 3 or b >= 0xC0 and 2 or 1)
    count = count + 1
  end
  return math.min(i - 1, #s)
end
M.bytes_of = bytes_of

-- The code and cursor (in code points) that name what is under byte column
-- `col` (0-based) of `line`: the whole line, with the cursor at the end of
-- the identifier under it (so `json.du|mps` asks for `json.dumps`).
---@param line string
---@param col integer
---@return string code, integer cursor
function M.at(line, col)
  local stop = col + 1
  while stop <= #line do
    local c = line:sub(stop, stop)
    if not (c:match('[%w_]') or c:byte() >= 0x80) then
      break
    end
    stop = stop + 1
  end
  return line, output.char_count(line:sub(1, stop - 1))
end

local function session_of(buf)
  local nb = require('subcell.state').notebooks[buf]
  return nb and nb.session
end

-- `cell/inspect` in the session of `buf`.
---@param buf integer
---@param code string
---@param cursor integer code points
---@param callback fun(err: string|nil, result: table|nil)
function M.request(buf, code, cursor, callback)
  local session = session_of(buf)
  if not session then
    return callback('no session for this buffer yet: run a cell first')
  end
  require('subcell.server').request('cell/inspect', { session = session, code = code, cursor = cursor }, function(err, result)
    callback(err and err.message or nil, result)
  end)
end

-- The floating window's lines for an inspect result.
---@param r table
---@return string[]
function M.lines(r)
  local lines = { string.format('%s: %s', r.name or '?', r.type or '?') }
  if r.signature then
    lines[#lines + 1] = (r.name or '') .. r.signature
  elseif r['repr'] then
    for i, line in ipairs(output.split_lines(r['repr'])) do
      if i > 10 then
        lines[#lines + 1] = '…'
        break
      end
      lines[#lines + 1] = line
    end
  end
  if r.docstring and r.docstring ~= '' then
    lines[#lines + 1] = ''
    vim.list_extend(lines, output.split_lines(r.docstring))
  end
  return lines
end

---@type integer|nil
local float_win = nil

-- Shows an inspect result in a floating window at the cursor.
---@param r table
---@return integer|nil win
function M.show(r)
  local lines = M.lines(r)
  local buf, win = vim.lsp.util.open_floating_preview(lines, nil, {
    focus_id = 'subcell-inspect',
    border = 'rounded',
    max_width = math.min(100, math.floor(vim.o.columns * 0.8)),
    max_height = math.min(30, math.floor(vim.o.lines * 0.6)),
  })
  if buf and api.nvim_buf_is_valid(buf) then
    api.nvim_buf_add_highlight(buf, -1, 'Title', 0, 0, -1)
    if r.signature then
      api.nvim_buf_add_highlight(buf, -1, 'Function', 1, 0, -1)
    end
  end
  float_win = win
  return win
end

-- The floating window shown last, if it is still open.
---@return integer|nil
function M.float()
  return float_win and api.nvim_win_is_valid(float_win) and float_win or nil
end

local function report(err, r, what)
  if err then
    return vim.notify('subcell: ' .. err, vim.log.levels.WARN)
  end
  if not r.found then
    return vim.notify(string.format('subcell: %s is not defined in the session', what), vim.log.levels.INFO)
  end
  M.show(r)
end

-- Inspects an expression (`:SubcellInspect json.dumps`).
---@param buf integer
---@param expr string
function M.inspect_expr(buf, expr)
  M.request(buf, expr, output.char_count(expr), function(err, r)
    report(err, r, expr)
  end)
end

-- Inspects the name under the cursor (`:SubcellInspect`, the inspect key).
function M.inspect_cursor()
  local buf = api.nvim_get_current_buf()
  local line = api.nvim_get_current_line()
  local col = api.nvim_win_get_cursor(0)[2]
  local code, cursor = M.at(line, col)
  local win, row = api.nvim_get_current_win(), api.nvim_win_get_cursor(0)[1]
  M.request(buf, code, cursor, function(err, r)
    -- Only where it was asked: the float opens at the cursor.
    if api.nvim_get_current_win() ~= win or api.nvim_win_get_cursor(0)[1] ~= row then
      return
    end
    report(err, r, vim.fn.expand('<cword>'))
  end)
end

-- 'omnifunc': completes the text before the cursor from the session's
-- namespace. Returns -2 (the menu opens when the server answers) or -3
-- (no session: nothing to complete from).
---@param findstart integer
---@param base string
---@return integer|table
function M.omnifunc(findstart, base)
  if findstart ~= 1 then
    return {}
  end
  local buf = api.nvim_get_current_buf()
  local session = session_of(buf)
  if not session then
    return -3
  end
  local pos = api.nvim_win_get_cursor(0)
  local before = api.nvim_get_current_line():sub(1, pos[2])
  local params = { session = session, code = before, cursor = output.char_count(before) }
  require('subcell.server').request('cell/complete', params, function(err, r)
    local now = api.nvim_win_get_cursor(0)
    local mode = api.nvim_get_mode().mode
    if err or not r or mode:sub(1, 1) ~= 'i' or now[1] ~= pos[1] or now[2] ~= pos[2] or api.nvim_get_current_buf() ~= buf then
      return
    end
    vim.fn.complete(bytes_of(before, r.cursorStart or 0) + 1, r.matches or {})
  end)
  return -2
end

return M
