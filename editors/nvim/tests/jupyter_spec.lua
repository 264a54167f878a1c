-- What Jupyter front ends do (issue 10): input() and pdb answered from the
-- editor, displays that update in place and clear_output, the variables
-- window, inspect and completion (also while a cell runs), complete error
-- chains, and late output from threads.
local t = require('helpers')
local subcell = require('subcell')
local state = require('subcell.state')
local api = vim.api
local sev = vim.diagnostic.severity

-- Skips the test unless the server sends cell/input (an input() that gets
-- an answer); the probe cell runs in `buf`'s session.
local function require_input(buf)
  api.nvim_buf_set_lines(buf, -1, -1, false, { '# %% probe', 'input("probe: ")' })
  t.type_answers({ 'yes' })
  local run = t.run_at(buf, 'input%("probe: "%)')
  t.stop_typing()
  if run.state ~= 'done' then
    t.skip('the server does not ask for input yet (cell/input): ' .. vim.inspect(run.error and run.error.message or run.failure))
  end
  local last = api.nvim_buf_line_count(buf)
  api.nvim_buf_set_lines(buf, last - 2, last, false, {})
end

-- Skips the test unless display(..., display_id=...) and clear_output exist.
local function require_displays(buf)
  api.nvim_buf_set_lines(buf, -1, -1, false, { '# %% probe', 'display("p", display_id="probe"); clear_output; update_display' })
  local run = t.run_at(buf, 'display_id="probe"')
  local last = api.nvim_buf_line_count(buf)
  api.nvim_buf_set_lines(buf, last - 2, last, false, {})
  if run.state ~= 'done' then
    t.skip('the server has no updatable displays yet: ' .. vim.inspect(run.error and run.error.message))
  end
end

-- The output lines under `row` (without the status line).
local function output_lines(buf, row)
  local lines = t.virt_lines(buf, row)
  table.remove(lines)
  return lines
end

-- Watches the lines under `row` while `run` runs; returns the largest
-- number of lines matching `pattern` seen at any moment.
local function most_matching(buf, row, run, pattern)
  local most = 0
  t.wait(function()
    local n = 0
    for _, line in ipairs(t.virt_lines(buf, row)) do
      if line:find(pattern) then
        n = n + 1
      end
    end
    most = math.max(most, n)
    return run.state ~= 'queued' and run.state ~= 'running'
  end, 'the run to finish')
  return most
end

-- ── B1: cell/input ────────────────────────────────────────────────────────

t.test('input() is answered on the command line and echoed after its prompt', function()
  local buf = t.scratch({ '# %%', 'name = input("Name: ")', 'print("hello", name)' }, 'ask.py')
  require_input(buf)
  local seen = t.type_answers({ 'Ada' })
  local run = t.run_at(buf, 'input%(')
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error))
  t.eq('Name: ', seen[1] and seen[1].prompt, 'the prompt shown')
  -- vim.lsp.rpc does not hand the request id to the handler; rpc.lua finds
  -- it, so that $/cancelRequest can name the prompt to close.
  t.truthy(seen[1].id ~= nil, 'the request id is known')
  local lines = output_lines(buf, t.row_of(buf, '^print'))
  t.eq({ '│ Name: Ada', '│ hello Ada' }, lines, 'output')
end)

t.test('getpass() asks without echoing the answer', function()
  local buf = t.scratch({ '# %%', 'import getpass', 'pw = getpass.getpass("Password: ")', 'print(len(pw))' }, 'secret.py')
  require_input(buf)
  local seen = t.type_answers({ 'hunter2' })
  local run = t.run_at(buf, 'getpass%(')
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error))
  t.eq(true, seen[1] and seen[1].password, 'a password prompt')
  local text = t.virt_text(buf, t.row_of(buf, '^print'))
  t.contains(text, '7')
  t.not_contains(text, 'hunter2')
end)

t.test('<Esc> at the prompt cancels: the cell gets KeyboardInterrupt', function()
  local buf = t.scratch({ '# %%', 'x = input("value? ")' }, 'esc.py')
  require_input(buf)
  t.type_answers({ false })
  local run = t.run_at(buf, 'input%(')
  t.eq('KeyboardInterrupt', run.error and run.error.type, 'error')
  t.eq(nil, require('subcell.input').active(), 'no prompt left open')
end)

