-- Runs code from a buffer: creates the run, places its marks, sends
-- `cell/run` through the buffer's session, and folds the server's
-- notifications and result into the run so render/diagnostics can show it.
local M = {}

local state = require('subcell.state')
local render = require('subcell.render')
local server = require('subcell.server')

---@class subcell.RunSpec
---@field buf integer
---@field code string
---@field code_row integer   0-based row of the code's first line
---@field last_row integer   0-based row the output goes under
---@field region integer[]   {first_row, last_row}: older output anchored here is replaced
---@field reset? boolean     reset the session before running

-- Removes output anchored in `region`; returns the last run removed.
local function clear_region(nb, region)
  local replaced
  for i = #nb.outputs, 1, -1 do
    local old = nb.outputs[i]
    local row = render.anchor_row(old)
    if not row or (row >= region[1] and row <= region[2]) then
      render.detach(old)
      table.remove(nb.outputs, i)
      replaced = replaced or old
    end
  end
  return replaced
end

local function finish(run, err, result)
  if err then
    if err.code == require('subcell.rpc').REQUEST_CANCELLED then
      run.state = 'cancelled'
    else
      run.state, run.failure = 'failed', err.message
    end
  else
    run.count = result.executionCount or run.count
    run.duration_ms = result.durationMs
    run.value = result.value
    run.error = result.error
    run.state = result.error and 'error' or 'done'
  end
  render.draw(run)
  require('subcell.diagnostics').refresh(run.buf)
end

-- Queues a run; output appears under `spec.last_row` as it streams.
---@param spec subcell.RunSpec
---@return subcell.Run
function M.run(spec)
  local cfg = require('subcell.config').get()
  local session = require('subcell.session')
  local buf = spec.buf
  local nb = state.notebook(buf)
  local replaced = clear_region(nb, spec.region)
  local run = state.new_run(buf, spec.code, require('subcell.output').new({
    scrollback = cfg.output.scrollback,
    max_line_bytes = cfg.output.max_line_bytes,
  }))
  render.mark_code(run, spec.code_row, spec.last_row)
  render.attach(run, spec.last_row)
  require('subcell.track').watch(buf)
  table.insert(nb.outputs, run)
  if replaced then
    require('subcell.view').replaced(replaced, run)
  end
  require('subcell.diagnostics').refresh(buf)

  if spec.reset then
    session.reset(buf, function(err)
      if err then
        vim.notify('subcell: reset failed: ' .. err, vim.log.levels.WARN)
      end
    end)
  end
  session.ensure(buf, function(err, sid)
    if err then
      return finish(run, { message = err })
    end
    server.request('cell/run', { session = sid, code = spec.code, cell = run.id }, function(rerr, result)
      finish(run, rerr, result)
    end)
  end)
  return run
end

-- Server notifications: each names the cell id we gave the run.
local handlers = {
  ['cell/started'] = function(run, p)
    run.state = 'running'
    run.count = p.executionCount
  end,
  ['cell/output'] = function(run, p)
    run.term:write(p.text or '', p.stream == 'stderr' and 'stderr' or 'stdout')
  end,
  ['cell/display'] = function(run, p)
    run.term:block(require('subcell.output').bundle_text(p.data) or '', 'display')
  end,
}

server.on('notification', function(method, params)
  local handler = handlers[method]
  local run = params.cell ~= nil and state.runs[tostring(params.cell)] or nil
  if handler and run then
    handler(run, params)
    render.touch(run)
  end
end)

return M
