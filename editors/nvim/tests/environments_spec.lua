-- Environments and plots (issue 12): image outputs written to files whose
-- path shows under the cell, the Python a session runs (setup{ python },
-- $VIRTUAL_ENV, :SubcellPython), and what :checkhealth says about them.
local t = require('helpers')
local subcell = require('subcell')
local state = require('subcell.state')
local api = vim.api

-- A class whose _repr_png_ returns a valid 3×2 PNG, made with the stdlib.
local DOT = {
  'import struct, zlib',
  'class Dot:',
  '    def __repr__(self):',
  '        return "Dot()"',
  '    def _repr_png_(self):',
  '        def chunk(kind, data):',
  '            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))',
  '        raw = (b"\\x00" + b"\\xff\\x00\\x00" * 3) * 2',
  '        ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)',
  '        return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")',
}

local function read_bytes(path)
  local f = assert(io.open(path, 'rb'))
  local data = f:read('*a')
  f:close()
  return data
end

-- Whether the server runs sessions on another Python (issue 12): a session
-- opened with python = /usr/bin/python3 says it runs that Python.
local support = nil
local function python_support()
  if support ~= nil then
    return support
  end
  local done, result, err
  require('subcell.server').request('session/open', { python = '/usr/bin/python3', name = 'probe' }, function(e, r)
    done, err, result = true, e, r
  end)
  t.wait(function()
    return done
  end, 'session/open with python')
  if result then
    require('subcell.server').request('session/close', { session = result.session }, function() end)
  end
  -- Debian 12's /usr/bin/python3 is 3.11: a server that ignores `python`
  -- answers with its own 3.13 (or with no python at all).
  local py = result and result.python
  support = type(py) == 'table' and type(py.version) == 'string' and py.version:match('^3%.11') ~= nil
  if not support then
    t.python_probe = err and ('an error: ' .. err.message)
      or (type(py) == 'table' and ('a session on Python ' .. tostring(py.version)))
      or 'a session without a python field'
  end
  return support
end

t.test('a PNG value and a displayed PNG are written to files whose path shows under the cell', function()
  local lines = vim.list_extend({ '# %%' }, DOT)
  vim.list_extend(lines, { '# %%', 'display(Dot()); print("shown")', '# %%', 'Dot()' })
  local buf = t.scratch(lines, 'plots.py')
  t.run_at(buf, '^import struct')
  -- display(): a block in the output.
  local run = t.run_at(buf, '^display%(Dot')
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error))
  local row = t.row_of(buf, '^display%(Dot')
  local first = t.virt_lines(buf, row)[1]
  local shown = t.truthy(first:match('^│ figure 3×2: (.+%.png)$'), 'a figure line, got ' .. first)
  t.eq('│ shown', t.virt_lines(buf, row)[2], 'the output after it')
  local path = vim.fn.expand(shown)
  t.eq('\137PNG\r\n\26\n', read_bytes(path):sub(1, 8), 'a PNG file')
  local cache = vim.fn.stdpath('cache') .. '/subcell/'
  t.eq(cache, path:sub(1, #cache), 'under stdpath("cache")/subcell/')
  -- A value: Out[N].
  run = t.run_at(buf, '^Dot%(%)')
  local out = t.virt_lines(buf, t.row_of(buf, '^Dot%(%)'))[1]
  local value_path = t.truthy(out:match('^│ Out%[3%]: figure 3×2: (.+%.png)$'), 'an Out line with the figure, got ' .. out)
  t.truthy(vim.fn.filereadable(vim.fn.expand(value_path)) == 1, 'the value file exists')
  t.truthy(vim.fn.expand(value_path) ~= path, 'a file per figure')
  -- :SubcellOutput names the file too.
  t.cursor_to(buf, '^Dot%(%)')
  vim.cmd('SubcellOutput')
  local view = t.truthy(require('subcell.view').current(), 'output window')
  t.contains(api.nvim_buf_get_lines(view.buf, 0, -1, false), 'Out[3]: figure 3×2: ')
  vim.cmd('close')
  -- The folder goes when Neovim exits.
  api.nvim_exec_autocmds('VimLeavePre', { group = 'subcell_images' })
  t.eq(0, vim.fn.isdirectory(require('subcell.images').dir()), 'removed on exit')
end)

t.test('images: base64 and the sizes of PNG and JPEG headers (no server)', function()
  local images = require('subcell.images')
  t.eq('hello world', images.base64_decode('aGVsbG8gd29ybGQ='), 'padded')
  t.eq('hi', images.base64_decode('aGk='), 'two bytes')
  t.eq('abc', images.base64_decode('YW\nJj'), 'whitespace')
  t.eq(nil, images.base64_decode('!!!!'), 'not base64')
  local png = '\137PNG\r\n\26\n\0\0\0\13IHDR\0\0\2\128\0\0\1\224' .. string.rep('\0', 8)
  t.eq({ 640, 480 }, { images.size(png) }, 'PNG')
  local jpeg = '\255\216\255\224\0\4\0\0\255\192\0\17\8\0\120\0\160' .. string.rep('\0', 8)
  t.eq({ 160, 120 }, { images.size(jpeg) }, 'JPEG')
end)

t.test('a matplotlib figure on /usr/bin/python3 shows as a file', function()
  if not python_support() then
    t.skip('the server cannot run /usr/bin/python3 sessions yet (issue 12): session/open { python = "/usr/bin/python3" } answered ' .. t.python_probe)
  end
  if vim.fn.system({ '/usr/bin/python3', '-c', 'import matplotlib' }) ~= '' or vim.v.shell_error ~= 0 then
    t.skip('matplotlib is not installed for /usr/bin/python3 (apt-get install python3-matplotlib)')
  end
  t.setup({ python = '/usr/bin/python3' })
  local buf = t.scratch({ '# %%', 'import matplotlib.pyplot as plt', 'plt.plot([1, 3, 2])', 'plt.show()' }, 'mpl.py')
  local run = t.run_at(buf, '^plt.show', 60000)
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error or run.failure))
  local text = t.virt_text(buf, t.row_of(buf, '^plt.show'))
  local path = t.truthy(text:match('figure 640×480: ([^\n]+%.png)'), 'a 640×480 figure in:\n' .. text)
  t.eq('\137PNG', read_bytes(vim.fn.expand(path)):sub(1, 4), 'a PNG file')
