// The Hoody extension: starts the hoody-lsp language server with vscode-languageclient, hands it the settings
// and the API key (from SecretStorage), and adds the commands a language server cannot add by itself.

import * as vscode from 'vscode';
import {
  CancellationToken,
  ConfigurationParams,
  ConfigurationRequest,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  ProgressToken,
  ResponseError,
  ServerOptions,
  ShowMessageNotification,
  ShowMessageParams,
  State,
  TransportKind,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';

import { checkServer, INSTALL_COMMAND, ServerCheck } from './server';
import { contributedKeys, explicitSettings, isHoodySection, Json, JsonObject, sectionOf } from './settings';
import { HoodyStatus } from './status';

const SECRET_KEY = 'hoody.apiKey';
const STATUS_MENU = 'hoody.statusMenu';

interface RefactorResult {
  applied?: boolean;
  reason?: string;
}

let extension: HoodyExtension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extension = new HoodyExtension(context);
  context.subscriptions.push(extension);
  await extension.activate();
}

export async function deactivate(): Promise<void> {
  await extension?.stop();
}

class HoodyExtension implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private lifecycle: Promise<void> = Promise.resolve();
  private readonly output: vscode.LogOutputChannel;
  private readonly status: HoodyStatus;
  private readonly keys: string[];
  /** The key the running server was last given; a change is pushed, a removal restarts the server. */
  private keyGiven: string | undefined;
  private progressSeq = 0;
  /** Error/warning messages the server has shown, to avoid repeating one in the command's own answer. */
  private serverProblems = 0;
  private keyChain: Promise<void> = Promise.resolve();

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('Hoody', { log: true });
    this.status = new HoodyStatus(STATUS_MENU);
    this.keys = contributedKeys(context.extension.packageJSON);
  }

  async activate(): Promise<void> {
    const ctx = this.context;
    const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
      ctx.subscriptions.push(vscode.commands.registerCommand(id, fn));
    };
    reg('hoody.setApiKey', () => this.setApiKey());
    reg('hoody.clearApiKey', () => this.clearApiKey());
    reg('hoody.refactorSelection', () => this.refactorSelection());
    reg('hoody.restartServer', () => {
      this.status.clearProblem();
      return this.restart();
    });
    reg('hoody.showLog', () => this.output.show(true));
    reg(STATUS_MENU, () => this.statusMenu());
    ctx.subscriptions.push(
      this.output,
      this.status,
      ctx.secrets.onDidChange((e) => {
        if (e.key === SECRET_KEY) {
          void this.keyChanged();
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('hoody.serverPath') || e.affectsConfiguration('hoody.pythonPath')) {
          void this.restart();
        }
      }),
    );
    // activation does not wait for the server: the commands are usable (and queue behind the start) at once
    void this.start();
  }

  // -- lifecycle ----------------------------------------------------------------------------------------

  /** Start/stop/restart run one after the other, never interleaved. */
  private serialize(step: () => Promise<void>): Promise<void> {
    this.lifecycle = this.lifecycle.then(step, step);
    return this.lifecycle;
  }

  start(): Promise<void> {
    return this.serialize(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.serialize(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.serialize(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  private async doStart(): Promise<void> {
    if (this.client) {
      return;
    }
    this.status.setState('starting');
    // serverPath/pythonPath decide which program runs: user/machine settings only, like the routing settings
    const cfg = vscode.workspace.getConfiguration('hoody');
    const serverPath = cfg.inspect<string>('serverPath')?.globalValue ?? '';
    const pythonPath = cfg.inspect<string>('pythonPath')?.globalValue ?? '';
    const check = await checkServer(serverPath, pythonPath);
    if (!check.ok) {
      this.unavailable(check);
      return;
    }
    this.output.info(`starting ${check.server.display} (hoody-lsp ${check.version})`);
    const key = await this.readKey();
    const serverOptions: ServerOptions = {
      command: check.server.command,
      args: check.server.args,
      transport: TransportKind.stdio,
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      synchronize: { configurationSection: 'hoody' },
      initializationOptions: this.settingsForServer(key),
      outputChannel: this.output,
      middleware: {
        workspace: {
          configuration: (params, token, next) => this.configuration(params, token, next),
          // VS Code's own push would carry every default (overriding the server's environment) and no key
          didChangeConfiguration: () => this.pushSettings(),
        },
        handleWorkDoneProgress: (token, params, next) => {
          this.onProgress(token, params);
          next(token, params);
        },
      },
    };
    const client = new LanguageClient('hoody', 'Hoody', serverOptions, clientOptions);
    // Replaces the client's default window/showMessage handler so problems also reach the status bar.
    client.onNotification(ShowMessageNotification.type, (p) => this.showServerMessage(p));
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      if (e.newState === State.Running) {
        this.status.setState('running', `${check.server.display} (hoody-lsp ${check.version})`);
      } else if (e.newState === State.Stopped) {
        this.status.setState('stopped', 'Run "Hoody: Restart Server" to start it again.');
      } else {
        this.status.setState('starting');
      }
    });
    this.client = client;
    try {
      await client.start();
      this.keyGiven = key;
      this.status.setState('running', `${check.server.display} (hoody-lsp ${check.version})`);
    } catch (err) {
      this.client = undefined;
      // stop the client's own restart attempts: a server that cannot initialize will not get better by itself
      await client.dispose(2000).catch(() => undefined);
      const message = `Hoody: the language server did not start: ${errorText(err)}`;
      this.output.error(message);
      this.status.setState('stopped', message);
      void vscode.window.showErrorMessage(message, 'Show Log').then((pick) => {
        if (pick) {
          this.output.show(true);
        }
      });
    }
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.keyGiven = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (err) {
        this.output.warn(`stopping the language server: ${errorText(err)}`);
      }
      client.dispose(5000)?.catch(() => undefined);
    }
    this.status.setState('stopped', 'Run "Hoody: Restart Server" to start it.');
  }

  private unavailable(check: Extract<ServerCheck, { ok: false }>): void {
    this.output.error(check.message);
    this.status.setState('unavailable', check.message);
    const actions = check.kind === 'missing' ? ['Copy Install Command', 'Open Settings'] : ['Open Settings'];
    void vscode.window.showErrorMessage(check.message, ...actions).then((pick) => {
      if (pick === 'Copy Install Command') {
        void vscode.env.clipboard.writeText(INSTALL_COMMAND);
      } else if (pick === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'hoody.serverPath');
      }
    });
  }

  dispose(): void {
    void this.stop();
  }

  // -- settings and the key -------------------------------------------------------------------------------

  private async readKey(): Promise<string | undefined> {
    try {
      const key = await this.context.secrets.get(SECRET_KEY);
      return key && key.trim() ? key.trim() : undefined;
    } catch (err) {
      this.output.warn(`cannot read the API key from the secret storage: ${errorText(err)}`);
      return undefined;
    }
  }

  /**
   * The nested `hoody` object: the settings the user set, plus the key when one is stored. With no stored
   * key, `apiKey` is left out so the server's HOODY_API_KEY (environment) still applies.
   */
  private settingsForServer(key: string | undefined, scope?: vscode.Uri): JsonObject {
    const settings = explicitSettings(this.keys, scope);
    if (key) {
      settings.apiKey = key;
    }
    return settings;
  }

  private async configuration(
    params: ConfigurationParams,
    token: CancellationToken,
    next: ConfigurationRequest.HandlerSignature,
  ): Promise<Json[] | ResponseError<void>> {
    const others = await next(params, token);
    if (!Array.isArray(others)) {
      return others;
    }
    const key = await this.readKey();
    return params.items.map((item, i): Json => {
      if (!isHoodySection(item.section)) {
        return others[i] as Json;
      }
      const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
      return sectionOf(this.settingsForServer(key, scope), item.section);
    });
  }

  /** Tells the server its settings changed; it re-reads them through workspace/configuration. */
  private async pushSettings(): Promise<void> {
    const client = this.client;
    if (!client || !client.isRunning()) {
      return;
    }
    const key = await this.readKey();
    // the same change may also restart the client (serverPath): a stopping client takes no notification
    if (this.client !== client || !client.isRunning()) {
      return;
    }
    try {
      await client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { hoody: this.settingsForServer(key) },
      });
      this.keyGiven = key;
    } catch (err) {
      this.output.warn(`could not send the new settings: ${errorText(err)}`);
    }
  }

  /** The stored key changed (our command, or another window): one at a time, so each change acts once. */
  private keyChanged(): Promise<void> {
    const step = (): Promise<void> => this.applyKeyChange();
    this.keyChain = this.keyChain.then(step, step);
    return this.keyChain;
  }

  private async applyKeyChange(): Promise<void> {
    const key = await this.readKey();
    if (key === this.keyGiven) {
      return;
    }
    this.status.clearProblem();
    if (key) {
      await this.pushSettings();
    } else {
      // A key once given stays in the server's initializationOptions layer: only a restart withdraws it.
      await this.restart();
    }
  }

  private async setApiKey(): Promise<void> {
    const value = await vscode.window.showInputBox({
      title: 'Hoody: Set API Key',
      prompt: "Your Hoody API key. It is kept in VS Code's secret storage, never in settings.json.",
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'Enter the key, or press Escape to cancel.'),
    });
    if (value === undefined || !value.trim()) {
      return;
    }
    await this.context.secrets.store(SECRET_KEY, value.trim());
    await this.keyChanged();
    void vscode.window.showInformationMessage('Hoody: API key saved.');
  }

  private async clearApiKey(): Promise<void> {
    await this.context.secrets.delete(SECRET_KEY);
    await this.keyChanged();
    void vscode.window.showInformationMessage('Hoody: API key removed.');
  }

  // -- commands -------------------------------------------------------------------------------------------

  private async refactorSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Hoody: open a file and select the code to refactor.');
      return;
    }
    const doc = editor.document;
    // nothing selected: the line under the cursor
    const range = editor.selection.isEmpty ? doc.lineAt(editor.selection.active.line).range : editor.selection;
    const instruction = await vscode.window.showInputBox({
      title: 'Hoody: Refactor Selection',
      prompt: 'How should the selection change? (empty: a sensible cleanup)',
      placeHolder: 'e.g. use a list comprehension',
      ignoreFocusOut: true,
    });
    if (instruction === undefined) {
      return;
    }
    await this.start();
    const client = this.client;
    if (!client || !client.isRunning()) {
      void vscode.window.showErrorMessage(
        this.status.lastProblem ?? 'Hoody: the language server is not running. Run "Hoody: Restart Server".',
      );
      return;
    }
    const args = {
      uri: client.code2ProtocolConverter.asUri(doc.uri),
      range: client.code2ProtocolConverter.asRange(range),
      instruction: instruction.trim() || undefined,
      version: doc.version,
    };
    const workDoneToken = `hoody-refactor-${process.pid}-${++this.progressSeq}`;
    const problemsBefore = this.serverProblems;
    let cancelled = false;
    const done = this.status.busy();
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Hoody: refactoring', cancellable: true },
        async (progress, cancel) => {
          cancel.onCancellationRequested(() => {
            cancelled = true;
          });
          const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (p) => {
            if (p.kind !== 'end' && p.message) {
              progress.report({ message: p.message });
            }
          });
          try {
            return (await client.sendRequest(
              ExecuteCommandRequest.type,
              { command: 'hoody.refactor', arguments: [args], workDoneToken },
              cancel,
            )) as RefactorResult | null;
          } finally {
            sub.dispose();
          }
        },
      );
      if (result && result.applied === false) {
        if (cancelled || result.reason === 'cancelled') {
          return;
        }
        const reason = result.reason || 'the server did not apply the edit';
        this.status.reportProblem(reason, 'warning');
        // the server may already have said what to do (window/showMessage before its answer): once is enough
        if (this.serverProblems === problemsBefore) {
          void vscode.window.showWarningMessage(`Hoody: Refactor Selection: ${reason}`);
        }
      } else if (result && result.applied) {
        this.status.clearProblem();
      }
    } catch (err) {
      if (cancelled || isCancelled(err)) {
        return;
      }
      const message = `Hoody: refactoring failed: ${errorText(err)}`;
      this.status.reportProblem(message);
      void vscode.window.showErrorMessage(message);
    } finally {
      done();
    }
  }

  private async statusMenu(): Promise<void> {
    const items: (vscode.QuickPickItem & { command: string })[] = [
      { label: '$(edit) Refactor Selection…', command: 'hoody.refactorSelection' },
      { label: '$(key) Set API Key', command: 'hoody.setApiKey' },
      { label: '$(trash) Clear API Key', command: 'hoody.clearApiKey' },
      { label: '$(debug-restart) Restart Server', command: 'hoody.restartServer' },
      { label: '$(output) Show Log', command: 'hoody.showLog' },
      { label: '$(settings-gear) Settings', command: 'workbench.action.openSettings' },
    ];
    const pick = await vscode.window.showQuickPick(items, {
      title: 'Hoody',
      placeHolder: this.status.lastProblem ? `Last problem: ${this.status.lastProblem}` : undefined,
    });
    if (pick) {
      await vscode.commands.executeCommand(pick.command, ...(pick.command.startsWith('workbench') ? ['hoody'] : []));
    }
  }

  // -- what the server tells the user ----------------------------------------------------------------------

  private onProgress(
    token: ProgressToken,
    params: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd,
  ): void {
    if (params.kind === 'begin' || params.kind === 'end') {
      this.status.progress(String(token), params.kind);
    }
  }

  private showServerMessage(p: ShowMessageParams): void {
    const text = p.message;
    if (p.type === MessageType.Error || p.type === MessageType.Warning) {
      this.serverProblems += 1;
      this.status.reportProblem(text, p.type === MessageType.Error ? 'error' : 'warning');
    }
    const show =
      p.type === MessageType.Error
        ? vscode.window.showErrorMessage
        : p.type === MessageType.Warning
          ? vscode.window.showWarningMessage
          : vscode.window.showInformationMessage;
    const actions = /api key/i.test(text) ? ['Set API Key'] : [];
    void show(text, ...actions).then((pick) => {
      if (pick === 'Set API Key') {
        void vscode.commands.executeCommand('hoody.setApiKey');
      }
    });
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    return err.message;
  }
  if (err && typeof err === 'object' && 'message' in err) {
    return String((err as { message: unknown }).message);
  }
  return String(err);
}

function isCancelled(err: unknown): boolean {
  // -32800 RequestCancelled; the client also rejects locally with a Cancellation error
  const code = err && typeof err === 'object' && 'code' in err ? (err as { code: unknown }).code : undefined;
  return code === -32800 || (err instanceof Error && /cancel/i.test(err.message) && !('code' in err));
}
