"""hoody-lsp: a language server for Hoody's AI code generation (inline completions and code actions)."""

__version__ = "0.1.0"
