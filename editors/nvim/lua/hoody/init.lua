--- hoody: connects Neovim 0.11+ to the hoody-lsp language server (setup, settings, commands).
---
--- require('hoody').setup({
---   cmd = { 'hoody-lsp' },
---   settings = { inlineCompletion = { debounceMs = 0 } },   -- the server's `hoody` settings section
---   inline = { accept_key = '<Tab>' },
--- })
---
--- Ghost text lives in lua/hoody/inline.lua, `:checkhealth hoody` in lua/hoody/health.lua.
local M = {}

local api = vim.api

--- The configuration in use (defaults merged with the options given to setup()).
M.config = nil

local defaults = {
  -- name of the vim.lsp.config entry (and of the client)
  name = 'hoody',
  -- how to start the server; a list (argv), as vim.lsp.config takes it
  cmd = { 'hoody-lsp' },
  -- extra environment for the server process (e.g. { HOODY_API_KEY = ... })
  cmd_env = nil,
  -- nil = every buffer that has a filetype (the server itself skips `inlineCompletion.disabledLanguages`)
  filetypes = nil,
  -- the nearest folder holding one of these is the workspace root; none found = single-file mode
  root_markers = {
    '.git',
    '.hg',
    '.hoody',
    'pyproject.toml',
    'setup.py',
    'package.json',
    'Cargo.toml',
    'go.mod',
    'pom.xml',
    'build.gradle',
    'Makefile',
  },
  -- the server's settings (SPEC names, nested tables); sent as the `hoody` section of
  -- workspace/configuration and, unless init_options is given, as initializationOptions
  settings = {},
  init_options = nil,
  -- merged over Neovim's own client capabilities
  capabilities = nil,
  on_attach = nil,
  -- any other vim.lsp.config fields (on_init, handlers, flags, ...)
  lsp = nil,
  -- start the server automatically (vim.lsp.enable); false = configure only
  enable = true,
  -- echo the server's $/progress for its commands (refactor, fix, ...)
  progress = true,
  inline = {
    enabled = true,
    -- the client's own debounce; the server debounces adaptively on top of it
    debounce_ms = 50,
    -- insert-mode key that accepts a suggestion; false = no mapping (call require('hoody').accept())
    accept_key = '<Tab>',
    -- insert-mode key that dismisses a suggestion; false = no mapping
    dismiss_key = '<C-]>',
    hl_group = 'HoodyGhostText',
    -- use vim.lsp.inline_completion when Neovim has it (0.12+); false = always the plugin's ghost text
    native = true,
  },
}

--- Merges user options over the defaults: one level deep for `inline`, lists replaced whole.
local function merge(opts)
  local cfg = vim.deepcopy(defaults)
  for k, v in pairs(opts or {}) do
    if k == 'inline' and type(v) == 'table' then
      for ik, iv in pairs(v) do
        cfg.inline[ik] = iv
      end
    else
      cfg[k] = v
    end
  end
  return cfg
end

--- vim.json encodes an empty Lua table as `[]`; the server expects objects.
local function as_object(t)
  if t == nil or (type(t) == 'table' and next(t) == nil) then
    return vim.empty_dict()
  end
  return t
end

--- The hoody client attached to a buffer (or any hoody client when bufnr is nil).
---@param bufnr? integer
---@return vim.lsp.Client?
function M.get_client(bufnr)
  local name = (M.config or defaults).name
  return vim.lsp.get_clients({ bufnr = bufnr, name = name })[1]
end

--- Whether this Neovim draws inline completions itself (0.12+) and we let it.
function M.uses_native_inline()
  local cfg = M.config or defaults
  return vim.lsp.inline_completion ~= nil and cfg.inline.native ~= false
end

-- Positions --------------------------------------------------------------------------------

