// The Pac extension: a language client that starts `pacc lsp` on stdio.
// Everything language-aware (diagnostics, hover, completion, navigation,
// formatting, code actions, the "run tests" code lens) lives in the server;
// this file finds the binary, starts it, shows its state and forwards
// settings.

import { execFile } from "child_process";
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions, State } from "vscode-languageclient/node";
import { ResolvedServer, resolveServer } from "./server";

let client: LanguageClient | undefined;
let server: ResolvedServer | undefined;
let output: vscode.LogOutputChannel;
let status: vscode.StatusBarItem;
/** Set while a start or restart runs, so that commands wait for it. */
let starting: Promise<void> | undefined;

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration("pac");
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function serverOptions(s: ResolvedServer): ServerOptions {
  const extra = config().get<string[]>("server.extraArgs") ?? [];
  // No `transport`: the client then spawns exactly `pacc lsp` and talks
  // over its stdin/stdout. (`TransportKind.stdio` would append `--stdio`,
  // which `pacc lsp` accepts too, but older binaries on a PATH do not.)
  const run = { command: s.command, args: ["lsp", ...extra] };
  return { run, debug: run };
}

function settings(): Record<string, unknown> {
  return {
    diagnostics: { debounceMs: config().get<number>("diagnostics.debounceMs") },
    paths: config().get<string[]>("paths"),
  };
}

type Shown = "starting" | "running" | "stopped" | "failed";

function showState(state: Shown, detail?: string): void {
  const icon = { starting: "$(sync~spin)", running: "$(check)", stopped: "$(circle-slash)", failed: "$(error)" }[state];
  status.text = `${icon} Pac`;
  const where = server ? `\`${server.command}\` (${server.source})` : "no server binary";
  status.tooltip = new vscode.MarkdownString(
    `**Pac language server: ${state}**\n\n${where}${detail ? `\n\n${detail}` : ""}\n\nClick for the server's output.`,
  );
  status.backgroundColor =
    state === "failed" || state === "stopped" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  status.show();
}

async function start(): Promise<void> {
  try {
    server = resolveServer(config().get<string>("server.path"), extensionPath, workspaceRoot());
  } catch (e) {
    server = undefined;
    const msg = `Pac: cannot start the language server: ${(e as Error).message} Set "pac.server.path" to a \`pacc\` binary, or install one on the PATH (\`cargo install --path .\` in the Pac repository).`;
    output.appendLine(msg);
    showState("failed", (e as Error).message);
    void vscode.window.showErrorMessage(msg);
    return;
  }
  output.appendLine(`Starting \`${server.command} lsp\` (found through ${describe(server)}).`);
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "pac" },
      { scheme: "untitled", language: "pac" },
    ],
    initializationOptions: settings(),
    outputChannel: output,
    synchronize: {
      configurationSection: "pac",
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.pac"),
    },
  };
  const c = new LanguageClient("pac", "Pac language server", serverOptions(server), clientOptions);
  client = c;
  c.onDidChangeState((e) => {
    if (client !== c) {
      return;
    }
    if (e.newState === State.Running) {
      const info = c.initializeResult?.serverInfo;
      showState("running", info ? `${info.name} ${info.version ?? ""}`.trim() : undefined);
    } else if (e.newState === State.Starting) {
      showState("starting");
    } else {
      showState("stopped", 'The server stopped; run "Pac: Restart server" to start it again.');
    }
  });
  showState("starting");
  try {
    await c.start();
  } catch (e) {
    const msg = `Pac: \`${server.command} lsp\` (${describe(server)}) did not start: ${e}`;
    output.appendLine(msg);
    showState("failed", String(e));
    void vscode.window.showErrorMessage(`${msg}. Check "pac.server.path" and the "Pac" output.`);
  }
}

function describe(s: ResolvedServer): string {
  switch (s.source) {
    case "setting":
      return 'the "pac.server.path" setting';
    case "bundled":
      return "the binary bundled with the extension";
    case "PATH":
      return "the PATH";
  }
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  if (!c) {
    return;
  }
  try {
    // Waits for `shutdown`/`exit`; the process is killed if it hangs.
    await c.dispose(2000);
  } catch (e) {
    output.appendLine(`Pac: stopping the server: ${e}`);
  }
}

function restart(): Promise<void> {
  const run = (starting ?? Promise.resolve()).then(async () => {
    await stop();
    await start();
  });
  starting = run;
  return run;
}

function pacVersion(command: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, ["--version"], { timeout: 10_000 }, (err, stdout, stderr) => {
      resolve(err ? `\`${command} --version\` failed: ${stderr.trim() || err.message}` : stdout.trim());
    });
  });
}

async function showVersion(): Promise<string> {
  await starting;
  if (!server) {
    const msg = 'Pac: no language server binary was found; set "pac.server.path".';
    void vscode.window.showWarningMessage(msg);
    return msg;
  }
  const version = await pacVersion(server.command);
  const running = client?.isRunning() ? "running" : "not running";
  const msg = `Pac language server: ${version} — ${server.command} (${describe(server)}), ${running}`;
  output.appendLine(msg);
  void vscode.window.showInformationMessage(msg);
  return msg;
}

let extensionPath = "";

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extensionPath = context.extensionPath;
  output = vscode.window.createOutputChannel("Pac", { log: true });
  status = vscode.window.createStatusBarItem("pac.status", vscode.StatusBarAlignment.Left, 0);
  status.name = "Pac language server";
  status.command = "pac.showOutput";
  context.subscriptions.push(
    output,
    status,
    vscode.commands.registerCommand("pac.restartServer", restart),
    vscode.commands.registerCommand("pac.showServerVersion", showVersion),
    vscode.commands.registerCommand("pac.showOutput", () => output.show(true)),
    vscode.commands.registerCommand("pac.runFileTests", async () => {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc || doc.languageId !== "pac") {
        void vscode.window.showWarningMessage("Pac: open a .pac file to run its tests.");
        return undefined;
      }
      // The server's `pac.runTests` command reports the results itself.
      return vscode.commands.executeCommand("pac.runTests", doc.uri.toString());
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("pac.server")) {
        void restart();
      }
    }),
    { dispose: () => void stop() },
  );
  starting = start();
  await starting;
}

export async function deactivate(): Promise<void> {
  await starting;
  await stop();
}