t.test('Ctrl-D on an empty prompt ends the input: EOFError, as in a terminal', function()
  local buf = t.scratch({ '# %%', 'try:', '    input("more? ")', 'except EOFError:', '    print("end of input")' }, 'eof.py')
  require_input(buf)
  t.type_answers({ true })
  local run = t.run_at(buf, 'input%(')
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error))
  t.contains(t.virt_text(buf, t.row_of(buf, 'end of input')), 'end of input')
end)

t.test('interrupting a cell that waits for input closes its prompt ($/cancelRequest)', function()
  local buf = t.scratch({ '# %%', 'x = input("never answered: ")' }, 'interrupted.py')
  require_input(buf)
  t.cursor_to(buf, 'input%(')
  -- While the prompt is open the editor is on the command line; a timer
  -- interrupts the cell, as :SubcellInterrupt from another window would.
  local timer = vim.loop.new_timer()
  timer:start(50, 50, vim.schedule_wrap(function()
    if require('subcell.input').active() then
      timer:stop()
      require('subcell.session').interrupt(buf, function() end)
    end
  end))
  local run = t.wait_run(subcell.run_cell())
  timer:close()
  t.eq('KeyboardInterrupt', run.error and run.error.type, 'error')
  t.eq(nil, require('subcell.input').active(), 'the prompt was closed')
end)

t.test('pdb: breakpoint() takes p x, n and c from the editor', function()
  local buf = t.scratch({ '# %%', 'x = 5', 'breakpoint()', 'y = x + 1', 'print("y is", y)' }, 'debug.py')
  require_input(buf)
  local seen = t.type_answers({ 'p x', 'n', 'n', 'p y', 'c' })
  local run = t.run_at(buf, '^breakpoint')
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error))
  t.eq(5, #seen, 'prompts answered')
  t.contains(seen[1].prompt, '(Pdb)')
  local all = table.concat(run.term:all(), '\n')
  t.contains(all, '(Pdb) p x\n5')
  t.contains(all, '(Pdb) p y\n6')
  t.contains(all, 'y is 6')
end)

t.test('vim.ui.input answers later where the handler can wait (0.10+: a coroutine)', function()
  -- Neovim 0.7 calls server_request outside a coroutine; 0.10+ inside one.
  -- Drive the handler the way 0.10+ does, with a vim.ui.input that answers
  -- from a timer like a floating-window input plugin.
  local saved = vim.ui.input
  local asked
  vim.ui.input = function(opts, on_confirm)
    asked = opts.prompt
    vim.defer_fn(function()
      on_confirm('from the float')
    end, 50)
  end
  local input = require('subcell.input')
  local result, err, finished
  coroutine.wrap(function()
    result, err = input.answer({ session = 's0', cell = 'none', prompt = 'Q? ', password = false }, 7)
    finished = true
  end)()
  local yielded = not finished
  t.wait(function()
    return finished
  end, 'the answer')
  -- A second prompt, cancelled by the server before it is answered.
  vim.ui.input = function() end
  local r2, e2, done2
  coroutine.wrap(function()
    r2, e2 = input.answer({ session = 's0', cell = 'none', prompt = 'never', password = false }, 8)
    done2 = true
  end)()
  vim.ui.input = saved
  t.truthy(yielded, 'the handler waited instead of blocking')
  t.eq('Q? ', asked, 'prompt')
  t.eq({ text = 'from the float' }, result, 'result')
  t.eq(nil, err, 'no error')
  t.eq(false, done2 == true, 'the second prompt waits')
  input.cancel_request(8) -- what $/cancelRequest {id = 8} does
  t.wait(function()
    return done2
  end, 'the cancelled prompt to answer')
  t.eq(nil, r2, 'no result')
  t.eq(-32800, e2 and e2.code, 'RequestCancelled')
end)

-- ── B2: displays that update, clear_output ────────────────────────────────

