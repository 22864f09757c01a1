"""Cross-file context for prompts: workspace index, ignore and secret rules, symbols, retrieval, packing.

The server uses `ContextEngine`; everything that leaves the machine goes through `redact`; secret files are
recognised by `is_secret_path`. No LSP, HTTP or network code lives in this package.
"""

from hoody_lsp.context.engine import ContextEngine, Snippet
from hoody_lsp.context.secrets import is_secret_path, redact

__all__ = ["ContextEngine", "Snippet", "is_secret_path", "redact"]
