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
---@field inspect? string|false
---@field variables? string|false

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
---@field variables_split string     Ex command that opens the :SubcellVariables window
---@field variables_page_size integer variables per page in :SubcellVariables (at most 1000)
---@field isolation 'interpreter'|'process'|'auto'|nil  where new sessions run (nil: the server's default)
---@field cell_timeout number|nil    seconds a cell may run before it is interrupted
---@field memory_limit_mb integer|nil memory limit of process sessions (process and auto only)
---@field python string|nil          Python of new sessions: an interpreter or an environment directory
---@field input boolean              answer input()/getpass()/pdb prompts (announces capabilities.input)
---@field omnifunc boolean           set 'omnifunc' in Python buffers to complete from the live session
---@field images subcell.ImagesConfig

---@class subcell.ImagesConfig
---@field dir string|nil   where image outputs are written (default: stdpath('cache')/subcell/images-<pid>)
---@field render boolean   draw them in place with image.nvim when it is installed

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
  variables_split = 'botright 12split',
  variables_page_size = 200,
  isolation = nil,
  cell_timeout = nil,
  memory_limit_mb = nil,
  python = nil,
  input = true,
  omnifunc = false,
  images = {
    dir = nil,
    render = true,
  },
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
  inspect = '<localleader>rh',
  variables = '<localleader>rv',
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
  if current.isolation ~= nil and not M.ISOLATION[current.isolation] then
    vim.notify(
      string.format("subcell: isolation = %q is not one of 'interpreter', 'process', 'auto'; using the server's default", tostring(current.isolation)),
      vim.log.levels.WARN
    )
    current.isolation = nil
  end
end

M.ISOLATION = { interpreter = true, process = true, auto = true }

---@return subcell.Config
function M.get()
  return current
end

M.set()

return M
