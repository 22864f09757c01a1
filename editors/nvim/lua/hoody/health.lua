--- :checkhealth hoody: Neovim version, the server command and its version, and whether the
--- backend answers (through `hoody-lsp check --json`), plus the client state of this buffer.
local M = {}

local health = vim.health

-- server flags that make no sense for `--version` / `check` (and the value each one takes)
local SERVER_FLAGS = { ['--stdio'] = 0, ['--tcp'] = 1, ['--log-file'] = 1 }

--- The configured command minus its server-only flags, as a base for sub-commands.
---@param cmd string[]
---@return string[]
function M.base_cmd(cmd)
  local out, skip = {}, 0
  for i, a in ipairs(cmd) do
    if skip > 0 then
      skip = skip - 1
    elseif i > 1 and SERVER_FLAGS[a] then
      skip = SERVER_FLAGS[a]
    elseif not (i > 1 and (a:match('^%-%-tcp=') or a:match('^%-%-log%-file='))) then
      out[#out + 1] = a
    end
  end
  return out
end

--- Environment for `check`: it reads defaults + environment only, so the where-to-connect
--- settings given to setup() are handed over as the variables the server knows.
---@param cfg table
---@return table<string, string>
function M.check_env(cfg)
  local env = vim.deepcopy(cfg.cmd_env or {})
  local s = cfg.settings or {}
  local map = { backend = 'HOODY_BACKEND', apiKey = 'HOODY_API_KEY', baseUrl = 'HOODY_BASE_URL', model = 'HOODY_MODEL' }
  for key, var in pairs(map) do
    if type(s[key]) == 'string' and s[key] ~= '' then
      env[var] = s[key]
    end
  end
  return env
end

local function run(argv, env, timeout_ms)
  local ok, proc = pcall(vim.system, argv, { text = true, env = env })
  if not ok then
    return nil, tostring(proc)
  end
  local res = proc:wait(timeout_ms)
  if res.code == 124 then -- vim.system's code for a timeout (the process was killed)
    return nil, ('no answer within %d ms'):format(timeout_ms)
  end
  return res
end

function M.check()
  local cfg = require('hoody').config

  health.start('hoody: Neovim')
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim ' .. tostring(vim.version()) .. ': hoody needs 0.11 or newer')
  end
  if not cfg then
    health.error("setup() has not run", { "call require('hoody').setup({}) in your config" })
    return
  end
  if require('hoody').uses_native_inline() then
    health.ok('inline suggestions: Neovim built-in (vim.lsp.inline_completion)')
  else
    health.ok('inline suggestions: hoody ghost text (accept: ' .. tostring(cfg.inline.accept_key) .. ')')
  end

  health.start('hoody: server')
  local cmd = cfg.cmd
  if type(cmd) ~= 'table' or type(cmd[1]) ~= 'string' then
    health.warn('cmd is not a list of strings; cannot check the server from here')
    return
  end
  if vim.fn.executable(cmd[1]) ~= 1 then
    health.error(
      ('server command not found: %s'):format(cmd[1]),
      { 'pip install hoody-lsp (or set cmd = { "/path/to/hoody-lsp" } in setup())' }
    )
    return
  end
  health.ok(('server command: %s (%s)'):format(table.concat(cmd, ' '), vim.fn.exepath(cmd[1])))

  local base = M.base_cmd(cmd)
  local env = M.check_env(cfg)
  local version_argv = vim.list_extend(vim.deepcopy(base), { '--version' })
  local res, err = run(version_argv, env, 10000)
  if res and res.code == 0 and vim.trim(res.stdout or '') ~= '' then
    health.ok('version: ' .. vim.trim(res.stdout))
  else
    health.error('`' .. table.concat(version_argv, ' ') .. '` failed: ' .. (err or vim.trim(res.stderr or '')))
  end

  health.start('hoody: backend')
  local check_argv = vim.list_extend(vim.deepcopy(base), { 'check', '--json' })
  res, err = run(check_argv, env, 45000)
  if not res then
    health.error('`' .. table.concat(check_argv, ' ') .. '`: ' .. err)
  else
    local okj, report = pcall(vim.json.decode, res.stdout or '')
    if not okj or type(report) ~= 'table' then
      health.error(
        ('`%s` gave no JSON (exit %d): %s'):format(table.concat(check_argv, ' '), res.code, vim.trim(res.stderr or ''))
      )
    else
      local where = ('%s at %s%s'):format(
        tostring(report.backend),
        tostring(report.baseUrl),
        type(report.model) == 'string' and (', model ' .. report.model) or ''
      )
      if report.ok == true then
        local ms = type(report.latencyMs) == 'number' and (' in %d ms'):format(report.latencyMs) or ''
        health.ok(('backend reachable: %s%s'):format(where, ms))
      else
        health.error(('backend problem (%s): %s'):format(tostring(report.problem), tostring(report.message)), {
          'backend: ' .. where,
          'settings: HOODY_API_KEY / HOODY_BASE_URL / HOODY_BACKEND / HOODY_MODEL, or settings in setup()',
        })
      end
    end
  end

  health.start('hoody: clients')
  local clients = vim.lsp.get_clients({ name = cfg.name })
  if #clients == 0 then
    health.info('no hoody-lsp client is running (it starts when a file with a filetype is opened)')
  end
  for _, client in ipairs(clients) do
    local info = client.server_info or {}
    health.ok(
      ('client %d: %s %s, position encoding %s, root %s, %d buffer(s)'):format(
        client.id,
        tostring(info.name),
        tostring(info.version),
        tostring(client.offset_encoding),
        tostring(client.root_dir),
        vim.tbl_count(client.attached_buffers or {})
      )
    )
    if not client:supports_method('textDocument/inlineCompletion') then
      health.warn(('client %d: the server does not offer inline completion'):format(client.id))
    end
  end
end

return M
