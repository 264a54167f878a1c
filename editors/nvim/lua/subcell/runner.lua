-- Runs code from a buffer: creates the run, places its marks, sends
-- `cell/run` through the buffer's session, and folds the server's
-- notifications and result into the run so render/diagnostics can show it:
-- streamed output (also late output from threads the cell started),
-- displays (and their updates), clear_output, images, and crashes.
local M = {}

local state = require('subcell.state')
local render = require('subcell.render')
local server = require('subcell.server')
local rpc = require('subcell.rpc')
local output = require('subcell.output')
require('subcell.input') -- answers cell/input from the first run on

local finish_listeners = {}

-- Called with each run that finished (done, error, cancelled, failed, crashed).
---@param fn fun(run: subcell.Run)
function M.on_finish(fn)
  table.insert(finish_listeners, fn)
end

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

-- The text a MIME bundle shows as: an image's file, else its text.
local function bundle_text(run, bundle, display_id)
  return require('subcell.images').describe(bundle, run, display_id) or output.bundle_text(bundle)
end

local function finish(run, err, result)
  if err then
    if err.code == rpc.REQUEST_CANCELLED then
      run.state = 'cancelled'
    elseif err.code == rpc.SESSION_CRASHED then
      run.state, run.failure = 'crashed', err.message
      run.crash = run.crash or require('subcell.session').crash_of(run.session)
    else
      run.state, run.failure = 'failed', err.message
    end
  else
    run.count = result.executionCount or run.count
    run.duration_ms = result.durationMs
    run.value = result.value
    run.error = result.error
    run.state = result.error and 'error' or 'done'
    if run.value then
      run.value_text = require('subcell.images').describe(run.value, run)
    end
  end
  require('subcell.input').finished(run)
  render.draw(run)
  if run.images then
    local row = render.anchor_row(run)
    if row then
      require('subcell.images').render(run, row)
    end
  end
  require('subcell.diagnostics').refresh(run.buf)
  for _, fn in ipairs(finish_listeners) do
    pcall(fn, run)
  end
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
  local run = state.new_run(buf, spec.code, output.new({
    scrollback = cfg.output.scrollback,
    max_line_bytes = cfg.output.max_line_bytes,
  }))
  render.mark_code(run, spec.code_row, spec.last_row)
  render.attach(run, spec.last_row)
  require('subcell.track').watch(buf)
  table.insert(nb.outputs, run)
  if replaced then
    replaced.replaced_by = run
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
    run.session = sid
    server.request('cell/run', { session = sid, code = spec.code, cell = run.id }, function(rerr, result)
      finish(run, rerr, result)
    end)
  end)
  return run
end

-- The run shown for a cell now: a run that was replaced by a later run of
-- the same cell hands its late output on to it.
local function current_run(run)
  local seen = 0
  while run.replaced_by and not run.anchor_mark and seen < 1000 do
    run, seen = run.replaced_by, seen + 1
  end
  return run
end

-- `clear_output(wait=True)` clears when the cell's next output arrives.
local function pending_clear(run)
  if run.clear_pending then
    run.clear_pending = nil
    run.term:clear()
  end
end

-- Replaces the blocks shown with `id` in every cell of the buffer.
local function update_display(nb, run, p)
  local text
  for _, shown in ipairs(nb and nb.outputs or {}) do
    if shown.term.blocks[p.displayId] then
      text = text or bundle_text(run, p.data, p.displayId)
      if shown.term:replace(p.displayId, text, 'display') then
        render.touch(shown)
      end
    end
  end
end

-- Server notifications: each names the cell id we gave the run.
local handlers = {
  ['cell/started'] = function(run, p)
    run.state = 'running'
    run.count = p.executionCount
  end,
  ['cell/output'] = function(run, p)
    pending_clear(run)
    run.term:write(p.text or '', p.stream == 'stderr' and 'stderr' or 'stdout')
  end,
  ['cell/display'] = function(run, p, nb)
    if p.update then
      return update_display(nb, run, p)
    end
    pending_clear(run)
    local before = run.images and #run.images or 0
    run.term:block(bundle_text(run, p.data, p.displayId) or '', 'display', p.displayId)
    if run.images and #run.images > before then
      vim.schedule(function()
        local row = render.anchor_row(run)
        if row then
          require('subcell.images').render(run, row)
        end
      end)
    end
  end,
  ['cell/clear'] = function(run, p)
    if p.wait then
      run.clear_pending = true
    else
      run.clear_pending = nil
      run.term:clear()
    end
  end,
}

server.on('notification', function(method, params)
  local handler = handlers[method]
  if not handler then
    return
  end
  local run = params.cell ~= nil and state.runs[tostring(params.cell)] or nil
  if not run then
    return
  end
  if params.late then -- from a thread the cell started, after it finished
    run = current_run(run)
  end
  handler(run, params, state.notebooks[run.buf])
  render.touch(run)
end)

-- A session crashed (session.lua told the user): its runs that were
-- answered before the news say why.
---@param crash table session/crashed params
function M.crashed(crash)
  for _, run in pairs(state.runs) do
    if run.session == crash.session and not run.crash and (run.state == 'crashed' or run.state == 'running' or run.state == 'queued') then
      run.crash = crash
      if run.state == 'crashed' then
        render.draw(run)
      end
    end
  end
end

return M
