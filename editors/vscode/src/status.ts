// The status bar item: whether the server runs, whether a generation is in progress, the last problem.

import * as vscode from 'vscode';

export type ServerState = 'starting' | 'running' | 'stopped' | 'unavailable';

export class HoodyStatus implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private state: ServerState = 'starting';
  private readonly busyTokens = new Set<string>();
  private busyCount = 0;
  private problem: { text: string; severity: 'error' | 'warning' } | undefined;
  private detail = '';

  constructor(command: string) {
    this.item = vscode.window.createStatusBarItem('hoody.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Hoody';
    this.item.command = command;
    this.render();
    this.item.show();
  }

  setState(state: ServerState, detail = ''): void {
    this.state = state;
    this.detail = detail;
    if (state !== 'running') {
      this.busyTokens.clear();
    }
    this.render();
  }

  /** A work-done progress of the server began (`begin`) or ended (`end`). */
  progress(token: string, kind: 'begin' | 'end'): void {
    if (kind === 'begin') {
      this.busyTokens.add(token);
    } else {
      this.busyTokens.delete(token);
    }
    this.render();
  }

  /** Marks the extension's own command as running until the returned function is called. */
  busy(): () => void {
    this.busyCount += 1;
    this.render();
    let done = false;
    return () => {
      if (!done) {
        done = true;
        this.busyCount -= 1;
        this.render();
      }
    };
  }

  reportProblem(text: string, severity: 'error' | 'warning' = 'error'): void {
    this.problem = { text, severity };
    this.render();
  }

  clearProblem(): void {
    this.problem = undefined;
    this.render();
  }

  get lastProblem(): string | undefined {
    return this.problem?.text;
  }

  get isBusy(): boolean {
    return this.busyCount > 0 || this.busyTokens.size > 0;
  }

  private render(): void {
    const tip = new vscode.MarkdownString(undefined, true);
    tip.isTrusted = false;
    let icon = '$(sparkle)';
    let state = 'ready';
    this.item.backgroundColor = undefined;
    if (this.state === 'starting') {
      icon = '$(loading~spin)';
      state = 'starting the language server';
    } else if (this.state === 'stopped' || this.state === 'unavailable') {
      icon = '$(circle-slash)';
      state = this.state === 'stopped' ? 'language server stopped' : 'language server unavailable';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else if (this.isBusy) {
      icon = '$(loading~spin)';
      state = 'generating…';
    } else if (this.problem) {
      icon = this.problem.severity === 'error' ? '$(error)' : '$(warning)';
      state = 'last request had a problem';
      this.item.backgroundColor = new vscode.ThemeColor(
        this.problem.severity === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground',
      );
    }
    this.item.text = `${icon} Hoody`;
    tip.appendText(`Hoody: ${state}`);
    if (this.detail) {
      tip.appendText(`\n\n${this.detail}`);
    }
    if (this.problem) {
      tip.appendText(`\n\nLast problem: ${this.problem.text}`);
    }
    this.item.tooltip = tip;
    this.item.accessibilityInformation = { label: `Hoody: ${state}` };
  }

  dispose(): void {
    this.item.dispose();
  }
}
