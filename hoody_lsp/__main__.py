"""`python -m hoody_lsp`: the same as the `hoody-lsp` console script."""

from hoody_lsp.cli import main

raise SystemExit(main())
