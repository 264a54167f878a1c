-- Turns a cell's output stream into the lines a terminal would show, in pure
-- Lua (no editor API, so it is unit-tested directly):
--   * "\r" moves to the start of the line and later text overwrites it, so a
--     tqdm-style progress bar stays one line; "\b" steps back; tabs expand;
--   * ANSI escape sequences are removed, also when one is split across two
--     chunks; other control characters are dropped;
--   * only the last `scrollback` lines are kept (counted in `dropped`), and
--     a line keeps at most `max_line_bytes` (the rest is counted, not stored);
--   * display blocks (`display()`) sit on lines of their own; one shown with
--     a display id can be replaced later (`update_display`), and the whole
--     output can be cleared (`clear_output`).
-- It also holds the small helpers that cap what is drawn inline.
local M = {}

---@param s string
---@return integer
function M.char_count(s)
  local _, n = s:gsub('[^\128-\191]', '')
  return n
end

-- Byte index just past the first `n` characters of `s`, starting at byte `from`.
local function advance(s, from, n)
  local i = from
  local len = #s
  while n > 0 and i <= len do
    local b = s:byte(i)
    if b >= 0xF0 then
      i = i + 4
    elseif b >= 0xE0 then
      i = i + 3
    elseif b >= 0xC0 then
      i = i + 2
    else
      i = i + 1
    end
    n = n - 1
  end
  return math.min(i, len + 1)
end

-- Cuts `s` to `width` characters. Returns the cut text and how many
-- characters were left out (0 when it fit).
---@param s string
---@param width integer
---@return string, integer
function M.truncate(s, width)
  if #s <= width then -- bytes >= characters, so it fits
    return s, 0
  end
  local stop = advance(s, 1, width)
  if stop > #s then
    return s, 0
  end
  return s:sub(1, stop - 1), M.char_count(s:sub(stop))
end

---@class subcell.Term
---@field lines string[]   finished lines, indices first..last
---@field kinds string[]   'stdout' | 'stderr' | 'display', per line
---@field first integer
---@field last integer
---@field cur string       the line being written (no newline yet)
---@field cur_kind string
---@field col integer      cursor: bytes of `cur` before it
---@field dropped integer  lines that fell out of the scrollback
---@field version integer  bumped on every change, so renderers can skip work
---@field pending string   an incomplete escape sequence carried to the next chunk
---@field scrollback integer
---@field max_line_bytes integer  a line keeps at most this much; the rest is counted
---@field cut integer      characters of the current line past max_line_bytes
---@field cuts table<integer, integer> the same for finished lines (sparse)
---@field blocks table<string, {start: integer, n: integer}[]> lines of the blocks shown with a display id
local Term = {}
Term.__index = Term

---@param opts? {scrollback?: integer, max_line_bytes?: integer}
---@return subcell.Term
function M.new(opts)
  return setmetatable({
    lines = {},
    kinds = {},
    first = 1,
    last = 0,
    cur = '',
    cur_kind = 'stdout',
    col = 0,
    dropped = 0,
    version = 0,
    pending = '',
    scrollback = (opts and opts.scrollback) or 10000,
    max_line_bytes = (opts and opts.max_line_bytes) or 1048576,
    cut = 0,
    cuts = {},
    blocks = {},
  }, Term)
end

function Term:_newline()
  self.last = self.last + 1
  self.lines[self.last] = self.cur
  self.kinds[self.last] = self.cur_kind
  if self.cut > 0 then
    self.cuts[self.last] = self.cut
    self.cut = 0
  end
  self.cur, self.col = '', 0
  if self.last - self.first + 1 > self.scrollback then
    self.lines[self.first], self.kinds[self.first], self.cuts[self.first] = nil, nil, nil
    self.first = self.first + 1
    self.dropped = self.dropped + 1
  end
end

