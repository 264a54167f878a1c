-- Which Python a buffer's session runs: :SubcellPython with a path, or a
-- choice among the Pythons found on this machine: the workspace's
-- `.venv`/`venv` (from the file's folder up to the working directory),
-- $VIRTUAL_ENV and $CONDA_PREFIX, pyenv's versions, conda environments, and
-- /usr/bin/python3. The server runs an environment of its own CPython in
-- the session's interpreter, and any other CPython as a process session.
local M = {}

local api = vim.api
local uv = vim.uv or vim.loop

local function is_python(path)
  return path and vim.fn.executable(path) == 1
end

local function home(path)
  return vim.fn.fnamemodify(path, ':~')
end

-- The `.venv`/`venv` environments from `dir` up to the working directory
-- (or the root when `dir` is not under it).
local function workspace_envs(dir)
  local out, cwd = {}, vim.fn.getcwd()
  local seen = {}
  while dir and dir ~= '' and not seen[dir] do
    seen[dir] = true
    for _, name in ipairs({ '.venv', 'venv' }) do
      local env = dir .. '/' .. name
      if is_python(env .. '/bin/python') then
        out[#out + 1] = env
      end
    end
    if dir == cwd or dir == '/' then
      break
    end
    dir = vim.fn.fnamemodify(dir, ':h')
  end
  return out
end

-- Conda environments: ~/.conda/environments.txt and the usual install folders.
local function conda_envs()
  local out = {}
  local list = vim.fn.expand('~/.conda/environments.txt')
  if vim.fn.filereadable(list) == 1 then
    for _, line in ipairs(vim.fn.readfile(list)) do
      if line ~= '' then
        out[#out + 1] = line
      end
    end
  end
  for _, base in ipairs({ '~/miniconda3', '~/anaconda3', '~/miniforge3', '~/mambaforge', '/opt/conda' }) do
    base = vim.fn.expand(base)
    if vim.fn.isdirectory(base) == 1 then
      out[#out + 1] = base
      vim.list_extend(out, vim.fn.glob(base .. '/envs/*', false, true))
    end
  end
  return out
end

---@class subcell.PythonChoice
---@field path string   an interpreter or an environment directory (what session/open gets)
---@field label string  what the list shows

-- The Pythons to choose from for buffer `buf`, without duplicates.
---@param buf integer
---@return subcell.PythonChoice[]
function M.candidates(buf)
  local out, seen = {}, {}
  local function add(path, source)
    if not path or path == '' then
      return
    end
    local python = vim.fn.isdirectory(path) == 1 and (path .. '/bin/python') or path
    if not is_python(python) then
      return
    end
    local key = uv.fs_realpath(path) or path
    if seen[key] then
      return
    end
    seen[key] = true
    out[#out + 1] = { path = path, label = string.format('%s  (%s)', home(path), source) }
  end
  local name = api.nvim_buf_get_name(buf)
  local dir = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.fn.getcwd()
  for _, env in ipairs(workspace_envs(dir)) do
    add(env, 'workspace')
  end
  add(vim.env.VIRTUAL_ENV, '$VIRTUAL_ENV')
  add(vim.env.CONDA_PREFIX, '$CONDA_PREFIX')
  local pyenv_root = vim.env.PYENV_ROOT and vim.env.PYENV_ROOT ~= '' and vim.env.PYENV_ROOT or vim.fn.expand('~/.pyenv')
  local versions = vim.fn.glob(pyenv_root .. '/versions/*/bin/python', false, true)
  table.sort(versions, function(a, b)
    return a > b -- newest first, roughly
  end)
  for _, python in ipairs(versions) do
    add(python, 'pyenv ' .. vim.fn.fnamemodify(python, ':h:h:t'))
  end
  for _, env in ipairs(conda_envs()) do
    add(env, 'conda')
  end
  add('/usr/bin/python3', 'system')
  return out
end

-- One line about a session's Python (from session/open or session/list).
---@param py table|nil {version, executable, prefix}
---@return string
function M.describe(py)
  if type(py) ~= 'table' then
    return "the server's Python"
  end
  return string.format('Python %s (%s)', py.version or '?', home(py.executable or py.prefix or '?'))
end

-- :SubcellPython [path]: runs the buffer's session on `path`; without one,
-- asks which (vim.ui.select). `callback(err, info)` once the session runs.
---@param buf integer
---@param path string|nil
---@param callback? fun(err: string|nil, info: table|nil)
function M.choose(buf, path, callback)
  local function done(err, info)
    if err then
      vim.notify('subcell: could not switch Python: ' .. err, vim.log.levels.ERROR)
    else
      local label = require('subcell.session').label(buf)
      vim.notify(string.format('subcell: %s now runs %s (a new session: variables are gone)', label, M.describe(info and info.python)))
      local view = require('subcell.variables').current()
      if view and view.target == buf then
        require('subcell.variables').refresh()
      end
    end
    if callback then
      callback(err, info)
    end
  end
  local function use(p)
    p = vim.fn.fnamemodify(vim.fn.expand(p), ':p'):gsub('/$', '')
    require('subcell.session').set_python(buf, p, done)
  end
  if path and path ~= '' then
    return use(path)
  end
  local list = M.candidates(buf)
  if #list == 0 then
    return done('no Python found; give a path: :SubcellPython /path/to/python')
  end
  vim.ui.select(list, {
    prompt = 'Python for ' .. require('subcell.session').label(buf),
    format_item = function(item)
      return item.label
    end,
  }, function(item)
    if item then
      use(item.path)
    end
  end)
end

return M
