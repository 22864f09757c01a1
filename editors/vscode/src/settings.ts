// The `hoody` settings object handed to the server: only what the user set, nested, routing settings from
// user/machine scope only, plus the API key from SecretStorage.

import * as vscode from 'vscode';

/** Settings of the extension itself, not of the server. */
export const CLIENT_ONLY = new Set(['serverPath', 'pythonPath']);

/**
 * Settings that decide where code and the key go (first path segment). They are "machine" scoped in
 * package.json; this is the second fence: a workspace's own value is never read for them.
 */
export const ROUTING = new Set(['backend', 'apiKey', 'baseUrl', 'generatePath', 'http']);

/** Server setting keys below `hoody.` as contributed in package.json, e.g. `inlineCompletion.debounceMs`. */
export function contributedKeys(packageJSON: unknown): string[] {
  const props = (packageJSON as { contributes?: { configuration?: { properties?: Record<string, unknown> } } })
    ?.contributes?.configuration?.properties;
  return Object.keys(props ?? {})
    .filter((k) => k.startsWith('hoody.'))
    .map((k) => k.slice('hoody.'.length))
    .filter((k) => !CLIENT_ONLY.has(k));
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

function setPath(target: JsonObject, parts: string[], value: Json): void {
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    if (child === null || typeof child !== 'object' || Array.isArray(child)) {
      node[part] = {};
    }
    node = node[part] as JsonObject;
  }
  node[parts[parts.length - 1]] = value;
}

/**
 * The settings the user set, nested (`{"inlineCompletion": {"debounceMs": 0}}`).
 *
 * Defaults are left out on purpose: VS Code reports every contributed setting with its default, and a
 * default sent as a value would override the server's own environment layer (HOODY_BASE_URL, ...), which
 * sits below the editor's layers.
 */
export function explicitSettings(keys: string[], scope?: vscode.Uri): JsonObject {
  const cfg = vscode.workspace.getConfiguration('hoody', scope ?? null);
  const out: JsonObject = {};
  for (const key of keys) {
    const info = cfg.inspect<Json>(key);
    if (!info) {
      continue;
    }
    const routing = ROUTING.has(key.split('.')[0]);
    const layers = routing
      ? [info.globalValue]
      : [
          info.workspaceFolderLanguageValue,
          info.workspaceLanguageValue,
          info.globalLanguageValue,
          info.workspaceFolderValue,
          info.workspaceValue,
          info.globalValue,
        ];
    const value = layers.find((v) => v !== undefined);
    if (value !== undefined) {
      setPath(out, key.split('.'), value);
    }
  }
  return out;
}

/** `section` is `hoody` or below it (`hoody.inlineCompletion`): the matching part of `full`. */
export function sectionOf(full: JsonObject, section: string): Json {
  const parts = section.split('.').slice(1);
  let node: Json = full;
  for (const part of parts) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !(part in node)) {
      return null;
    }
    node = node[part];
  }
  return node;
}

export function isHoodySection(section: string | undefined | null): section is string {
  return typeof section === 'string' && (section === 'hoody' || section.startsWith('hoody.'));
}