t.test('display(..., display_id=True) + update() shows one live line', function()
  local buf = t.scratch({
    '# %%',
    'import time',
    'h = display("progress 0%", display_id=True)',
    'for i in range(1, 6):',
    '    time.sleep(0.1)',
    '    h.update(f"progress {i * 20}%")',
    'print("done")',
  }, 'bar.py')
  require_displays(buf)
  t.cursor_to(buf, 'display_id=True')
  local run = subcell.run_cell()
  local row = t.row_of(buf, '^print%("done"%)')
  local most = most_matching(buf, row, run, 'progress')
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error))
  t.eq(1, most, 'never more than one progress line')
  t.eq({ "│ 'progress 100%'", '│ done' }, output_lines(buf, row), 'final output (the repr of a str, as in Jupyter)')
end)

t.test('clear_output(wait=True) in a loop shows one line that changes', function()
  local buf = t.scratch({
    '# %%',
    'import time',
    'for i in range(6):',
    '    clear_output(wait=True)',
    '    print(f"step {i} of 5")',
    '    time.sleep(0.08)',
  }, 'steps.py')
  require_displays(buf)
  t.cursor_to(buf, 'clear_output')
  local run = subcell.run_cell()
  local row = t.row_of(buf, 'time.sleep%(0.08%)')
  local most = most_matching(buf, row, run, 'step %d')
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error))
  t.eq(1, most, 'never a pile of steps')
  t.eq({ '│ step 5 of 5' }, output_lines(buf, row), 'final output')
  -- clear_output() without wait clears at once.
  api.nvim_buf_set_lines(buf, -1, -1, false, { '# %%', 'print("gone"); clear_output(); print("kept")' })
  t.run_at(buf, '"gone"')
  t.eq({ '│ kept' }, output_lines(buf, t.row_of(buf, '"gone"')), 'cleared at once')
end)

t.test('update_display from another cell replaces the block where it was shown', function()
  local buf = t.scratch({
    '# %% show',
    'display("v1", display_id="status"); print("after")',
    '# %% update',
    'update_display("v2 (updated)", display_id="status")',
  }, 'update.py')
  require_displays(buf)
  t.run_at(buf, 'print%("after"%)')
  local shown = t.row_of(buf, 'print%("after"%)')
  t.eq({ "│ 'v1'", '│ after' }, output_lines(buf, shown), 'before')
  t.run_at(buf, '^update_display')
  t.wait(function() -- redraws of other cells are throttled
    return t.virt_text(buf, shown):find('updated', 1, true)
  end, 'the update')
  t.eq({ "│ 'v2 (updated)'", '│ after' }, output_lines(buf, shown), 'replaced in the first cell')
  t.eq({}, output_lines(buf, t.row_of(buf, '^update_display')), 'nothing added to the updating cell')
end)

-- ── B3: variables, inspect, completion ────────────────────────────────────

local function view_lines()
  local view = t.truthy(require('subcell.variables').current(), 'variables window')
  return api.nvim_buf_get_lines(view.buf, 0, -1, false)
end

-- The variables window's row for `name`, split into its columns.
local function variable_row(name)
  for _, line in ipairs(view_lines()) do
    if line:match('^' .. name .. '%s') then
      return vim.split(vim.trim(line), '%s%s+')
    end
  end
  return nil
end

t.test(':SubcellVariables lists name, type, size and value, pages, and follows each cell', function()
  t.setup({ variables_page_size = 2 })
  local buf = t.scratch({ '# %%', 'a = 1', 'xs = list(range(1000))', 's = "hi"', '# %%', 'b = {"k": 2}' }, 'vars.py')
  t.require_method('session/variables', { session = 'none' })
  t.run_at(buf, '^a = 1')
  vim.cmd('SubcellVariables')
  t.wait(function()
    return variable_row('a')
  end, 'the first page')
  t.eq({ 'a', 'int', '1' }, variable_row('a'), 'a')
  t.eq({ 's', 'str', 'len 2', "'hi'" }, variable_row('s'), 's')
  t.eq(nil, variable_row('xs'), 'xs is on the next page')
  t.contains(view_lines()[1], '1–2 of 3')
  vim.cmd('normal ]]')
  t.wait(function()
    return variable_row('xs')
  end, 'the second page')
  t.eq({ 'xs', 'list', 'len 1000' }, { unpack(variable_row('xs'), 1, 3) }, 'xs')
  t.contains(view_lines()[1], '3–3 of 3')
  -- The window follows each cell of its buffer.
  vim.cmd('wincmd p')
  t.run_at(buf, '^b = ')
  t.wait(function()
    return view_lines()[1]:find('of 4', 1, true)
  end, 'a refresh after the cell')
end)

