--- hoody.inline: ghost-text inline completion for Neovim 0.11 (textDocument/inlineCompletion
--- drawn with extmarks), or the built-in vim.lsp.inline_completion on 0.12+.
---
--- Flow (0.11): typing or moving in insert mode (re)starts a short debounce timer and cancels
--- the request in flight; when the timer fires one request goes out; its answer is drawn only
--- if the buffer and cursor are still where they were. The first line is inline virt_text at
--- the cursor, the rest virt_lines below. Typing characters that match the ghost text keeps it
--- (shortened) without a new request.
local M = {}

local api = vim.api
local uv = vim.uv

local METHOD = 'textDocument/inlineCompletion'
local TRIGGER_AUTOMATIC = 2

--- Namespace of the ghost-text extmarks (tests and statuslines may look at it).
M.ns = api.nvim_create_namespace('hoody.inline')

local cfg ---@type table
local enabled = true
local timer ---@type uv.uv_timer_t?
local pending ---@type {client: vim.lsp.Client, id: integer}?

---@class hoody.Suggestion
---@field bufnr integer
---@field row integer 0-based cursor row when shown
---@field col integer 0-based byte column of the cursor when shown
---@field tick integer b:changedtick when shown
---@field srow integer start of the range the accepted text replaces (bytes)
---@field scol integer
---@field tail integer bytes after the cursor (same line) the accepted text replaces
---@field text string the text that replaces the range
---@field ghost string what is drawn: the part of `text` not typed yet
---@field item table the raw InlineCompletionItem
---@field client_id integer
local shown ---@type hoody.Suggestion?

local function stop_timer()
  if timer then
    timer:stop()
  end
end

local function cancel_pending()
  if pending then
    local p = pending
    pending = nil
    if not p.client:is_stopped() then
      p.client:cancel_request(p.id)
    end
  end
end

local function clear_marks(bufnr)
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

--- Hides the suggestion (if any) without touching requests.
local function hide()
  if shown then
    clear_marks(shown.bufnr)
    shown = nil
  end
end

--- Hides the suggestion, stops the timer and cancels the request in flight.
function M.dismiss()
  stop_timer()
  cancel_pending()
  hide()
end

function M.is_enabled()
  return enabled
end

function M.set_enabled(on)
  enabled = on and true or false
  if M.native() then
    vim.lsp.inline_completion.enable(enabled)
  elseif not enabled then
    M.dismiss()
  end
end

--- True when Neovim's own inline completion (0.12+) is in use.
function M.native()
  return vim.lsp.inline_completion ~= nil and cfg ~= nil and cfg.inline.native ~= false
end

---@return vim.lsp.Client?
local function client_for(bufnr)
  local c = vim.lsp.get_clients({ bufnr = bufnr, name = cfg.name })[1]
  if c and c.initialized and c:supports_method(METHOD, bufnr) then
    return c
  end
end

local function cursor()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

--- Buffer text between two byte positions (rows 0-based), joined with "\n".
local function buf_text(bufnr, srow, scol, erow, ecol)
  if srow > erow or (srow == erow and scol >= ecol) then
    return ''
  end
  return table.concat(api.nvim_buf_get_text(bufnr, srow, scol, erow, ecol, {}), '\n')
end

--- LSP position -> byte column on its line.
local function byte_col(bufnr, pos, encoding)
  local line = api.nvim_buf_get_lines(bufnr, pos.line, pos.line + 1, false)[1] or ''
  local col = pos.character
  if encoding ~= 'utf-8' then
    col = vim.str_byteindex(line, encoding, col, false)
  end
  return math.min(col, #line)
end

--- Display form of the ghost: tabs as spaces (virtual text shows no real tabs).
local function display(s)
  local ts = vim.bo.tabstop > 0 and vim.bo.tabstop or 8
  return (s:gsub('\t', string.rep(' ', ts)))
end

local function draw(s)
  local lines = vim.split(s.ghost, '\n', { plain = true })
  local hl = cfg.inline.hl_group
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { display(lines[i]), hl } }
  end
  clear_marks(s.bufnr)
  api.nvim_buf_set_extmark(s.bufnr, M.ns, s.row, s.col, {
    virt_text = { { display(lines[1]), hl } },
    virt_text_pos = 'inline',
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = 'combine',
    right_gravity = false,
  })
end

