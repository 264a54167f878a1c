-- Pure-Lua pieces, no server: the terminal model and the cell parser.
local t = require('helpers')
local output = require('subcell.output')
local cells = require('subcell.cells')

local function term(...)
  local tm = output.new({ scrollback = 100 })
  for _, chunk in ipairs({ ... }) do
    tm:write(chunk)
  end
  return (tm:all()), tm
end

t.test('carriage return overwrites the line, like a terminal', function()
  t.eq({ 'Xbc' }, term('abc\rX'), 'overwrite keeps the tail')
  t.eq({ '3/3' }, term('1/3', '\r2/3', '\r3/3'), 'chunks')
  t.eq({ 'done', 'next' }, term('50%\rdone\r\nnext'), 'CRLF')
  t.eq({ 'héllo wörld' }, term('hello world\rhé', '\rhéllo wö'), 'UTF-8 overwrite')
end)

t.test('backspace, tabs and other control characters', function()
  t.eq({ 'abd' }, term('abc\bd'), 'backspace')
  t.eq({ 'a       b' }, term('a\tb'), 'tab')
  t.eq({ 'ab' }, term('a\0\7b'), 'NUL and BEL dropped')
end)

t.test('ANSI sequences are removed, also when split across chunks', function()
  t.eq({ 'red plain' }, term('\27[31mred\27[0m plain'), 'SGR')
  t.eq({ 'ab' }, term('a\27[1;3', '1mb'), 'split CSI')
  t.eq({ 'ab' }, term('a\27', '[0mb'), 'split after ESC')
  t.eq({ 'title' }, term('\27]0;window\7title'), 'OSC')
  t.eq({ 'x' }, term('\27[2K\27[1Gx'), 'cursor movement codes')
end)

t.test('scrollback keeps the last lines and counts the rest', function()
  local tm = output.new({ scrollback = 3 })
  tm:write('1\n2\n3\n4\n5\n')
  t.eq({ '3', '4', '5' }, (tm:all()), 'kept')
  t.eq(2, tm.dropped, 'dropped')
  local lines, _, hidden = tm:tail(2)
  t.eq({ '4', '5' }, lines, 'tail')
  t.eq(1, hidden, 'hidden before the tail')
end)

t.test('display blocks start on a line of their own', function()
  local tm = output.new()
  tm:write('partial')
  tm:block('Money(1.00)\n', 'display')
  tm:write('after\n')
  t.eq({ 'partial', 'Money(1.00)', 'after' }, (tm:all()), 'lines')
end)

