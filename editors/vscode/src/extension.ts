// The Pac extension: a language client that starts `pacc lsp` on stdio.
// Everything language-aware (diagnostics, hover, completion, navigation,
// formatting, code actions, the "run tests" code lens) lives in the server;
// this file only starts it and forwards settings.

import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

function serverOptions(): ServerOptions {
  const config = vscode.workspace.getConfiguration("pac");
  const command = config.get<string>("server.path") || "pacc";
  const extra = config.get<string[]>("server.extraArgs") ?? [];
  const run = { command, args: ["lsp", ...extra], transport: TransportKind.stdio };
  return { run, debug: run };
}

function settings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration("pac");
  return {
    diagnostics: { debounceMs: config.get<number>("diagnostics.debounceMs") },
    paths: config.get<string[]>("paths"),
  };
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "pac" }, { scheme: "untitled", language: "pac" }],
    initializationOptions: settings(),
    synchronize: {
      configurationSection: "pac",
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.pac"),
    },
  };
  client = new LanguageClient("pac", "Pac language server", serverOptions(), clientOptions);
  try {
    await client.start();
  } catch (e) {
    const path = vscode.workspace.getConfiguration("pac").get<string>("server.path");
    void vscode.window.showErrorMessage(
      `Pac: cannot start \`${path} lsp\` (${e}). Install pacc or set "pac.server.path".`,
    );
  }
  context.subscriptions.push({ dispose: () => void client?.stop() });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("pac.restartServer", async () => {
      await client?.stop();
      await start(context);
    }),
    vscode.commands.registerCommand("pac.runFileTests", async () => {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc || doc.languageId !== "pac") {
        void vscode.window.showWarningMessage("Pac: open a .pac file to run its tests.");
        return;
      }
      // The server's `pac.runTests` command reports the results itself.
      await vscode.commands.executeCommand("pac.runTests", doc.uri.toString());
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
