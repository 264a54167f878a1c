-- User commands only; everything is required on first use.
if vim.g.loaded_subcell then
  return
end
vim.g.loaded_subcell = true

local function cmd(name, fn, opts)
  vim.api.nvim_create_user_command(name, function(args)
    fn(require('subcell'), args)
  end, vim.tbl_extend('force', { force = true }, opts or {}))
end

cmd('SubcellRun', function(s) s.run_cell() end, { desc = 'Run the cell under the cursor' })
cmd('SubcellRunAndAdvance', function(s) s.run_and_advance() end, { desc = 'Run the cell and move to the next' })
cmd('SubcellRunAbove', function(s) s.run_above() end, { desc = 'Run every cell above the cursor' })
cmd('SubcellRunAll', function(s) s.run_all() end, { desc = 'Run every cell' })
cmd('SubcellRunSelection', function(s, a) s.run_selection(a.line1, a.line2) end, { range = true, desc = 'Run the selected lines' })
cmd('SubcellReset', function(s) s.reset() end, { desc = "Reset the buffer's session" })
cmd('SubcellInterrupt', function(s) s.interrupt() end, { desc = 'Interrupt the running cell' })
cmd('SubcellOutput', function(s) s.show_output() end, { desc = 'Show the full output of the cell' })
cmd('SubcellClear', function(s) s.clear() end, { desc = 'Remove outputs and diagnostics' })
cmd('SubcellRestart', function(s, a) s.restart(a.args) end, {
  nargs = '?',
  complete = function(lead)
    return vim.tbl_filter(function(mode)
      return mode:sub(1, #lead) == lead
    end, { 'process', 'interpreter', 'auto' })
  end,
  desc = "Restart the buffer's session, optionally in another isolation mode",
})
cmd('SubcellRestartServer', function(s) s.restart_server() end, { desc = 'Restart the subcell server' })
cmd('SubcellPython', function(s, a) s.python(a.args) end, {
  nargs = '?',
  complete = 'file',
  desc = "Run the buffer's session on another Python",
})
cmd('SubcellVariables', function(s) s.variables() end, { desc = "Show the variables of the buffer's session" })
cmd('SubcellInspect', function(s, a) s.inspect(a.args) end, { nargs = '?', desc = 'Inspect a name in the session' })
cmd('SubcellSessions', function(s)
  s.sessions(function(err, list)
    if err then
      return vim.notify('subcell: ' .. err, vim.log.levels.ERROR)
    end
    local lines = s.format_sessions(list)
    vim.notify(#lines > 0 and table.concat(lines, '\n') or 'subcell: no sessions')
  end)
end, { desc = 'List the server sessions' })
