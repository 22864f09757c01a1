"""One module per LSP feature; each exposes `register(server)`. Handlers stay thin: snapshot, core, convert."""