t.test('a display block with an id is replaced in place, whatever its height', function()
  local tm = output.new()
  tm:write('before\n')
  tm:block('0%', 'display', 'bar')
  tm:write('between\n')
  tm:block('other', 'display', 'x')
  tm:write('after')
  t.eq(true, tm:replace('bar', '50%', 'display'), 'replaced')
  t.eq({ 'before', '50%', 'between', 'other', 'after' }, (tm:all()), 'same height')
  tm:replace('bar', 'line 1\nline 2\nline 3', 'display')
  t.eq({ 'before', 'line 1', 'line 2', 'line 3', 'between', 'other', 'after' }, (tm:all()), 'taller')
  tm:replace('x', 'other, updated', 'display') -- a block after the one that grew
  tm:replace('bar', 'done', 'display')
  t.eq({ 'before', 'done', 'between', 'other, updated', 'after' }, (tm:all()), 'shorter, and the later block moved')
  t.eq(false, tm:replace('nope', 'x', 'display'), 'an unknown id adds nothing')
  tm:block('second copy', 'display', 'bar') -- the same id shown twice: both are updated
  tm:replace('bar', 'both', 'display')
  local lines = tm:all()
  t.eq({ 'both', 'both' }, { lines[2], lines[#lines] }, 'both copies')
end)

t.test('clear() empties the output; a block that left the scrollback is not replaced', function()
  local tm = output.new({ scrollback = 3 })
  tm:block('old', 'display', 'gone')
  tm:write('1\n2\n3\n')
  t.eq(false, tm:replace('gone', 'new', 'display'), 'scrolled out')
  t.eq({ '1', '2', '3' }, (tm:all()), 'nothing added')
  tm:write('partial')
  tm:clear()
  t.eq({}, (tm:all()), 'cleared')
  t.eq(0, tm.dropped, 'nothing counted as dropped')
  tm:write('fresh\n')
  t.eq({ 'fresh' }, (tm:all()), 'writes go on after a clear')
end)

t.test(':SubcellSessions lines: mode, pid, Python, child interpreters under their parent', function()
  local lines = require('subcell').format_sessions({
    { session = 's1', name = 'a.py', state = 'idle', cellsRun = 2, queuedCells = 0, isolation = 'process', pid = 4711,
      python = { version = '3.11.2', executable = '/usr/bin/python3' } },
    { session = 's3', state = 'idle', cellsRun = 0, queuedCells = 0, isolation = 'interpreter', pid = 42, parent = 's2' },
    { session = 's2', name = 'b.py', state = 'busy', cellsRun = 1, queuedCells = 1, isolation = 'interpreter', pid = 42 },
  })
  t.eq(3, #lines, 'lines')
  t.contains(lines[1], 's1  a.py')
  t.contains(lines[1], 'process     pid 4711')
  t.contains(lines[1], 'Python 3.11.2 /usr/bin/python3')
  t.contains(lines[2], 's2  b.py')
  t.eq('  s3', lines[3]:sub(1, 4), 'the child, indented under its parent')
end)

t.test('truncate counts characters, not bytes', function()
  t.eq({ 'héé', 2 }, { output.truncate('héééé', 3) }, 'cut')
  t.eq({ 'abc', 0 }, { output.truncate('abc', 3) }, 'fits')
end)

t.test('cells: markers, leading code, tags and code rows', function()
  local list = cells.parse({
    'import os', -- 0: leading code
    '', --
    '# %% First title', -- 2
    '', -- 3
    'x = 1', -- 4
    '', -- 5
    '#%% [markdown]', -- 6
    '# text', -- 7
    '  # %%   [reset] Again ', -- 8
    'y', -- 9
    '', -- 10
  })
  t.eq(4, #list, 'cells')
  t.eq({ nil, 0, 1, 0, 0, 'import os\n' }, {
    list[1].marker_row, list[1].start_row, list[1].end_row, list[1].code_row, list[1].last_row, list[1].code,
  }, 'leading cell')
  t.eq({ 2, 5, 4, 4, 'x = 1\n', 'First title' }, {
    list[2].marker_row, list[2].end_row, list[2].code_row, list[2].last_row, list[2].code, list[2].title,
  }, 'first cell')
  t.truthy(list[3].markdown, 'markdown')
  t.eq(false, cells.is_runnable(list[3]), 'markdown runnable')
  t.eq({ true, 'Again', 9, 10 }, { list[4].reset, list[4].title, list[4].code_row, list[4].end_row }, 'reset cell')
  t.eq(list[2], cells.at(list, 5), 'cell at a blank row')
end)

t.test('cells: a buffer without markers is one cell; dedent keeps structure', function()
  local list = cells.parse({ 'a = 1', 'a' })
  t.eq(1, #list, 'cells')
  t.eq('a = 1\na\n', list[1].code, 'code')
  t.eq({ 'if x:', '    y', '', 'z' }, cells.dedent({ '  if x:', '      y', '', '  z' }), 'dedent')
end)

t.test('a line keeps at most max_line_bytes and counts the rest', function()
  local tm = output.new({ max_line_bytes = 10 })
  tm:write('0123456')
  tm:write('789abcdef')
  tm:write('ghij\nnext\n')
  local lines, _, _, cuts = tm:all()
  t.eq({ '0123456789', 'next' }, lines, 'lines')
  t.eq({ [1] = 10 }, cuts, 'characters not kept')
  local utf = output.new({ max_line_bytes = 4 })
  utf:write('aéé') -- 5 bytes: the second é does not fit whole
  lines, _, _, cuts = utf:all()
  t.eq({ 'aé' }, lines, 'cut on a character boundary')
  t.eq({ [1] = 1 }, cuts, 'unfinished line')
end)

t.test('the help file has no duplicate or broken tags', function()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, 'p')
  vim.fn.writefile(vim.fn.readfile(t.root .. '/doc/subcell.txt'), dir .. '/subcell.txt')
  vim.cmd('helptags ' .. vim.fn.fnameescape(dir)) -- errors on duplicates
  local tags = table.concat(vim.fn.readfile(dir .. '/tags'), '\n')
  for _, tag in ipairs({ 'subcell', ':SubcellRun', ':SubcellRunSelection', 'subcell.setup', 'subcell-keymaps' }) do
    t.contains(tags, tag .. '\t', 'tag')
  end
  -- Every |link| points at a tag of this file or of Neovim's own help.
  local known = {}
  for _, file in ipairs({ dir .. '/tags', vim.env.VIMRUNTIME .. '/doc/tags' }) do
    for _, line in ipairs(vim.fn.readfile(file)) do
      known[line:match('^[^\t]+')] = true
    end
  end
  for link in table.concat(vim.fn.readfile(dir .. '/subcell.txt'), '\n'):gmatch('|([^|%s]+)|') do
    t.truthy(known[link], 'link |' .. link .. '|')
  end
end)

t.test('doc/tags is shipped up to date, so no install writes into the checkout', function()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, 'p')
  vim.fn.writefile(vim.fn.readfile(t.root .. '/doc/subcell.txt'), dir .. '/subcell.txt')
  vim.cmd('helptags ' .. vim.fn.fnameescape(dir))
  local regenerate = ' (regenerate it: cd editors/nvim && nvim --headless -u NONE -c "helptags doc" -c q)'
  t.eq(1, vim.fn.filereadable(t.root .. '/doc/tags'), 'doc/tags in the checkout' .. regenerate)
  t.eq(vim.fn.readfile(dir .. '/tags', 'b'), vim.fn.readfile(t.root .. '/doc/tags', 'b'), 'doc/tags' .. regenerate)
  vim.cmd('help subcell-keymaps')
  t.eq('subcell.txt', vim.fn.expand('%:t'), ':help finds the shipped tags')
  vim.cmd('close')
  local readme = table.concat(vim.fn.readfile(t.root .. '/README.md'), '\n')
  local packpath = t.truthy(readme:match('%*%*Plain `packpath`%*%*.-```sh\n(.-)```'), 'the packpath install in README.md')
  t.not_contains(packpath, 'helptags', 'the packpath install')
end)
