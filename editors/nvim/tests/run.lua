-- A small test runner for `nvim --headless -u NONE`: loads one spec file
-- (SUBCELL_SPEC), runs its tests in order, prints one line per test and a
-- final "RESULT <passed> <failed> <skipped>" line that test.sh adds up. A
-- test that calls t.skip(reason) is skipped, and says why.
local root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h')
vim.opt.rtp:prepend(root)
vim.cmd('runtime! plugin/subcell.lua')
vim.cmd('filetype on')
package.path = root .. '/tests/?.lua;' .. package.path

local t = require('helpers')
t.root = root
local spec = assert(os.getenv('SUBCELL_SPEC'), 'SUBCELL_SPEC is not set')
local only = os.getenv('SUBCELL_ONLY') -- run only tests whose name has this text

-- Each on a line of its own: headless Neovim writes the command line of a
-- prompt (input() in a cell) to stdout too. test.sh drops the empty lines.
local function out(s)
  io.stdout:write('\n' .. s .. '\n')
  io.stdout:flush()
end

local loaded, load_err = pcall(dofile, spec)
if not loaded then
  out('FAIL - loading ' .. spec .. ': ' .. tostring(load_err))
  out('RESULT 0 1')
  vim.cmd('qa!')
end

local passed, failed, skipped = 0, 0, 0
local uv = vim.uv or vim.loop
for _, case in ipairs(t.tests) do
  if not only or case.name:find(only, 1, true) then
    t.before_each()
    local started = uv.hrtime()
    local ok, err = xpcall(case.fn, function(e)
      return type(e) == 'table' and e or debug.traceback(e, 2)
    end)
    local ms = (uv.hrtime() - started) / 1e6
    if not ok and type(err) == 'table' and err.skip then
      skipped = skipped + 1
      out(string.format('skip - %s: %s', case.name, err.skip))
    elseif ok then
      passed = passed + 1
      out(string.format('ok   - %s (%d ms)', case.name, ms))
    else
      failed = failed + 1
      out(string.format('FAIL - %s (%d ms)\n    %s', case.name, ms, tostring(err):gsub('\n', '\n    ')))
    end
    local cleaned, cerr = pcall(t.after_each)
    if not cleaned then
      out('    (cleanup failed: ' .. tostring(cerr) .. ')')
    end
  end
end
out(string.format('RESULT %d %d %d', passed, failed, skipped))
vim.cmd('qa!')