t.test(':SubcellInspect shows the name under the cursor in a floating window', function()
  local buf = t.scratch({ '# %%', 'def area(w, h=2):', '    "The area of a w by h rectangle."', '    return w * h', '# %%', 'area(3)' }, 'area.py')
  t.require_method('cell/inspect', { session = 'none', code = '' })
  t.run_at(buf, '^def area')
  t.cursor_to(buf, '^area%(3%)')
  vim.cmd('SubcellInspect')
  t.wait(function()
    return require('subcell.inspect').float()
  end, 'the floating window')
  local win = require('subcell.inspect').float()
  local lines = api.nvim_buf_get_lines(api.nvim_win_get_buf(win), 0, -1, false)
  t.eq('area: function', lines[1], 'name and type')
  t.eq('area(w, h=2)', lines[2], 'signature')
  t.contains(lines, 'The area of a w by h rectangle.')
  t.truthy(api.nvim_win_get_config(win).relative ~= '', 'floating')
  -- An expression as argument; a name that is not defined.
  vim.cmd('SubcellInspect nothing_here')
  t.wait(function()
    return t.notified('nothing_here is not defined')
  end, 'not defined')
end)

t.test('variables and inspect answer while a cell of the session runs', function()
  local buf = t.scratch({ '# %%', 'import json', 'total = 42', '# %%', 'import time', 'time.sleep(3)' }, 'busy.py')
  t.require_method('session/variables', { session = 'none' })
  t.run_at(buf, '^import json')
  t.cursor_to(buf, 'time.sleep')
  local run = subcell.run_cell()
  t.wait(function()
    return run.state == 'running'
  end, 'the sleep to start')
  local started = t.hrtime()
  vim.cmd('SubcellVariables')
  t.wait(function()
    return variable_row('total')
  end, 'variables while the cell runs')
  t.eq('running', run.state, 'still running when the variables came')
  vim.cmd('wincmd p')
  require('subcell').inspect('json.dumps')
  t.wait(function()
    return require('subcell.inspect').float()
  end, 'inspect while the cell runs')
  t.eq('running', run.state, 'still running when inspect answered')
  t.truthy((t.hrtime() - started) / 1e6 < 2500, 'both well within the 3 s sleep')
  local lines = api.nvim_buf_get_lines(api.nvim_win_get_buf(require('subcell.inspect').float()), 0, -1, false)
  t.contains(lines[1], 'json.dumps: function')
  t.wait_run(run, 10000)
end)

t.test('the omnifunc completes attributes of live objects (setup{ omnifunc = true })', function()
  t.setup({ omnifunc = true })
  local buf = t.scratch({ '# %%', 'import json', 'json.du' }, 'complete.py')
  t.run_at(buf, '^import json')
  t.eq("v:lua.require'subcell'.omnifunc", vim.bo[buf].omnifunc, 'omnifunc set')
  t.cursor_to(buf, '^json.du')
  local items
  local timer = vim.loop.new_timer()
  timer:start(20, 20, vim.schedule_wrap(function()
    local info = vim.fn.complete_info({ 'items', 'pum_visible' })
    if info.pum_visible == 1 then
      items = info.items
      timer:stop()
      api.nvim_feedkeys(api.nvim_replace_termcodes('<Esc>', true, false, true), 'n', false)
    end
  end))
  vim.defer_fn(function() -- never stay in Insert mode if no menu comes
    if not items then
      timer:stop()
      api.nvim_feedkeys(api.nvim_replace_termcodes('<Esc>', true, false, true), 'n', false)
    end
  end, 5000)
  api.nvim_feedkeys(api.nvim_replace_termcodes('A<C-x><C-o>', true, false, true), 'x!', false)
  timer:close()
  local words = vim.tbl_map(function(item)
    return item.word
  end, t.truthy(items, 'a completion menu'))
  t.truthy(vim.tbl_contains(words, 'json.dumps'), 'json.dumps in ' .. vim.inspect(words))
  t.truthy(vim.tbl_contains(words, 'json.dump'), 'json.dump')
end)

-- ── B4: complete errors ───────────────────────────────────────────────────

