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

  local sessions = {}
  for buf, nb in pairs(require('subcell.state').notebooks) do
    if nb.session then
      sessions[#sessions + 1] = nb.session .. ' ← ' .. require('subcell.session').label(buf)
    end
  end
  r.info(#sessions > 0 and ('sessions: ' .. table.concat(sessions, ', ')) or 'no open sessions')
  r.info('keymaps: ' .. (cfg.keymaps and 'on' or 'off (setup{ keymaps = true } to enable)'))
end

return M
