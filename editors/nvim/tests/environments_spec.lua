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

-- Opens a session with `python` and closes it: the result or the error.
local function probe_open(python)
  local done, result, err
  require('subcell.server').request('session/open', { python = python, name = 'probe' }, function(e, r)
    done, err, result = true, e, r
  end)
  t.wait(function()
    return done
  end, 'session/open with python', 30000)
  if result then
    require('subcell.server').request('session/close', { session = result.session }, function() end)
  end
  return result, err
end

local function describe_probe(result, err)
  if err then
    return 'an error: ' .. err.message
  end
  return type(result.python) == 'table' and ('a session on Python ' .. tostring(result.python.version)) or 'a session without a python field'
end

-- The server's own CPython (pyenv's build of the version it embeds), or nil.
-- :SubcellPython PATH for the current buffer, waited for; it must succeed.
local function switch_python(path)
  local done
  subcell.python(path, function(err)
    done = err or true
  end)
  t.wait(function()
    return done
  end, ':SubcellPython', 30000)
  t.eq(true, done, 'switched')
end

local function server_python()
  local ok = false
  require('subcell.server').ensure(function()
    ok = true
  end)
  t.wait(function()
    return ok
  end, 'the server')
  local info = require('subcell.server').status().info
  local version = info and info.python and info.python.version
  local path = version and vim.fn.expand('~/.pyenv/versions/' .. version .. '/bin/python3')
  return path and vim.fn.executable(path) == 1 and path or nil
end

-- Whether the server knows environments (issue 12): a session opened with
-- its own CPython as `python` says which Python it runs. Skips otherwise.
local function require_environments()
  local own = server_python() or t.skip('no pyenv build of the server\'s CPython to use as a python')
  local result, err = probe_open(own)
  if err or type(result.python) ~= 'table' then
    t.skip('the server does not run sessions on a given Python yet (issue 12): session/open { python = "' .. own .. '" } answered ' .. describe_probe(result, err))
  end
  return own
end

-- Whether the server runs Debian's /usr/bin/python3 (3.11): skips otherwise.
local function require_system_python()
  local result, err = probe_open('/usr/bin/python3')
  if err or type(result.python) ~= 'table' or not tostring(result.python.version):match('^3%.11') then
    t.skip('the server cannot run /usr/bin/python3 sessions yet (issue 12): session/open { python = "/usr/bin/python3" } answered ' .. describe_probe(result, err))
  end
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
  require_system_python()
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
  local own = server_python() or t.skip("no pyenv build of the server's CPython to switch to")
  local buf = t.scratch({ '# %%', 'x = 1', '# %%', 'import sys; sys.version_info[:2]' }, 'which.py')
  t.run_at(buf, '^x = 1')
  local old = state.notebooks[buf].session
  switch_python(own)
  t.eq(own, state.notebooks[buf].python, 'the buffer remembers it')
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

t.test("a venv of the server's CPython runs in the session with its own prefix", function()
  local own = require_environments()
  local buf = t.scratch({ 'import sys; sys.prefix' }, 'venvd.py')
  local venv = vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ':h') .. '/.venv'
  vim.fn.system({ own, '-m', 'venv', '--without-pip', venv })
  t.eq(0, vim.v.shell_error, 'python -m venv')
  switch_python(venv)
  local run = t.wait_run(subcell.run_cell({ buf = buf, row = 0 }))
  t.eq('done', run.state, 'state: ' .. vim.inspect(run.error or run.failure))
  t.contains(t.virt_text(buf, 0), venv)
  local info = state.notebooks[buf].info
  t.eq('interpreter', info.isolation, 'the same CPython: a subinterpreter')
  t.contains(require('subcell.python').describe(info.python), '.venv')
end)

t.test('a session on /usr/bin/python3 runs it, and :SubcellSessions says so', function()
  require_system_python()
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
    on_choice(nil) -- the list is what this test is about
  end
  subcell.python(nil)
  vim.ui.select = saved
  offered = t.truthy(offered, 'a list')
  t.contains(offered[1], dir .. '/.venv', 'the workspace venv first')
  t.contains(offered[1], '(workspace)')
  t.contains(offered, '/usr/bin/python3  (system)')
  if vim.fn.glob('~/.pyenv/versions/*/bin/python') ~= '' then
    t.contains(offered, '(pyenv ')
  end
end)

t.test('$VIRTUAL_ENV is the Python of new sessions; one the server cannot run falls back with a warning', function()
  vim.env.VIRTUAL_ENV = '/nonexistent/venv'
  local ok, err = pcall(function()
    t.eq('/nonexistent/venv', (require('subcell.session').python_for(nil)), 'the default')
    local buf = t.scratch({ '6 * 7' }, 'venv.py')
    local run = t.wait_run(subcell.run_cell({ buf = buf, row = 0 }))
    t.eq('done', run.state, 'runs anyway: ' .. vim.inspect(run.failure))
    local _, probe_err = probe_open('/nonexistent/venv')
    if probe_err then -- a server that checks the Python it is given says why
      local note = t.truthy(t.notified('VIRTUAL_ENV=/nonexistent/venv cannot run sessions'), 'the warning')
      t.eq(vim.log.levels.WARN, note.level, 'level')
    end
  end)
  vim.env.VIRTUAL_ENV = nil
  assert(ok, err)
end)

t.test(':checkhealth subcell shows the Python, the isolation and each session', function()
  t.setup({ isolation = 'process', cell_timeout = 30 })
  local buf = t.scratch({ '1' }, 'health.py')
  t.wait_run(subcell.run_cell({ buf = buf, row = 0 }))
  t.setup({ python = '/usr/bin/python3', isolation = 'process', cell_timeout = 30 }) -- for the next sessions
  vim.cmd('checkhealth subcell')
  local text = table.concat(api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  t.contains(text, 'Python for new sessions: /usr/bin/python3 (from setup{ python })')
  t.contains(text, 'isolation of new sessions: process, cell_timeout = 30 s')
  t.contains(text, 'health.py: process, pid ')
  t.contains(text, 'figures are written to')
end)