--- Turns the first usable item of an answer into a suggestion at the current cursor, or nil.
---@return hoody.Suggestion?
local function build(bufnr, client, result)
  local items = type(result) == 'table' and (result.items or result) or {}
  local row, col = cursor()
  for _, item in ipairs(items) do
    local text = item.insertText
    if type(text) == 'table' then
      text = text.value -- a snippet: inserted as plain text
    end
    if type(text) == 'string' and text ~= '' then
      text = text:gsub('\r\n', '\n')
      local srow, scol, tail = row, col, 0
      local ok = true
      if item.range then
        local s, e = item.range.start, item.range['end']
        srow, scol = s.line, byte_col(bufnr, s, client.offset_encoding)
        local ecol = byte_col(bufnr, e, client.offset_encoding)
        -- the range must cover the cursor: start at/before it, end on its line at/after it
        ok = e.line == row and ecol >= col and (srow < row or (srow == row and scol <= col))
        tail = ecol - col
      end
      if ok then
        local typed = buf_text(bufnr, srow, scol, row, col)
        local ghost = text
        if typed ~= '' and text:sub(1, #typed) == typed then
          ghost = text:sub(#typed + 1)
        end
        -- text after the cursor that the item rewrites identically need not be drawn twice
        local after = buf_text(bufnr, row, col, row, col + tail)
        if after ~= '' and #ghost >= #after and ghost:sub(-#after) == after then
          ghost = ghost:sub(1, #ghost - #after)
        end
        if ghost ~= '' then
          return {
            bufnr = bufnr,
            row = row,
            col = col,
            tick = api.nvim_buf_get_changedtick(bufnr),
            srow = srow,
            scol = scol,
            tail = tail,
            text = text,
            ghost = ghost,
            item = item,
            client_id = client.id,
          }
        end
      end
    end
  end
end

-- exposed for tests: the suggestion an answer gives at the current cursor
M._build = build

--- Sends one request for the cursor of the current buffer.
local function request()
  local bufnr = api.nvim_get_current_buf()
  if not enabled or not in_insert_mode() then
    return
  end
  local client = client_for(bufnr)
  if not client then
    return
  end
  cancel_pending()
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = TRIGGER_AUTOMATIC }
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local row, col = cursor()
  local id
  local ok, rid = client:request(METHOD, params, function(err, result)
    if not pending or pending.id ~= id then
      return -- superseded or cancelled
    end
    pending = nil
    if err or not result then
      return
    end
    -- draw only if nothing moved while the server was thinking
    if
      not enabled
      or api.nvim_get_current_buf() ~= bufnr
      or not in_insert_mode()
      or api.nvim_buf_get_changedtick(bufnr) ~= tick
    then
      return
    end
    local r, c = cursor()
    if r ~= row or c ~= col then
      return
    end
    local s = build(bufnr, client, result)
    hide()
    if s then
      shown = s
      draw(s)
    end
  end, bufnr)
  if ok and rid then
    id = rid
    pending = { client = client, id = rid }
  end
end

--- Debounced trigger: cancels what is in flight, requests after `debounce_ms`.
function M.trigger()
  cancel_pending()
  local delay = cfg.inline.debounce_ms or 0
  if delay <= 0 then
    vim.schedule(request)
    return
  end
  timer = timer or uv.new_timer()
  timer:stop()
  timer:start(delay, 0, vim.schedule_wrap(request))
end

--- Whether the shown suggestion still matches the buffer and cursor exactly.
local function still_valid(s)
  if not s or api.nvim_get_current_buf() ~= s.bufnr or not api.nvim_buf_is_valid(s.bufnr) then
    return false
  end
  local row, col = cursor()
  return row == s.row and col == s.col and api.nvim_buf_get_changedtick(s.bufnr) == s.tick
end

--- After an edit or a move: keep the suggestion if the user typed its next characters,
--- otherwise hide it and ask again.
local function on_change()
  if not enabled then
    return
  end
  local s = shown
  if s and still_valid(s) then
    return
  end
  if s and api.nvim_get_current_buf() == s.bufnr then
    local row, col = cursor()
    local first = s.ghost:match('^[^\n]*')
    if row == s.row and col > s.col and col - s.col <= #first then
      local typed = buf_text(s.bufnr, row, s.col, row, col)
      if typed == first:sub(1, #typed) and #typed == col - s.col then
        s.ghost = s.ghost:sub(#typed + 1)
        s.col = col
        s.tick = api.nvim_buf_get_changedtick(s.bufnr)
        if s.ghost == '' then
          hide()
        else
          draw(s)
          return
        end
      end
    end
  end
  hide()
  M.trigger()
end

--- Whether a suggestion is drawn at the cursor now.
function M.visible()
  return still_valid(shown)
end

--- The text drawn as ghost text now (nil when none): for statuslines and tests.
function M.current()
  return M.visible() and shown.ghost or nil
end

--- Inserts the shown suggestion; false when there is none.
function M.accept()
  if M.native() then
    return vim.lsp.inline_completion.get()
  end
  local s = shown
  if not still_valid(s) then
    return false
  end
  ---@cast s hoody.Suggestion
  M.dismiss()
  local lines = vim.split(s.text, '\n', { plain = true })
  local line = api.nvim_buf_get_lines(s.bufnr, s.row, s.row + 1, false)[1] or ''
  local ecol = math.min(s.col + s.tail, #line)
  api.nvim_buf_set_text(s.bufnr, s.srow, s.scol, s.row, ecol, lines)
  local last = #lines == 1 and (s.scol + #lines[1]) or #lines[#lines]
  api.nvim_win_set_cursor(0, { s.srow + #lines, last })
  if s.item.command then
    local client = vim.lsp.get_client_by_id(s.client_id)
    if client then
      client:exec_cmd(s.item.command, { bufnr = s.bufnr })
    end
  end
  return true
end

-- keys -----------------------------------------------------------------------------------------

--- Maps `key` in insert mode to `on_visible` when a suggestion is drawn, else to what `key` did
--- before (a previous mapping of it, copied to a <Plug> key, or the key itself).
local function map_with_fallback(bufnr, key, plug_name, on_visible_cmd)
  local plug = '<Plug>(hoody-fallback-' .. plug_name .. ')'
  local prev = vim.fn.maparg(key, 'i', false, true)
  local fopts = { buffer = bufnr, silent = true }
  if prev and prev.lhs and not (prev.desc or ''):match('^hoody:') then
    fopts.expr = prev.expr == 1
    fopts.remap = prev.noremap ~= 1
    fopts.replace_keycodes = prev.expr == 1 and prev.replace_keycodes == 1 or nil
    vim.keymap.set('i', plug, prev.callback or prev.rhs, fopts)
  else
    vim.keymap.set('i', plug, key, fopts) -- noremap: the key's own meaning
  end
  vim.keymap.set('i', key, function()
    if M.native() then
      return vim.lsp.inline_completion.get() and '' or plug
    end
    if M.visible() then
      return on_visible_cmd
    end
    return plug
  end, { buffer = bufnr, expr = true, remap = true, silent = true, desc = 'hoody: ' .. plug_name })
end

--- Buffer-local autocmds and keys once the hoody client attaches.
local function attach(bufnr)
  if vim.b[bufnr].hoody_inline_attached then
    return
  end
  vim.b[bufnr].hoody_inline_attached = true
  if cfg.inline.accept_key then
    -- <Cmd> runs after the expr mapping returns, outside its textlock, so it may edit the buffer
    map_with_fallback(bufnr, cfg.inline.accept_key, 'accept', "<Cmd>lua require('hoody.inline').accept()<CR>")
  end
  if cfg.inline.dismiss_key then
    map_with_fallback(bufnr, cfg.inline.dismiss_key, 'dismiss', "<Cmd>lua require('hoody.inline').dismiss()<CR>")
  end
  if M.native() then
    vim.lsp.inline_completion.enable(enabled, { bufnr = bufnr })
    return
  end
  local group = api.nvim_create_augroup('hoody.inline.' .. bufnr, { clear = true })
  api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI', 'InsertEnter' }, {
    group = group,
    buffer = bufnr,
    callback = on_change,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave', 'WinLeave' }, {
    group = group,
    buffer = bufnr,
    callback = M.dismiss,
  })
end

local function detach(bufnr)
  if not vim.b[bufnr].hoody_inline_attached then
    return
  end
  vim.b[bufnr].hoody_inline_attached = nil
  pcall(api.nvim_del_augroup_by_name, 'hoody.inline.' .. bufnr)
  if shown and shown.bufnr == bufnr then
    M.dismiss()
  end
  for _, key in ipairs({ cfg.inline.accept_key, cfg.inline.dismiss_key }) do
    if key then
      pcall(vim.keymap.del, 'i', key, { buffer = bufnr })
    end
  end
end

---@param config table the merged hoody config
---@param group integer augroup for the global autocmds
function M.setup(config, group)
  cfg = config
  enabled = cfg.inline.enabled ~= false
  api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == cfg.name then
        attach(ev.buf)
      end
    end,
  })
  api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == cfg.name then
        detach(ev.buf)
      end
    end,
  })
end

return M
