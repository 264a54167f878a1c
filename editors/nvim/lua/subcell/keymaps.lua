-- Optional key mappings (off by default): `setup{ keymaps = true }` maps the
-- defaults in Python buffers; a table maps your own keys (false skips one).
-- `setup{ omnifunc = true }` sets 'omnifunc' in Python buffers the same way.
local M = {}

local ACTIONS = {
  run = { 'n', '<cmd>SubcellRun<cr>', 'Run cell' },
  run_and_advance = { 'n', '<cmd>SubcellRunAndAdvance<cr>', 'Run cell and advance' },
  run_above = { 'n', '<cmd>SubcellRunAbove<cr>', 'Run cells above' },
  run_all = { 'n', '<cmd>SubcellRunAll<cr>', 'Run all cells' },
  run_selection = { 'x', ':SubcellRunSelection<cr>', 'Run selection' },
  reset = { 'n', '<cmd>SubcellReset<cr>', 'Reset session' },
  interrupt = { 'n', '<cmd>SubcellInterrupt<cr>', 'Interrupt' },
  output = { 'n', '<cmd>SubcellOutput<cr>', 'Show cell output' },
  inspect = { 'n', '<cmd>SubcellInspect<cr>', 'Inspect the name under the cursor' },
  variables = { 'n', '<cmd>SubcellVariables<cr>', 'Show the variables' },
}

local OMNIFUNC = "v:lua.require'subcell'.omnifunc"

local function map_buffer(buf, keys)
  for name, lhs in pairs(keys) do
    local action = ACTIONS[name]
    if action and lhs then
      vim.keymap.set(action[1], lhs, action[2], { buffer = buf, silent = true, desc = 'subcell: ' .. action[3] })
    end
  end
end

---@param setting boolean|subcell.Keymaps
---@param omnifunc? boolean
function M.apply(setting, omnifunc)
  local group = vim.api.nvim_create_augroup('subcell_keymaps', { clear = true })
  if not setting and not omnifunc then
    return
  end
  local keys = {}
  if setting then
    keys = type(setting) == 'table' and setting or vim.deepcopy(require('subcell.config').default_keymaps)
  end
  local function apply_buffer(buf)
    map_buffer(buf, keys)
    if omnifunc then
      vim.bo[buf].omnifunc = OMNIFUNC
    end
  end
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'python',
    callback = function(ev)
      apply_buffer(ev.buf)
    end,
  })
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == 'python' then
      apply_buffer(buf)
    end
  end
end

return M