--- Byte column (0-based) of a line -> column in the client's position encoding.
local function to_client_col(bufnr, row, byte_col, encoding)
  if encoding == 'utf-8' then
    return byte_col
  end
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  return vim.str_utfindex(line, encoding, math.min(byte_col, #line), false)
end

--- The LSP range (0-based, end exclusive, client encoding) a :HoodyRefactor call covers.
--- A visual selection is taken from the '< and '> marks (charwise, linewise or blockwise as
--- charwise); a plain line range covers whole lines; no range = the cursor line.
---@param bufnr integer
---@param cmd_opts table the user command's opts (line1, line2, range)
---@param encoding string
---@return lsp.Range
function M.command_range(bufnr, cmd_opts, encoding)
  local srow, scol, erow, ecol
  local vstart = api.nvim_buf_get_mark(bufnr, '<')
  local vend = api.nvim_buf_get_mark(bufnr, '>')
  local from_visual = cmd_opts.range == 2
    and vstart[1] == cmd_opts.line1
    and vend[1] == cmd_opts.line2
    and vim.fn.visualmode() ~= 'V'
    and vim.fn.visualmode() ~= ''
  if from_visual then
    srow, scol = vstart[1] - 1, vstart[2]
    erow = vend[1] - 1
    local line = api.nvim_buf_get_lines(bufnr, erow, erow + 1, false)[1] or ''
    -- '> is the first byte of the last selected character (or v:maxcol after `$`)
    local last = math.min(vend[2], math.max(#line - 1, 0))
    if #line == 0 then
      ecol = 0
    else
      local char = vim.fn.strpart(line, last, 1, true)
      ecol = math.min(last + math.max(#char, 1), #line)
    end
  else
    local l1 = cmd_opts.range > 0 and cmd_opts.line1 or api.nvim_win_get_cursor(0)[1]
    local l2 = cmd_opts.range > 0 and cmd_opts.line2 or l1
    srow, scol = l1 - 1, 0
    erow = l2 - 1
    ecol = #(api.nvim_buf_get_lines(bufnr, erow, erow + 1, false)[1] or '')
  end
  return {
    start = { line = srow, character = to_client_col(bufnr, srow, scol, encoding) },
    ['end'] = { line = erow, character = to_client_col(bufnr, erow, ecol, encoding) },
  }
end

-- Commands ---------------------------------------------------------------------------------

M.server_messages = 0

local function notify(msg, level)
  vim.notify('hoody: ' .. msg, level or vim.log.levels.INFO)
end

--- Runs a hoody.* server command with one argument object; reports the answer.
---@param command string e.g. 'hoody.refactor'
---@param args table
---@param bufnr integer
---@param on_done? fun(result: table?, err: table?)
function M.exec(command, args, bufnr, on_done)
  local client = M.get_client(bufnr)
  if not client then
    notify('no hoody-lsp client is attached to this buffer (see :checkhealth hoody)', vim.log.levels.WARN)
    if on_done then
      on_done(nil, { message = 'no client' })
    end
    return
  end
  local told_before = M.server_messages
  client:exec_cmd({ title = command, command = command, arguments = { args } }, { bufnr = bufnr }, function(err, result)
    if err then
      notify(command .. ' failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif type(result) == 'table' and result.applied == false and M.server_messages == told_before then
      -- the server tells a failure itself (window/showMessage); say the reason only when it did not
      notify(result.reason or 'the edit was not applied', vim.log.levels.WARN)
    end
    if on_done then
      on_done(result, err)
    end
  end)
end

--- :HoodyRefactor {instruction}: rewrites the range/selection by the instruction.
---@param cmd_opts table user command opts
function M.refactor(cmd_opts)
  local bufnr = api.nvim_get_current_buf()
  local client = M.get_client(bufnr)
  if not client then
    notify('no hoody-lsp client is attached to this buffer (see :checkhealth hoody)', vim.log.levels.WARN)
    return
  end
  local args = {
    uri = vim.uri_from_bufnr(bufnr),
    range = M.command_range(bufnr, cmd_opts, client.offset_encoding),
    version = vim.lsp.util.buf_versions[bufnr],
  }
  local instruction = vim.trim(cmd_opts.args or '')
  if instruction ~= '' then
    args.instruction = instruction
  end
  M.exec('hoody.refactor', args, bufnr)
end

--- :HoodyRevert: puts back what the last command replaced in this buffer.
function M.revert()
  local bufnr = api.nvim_get_current_buf()
  M.exec('hoody.revert', { uri = vim.uri_from_bufnr(bufnr) }, bufnr)
end

--- Accepts the suggestion shown in the current buffer; returns false when none is shown.
function M.accept()
  return require('hoody.inline').accept()
end

--- Hides the suggestion shown in the current buffer.
function M.dismiss()
  require('hoody.inline').dismiss()
end

local function create_commands()
  api.nvim_create_user_command('HoodyRefactor', M.refactor, {
    nargs = '*',
    range = true,
    desc = 'hoody: rewrite the selection (or line range) by an instruction',
  })
  api.nvim_create_user_command('HoodyRevert', M.revert, { desc = 'hoody: revert the last generation' })
  api.nvim_create_user_command('HoodyToggle', function()
    local inline = require('hoody.inline')
    inline.set_enabled(not inline.is_enabled())
    notify('inline suggestions ' .. (inline.is_enabled() and 'on' or 'off'))
  end, { desc = 'hoody: turn inline suggestions on or off' })
end

-- $/progress of our commands, in the message area (0.11 has no default progress UI) ----------

local function setup_progress(group, name)
  api.nvim_create_autocmd('LspProgress', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if not client or client.name ~= name then
        return
      end
      local value = ev.data.params and ev.data.params.value or {}
      local text = table.concat(
        vim.tbl_filter(function(s)
          return s ~= nil and s ~= ''
        end, { value.title, value.message }),
        ': '
      )
      if value.kind == 'end' then
        text = text ~= '' and text or 'done'
      end
      if text ~= '' then
        api.nvim_echo({ { 'hoody: ' .. text, 'MoreMsg' } }, false, {})
      end
    end,
  })
end

-- setup ------------------------------------------------------------------------------------

---@param opts? table see `defaults` above and :help hoody
function M.setup(opts)
  if vim.fn.has('nvim-0.11') ~= 1 then
    notify('needs Neovim 0.11 or newer (vim.lsp.config / vim.lsp.enable)', vim.log.levels.ERROR)
    return
  end
  local cfg = merge(opts)
  M.config = cfg

  api.nvim_set_hl(0, 'HoodyGhostText', { link = 'Comment', default = true })

  local capabilities = vim.deepcopy(cfg.capabilities or {})
  if not M.uses_native_inline() and cfg.inline.enabled then
    -- 0.11's make_client_capabilities() does not declare inline completion; without it the
    -- server treats Neovim as a client that only takes textDocument/completion items.
    capabilities.textDocument = capabilities.textDocument or {}
    capabilities.textDocument.inlineCompletion = capabilities.textDocument.inlineCompletion
      or { dynamicRegistration = false }
  end

  local settings = as_object(cfg.settings)
  local handlers = vim.tbl_extend('keep', (cfg.lsp or {}).handlers or {}, {
    -- the server's messages go through vim.notify like the plugin's own, and are counted so a command's
    -- failure is told once
    ['window/showMessage'] = function(_, result)
      M.server_messages = M.server_messages + 1
      local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.DEBUG }
      notify((result.message or ''):gsub('^Hoody: ', ''), levels[result.type] or vim.log.levels.INFO)
      return vim.NIL
    end,
  })
  local lsp_config = vim.tbl_extend('force', cfg.lsp or {}, {
    handlers = handlers,
    cmd = cfg.cmd,
    cmd_env = cfg.cmd_env,
    filetypes = cfg.filetypes,
    root_markers = cfg.root_markers,
    settings = { hoody = settings },
    init_options = as_object(cfg.init_options or cfg.settings),
    capabilities = capabilities,
    on_attach = cfg.on_attach,
  })
  vim.lsp.config(cfg.name, lsp_config)

  local group = api.nvim_create_augroup('hoody', { clear = true })
  require('hoody.inline').setup(cfg, group)
  if cfg.progress then
    setup_progress(group, cfg.name)
  end
  create_commands()

  if cfg.enable ~= false then
    vim.lsp.enable(cfg.name)
  end
end

return M
