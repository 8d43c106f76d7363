// The extension as VS Code runs it: the bundle that ships (dist/extension.js),
// its real activation code and its real vscode-languageclient client,
// spawning the real `pacc lsp`. Only the `vscode` module is a stand-in
// (test/fake-vscode.js), injected through Node's module resolution.
//
// The binary comes from PAC_PACC, else $CARGO_TARGET_DIR/debug/pacc, else
// ../../target/debug/pacc. Run: `npm run build && PAC_PACC=… npm test`;
// PAC_VSIX (below) runs the packaged extension instead of the build.
"use strict";

const { test, after } = require("node:test");
const assert = require("node:assert/strict");
const Module = require("node:module");
const path = require("node:path");
const fs = require("node:fs");
const os = require("node:os");
const { execFileSync } = require("node:child_process");

const fakeVscode = path.join(__dirname, "fake-vscode.js");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === "vscode" ? fakeVscode : resolve.call(this, request, ...rest);
};

const vscode = require("vscode");
const fake = vscode.__test;
const extensionRoot = path.join(__dirname, "..");
const repoRoot = path.join(extensionRoot, "..", "..");
fake.loadPackageDefaults(path.join(extensionRoot, "package.json"));

function findPacc() {
  const candidates = [
    process.env.PAC_PACC,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, "debug", "pacc"),
    path.join(repoRoot, "target", "debug", "pacc"),
  ].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(
      `no pacc binary for the test (looked at ${candidates.join(", ")}); build it with \`cargo build --bin pacc\` and set PAC_PACC`,
    );
  }
  return path.resolve(found);
}

const pacc = findPacc();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pac-vscode-test-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

// With PAC_VSIX=path/to/pac-linux-x64-….vsix the first test runs the
// packaged extension: its bundle and its own server/pacc, unzipped.
let vsixExtension;
if (process.env.PAC_VSIX) {
  const dir = path.join(scratch, "vsix");
  execFileSync("unzip", ["-q", path.resolve(process.env.PAC_VSIX), "-d", dir]);
  vsixExtension = path.join(dir, "extension");
}
const bundle = path.join(vsixExtension ?? extensionRoot, "dist", "extension.js");
assert.ok(fs.existsSync(bundle), `${bundle} is missing: run \`npm run build\` first`);
const extension = require(bundle);
const originalPath = process.env.PATH;