end)

t.test(':SubcellPython PATH moves the buffer to a new session on that Python', function()
  local buf = t.scratch({ '# %%', 'x = 1', '# %%', 'import sys; sys.version_info[:2]' }, 'which.py')
  t.run_at(buf, '^x = 1')
  local old = state.notebooks[buf].session
  local done
  subcell.python('/usr/bin/python3', function(err)
    done = err or true
  end)
  t.wait(function()
    return done
  end, ':SubcellPython')
  t.eq(true, done, 'switched')
  t.eq('/usr/bin/python3', state.notebooks[buf].python, 'the buffer remembers it')
  local note = t.truthy(t.notified('now runs'), 'notification')
  t.contains(note.msg, 'which.py')
  local new = state.notebooks[buf].session
  t.truthy(new and new ~= old, 'a new session')
  local ids = {}
  for _, s in ipairs(t.sessions()) do
    ids[s.session] = s
  end
  t.eq(nil, ids[old], 'the old session was closed')
end)

t.test('a session on /usr/bin/python3 runs it, and :SubcellSessions says so', function()
  if not python_support() then
    t.skip('the server cannot run /usr/bin/python3 sessions yet (issue 12): session/open { python = "/usr/bin/python3" } answered ' .. t.python_probe)
  end
  local buf = t.scratch({ 'import sys; sys.version_info[:2]' }, 'system.py')
  t.setup({ python = '/usr/bin/python3' })
  local run = t.wait_run(subcell.run_cell({ buf = buf, row = 0 }), 60000)
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error or run.failure))
  t.contains(t.virt_text(buf, 0), 'Out[1]: (3, 11)')
  t.contains(require('subcell.python').describe(state.notebooks[buf].info.python), 'Python 3.11')
  vim.cmd('SubcellSessions')
  t.wait(function()
    return t.notified('system%.py')
  end, ':SubcellSessions')
  t.contains(t.notified('system%.py').msg, 'Python 3.11')
  t.eq('process', state.notebooks[buf].info.isolation, 'another CPython runs as a process session')
end)

t.test(':SubcellPython without a path offers the workspace venv, pyenv versions and the system Python', function()
  local buf = t.scratch({ '1' }, 'choose.py')
  local dir = vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ':h')
  vim.fn.mkdir(dir .. '/.venv/bin', 'p')
  vim.loop.fs_symlink('/usr/bin/python3', dir .. '/.venv/bin/python')
  local saved = vim.ui.select
  local offered
  vim.ui.select = function(items, opts, on_choice)
    offered = vim.tbl_map(function(item)
      return opts.format_item(item)
    end, items)
    on_choice(items[1])
  end
  local done
  subcell.python(nil, function(err)
    done = err or true
  end)
  vim.ui.select = saved
  t.wait(function()
    return done
  end, 'the choice to apply')
  offered = t.truthy(offered, 'a list')
  t.contains(offered[1], dir .. '/.venv', 'the workspace venv first')
  t.contains(offered[1], '(workspace)')
  t.contains(offered, '/usr/bin/python3  (system)')
  if vim.fn.glob('~/.pyenv/versions/*/bin/python') ~= '' then
    t.contains(offered, '(pyenv ')
  end
  t.eq(dir .. '/.venv', state.notebooks[buf].python, 'the chosen environment')
end)

t.test('$VIRTUAL_ENV is the Python of new sessions; one the server cannot run falls back with a warning', function()
  vim.env.VIRTUAL_ENV = '/nonexistent/venv'
  local ok, err = pcall(function()
    t.eq('/nonexistent/venv', (require('subcell.session').python_for(nil)), 'the default')
    local buf = t.scratch({ '6 * 7' }, 'venv.py')
    local run = t.wait_run(subcell.run_cell({ buf = buf, row = 0 }))
    t.eq('done', run.state, 'runs anyway: ' .. vim.inspect(run.failure))
    if python_support() then
      local note = t.truthy(t.notified('VIRTUAL_ENV=/nonexistent/venv cannot run sessions'), 'the warning')
      t.eq(vim.log.levels.WARN, note.level, 'level')
    end
  end)
  vim.env.VIRTUAL_ENV = nil
  assert(ok, err)
end)

t.test(':checkhealth subcell shows the Python, the isolation and each session', function()
  t.setup({ python = '/usr/bin/python3', isolation = 'process', cell_timeout = 30 })
  local buf = t.scratch({ '1' }, 'health.py')
  t.wait_run(subcell.run_cell({ buf = buf, row = 0 }))
  vim.cmd('checkhealth subcell')
  local text = table.concat(api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  t.contains(text, 'Python for new sessions: /usr/bin/python3 (from setup{ python })')
  t.contains(text, 'isolation of new sessions: process, cell_timeout = 30 s')
  t.contains(text, 'health.py: process, pid ')
  t.contains(text, 'figures are written to')
end)
