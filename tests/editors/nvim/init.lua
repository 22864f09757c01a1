-- Test init for Neovim driven by tests/editors/test_nvim.py: a bare editor (no user config), the plugin
-- from editors/nvim on the runtimepath (added with --cmd), and hoody.setup() with the options the
-- test passes as JSON in $HOODY_NVIM_TEST_SETUP.
-- no remote-plugin providers: probing for them (python's ftplugin asks has('python3')) costs seconds
vim.g.loaded_python3_provider = 0
vim.g.loaded_node_provider = 0
vim.g.loaded_perl_provider = 0
vim.g.loaded_ruby_provider = 0
vim.o.swapfile = false
vim.o.shada = ''
vim.o.more = false -- a long message must never wait for a key
vim.o.shortmess = vim.o.shortmess .. 'FWs'
vim.cmd('filetype on')
-- typed text lands exactly as typed: no automatic indentation to account for
vim.cmd('filetype indent off')
vim.o.autoindent = false

-- record notifications for the test to read (headless Neovim has no screen to show them on)
_G.hoody_test_messages = {}
vim.notify = function(msg, level)
  table.insert(_G.hoody_test_messages, { msg = msg, level = level or vim.log.levels.INFO })
end

local opts = vim.json.decode(vim.env.HOODY_NVIM_TEST_SETUP or '{}')
require('hoody').setup(opts)