t.test('a chained error: the diagnostic at the outer raise, a hint at the cause, the chain in the view', function()
  local buf = t.scratch({
    '# %%',
    'def lookup(d):',
    '    return d["missing"]',
    '# %%',
    'try:',
    '    lookup({})',
    'except KeyError as e:',
    '    raise ValueError("no such setting") from e',
  }, 'chain.py')
  t.run_at(buf, '^def lookup')
  local run = t.run_at(buf, '^try:')
  t.eq('ValueError', run.error.type, 'outer error')
  if not run.error.chain then
    t.skip('the server sends no error chain yet')
  end
  local diags = t.diagnostics(buf)
  local by_row = {}
  for _, d in ipairs(diags) do
    by_row[d.lnum] = d
  end
  local outer = t.truthy(by_row[t.row_of(buf, 'raise ValueError')], 'a diagnostic at the raise')
  t.eq(sev.ERROR, outer.severity, 'severity')
  t.eq('ValueError: no such setting', outer.message, 'message')
  local cause = t.truthy(by_row[t.row_of(buf, 'return d%["missing"%]')], 'a hint where the cause was raised')
  t.eq(sev.HINT, cause.severity, 'cause severity')
  t.eq("KeyError: 'missing' (the direct cause of ValueError)", cause.message, 'cause message')
  t.contains(t.virt_text(buf, t.row_of(buf, 'raise ValueError')), "caused by KeyError: 'missing'")
  t.cursor_to(buf, '^try:')
  vim.cmd('SubcellOutput')
  local view = t.truthy(require('subcell.view').current(), 'output window')
  local lines = api.nvim_buf_get_lines(view.buf, 0, -1, false)
  t.contains(lines, 'KeyError')
  t.contains(lines, 'The above exception was the direct cause of the following exception:')
  t.contains(lines, 'in lookup  → chain.py:3', 'a frame of the cause, mapped to the buffer')
  t.contains(lines, 'in <module>  → chain.py:8', 'a frame of the outer error, mapped')
  vim.cmd('close')
end)

t.test('notes and exception groups show under the cell', function()
  local buf = t.scratch({
    '# %% notes',
    'e = ValueError("bad input")',
    'e.add_note("while reading config.toml")',
    'raise e',
    '# %% group',
    'raise ExceptionGroup("two problems", [ValueError("a"), TypeError("b")])',
  }, 'groups.py')
  local run = t.run_at(buf, '^raise e')
  if not run.error.notes then
    t.skip('the server sends no notes yet')
  end
  t.contains(t.virt_text(buf, t.row_of(buf, '^raise e')), 'note: while reading config.toml')
  run = t.run_at(buf, '^raise ExceptionGroup')
  t.eq(2, #(run.error.exceptions or {}), 'members')
  local text = t.virt_text(buf, t.row_of(buf, '^raise ExceptionGroup'))
  t.contains(text, 'ExceptionGroup: two problems (2 sub-exceptions)')
  t.contains(text, '├ ValueError: a')
  t.contains(text, '└ TypeError: b')
  t.cursor_to(buf, '^raise ExceptionGroup')
  vim.cmd('SubcellOutput')
  local lines = api.nvim_buf_get_lines(t.truthy(require('subcell.view').current(), 'window').buf, 0, -1, false)
  t.contains(lines, '→ groups.py:6', 'the group frame mapped to the buffer')
  vim.cmd('close')
end)

-- ── B5: late output ───────────────────────────────────────────────────────

t.test('output a thread writes after its cell finished goes under that cell', function()
  local buf = t.scratch({
    '# %% starts a thread',
    'import threading, time',
    'def later():',
    '    time.sleep(0.4)',
    '    print("late line")',
    'threading.Thread(target=later).start()',
    '"started"',
    '# %% another cell',
    '"other"',
  }, 'late.py')
  local run = t.run_at(buf, '^threading.Thread')
  t.eq('done', run.state, 'state')
  local row = t.row_of(buf, '^"started"')
  t.not_contains(t.virt_text(buf, row), 'late line')
  t.run_at(buf, '^"other"')
  t.wait(function()
    return t.virt_text(buf, row):find('late line', 1, true)
  end, 'the late line under the first cell')
  t.not_contains(t.virt_text(buf, t.row_of(buf, '^"other"')), 'late line')
end)

