-- What the windows show: output under the last line scrolls into view, and
-- the :SubcellOutput window is named after the run it shows.
local t = require('helpers')
local subcell = require('subcell')
local api = vim.api

-- A buffer taller than the window whose last cell prints 8 lines.
local function long_notebook()
  local lines = { '# %% filler' }
  for i = 1, 40 do
    lines[#lines + 1] = string.format('v%d = %d', i, i)
  end
  vim.list_extend(lines, { '', '# %% last', 'for i in range(8):', '    print("row", i)' })
  return t.scratch(lines), #lines
end

-- Whether the last line and the whole block under it fit in the window.
local function end_in_view(buf, last)
  local block = #t.virt_lines(buf, last - 1)
  local lines = last - vim.fn.line('w0') + 1
  return lines + block <= api.nvim_win_get_height(0), string.format('%d lines + %d virtual lines in %d rows', lines, block, api.nvim_win_get_height(0))
end

t.test('output under the last line scrolls into view', function()
  local buf, last = long_notebook()
  vim.cmd('normal! G')
  t.wait_run(subcell.run_cell())
  t.eq(9, #t.virt_lines(buf, last - 1), 'block: 8 lines and the status')
  local fits, how = end_in_view(buf, last)
  t.truthy(fits, 'the block fits: ' .. how)
  t.eq(last, vim.fn.line('.'), 'cursor stays on the last line')
  t.truthy(vim.fn.line('w0') < last - 1, 'the lines above the block stay in view')
end)

t.test('moving onto the last line brings its output into view', function()
  local buf, last = long_notebook()
  vim.cmd('normal! G')
  t.wait_run(subcell.run_cell())
  vim.cmd('normal! gg')
  vim.cmd('normal! G')
  vim.cmd('doautocmd CursorMoved') -- headless: no main loop between commands
  local fits, how = end_in_view(buf, last)
  t.truthy(fits, 'the block fits: ' .. how)
end)

t.test(':SubcellOutput is named after the cell number it shows, also after a re-run', function()
  local buf = t.scratch({ '# %%', 'x = 1', '# %%', 'x + 1' }, 'named.py')
  t.run_at(buf, '^x = 1')
  t.run_at(buf, '^x %+ 1')
  subcell.show_output()
  local view = t.truthy(require('subcell.view').current(), 'output window')
  local function head()
    return api.nvim_buf_get_lines(view.buf, 0, 1, false)[1]
  end
  t.contains(head(), '· [2] ·')
  t.eq('subcell://output/named.py[2]', api.nvim_buf_get_name(view.buf), 'name')
  vim.cmd('wincmd p')
  t.run_at(buf, '^x %+ 1') -- the window follows the cell to its next run
  t.contains(head(), '· [3] ·')
  t.eq('subcell://output/named.py[3]', api.nvim_buf_get_name(view.buf), 'name after the re-run')
  for _, b in ipairs(api.nvim_list_bufs()) do
    t.truthy(api.nvim_buf_get_name(b) ~= 'subcell://output/named.py[2]', 'no buffer left with the old name')
  end
end)
