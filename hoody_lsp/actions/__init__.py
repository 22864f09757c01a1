"""Code actions' pure core: directives, test-file paths, backend requests, answer -> code, live regions."""