-- Writes printable text at the cursor, overwriting what is under it.
function Term:_put(seg)
  if seg == '' then
    return
  end
  local cur = self.cur
  if self.col >= #cur then
    if #cur + #seg > self.max_line_bytes then
      -- Past the cap only count: appending to a growing 100 MB string
      -- would copy it once per chunk and freeze the editor.
      local room = math.max(0, self.max_line_bytes - #cur)
      local keep = seg:sub(1, room):gsub('[\192-\255][\128-\191]*$', '')
      self.cut = self.cut + M.char_count(seg:sub(#keep + 1))
      seg = keep
    end
    self.cur = cur .. seg
  else
    local stop = advance(cur, self.col + 1, M.char_count(seg))
    self.cur = cur:sub(1, self.col) .. seg .. cur:sub(stop)
  end
  self.col = self.col + #seg
end

function Term:_backspace()
  if self.col == 0 then
    return
  end
  local i = self.col
  while i > 1 and self.cur:byte(i) >= 0x80 and self.cur:byte(i) < 0xC0 do
    i = i - 1
  end
  self.col = i - 1
end

function Term:_tab()
  local column = M.char_count(self.cur:sub(1, self.col))
  self:_put(string.rep(' ', 8 - column % 8))
end

-- Removes ANSI sequences; keeps an unfinished one at the end for next time.
function Term:_strip(text)
  text = self.pending .. text
  self.pending = ''
  if not text:find('\27', 1, true) then
    return text
  end
  text = text:gsub('\27%[[\48-\63]*[\32-\47]*[\64-\126]', '') -- CSI: colours, cursor moves
  text = text:gsub('\27%][^\7\27]*\7', '') -- OSC ended by BEL (titles, links)
  text = text:gsub('\27%][^\7\27]*\27\\', '') -- OSC ended by ST
  text = text:gsub('\27[%(%)][%w]', '') -- charset selection
  local esc = text:find('\27', 1, true)
  while esc do
    local tail = text:sub(esc)
    local unfinished = #tail < 256
      and (tail == '\27' or tail:match('^\27%[[\48-\63]*[\32-\47]*$') or tail:match('^\27%][^\7\27]*$') or tail:match(
        '^\27%][^\7\27]*\27$'
      ) or tail:match('^\27[%(%)]$'))
    if unfinished then
      self.pending = tail
      return text:sub(1, esc - 1)
    end
    -- A lone or unknown escape: drop ESC and the byte after it.
    text = text:sub(1, esc - 1) .. text:sub(esc + 2)
    esc = text:find('\27', esc, true)
  end
  return text
end

-- Feeds a chunk of a stream to the terminal.
---@param text string
---@param kind? string 'stdout' (default) or 'stderr'
function Term:write(text, kind)
  self.version = self.version + 1
  self.cur_kind = kind or 'stdout'
  text = self:_strip(text)
  local pos, len = 1, #text
  while pos <= len do
    local c = text:find('%c', pos)
    if not c then
      self:_put(text:sub(pos))
      break
    end
    if c > pos then
      self:_put(text:sub(pos, c - 1))
    end
    local ch = text:byte(c)
    if ch == 10 then -- \n
      self:_newline()
    elseif ch == 13 then -- \r
      self.col = 0
    elseif ch == 8 then -- \b
      self:_backspace()
    elseif ch == 9 then -- \t
      self:_tab()
    end -- anything else is dropped
    pos = c + 1
  end
end

-- The lines of a block's text, without escape sequences or control characters.
local function block_lines(text)
  local out = {}
  text = text:gsub('\n$', '')
  text = text:gsub('\27%[[\48-\63]*[\32-\47]*[\64-\126]', '')
  text = text:gsub('\27%][^\7\27]*\7', ''):gsub('\27%][^\7\27]*\27\\', ''):gsub('\27[%(%)][%w]', '')
  for line in (text .. '\n'):gmatch('([^\n]*)\n') do
    out[#out + 1] = (line:gsub('\r', ''):gsub('\t', '    '):gsub('%c', ''))
  end
  return out
end

-- Adds a block (e.g. a display()'s text) on lines of its own. With an `id`
-- (a display id) it can be replaced later by `replace`.
---@param text string
---@param kind string
---@param id? string
function Term:block(text, kind, id)
  self.version = self.version + 1
  if self.cur ~= '' then
    self:_newline()
  end
  local lines = block_lines(text)
  local start = self.last + 1
  for _, line in ipairs(lines) do
    self.cur = line
    self.cur_kind = kind
    self:_newline()
  end
  self.cur_kind = 'stdout'
  if id then
    self.blocks[id] = self.blocks[id] or {}
    table.insert(self.blocks[id], { start = start, n = #lines })
  end
end

-- Replaces lines start..start+n-1 with `lines` (all of kind `kind`),
-- moving the lines after them and the blocks that start after them.
function Term:_splice(start, n, lines, kind)
  local delta = #lines - n
  if delta ~= 0 then
    local old = {}
    for i = start + n, self.last do
      old[#old + 1] = { self.lines[i], self.kinds[i], self.cuts[i] }
      self.lines[i], self.kinds[i], self.cuts[i] = nil, nil, nil
    end
    for k, item in ipairs(old) do
      local i = start + #lines + k - 1
      self.lines[i], self.kinds[i], self.cuts[i] = item[1], item[2], item[3]
    end
    self.last = self.last + delta
    for _, list in pairs(self.blocks) do
      for _, b in ipairs(list) do
        if b.start > start then
          b.start = b.start + delta
        end
      end
    end
  end
  for k, line in ipairs(lines) do
    local i = start + k - 1
    self.lines[i], self.kinds[i], self.cuts[i] = line, kind, nil
  end
end

-- Replaces every block shown with display id `id` by `text`; returns
-- whether there was one (a block that left the scrollback is gone).
---@param id string
---@param text string
---@param kind string
---@return boolean
function Term:replace(id, text, kind)
  local list = self.blocks[id]
  if not list then
    return false
  end
  local lines = block_lines(text)
  local kept = {}
  for _, b in ipairs(list) do
    if b.start >= self.first and b.start + b.n - 1 <= self.last then
      self:_splice(b.start, b.n, lines, kind)
      b.n = #lines
      kept[#kept + 1] = b
    end
  end
  self.blocks[id] = #kept > 0 and kept or nil
  if #kept > 0 then
    self.version = self.version + 1
    -- Taller blocks may push the oldest lines out of the scrollback.
    while self.last - self.first + 1 > self.scrollback do
      self.lines[self.first], self.kinds[self.first], self.cuts[self.first] = nil, nil, nil
      self.first = self.first + 1
      self.dropped = self.dropped + 1
    end
  end
  return #kept > 0
end

-- Removes everything (`clear_output()`).
function Term:clear()
  self.lines, self.kinds, self.cuts, self.blocks = {}, {}, {}, {}
  self.first, self.last, self.dropped = 1, 0, 0
  self.cur, self.col, self.cut, self.pending = '', 0, 0, ''
  self.cur_kind = 'stdout'
  self.version = self.version + 1
end

-- Number of lines held (the unfinished line counts when it has text).
---@return integer
function Term:count()
  return self.last - self.first + 1 + (self.cur ~= '' and 1 or 0)
end

-- The last `n` lines and their kinds, how many held lines came before,
-- and, per returned line, characters that were not kept (sparse).
---@param n integer
---@return string[], string[], integer, table<integer, integer>
function Term:tail(n)
  local lines, kinds, cuts = {}, {}, {}
  local total = self:count()
  local start = math.max(1, total - n + 1)
  for i = start, total do
    local idx = self.first + i - 1
    local k = #lines + 1
    if idx <= self.last then
      lines[k], kinds[k], cuts[k] = self.lines[idx], self.kinds[idx], self.cuts[idx]
    else
      lines[k], kinds[k] = self.cur, self.cur_kind
      cuts[k] = self.cut > 0 and self.cut or nil
    end
  end
  return lines, kinds, start - 1, cuts
end

-- Every held line (see `tail`).
---@return string[], string[], integer, table<integer, integer>
function Term:all()
  return self:tail(self:count())
end

---@param s string
---@return string[]
function M.split_lines(s)
  local out = {}
  s = s:gsub('\r\n', '\n'):gsub('\n$', '')
  for line in (s .. '\n'):gmatch('([^\n]*)\n') do
    out[#out + 1] = line
  end
  return out
end

-- Plain text for a MIME bundle: text/plain, or a note naming what is there.
---@param bundle table|nil
---@return string|nil
function M.bundle_text(bundle)
  if type(bundle) ~= 'table' then
    return nil
  end
  local text = bundle['text/plain']
  if type(text) == 'string' then
    return text
  end
  local kinds = {}
  for k in pairs(bundle) do
    kinds[#kinds + 1] = k
  end
  table.sort(kinds)
  return '<' .. table.concat(kinds, ', ') .. '>'
end

return M
