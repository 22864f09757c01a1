"""Secrets: which files are never read (`is_secret_path`) and the scrubbing of every text that leaves the
machine (`redact`).

`redact` keeps code readable and keeps the line count (snippets keep their line numbers): a quoted secret keeps
its quotes (`password = "<redacted>"`), a token keeps its recognisable prefix (`AKIA<redacted>`,
`ghp_<redacted>`), a private key block keeps its BEGIN/END lines.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

REDACTED = "<redacted>"

# --------------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------------

_SECRET_NAMES = frozenset(
    {
        ".netrc",
        "_netrc",
        ".npmrc",
        ".yarnrc",
        ".yarnrc.yml",
        ".pypirc",
        ".pgpass",
        ".my.cnf",
        ".git-credentials",
        ".gitcookies",
        ".htpasswd",
        ".vault-token",
        ".dockercfg",
        ".s3cfg",
        ".boto",
        ".envrc",
        "credentials",
        "credentials.json",
        "credentials.yaml",
        "credentials.yml",
        "credentials.xml",
        "credentials.toml",
        "secrets.json",
        "secrets.yaml",
        "secrets.yml",
        "secrets.toml",
        "secret.json",
        "secret.yaml",
        "secret.yml",
        "token.json",
        "tokens.json",
        "kubeconfig",
        "terraform.tfstate",
        "terraform.tfstate.backup",
        "authorized_keys",
        "known_hosts",
        "shadow",
        "passwd",
        "master.key",
        "keystore.properties",
        "local.properties",
    }
)
_SECRET_SUFFIXES = (
    ".pem",
    ".key",
    ".p12",
    ".pfx",
    ".p8",
    ".jks",
    ".keystore",
    ".kdbx",
    ".gpg",
    ".pgp",
    ".asc",
    ".crt",
    ".cer",
    ".der",
    ".csr",
    ".ppk",
    ".ovpn",
    ".tfvars",
    ".tfstate",
    ".secret",
    ".secrets",
    ".credentials",
)
_SECRET_PREFIXES = (
    ".env",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "client_secret",
    "service-account",
    "service_account",
)
# folders whose whole content is credentials
_SECRET_DIRS = frozenset({".ssh", ".gnupg", ".aws", ".kube", ".azure", ".gcloud", ".password-store", ".docker"})


def is_secret_path(path: str) -> bool:
    """True for files whose content must never be read or sent (keys, certificates, credential stores)."""
    norm = path.replace("\\", "/").rstrip("/")
    parts = norm.lower().split("/")
    base = parts[-1] if parts else ""
    if not base:
        return False
    if base in _SECRET_NAMES or base.endswith(_SECRET_SUFFIXES) or base.startswith(_SECRET_PREFIXES):
        return True
    return any(p in _SECRET_DIRS for p in parts[:-1])


# --------------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------------

# Tokens with a recognisable prefix: the prefix stays, the rest goes.
_PREFIXED = re.compile(
    r"(?<![A-Za-z0-9])"
    r"(?P<p>(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])(?=[A-Z0-9]{16}\b)"
    r"|gh[pousr]_(?=[A-Za-z0-9]{30,})"
    r"|github_pat_(?=[A-Za-z0-9_]{20,})"
    r"|glpat-(?=[A-Za-z0-9_\-]{20,})"
    r"|gldt-(?=[A-Za-z0-9_\-]{20,})"
    r"|xox[abprse]-(?=[A-Za-z0-9\-]{10,})"
    r"|xapp-(?=[A-Za-z0-9\-]{10,})"
    r"|(?:sk|rk|pk)_(?:live|test)_(?=[A-Za-z0-9]{16,})"
    r"|sk-ant-(?=[A-Za-z0-9_\-]{20,})"
    r"|sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_\-]{20,})"
    r"|AIza(?=[0-9A-Za-z_\-]{35})"
    r"|ya29\.(?=[0-9A-Za-z_\-]{20,})"
    r"|npm_(?=[A-Za-z0-9]{36})"
    r"|pypi-(?=AgE[A-Za-z0-9_\-]{20,})"
    r"|hf_(?=[A-Za-z0-9]{30,})"
    r"|SG\.(?=[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,})"
    r"|dop_v1_(?=[a-f0-9]{40,})"
    r")"
    r"[A-Za-z0-9_\-./+=]+"
)

_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")

_SLACK_HOOK = re.compile(r"(https://hooks\.slack\.com/services/)[A-Za-z0-9/_\-]+")

# scheme://user:password@host
_URL_CRED = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"`<>]+:)(?P<pw>[^\s@/'\"`<>]+)(?=@)")

_BEARER = re.compile(r"(?P<head>\b(?:[Bb]earer|[Bb]asic|[Tt]oken)\s+)(?P<tok>[A-Za-z0-9\-._~+/]{8,}=*)")

_PRIVATE_KEY = re.compile(
    r"(?P<begin>-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----)"
    r"(?P<body>.*?)"
    r"(?P<end>-----END (?P=label)-----|\Z)",
    re.S,
)

# Key names that hold secrets: the keyword ends the key (so `max_tokens`, `tokenizer`, `token_type` stay).
_KEYWORD = (
    r"(?:password|passwd|passphrase|secret|secret_?key|secret_?access_?key|client_?secret|api_?secret"
    r"|token|access_?token|refresh_?token|auth_?token|id_?token|bearer_?token|session_?token"
    r"|api_?key|apikey|access_?key|access_?key_?id|private_?key|signing_?key|encryption_?key|master_?key"
    r"|credentials?|conn(?:ection)?_?string|dsn)"
)
_KEY = r"(?<![A-Za-z0-9_.\-])(?P<key>[\"']?[A-Za-z0-9_.\-]{0,40}?" + _KEYWORD + r"[\"']?\]?)(?![A-Za-z0-9_])"

# key <op> "value"   (Python, JS/TS, Go, Java, Rust, Ruby, PHP, JSON, YAML, TOML, .ini, env files, kwargs)
_ASSIGN_QUOTED = re.compile(
    r"(?i)" + _KEY + r"(?P<op>\s*(?::\s*[A-Za-z_][\w\[\]., |]*?\s*)?(?:=>|:=|==|!=|=|:)\s*"
    r"(?:[A-Za-z_][\w.:]*\(\s*)?)"  # a wrapping call: SecretStr("..."), String::from("...")
    r"(?P<pfx>[rRbBuUfF]{0,2})(?P<q>\"|'|`)(?P<val>(?:\\.|(?!(?P=q)).)+?)(?P=q)"
)

# key <op> value   (unquoted, one token up to the end of the line: env, .ini, YAML, properties)
_ASSIGN_BARE = re.compile(
    r"(?im)^(?P<lead>[ \t]*(?:export[ \t]+|-[ \t]+)?)" + _KEY + r"(?P<op>[ \t]*[:=][ \t]*)"
    r"(?P<val>[^\s'\"`#;,(){}\[\]<>][^\s#;,(){}\[\]<>]*)(?P<tail>[ \t]*(?:[#;].*)?)$"
)

_XML_SECRET = re.compile(
    r"(?i)(?P<open><(?P<tag>[\w.\-]*(?:password|secret|token|api_?key|apikey|private_?key))>)"
    r"(?P<val>[^<\n]+)(?P<close></(?P=tag)>)"
)

# identifier-like values that are code, not secrets (`password: str`, `token = None`)
_CODE_WORDS = frozenset(
    {
        "str",
        "bytes",
        "int",
        "bool",
        "float",
        "any",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "string",
        "number",
        "object",
        "list",
        "dict",
        "optional",
        "secretstr",
        "self",
        "this",
        "required",
        "str|none",
    }
)
_IDENT_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?")


def _bare_is_code(val: str) -> bool:
    if val.lower() in _CODE_WORDS or val[0] in "$%{@&*":
        return True  # a type, a constant, a reference to another value (${VAR}, %(x)s, {{ x }})
    if _IDENT_LIKE.fullmatch(val):
        # a dotted name, a call, snake_case/CamelCase identifiers: code; a plain lower-case word: maybe a secret
        return "." in val or "_" in val or "(" in val or val[0].isupper()
    return False


def _placeholder_value(val: str) -> bool:
    v = val.strip()
    return not v or REDACTED in v or v.startswith(("${", "{{", "%(", "<", "$")) or set(v) <= {"*", "x", "X", "."}


def _sub_private_key(m: re.Match[str]) -> str:
    body = m.group("body")
    newlines = body.count("\n")
    # keep the number of lines: the placeholder on the first body line, the others blank
    new_body = (REDACTED if body.strip() else body) if newlines == 0 else "\n" + REDACTED + "\n" * (newlines - 1)
    return m.group("begin") + new_body + m.group("end")


def _sub_quoted(m: re.Match[str]) -> str:
    val = m.group("val")
    if _placeholder_value(val):
        return m.group(0)
    return f"{m.group('key')}{m.group('op')}{m.group('pfx')}{m.group('q')}{REDACTED}{m.group('q')}"


def _sub_bare(m: re.Match[str]) -> str:
    val = m.group("val")
    if _bare_is_code(val) or _placeholder_value(val):
        return m.group(0)
    return f"{m.group('lead')}{m.group('key')}{m.group('op')}{REDACTED}{m.group('tail')}"


def _sub_bearer(m: re.Match[str]) -> str:
    tok = m.group("tok")
    # prose ("Bearer authentication") stays; a token has digits or is long and mixed
    if any(c.isdigit() for c in tok) or (len(tok) >= 20 and not tok.isalpha()):
        return m.group("head") + REDACTED
    return m.group(0)


def _sub_url(m: re.Match[str]) -> str:
    pw = m.group("pw")
    if _placeholder_value(pw):
        return m.group(0)
    return m.group("head") + REDACTED


_PREFIX_LITERALS = (
    "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3T", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
    "github_pat_", "glpat-", "gldt-", "xox", "xapp-", "k_live_", "k_test_", "sk-", "AIza", "ya29.", "npm_",
    "pypi-", "hf_", "SG.", "dop_v1_",
)  # fmt: skip
# lower-case words that mark a line worth the (slower) key/value patterns
_LINE_HINTS = (
    "pass", "secret", "token", "key", "cred", "dsn", "conn", "bearer", "basic ", "://",
)  # fmt: skip


def _hot_lines(lower: str) -> set[int]:
    """Indexes of the lines holding any hint word (found with plain substring search: fast)."""
    starts: list[int] | None = None
    hot: set[int] = set()
    for hint in _LINE_HINTS:
        pos = lower.find(hint)
        if pos < 0:
            continue
        if starts is None:
            starts = [0]
            nl = lower.find("\n")
            while nl >= 0:
                starts.append(nl + 1)
                nl = lower.find("\n", nl + 1)
        while pos >= 0:
            hot.add(bisect.bisect_right(starts, pos) - 1)
            pos = lower.find(hint, pos + 1)
    return hot


@lru_cache(maxsize=4096)  # the same lines come back with every keystroke's prompt window
def _redact_line(line: str) -> str:
    if "://" in line:
        line = _URL_CRED.sub(_sub_url, line)
    line = _BEARER.sub(_sub_bearer, line)
    line = _ASSIGN_QUOTED.sub(_sub_quoted, line)
    line = _ASSIGN_BARE.sub(_sub_bare, line)
    if "<" in line:
        line = _XML_SECRET.sub(lambda m: m.group("open") + REDACTED + m.group("close"), line)
    return line


def redact(text: str) -> str:
    """Replace secret values in `text` by placeholders; everything else (and the line count) stays."""
    if not text:
        return text
    if "PRIVATE KEY" in text:
        text = _PRIVATE_KEY.sub(_sub_private_key, text)
    if any(p in text for p in _PREFIX_LITERALS):
        text = _PREFIXED.sub(lambda m: m.group("p") + REDACTED, text)
    if "eyJ" in text:
        text = _JWT.sub("eyJ" + REDACTED, text)
    if "hooks.slack.com" in text:
        text = _SLACK_HOOK.sub(lambda m: m.group(1) + REDACTED, text)
    hot = _hot_lines(text.lower())
    if not hot:
        return text
    lines = text.split("\n")
    for i in hot:
        if i < len(lines):
            lines[i] = _redact_line(lines[i])
    return "\n".join(lines)
