"""Secret files are recognised; secret values are replaced, code stays readable and keeps its lines."""

from __future__ import annotations

import pytest

from hoody_lsp.context import is_secret_path, redact


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "app/.env.local",
        ".env.production",
        ".envrc",
        "certs/server.pem",
        "tls/private.key",
        "id_rsa",
        "home/.ssh/id_ed25519.pub",
        "store.p12",
        "cert.pfx",
        ".netrc",
        ".npmrc",
        ".pypirc",
        "credentials.json",
        "project/.aws/credentials",
        ".aws/config",
        ".ssh/config",
        "secrets.yaml",
        ".git-credentials",
        "terraform.tfstate",
        "prod.tfvars",
        "CREDENTIALS.JSON",
        "C:\\Users\\me\\.env",
    ],
)
def test_secret_paths(path: str) -> None:
    assert is_secret_path(path)


@pytest.mark.parametrize(
    "path",
    ["src/main.py", "keys.py", "tokens.ts", "environment.py", "config/settings.yaml", "README.md", "env/x.py", ""],
)
def test_ordinary_paths(path: str) -> None:
    assert not is_secret_path(path)


REDACTIONS = [
    ('AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"', 'AWS_ACCESS_KEY_ID = "AKIA<redacted>"'),
    ("key = AKIAIOSFODNN7EXAMPLE", "key = AKIA<redacted>"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = <redacted>"),
    ('t = "ghp_1234567890abcdefghijklmnopqrstuvwxyz12"', 't = "ghp_<redacted>"'),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_pat_<redacted>"),
    ("glpat-abcdefghij0123456789", "glpat-<redacted>"),
    ('slack = "xoxb-123456789012-abcdefghij"', 'slack = "xoxb-<redacted>"'),
    ('password = "hunter2"', 'password = "<redacted>"'),
    ("password: str = 'hunter2'", "password: str = '<redacted>'"),
    ('const apiKey = "abcd1234secret";', 'const apiKey = "<redacted>";'),
    ('    "client_secret": "s3cr3t-value",', '    "client_secret": "<redacted>",'),
    ('db_password: "p@ss"', 'db_password: "<redacted>"'),
    ("db_password: p4ssw0rd", "db_password: <redacted>"),
    ("PASSWORD=s3cr3t", "PASSWORD=<redacted>"),
    ("export GITHUB_TOKEN=abc123def456", "export GITHUB_TOKEN=<redacted>"),
    ("api_key = abc123  # local", "api_key = <redacted>  # local"),
    ('Password: "x1y2",', 'Password: "<redacted>",'),
    ('secret := "go-secret-1"', 'secret := "<redacted>"'),
    ('String password = "java1";', 'String password = "<redacted>";'),
    ('let api_key = String::from("rust-key-1");', 'let api_key = String::from("<redacted>");'),
    ('login(user="me", password="letmein")', 'login(user="me", password="<redacted>")'),
    ("<password>hunter2</password>", "<password><redacted></password>"),
    ('url = "postgres://admin:Sup3r@db:5432/app"', 'url = "postgres://admin:<redacted>@db:5432/app"'),
    ('h = {"Authorization": "Bearer abcdef123456"}', 'h = {"Authorization": "Bearer <redacted>"}'),
    (
        "jwt = eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "jwt = eyJ<redacted>",
    ),
]


@pytest.mark.parametrize(("text", "expected"), REDACTIONS)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


KEPT = [
    "password: str",
    "token = get_token()",
    "password = None",
    'secret = os.environ["SECRET"]',
    "max_tokens = 4000",
    'tokenizer = "bert"',
    'token_type = "bearer"',
    "def login(self, password: str, token: str | None = None) -> bool:",
    "Bearer authentication is used.",
    'password = ""',
    'api_key = "${API_KEY}"',
    "self.api_key = api_key",
    "if not password:",
    'keys = ["a", "b"]',
    "primary_key = True",
]


@pytest.mark.parametrize("text", KEPT)
def test_code_is_kept(text: str) -> None:
    assert redact(text) == text


def test_private_key_block_keeps_line_count() -> None:
    text = (
        "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabcdefghijklmnop\n"
        "-----END RSA PRIVATE KEY-----\nafter"
    )
    out = redact(text)
    assert "MIIEpAIBAAKCAQEA" not in out and "abcdefghijklmnop" not in out
    assert out.count("\n") == text.count("\n")
    assert out.startswith("before\n-----BEGIN RSA PRIVATE KEY-----\n<redacted>")
    assert out.endswith("-----END RSA PRIVATE KEY-----\nafter")


def test_unterminated_private_key_is_redacted_to_the_end() -> None:
    text = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nmore"
    out = redact(text)
    assert "b3BlbnNz" not in out and "more" not in out
    assert out.count("\n") == text.count("\n")


def test_many_secrets_in_one_text_and_lines_stay() -> None:
    text = "\n".join(t for t, _ in REDACTIONS)
    out = redact(text)
    assert out.split("\n") == [e for _, e in REDACTIONS]


def test_large_text_is_fast() -> None:
    import time

    text = ("def f(x):\n    return x + 1  # key and token words\n" * 5000) + 'password = "s3cret"\n'
    t = time.perf_counter()
    out = redact(text)
    assert time.perf_counter() - t < 1.0
    assert out.endswith('password = "<redacted>"\n')
