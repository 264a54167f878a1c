-- :checkhealth subcell
local M = {}

-- vim.health arrived in 0.8 (report_* names until 0.10); 0.7 has require('health').
local function reporter()
  local h = vim.health or require('health')
  return {
    start = h.start or h.report_start,
    ok = h.ok or h.report_ok,
    warn = h.warn or h.report_warn,
    error = h.error or h.report_error,
    info = h.info or h.report_info,
  }
end

function M.check()
  local r = reporter()
  local cfg = require('subcell.config').get()
  r.start('subcell')

  if vim.fn.has('nvim-0.7.2') == 1 then
    r.ok('Neovim ' .. tostring(vim.version().major .. '.' .. vim.version().minor .. '.' .. vim.version().patch))
  else
    r.error('Neovim 0.7.2 or later is required')
  end

  local path = vim.fn.exepath(cfg.cmd)
  if path == '' then
    r.error(string.format('subcell binary %q not found', cfg.cmd), {
      'Build it (scripts/setup.sh in the subcell repository) and put it on PATH,',
      "or set require('subcell').setup{ cmd = '/path/to/subcell' }, or $SUBCELL_BINARY.",
    })
  else
    local version = vim.fn.system({ path, '--version' })
    if vim.v.shell_error == 0 then
      r.ok(string.format('%s: %s', path, vim.trim(version)))
    else
      r.error(string.format('%s --version failed: %s', path, vim.trim(version)))
    end
  end

  local st = require('subcell.server').status()
  if st.status == 'ready' then
    local py = st.info and st.info.python or {}
    r.ok(string.format('server running (pid %s), Python %s, own GIL: %s', tostring(st.pid), tostring(py.version), tostring(py.ownGil)))
  else
    r.info('server: ' .. st.status .. ' (it starts on the first run)')
  end
  if st.last_exit and not st.last_exit.expected then
    r.warn(string.format('the server last exited unexpectedly (code %d, signal %d)', st.last_exit.code, st.last_exit.signal))
  end

  local session = require('subcell.session')
  local python = require('subcell.python')
  local default, source = session.python_for(nil)
  if default then
    local exe = vim.fn.isdirectory(default) == 1 and (default .. '/bin/python') or default
    if vim.fn.executable(exe) == 1 then
      r.ok(string.format('Python for new sessions: %s (from %s)', default, source))
    else
      r.warn(string.format('Python for new sessions: %s (from %s) is not an executable Python', default, source), {
        'Fix setup{ python = ... } or the environment variable, or pick one with :SubcellPython.',
      })
    end
  else
    r.info("Python for new sessions: the server's own (no setup{ python }, $VIRTUAL_ENV or $CONDA_PREFIX)")
  end
  local limits = {}
  if cfg.cell_timeout then
    limits[#limits + 1] = 'cell_timeout = ' .. cfg.cell_timeout .. ' s'
  end
  if cfg.memory_limit_mb then
    limits[#limits + 1] = 'memory_limit_mb = ' .. cfg.memory_limit_mb
  end
  r.info(string.format('isolation of new sessions: %s%s', cfg.isolation or "the server's default", #limits > 0 and (', ' .. table.concat(limits, ', ')) or ''))

  local sessions = {}
  for buf, nb in pairs(require('subcell.state').notebooks) do
    if nb.session then
      local info = nb.info or {}
      sessions[#sessions + 1] = string.format(
        '%s ← %s: %s, pid %s, %s',
        nb.session,
        session.label(buf),
        tostring(info.isolation or '?'),
        tostring(info.pid or '?'),
        python.describe(info.python)
      )
    end
  end
  table.sort(sessions)
  if #sessions > 0 then
    for _, line in ipairs(sessions) do
      r.info('session ' .. line)
    end
  else
    r.info('no open sessions')
  end
  r.info('keymaps: ' .. (cfg.keymaps and 'on' or 'off (setup{ keymaps = true } to enable)'))
  local has_image = pcall(require, 'image')
  if has_image and cfg.images.render then
    r.info('image.nvim found: figures are drawn in place (and written to ' .. require('subcell.images').dir() .. ')')
  else
    r.info('figures are written to ' .. require('subcell.images').dir() .. ' (install image.nvim to draw them in place)')
  end
end

return M
