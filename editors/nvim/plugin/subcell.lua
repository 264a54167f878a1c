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
cmd('SubcellRestart', function(s) s.restart() end, { desc = 'Restart the subcell server' })
cmd('SubcellSessions', function(s)
  s.sessions(function(err, list)
    if err then
      return vim.notify('subcell: ' .. err, vim.log.levels.ERROR)
    end
    local lines = {}
    for _, x in ipairs(list) do
      lines[#lines + 1] = string.format('%s  %-20s %-7s cells run: %d, queued: %d', x.session, x.name or '', x.state, x.cellsRun, x.queuedCells)
    end
    vim.notify(#lines > 0 and table.concat(lines, '\n') or 'subcell: no sessions')
  end)
end, { desc = 'List the server sessions' })
