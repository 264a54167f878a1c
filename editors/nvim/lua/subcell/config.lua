-- Defaults and the merged user configuration. Pure data: no side effects, so
-- every module can read `require('subcell.config').get()` at any time.
local M = {}

---@class subcell.OutputConfig
---@field max_lines integer   output lines drawn under a cell; the rest is in :SubcellOutput
---@field max_width integer   characters per drawn line; longer lines are cut with a marker
---@field scrollback integer  output lines kept per cell (like a terminal's scrollback)
---@field max_line_bytes integer bytes kept of one line; the rest is counted, not stored
---@field throttle_ms integer how often streaming output is redrawn

---@class subcell.Keymaps
---@field run? string|false
---@field run_and_advance? string|false
---@field run_above? string|false
---@field run_all? string|false
---@field run_selection? string|false  (visual mode)
---@field reset? string|false
---@field interrupt? string|false
---@field output? string|false

---@class subcell.Config
---@field cmd string                 the subcell binary: a name on PATH or a path
---@field args string[]              arguments after the binary, e.g. { 'serve', '--pool-size', '2' }
---@field init_options table         `initializationOptions` for `initialize` (poolSize, prelude)
---@field keymaps boolean|subcell.Keymaps  false: none; true: the defaults; a table: your own (false skips one)
---@field output subcell.OutputConfig
---@field diagnostics boolean        report Python errors through vim.diagnostic
---@field restart_limit integer      restarts allowed within `restart_window_ms` before giving up
---@field restart_window_ms integer
---@field output_split string        Ex command that opens the :SubcellOutput window

---@type subcell.Config
M.defaults = {
  cmd = 'subcell',
  args = { 'serve' },
  init_options = {},
  keymaps = false,
  output = {
    max_lines = 10,
    max_width = 120,
    scrollback = 10000,
    max_line_bytes = 1048576,
    throttle_ms = 40,
  },
  diagnostics = true,
  restart_limit = 3,
  restart_window_ms = 60000,
  output_split = 'botright 12split',
}

---@type subcell.Keymaps
M.default_keymaps = {
  run = '<localleader>rr',
  run_and_advance = '<localleader>rn',
  run_above = '<localleader>rk',
  run_all = '<localleader>ra',
  run_selection = '<localleader>r',
  reset = '<localleader>rz',
  interrupt = '<localleader>ri',
  output = '<localleader>ro',
}

local current = vim.deepcopy(M.defaults)

---@param opts? table
function M.set(opts)
  current = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  -- An environment override lets tests and the capture script pick a binary
  -- without touching the user's setup{}.
  if not (opts and opts.cmd) and vim.env.SUBCELL_BINARY and vim.env.SUBCELL_BINARY ~= '' then
    current.cmd = vim.env.SUBCELL_BINARY
  end
  if current.cmd:sub(1, 1) == '~' then
    current.cmd = vim.fn.expand(current.cmd) -- spawn does not expand ~
  end
end

---@return subcell.Config
function M.get()
  return current
end

M.set()

return M