let dirs = 0;
function tempDir(name) {
  const dir = path.join(scratch, `${name}-${dirs++}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** An installed extension's folder, with `server/pacc` when given. */
function extensionDir(server) {
  const dir = tempDir("extension");
  if (server) {
    fs.mkdirSync(path.join(dir, "server"));
    if (typeof server === "string") fs.symlinkSync(server, path.join(dir, "server", "pacc"));
    else {
      fs.writeFileSync(path.join(dir, "server", "pacc"), server.script, { mode: 0o755 });
    }
  }
  return dir;
}

function workspaceDir() {
  const dir = tempDir("workspace");
  for (const f of ["network.pac", "exceptions.pac"]) {
    fs.copyFileSync(path.join(repoRoot, "tests", "lsp_ws", f), path.join(dir, f));
  }
  return dir;
}

/** Activates the extension the way VS Code does; returns the context. */
async function activate(extPath, settings, workspace) {
  fake.reset();
  fake.configure(settings, { fire: false });
  fake.setWorkspaceFolder(workspace);
  const context = {
    subscriptions: [],
    extensionPath: extPath,
    extensionUri: vscode.Uri.file(extPath),
    asAbsolutePath: (p) => path.join(extPath, p),
    globalState: new Map(),
    workspaceState: new Map(),
    extensionMode: vscode.ExtensionMode.Test,
  };
  await extension.activate(context);
  return context;
}

async function deactivate(context) {
  await extension.deactivate();
  for (const d of context.subscriptions) d.dispose();
}

/** Polls `probe` until it returns a value; fails naming `what` if it never does. */
async function waitFor(what, probe, limitMs = 60_000) {
  const until = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > until) {
      throw new Error(`gave up waiting for ${what}; output:\n${outputText()}\nerrors: ${fake.shown.error.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function outputText() {
  return fake.outputs.map((o) => `--- ${o.name}\n${o.lines.join("\n")}`).join("\n");
}

function status() {
  const items = fake.statusItems.filter((s) => s.id === "pac.status");
  assert.equal(items.length, 1, "one Pac status-bar item");
  return items[0];
}

/** The diagnostics VS Code would show for `doc`, once the server sent some. */
function diagnosticsOf(doc) {
  for (const c of fake.diagnosticCollections) {
    const d = c.get(doc.uri);
    if (d) return d;
  }
  return undefined;
}

function provider(kind, doc) {
  const ps = fake.providers(kind, doc);
  assert.equal(ps.length, 1, `exactly one ${kind} for ${doc.uri} (got ${ps.length})`);
  return ps[0].provider;
}

function token() {
  return new vscode.CancellationTokenSource().token;
}

/** The position `n` UTF-16 units after the start of `needle` in `doc`. */
function at(doc, needle, n = 0) {
  const i = doc.getText().indexOf(needle);
  assert.ok(i >= 0, `${JSON.stringify(needle)} in ${doc.uri}`);
  return doc.positionAt(i + n);
}

/** `edits` (vscode.TextEdit) applied to `text` of `doc`, last first. */
function applyEdits(doc, edits) {
  let text = doc.getText();
  const sorted = [...edits].sort((a, b) => doc.offsetAt(b.range.start) - doc.offsetAt(a.range.start));
  for (const e of sorted) {
    text = text.slice(0, doc.offsetAt(e.range.start)) + e.newText + text.slice(doc.offsetAt(e.range.end));
  }
  return text;
}

function markdown(hover) {
  return hover.contents.map((c) => (typeof c === "string" ? c : c.value)).join("\n");
}

function label(item) {
  return typeof item.label === "string" ? item.label : item.label.label;
}

test("the bundled server: diagnostics, hover, code action, completion, formatting and the test lens through the real client", async () => {
  const ws = workspaceDir();
  const context = await activate(vsixExtension ?? extensionDir(pacc), {}, ws);
  try {
    // Started from the binary inside the extension, and says so.
    assert.match(status().text, /\$\(check\) Pac/, outputText());
    assert.match(status().tooltip.value, /server\/pacc` \(bundled\)/);
    assert.ok(
      fake.outputs.some((o) => o.lines.some((l) => l.includes("found through the binary bundled with the extension"))),
      outputText(),
    );
    assert.deepEqual(fake.shown.error, []);

    // Diagnostics: a clean file gets an empty list from the server.
    const net = fake.openDocument(path.join(ws, "network.pac"));
    const clean = net.getText();
    assert.deepEqual(await waitFor("diagnostics of network.pac", () => diagnosticsOf(net)), []);

    // Hover: a field's type and schema doc.
    const hover = await provider("HoverProvider", net).provideHover(net, at(net, "cidr_block}", 1), token());
    assert.ok(hover instanceof vscode.Hover, "a vscode.Hover");
    assert.match(markdown(hover), /cidr_block: cidr/);
    assert.match(markdown(hover), /field of `aws\.ec2\.vpc`/);

    // A misspelt field: an error with pacc check's code and a "did you mean".
    const misspelt = clean.replace('(state ?? "available")', '(stat ?? "available")');
    assert.notEqual(misspelt, clean, "tests/lsp_ws/network.pac reads `(state ?? \"available\")`");
    fake.setText(net, misspelt);
    const diags = await waitFor("a diagnostic for `stat`", () => {
      const d = diagnosticsOf(net);
      return d && d.length > 0 ? d : undefined;
    });
    const stat = diags.find((d) => d.message.includes("`stat`"));
    assert.ok(stat, JSON.stringify(diags));
    assert.ok(stat instanceof vscode.Diagnostic);
    assert.equal(stat.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(stat.source, "pac");
    assert.match(String(stat.code?.value ?? stat.code), /^E\d{4}$/);
    assert.equal(net.getText(stat.range), "stat");

    // Code action: the quick fix replaces it, and the error goes away.
    const actions = await provider("CodeActionsProvider", net).provideCodeActions(
      net,
      stat.range,
      { diagnostics: [stat], only: undefined, triggerKind: vscode.CodeActionTriggerKind.Invoke },
      token(),
    );
    const fix = actions.find((a) => a.kind && a.kind.value === "quickfix" && a.isPreferred);
    assert.ok(fix, JSON.stringify(actions.map((a) => a.title)));
    const edits = fix.edit.get(net.uri);
    assert.deepEqual(
      edits.map((e) => e.newText),
      ["state"],
    );
    fake.setText(net, applyEdits(net, edits));
    assert.equal(net.getText(), clean);
    await waitFor("the error to clear", () => diagnosticsOf(net)?.length === 0);

    // Completion after `self.` on text that does not parse.
    const typed = clean.replace('starts_with(vpc_id, "vpc-0")', 'starts_with(vpc_id, "vpc-0") and self.');
    fake.setText(net, typed);
    const completion = await provider("CompletionItemProvider", net).provideCompletionItems(
      net,
      at(net, "self.", 5),
      token(),
      { triggerKind: vscode.CompletionTriggerKind.TriggerCharacter, triggerCharacter: "." },
    );
    const items = Array.isArray(completion) ? completion : completion.items;
    const cidr = items.find((i) => label(i) === "cidr_block");
    assert.ok(cidr, JSON.stringify(items.map(label)));
    assert.ok(items.some((i) => label(i) === "is_default"));
    assert.equal(cidr.detail, "cidr?"); // optional, as aws-sdk-rust models it
    assert.equal(cidr.kind, vscode.CompletionItemKind.Field);

    // Formatting: the same text as `pacc fmt`.
    const messy = clean.replace("  title", "title").replace("severity medium", "severity    medium");
    fake.setText(net, messy);
    const fmtEdits = await provider("DocumentFormattingEditProvider", net).provideDocumentFormattingEdits(
      net,
      { tabSize: 2, insertSpaces: true },
      token(),
    );
    assert.ok(fmtEdits.length > 0, "formatting changes the messy file");
    const messyFile = path.join(tempDir("fmt"), "messy.pac");
    fs.writeFileSync(messyFile, messy);
    execFileSync(pacc, ["fmt", messyFile]);
    assert.equal(applyEdits(net, fmtEdits), fs.readFileSync(messyFile, "utf8"));
    fake.setText(net, clean);

    // The test lens: "▶ Run test" runs `pac.runTests` in the server.
    const exc = fake.openDocument(path.join(ws, "exceptions.pac"));
    const lensProvider = provider("CodeLensProvider", exc);
    let lenses = await lensProvider.provideCodeLenses(exc, token());
    lenses = await Promise.all(
      lenses.map((l) => (l.command || !lensProvider.resolveCodeLens ? l : lensProvider.resolveCodeLens(l, token()))),
    );
    const runOne = lenses.find((l) => l.command && l.command.title === "▶ Run test");
    assert.ok(runOne, JSON.stringify(lenses.map((l) => l.command?.title)));
    assert.equal(runOne.command.command, "pac.runTests");
    assert.equal(exc.getText(runOne.range), '"an available default-looking VPC fails"');
    const result = await vscode.commands.executeCommand(runOne.command.command, ...(runOne.command.arguments ?? []));
    assert.equal(result.passed, 1, JSON.stringify(result));
    assert.equal(result.failed, 0);
    assert.deepEqual(
      result.tests.map((t) => [t.name, t.passed]),
      [["an available default-looking VPC fails", true]],
    );
    assert.ok(fake.shown.info.includes("Pac tests: 1 passed, 0 failed"), JSON.stringify(fake.shown));

    // "Pac: Run the tests of this file" on the active editor.
    const fileResult = await vscode.commands.executeCommand("pac.runFileTests");
    assert.equal(fileResult.passed, 1, JSON.stringify(fileResult));

    // While the workspace has errors the answer still has `tests`.
    fake.setText(net, clean.replace("severity medium", "severity hgh"));
    await waitFor("the severity error", () => diagnosticsOf(net)?.length > 0);
    const blocked = await vscode.commands.executeCommand("pac.runTests", exc.uri.toString());
    assert.deepEqual(blocked.tests, [], JSON.stringify(blocked));
    assert.ok(blocked.errors >= 1);
    fake.setText(net, clean);

    // "Pac: Show server version": the binary's own `--version`.
    const version = await vscode.commands.executeCommand("pac.showServerVersion");
    assert.match(version, /pacc \d+\.\d+\.\d+/);
    assert.match(version, /bundled with the extension/);
    assert.match(version, /running/);
    assert.ok(fake.shown.info.includes(version));

    // "Pac: Restart server": a new server, the same single set of features.
    await vscode.commands.executeCommand("pac.restartServer");
    assert.match(status().text, /\$\(check\) Pac/);
    const again = await provider("HoverProvider", net).provideHover(net, at(net, "cidr_block}", 1), token());
    assert.match(markdown(again), /cidr_block: cidr/);
    assert.equal(fake.registered.commands.has("pac.runTests"), true);
  } finally {
    await deactivate(context);
  }
  assert.equal(fake.registered.commands.size, 0, "every command is disposed");
  assert.deepEqual([...fake.missing], [], "the fake vscode module lacks members the extension used");
});

test("pac.server.path wins over the bundled binary", async () => {
  // A bundled binary that fails like the one in the original bug report.
  const broken = extensionDir({ script: "#!/bin/sh\necho \"error: unexpected argument\" >&2\nexit 2\n" });
  const context = await activate(broken, { "pac.server.path": pacc }, workspaceDir());
  try {
    assert.match(status().text, /\$\(check\) Pac/, outputText());
    const version = await vscode.commands.executeCommand("pac.showServerVersion");
    assert.match(version, /the "pac\.server\.path" setting/);
    assert.ok(version.includes(pacc));
  } finally {
    await deactivate(context);
  }
});

test("without a setting or a bundled binary, pacc on the PATH", async () => {
  const bin = tempDir("bin");
  fs.symlinkSync(pacc, path.join(bin, "pacc"));
  process.env.PATH = `${bin}${path.delimiter}${originalPath}`;
  try {
    const context = await activate(extensionDir(), {}, workspaceDir());
    try {
      assert.match(status().text, /\$\(check\) Pac/, outputText());
      const version = await vscode.commands.executeCommand("pac.showServerVersion");
      assert.match(version, /the PATH/);
      assert.ok(version.includes(path.join(bin, "pacc")));
    } finally {
      await deactivate(context);
    }
  } finally {
    process.env.PATH = originalPath;
  }
});

test("no server anywhere: a message that says what to set, a failed status, no crash", async () => {
  process.env.PATH = tempDir("empty-bin");
  try {
    const context = await activate(extensionDir(), {}, workspaceDir());
    try {
      assert.match(status().text, /\$\(error\) Pac/);
      assert.equal(fake.shown.error.length, 1, JSON.stringify(fake.shown));
      assert.match(fake.shown.error[0], /pac\.server\.path/);
      assert.match(fake.shown.error[0], /not on the PATH/);
      const version = await vscode.commands.executeCommand("pac.showServerVersion");
      assert.match(version, /no language server binary/);
    } finally {
      await deactivate(context);
    }
  } finally {
    process.env.PATH = originalPath;
  }
});

test("a server that exits at once is reported, not hidden", async () => {
  const broken = extensionDir({ script: "#!/bin/sh\necho \"error: unexpected argument '--stdio' found\" >&2\nexit 2\n" });
  const context = await activate(broken, {}, workspaceDir());
  try {
    assert.doesNotMatch(status().text, /\$\(check\)/);
    // Whether its stderr is read before the pipe breaks is a race; the
    // message naming the binary and the setting is not.
    const message = await waitFor("an error message", () =>
      fake.shown.error.find((m) => m.includes("did not start")),
    );
    assert.ok(message.includes(path.join(broken, "server", "pacc")), message);
    assert.match(message, /pac\.server\.path/);
    assert.match(status().text, /\$\(error\) Pac/);
  } finally {
    await deactivate(context);
  }
});
