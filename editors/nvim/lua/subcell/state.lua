-- Plain bookkeeping shared by the modules: one notebook per buffer (its
-- session and the runs drawn under its cells) and every run by its cell id,
-- so server notifications and traceback frames can find their run.
local M = {}

---@alias subcell.RunState 'queued'|'running'|'done'|'error'|'cancelled'|'failed'

---@class subcell.Run
---@field id string              the cell id sent to the server ("c12")
---@field buf integer
---@field code string
---@field code_mark integer|nil extmark over the code's lines (its start: cell-relative line 1); nil once they are gone
---@field anchor_mark integer|nil extmark whose virt_lines show the output
---@field state subcell.RunState
---@field term subcell.Term
---@field value table|nil        MIME bundle
---@field error table|nil        the protocol's error object
---@field count integer|nil      executionCount
---@field duration_ms number|nil
---@field failure string|nil     why the request itself failed
---@field crash table|nil        the `session/crashed` params when its session crashed under it
---@field value_text string|nil  what the value shows as, when not its text/plain (an image's file)
---@field replaced_by subcell.Run|nil the run of the same cell that took its place
---@field clear_pending boolean|nil `clear_output(wait=True)`: clear at the next output
---@field input table|nil        the open `cell/input` prompt of this run

---@class subcell.Notebook
---@field buf integer
---@field session string|nil     the server's session id, once open
---@field opening boolean
---@field waiters fun(err: string|nil, session: string|nil)[]
---@field outputs subcell.Run[]  runs currently drawn, at most one per cell
---@field runs string[]          ids of every run of this buffer
---@field isolation string|nil   mode chosen with :SubcellRestart, for the sessions opened next
---@field python string|nil      Python chosen with :SubcellPython, for the sessions opened next
---@field info table|nil         where the session runs: {isolation, pid, python}

---@type table<string, subcell.Run>
M.runs = {}
---@type table<integer, subcell.Notebook>
M.notebooks = {}

local seq = 0

---@param buf integer
---@return subcell.Notebook
function M.notebook(buf)
  local nb = M.notebooks[buf]
  if not nb then
    nb = { buf = buf, session = nil, opening = false, waiters = {}, outputs = {}, runs = {} }
    M.notebooks[buf] = nb
  end
  return nb
end

---@param buf integer
---@param code string
---@param term subcell.Term
---@return subcell.Run
function M.new_run(buf, code, term)
  seq = seq + 1
  local run = { id = 'c' .. seq, buf = buf, code = code, state = 'queued', term = term }
  M.runs[run.id] = run
  table.insert(M.notebook(buf).runs, run.id)
  return run
end

-- Drops a buffer's notebook and its runs (the buffer is gone).
---@param buf integer
function M.forget(buf)
  local nb = M.notebooks[buf]
  if not nb then
    return
  end
  for _, id in ipairs(nb.runs) do
    M.runs[id] = nil
  end
  M.notebooks[buf] = nil
end

---@param session string
---@return subcell.Notebook|nil
function M.by_session(session)
  for _, nb in pairs(M.notebooks) do
    if nb.session == session then
      return nb
    end
  end
  return nil
end

return M
