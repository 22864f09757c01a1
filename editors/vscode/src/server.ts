// Finding the hoody-lsp language server and checking that it is new enough, before the client starts it.

import { execFile, ExecFileException } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The oldest server this extension speaks to (commands, settings, progress as SPEC'd). */
export const MIN_SERVER_VERSION = '0.1.0';

export const INSTALL_COMMAND = 'pipx install hoody-lsp';
export const PIP_INSTALL_COMMAND = 'pip install hoody-lsp';
export const UPGRADE_COMMAND = 'pipx upgrade hoody-lsp';
export const PIP_UPGRADE_COMMAND = 'pip install --upgrade hoody-lsp';

export interface ServerCommand {
  command: string;
  args: string[];
  /** How the user would write it, for messages. */
  display: string;
}

export type ServerCheck =
  | { ok: true; server: ServerCommand; version: string }
  | { ok: false; kind: 'missing' | 'too_old' | 'broken'; message: string; server?: ServerCommand };

function expandHome(p: string): string {
  if (p === '~') {
    return os.homedir();
  }
  if (p.startsWith('~/') || p.startsWith('~\\')) {
    return path.join(os.homedir(), p.slice(2));
  }
  return p.replace(/\$\{userHome\}/g, os.homedir());
}

function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` on PATH (with PATHEXT on Windows), like a shell would find it. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter((d) => d.length > 0);
  const exts =
    process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').concat(['']) : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/**
 * Which command starts the server: `hoody.serverPath` if set, else `hoody-lsp` from PATH, else
 * `<hoody.pythonPath> -m hoody_lsp`. undefined when none of them applies.
 */
export function resolveServer(
  serverPath: string,
  pythonPath: string,
  env: NodeJS.ProcessEnv = process.env,
): ServerCommand | undefined {
  const configured = expandHome(serverPath.trim());
  if (configured) {
    // a bare name is looked up on PATH; a path is used as it is (and reported missing if it is not there)
    const command = configured.includes('/') || configured.includes('\\') ? configured : findOnPath(configured, env) ?? configured;
    return { command, args: [], display: command };
  }
  const onPath = findOnPath('hoody-lsp', env);
  if (onPath) {
    return { command: onPath, args: [], display: onPath };
  }
  const python = expandHome(pythonPath.trim());
  if (python) {
    return { command: python, args: ['-m', 'hoody_lsp'], display: `${python} -m hoody_lsp` };
  }
  return undefined;
}

/** `hoody-lsp 1.2.3` -> [1, 2, 3]; undefined when the text holds no such version. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /hoody-lsp\s+v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function versionAtLeast(have: [number, number, number], want: string): boolean {
  const w = want.split('.').map((x) => Number(x));
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0;
    const b = w[i] ?? 0;
    if (a !== b) {
      return a > b;
    }
  }
  return true;
}

function installHint(server: ServerCommand | undefined): string {
  if (server && server.args[0] === '-m') {
    return `\`${server.command} -m pip install hoody-lsp\``;
  }
  return `\`${INSTALL_COMMAND}\` (or \`${PIP_INSTALL_COMMAND}\`)`;
}

function run(
  server: ServerCommand,
  env: NodeJS.ProcessEnv,
): Promise<{ error?: ExecFileException; out: string }> {
  return new Promise((resolve) => {
    execFile(
      server.command,
      [...server.args, '--version'],
      { timeout: 20_000, env, windowsHide: true },
      (error, stdout, stderr) => {
        resolve({ error: error ?? undefined, out: `${stdout}\n${stderr}` });
      },
    );
  });
}

/** Runs `<server> --version` and says whether the client can start it, or what the user should do. */
export async function checkServer(
  serverPath: string,
  pythonPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServerCheck> {
  const server = resolveServer(serverPath, pythonPath, env);
  if (!server) {
    return {
      ok: false,
      kind: 'missing',
      message:
        `Hoody: the language server hoody-lsp was not found on PATH. Install it with ${installHint(undefined)}, ` +
        'or set "hoody.serverPath" (or "hoody.pythonPath"), then run "Hoody: Restart Server".',
    };
  }
  const res = await run(server, env);
  const version = parseVersion(res.out);
  if (res.error && (res.error.code === 'ENOENT' || res.error.code === 'EACCES')) {
    return {
      ok: false,
      kind: 'missing',
      server,
      message:
        `Hoody: cannot run the language server (${server.display}: ${res.error.code}). ` +
        `Install it with ${installHint(server)}, or fix "hoody.serverPath", then run "Hoody: Restart Server".`,
    };
  }
  if (!version) {
    const missingModule = /No module named ['"]?hoody_lsp/.test(res.out);
    const detail = res.out.trim().split('\n').slice(-1)[0] ?? '';
    return {
      ok: false,
      kind: missingModule ? 'missing' : 'broken',
      server,
      message: missingModule
        ? `Hoody: ${server.command} has no hoody-lsp. Install it with ${installHint(server)}, then run "Hoody: Restart Server".`
        : `Hoody: \`${server.display} --version\` did not print a hoody-lsp version` +
          (detail ? ` (${detail.slice(0, 200)})` : '') +
          `. Reinstall it with ${installHint(server)}.`,
    };
  }
  const shown = version.join('.');
  if (!versionAtLeast(version, MIN_SERVER_VERSION)) {
    const upgrade =
      server.args[0] === '-m'
        ? `\`${server.command} -m pip install --upgrade hoody-lsp\``
        : `\`${UPGRADE_COMMAND}\` (or \`${PIP_UPGRADE_COMMAND}\`)`;
    return {
      ok: false,
      kind: 'too_old',
      server,
      message:
        `Hoody: hoody-lsp ${shown} is too old; this extension needs ${MIN_SERVER_VERSION} or newer. ` +
        `Upgrade it with ${upgrade}, then run "Hoody: Restart Server".`,
    };
  }
  return { ok: true, server, version: shown };
}
