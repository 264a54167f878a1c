-- Edits after a run: outputs and diagnostics stay with the text they belong
-- to, and go away with it (deleted lines, `:e!`).
local t = require('helpers')

local CELLS = {
  '# %% one', -- line 1
  'x = 1',
  '',
  '# %% bad', -- line 4
  '1/0',
  '',
  '# %% three', -- line 7
  'y = 2',
}

-- Headless Neovim has no main loop between commands to fire TextChanged.
local function changed()
  vim.cmd('doautocmd TextChanged')
end

t.test('deleting a cell (:4,6d) removes its output and its diagnostic', function()
  local buf = t.scratch(CELLS)
  t.run_at(buf, '^x = 1')
  local run = t.run_at(buf, '^1/0')
  t.eq('error', run.state, 'state')
  t.eq({ 1, 4 }, t.output_rows(buf), 'outputs before')
  t.eq(1, #t.diagnostics(buf), 'diagnostics before')
  vim.cmd('silent 4,6d')
  changed()
  t.eq({ 1 }, t.output_rows(buf), 'outputs after: only the first cell')
  t.not_contains(t.virt_text(buf, t.row_of(buf, '^# %%%% three')), 'ZeroDivisionError')
  t.eq({}, t.diagnostics(buf), 'diagnostics after')
end)

t.test('deleting the calling cell removes the error it put in the defining cell', function()
  local buf = t.open('errors.py')
  t.run_at(buf, '^def average')
  t.run_at(buf, '^average%(%[%]%)')
  t.eq(2, #t.diagnostics(buf), 'diagnostics before')
  vim.cmd('silent 6,9d') -- "# %% call" up to the blank line after it
  changed()
  t.eq({}, t.diagnostics(buf), 'diagnostics after')
  t.eq({ t.row_of(buf, 'return sum') }, t.output_rows(buf), 'only the defining cell keeps output')
end)

t.test('deleting the last line of a cell keeps its output on the cell', function()
  local buf = t.scratch({ '# %%', 'a = 1', 'a + 1', '', '# %%', 'b = 2' })
  t.run_at(buf, '^a %+ 1')
  vim.cmd('silent 3d')
  changed()
  t.eq({ t.row_of(buf, '^a = 1') }, t.output_rows(buf), 'output under the remaining line')
  t.contains(t.virt_text(buf, t.row_of(buf, '^a = 1')), 'Out[1]: 2')
end)

t.test(':e! drops what belonged to unsaved cells and keeps the rest', function()
  local buf = t.scratch(CELLS)
  t.run_at(buf, '^x = 1')
  vim.api.nvim_buf_set_lines(buf, -1, -1, false, { '', '# %% unsaved', 'print("hi")', 'len(1)', '' })
  local run = t.run_at(buf, '^len%(1%)')
  t.eq('error', run.state, 'state')
  vim.cmd('silent edit!')
  changed()
  t.eq(#CELLS, vim.api.nvim_buf_line_count(buf), 'the file as it was')
  t.eq({}, t.diagnostics(buf), 'no diagnostic left at the end of the buffer')
  t.eq({ 1 }, t.output_rows(buf), 'the saved cell keeps its output')
  t.contains(t.virt_text(buf, 1), '[1]')
end)
