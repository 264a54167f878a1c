-- Image outputs (`image/png`, `image/jpeg` in a MIME bundle: a matplotlib
-- figure, an object's `_repr_png_`). A terminal cannot show them as text,
-- so each is written to a file and the output shows its size and path:
--   figure 640×480: ~/.cache/nvim/subcell/images-4242/tour-3-1.png
-- The files live in a folder of this Neovim process, removed when it exits.
-- When image.nvim is installed they are also drawn in place (best effort).
local M = {}

local api = vim.api

local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local DECODE = {}
for i = 1, #B64 do
  DECODE[B64:byte(i)] = i - 1
end

-- Decodes base64 (whitespace ignored); nil if it is not base64.
---@param s string
---@return string|nil
function M.base64_decode(s)
  s = s:gsub('[%s=]', '')
  local out, n = {}, 0
  local len = #s
  for i = 1, len - len % 4, 4 do
    local a, b, c, d = DECODE[s:byte(i)], DECODE[s:byte(i + 1)], DECODE[s:byte(i + 2)], DECODE[s:byte(i + 3)]
    if not (a and b and c and d) then
      return nil
    end
    local v = ((a * 64 + b) * 64 + c) * 64 + d
    n = n + 1
    out[n] = string.char(math.floor(v / 65536), math.floor(v / 256) % 256, v % 256)
  end
  local rest = len % 4
  if rest == 1 then
    return nil
  elseif rest > 0 then
    local a, b = DECODE[s:byte(len - rest + 1)], DECODE[s:byte(len - rest + 2)]
    local c = rest == 3 and DECODE[s:byte(len)] or 0
    if not (a and b and c) then
      return nil
    end
    local v = ((a * 64 + b) * 64 + c) * 64
    n = n + 1
    out[n] = rest == 2 and string.char(math.floor(v / 65536)) or string.char(math.floor(v / 65536), math.floor(v / 256) % 256)
  end
  return table.concat(out)
end

local function be16(s, i)
  return s:byte(i) * 256 + s:byte(i + 1)
end

local function be32(s, i)
  return ((s:byte(i) * 256 + s:byte(i + 1)) * 256 + s:byte(i + 2)) * 256 + s:byte(i + 3)
end

-- Width and height of a PNG or JPEG image, or nil.
---@param data string the image's bytes
---@return integer|nil, integer|nil
function M.size(data)
  if data:sub(1, 8) == '\137PNG\r\n\26\n' and #data >= 24 and data:sub(13, 16) == 'IHDR' then
    return be32(data, 17), be32(data, 21)
  end
  if data:sub(1, 2) == '\255\216' then -- JPEG: find the start-of-frame segment
    local i = 3
    while i + 9 <= #data do
      if data:byte(i) ~= 0xFF then
        return nil
      end
      local marker = data:byte(i + 1)
      if marker >= 0xC0 and marker <= 0xCF and marker ~= 0xC4 and marker ~= 0xC8 and marker ~= 0xCC then
        return be16(data, i + 7), be16(data, i + 5)
      end
      i = i + 2 + be16(data, i + 2)
    end
  end
  return nil
end

local EXT = { ['image/png'] = 'png', ['image/jpeg'] = 'jpg' }

-- The folder this Neovim writes images to.
function M.dir()
  local cfg = require('subcell.config').get().images or {}
  return cfg.dir or (vim.fn.stdpath('cache') .. '/subcell/images-' .. vim.fn.getpid())
end

local seq = 0
local cleanup_set = false

local function write(path, data)
  local file = io.open(path, 'wb')
  if not file then
    return false
  end
  file:write(data)
  file:close()
  return true
end

-- A file name from the buffer's name, the execution count and a number, or
-- the display id (an updated display rewrites its file).
local function file_name(run, display_id, ext)
  local base = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(run.buf), ':t:r')
  base = (base ~= '' and base or 'buffer'):gsub('[^%w_.-]', '_')
  if display_id then
    return string.format('%s-display-%s.%s', base, tostring(display_id):gsub('[^%w_.-]', '_'), ext)
  end
  seq = seq + 1
  return string.format('%s-%s-%d.%s', base, tostring(run.count or 0), seq, ext)
end

-- Writes the image of a MIME bundle to a file and returns the line shown
-- for it ("figure 640×480: /path.png") and the path; nil when the bundle
-- has no image.
---@param bundle table|nil
---@param run subcell.Run
---@param display_id? string
---@return string|nil text, string|nil path
function M.describe(bundle, run, display_id)
  if type(bundle) ~= 'table' then
    return nil
  end
  for _, mime in ipairs({ 'image/png', 'image/jpeg' }) do
    local b64 = bundle[mime]
    if type(b64) == 'string' then
      local data = M.base64_decode(b64)
      if not data then
        return string.format('<%s: not valid base64>', mime)
      end
      local dir = M.dir()
      vim.fn.mkdir(dir, 'p')
      if not cleanup_set and not require('subcell.config').get().images.dir then
        cleanup_set = true
        api.nvim_create_autocmd('VimLeavePre', {
          group = api.nvim_create_augroup('subcell_images', { clear = true }),
          callback = function()
            vim.fn.delete(M.dir(), 'rf')
          end,
        })
      end
      local path = dir .. '/' .. file_name(run, display_id, EXT[mime])
      if not write(path, data) then
        return string.format('<%s: could not write %s>', mime, path), nil
      end
      local w, h = M.size(data)
      local size = w and string.format(' %d×%d', w, h) or ''
      run.images = run.images or {}
      if run.images[#run.images] ~= path then -- an updated display keeps its file
        table.insert(run.images, path)
      end
      return string.format('figure%s: %s', size, vim.fn.fnamemodify(path, ':~')), path
    end
  end
  return nil
end

-- image.nvim (https://github.com/3rd/image.nvim), when installed and
-- images.render is on: draws a run's images below its output. Best effort:
-- any error turns it off for the session, with one message.
local broken = false

---@param run subcell.Run
---@param row integer 0-based row the run's output is under
function M.render(run, row)
  local cfg = require('subcell.config').get().images or {}
  if broken or not cfg.render or not run.images or #run.images == 0 then
    return
  end
  local ok, image = pcall(require, 'image')
  if not ok or type(image) ~= 'table' or type(image.from_file) ~= 'function' then
    return
  end
  local win = vim.fn.bufwinid(run.buf)
  if win == -1 then
    return
  end
  local drawn, err = pcall(function()
    for _, old in ipairs(run.drawn_images or {}) do
      old:clear()
    end
    run.drawn_images = {}
    local path = run.images[#run.images] -- the latest figure of the cell
    local img = image.from_file(path, { window = win, buffer = run.buf, with_virtual_padding = true, inline = true, x = 0, y = row + 1 })
    if img then
      img:render()
      table.insert(run.drawn_images, img)
    end
  end)
  if not drawn then
    broken = true
    vim.notify('subcell: image.nvim could not draw a figure (' .. tostring(err) .. '); figures stay file paths', vim.log.levels.WARN)
  end
end

-- Clears what image.nvim drew for a run.
---@param run subcell.Run
function M.clear(run)
  for _, img in ipairs(run.drawn_images or {}) do
    pcall(img.clear, img)
  end
  run.drawn_images = nil
end

return M
