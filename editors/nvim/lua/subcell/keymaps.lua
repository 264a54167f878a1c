-- Optional key mappings (off by default): `setup{ keymaps = true }` maps the
-- defaults in Python buffers; a table maps your own keys (false skips one).
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
}

local function map_buffer(buf, keys)
  for name, lhs in pairs(keys) do
    local action = ACTIONS[name]
    if action and lhs then
      vim.keymap.set(action[1], lhs, action[2], { buffer = buf, silent = true, desc = 'subcell: ' .. action[3] })
    end
  end
end

---@param setting boolean|subcell.Keymaps
function M.apply(setting)
  local group = vim.api.nvim_create_augroup('subcell_keymaps', { clear = true })
  if not setting then
    return
  end
  local keys = vim.deepcopy(require('subcell.config').default_keymaps)
  if type(setting) == 'table' then
    keys = setting
  end
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'python',
    callback = function(ev)
      map_buffer(ev.buf, keys)
    end,
  })
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == 'python' then
      map_buffer(buf, keys)
    end
  end
end

return M
