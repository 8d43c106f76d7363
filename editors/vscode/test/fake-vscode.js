// A small stand-in for the `vscode` module, for running the extension's
// real activation code and its real vscode-languageclient client under
// plain Node (VS Code itself cannot be downloaded where the tests run).
//
// It implements the parts of the API the extension and the client touch,
// records what they register and show (providers, commands, diagnostics,
// messages, the status bar, output), and lets a test open and edit
// documents. Members it lacks are recorded in `__test.missing` so a gap
// shows up as a named failure instead of a silent `undefined`.
"use strict";

const path = require("path");
const fs = require("fs");
const { fileURLToPath, pathToFileURL } = require("url");

const missing = new Set();

function strict(name, obj) {
  return new Proxy(obj, {
    get(target, prop, receiver) {
      if (prop in target || typeof prop === "symbol" || prop === "then" || prop === "toJSON" || prop === "__esModule") {
        return Reflect.get(target, prop, receiver);
      }
      missing.add(`${name}.${String(prop)}`);
      return undefined;
    },
  });
}

// ------------------------------------------------------------------ basics

class Disposable {
  constructor(fn) {
    this._fn = fn;
  }
  static from(...items) {
    return new Disposable(() => {
      for (const i of items) {
        if (i && typeof i.dispose === "function") i.dispose();
      }
    });
  }
  dispose() {
    if (this._fn) {
      const fn = this._fn;
      this._fn = undefined;
      fn();
    }
  }
}

class EventEmitter {
  constructor() {
    this._listeners = new Set();
    this.event = (listener, thisArg, disposables) => {
      const entry = { listener, thisArg };
      this._listeners.add(entry);
      const d = new Disposable(() => this._listeners.delete(entry));
      if (Array.isArray(disposables)) disposables.push(d);
      return d;
    };
  }
  fire(value) {
    for (const { listener, thisArg } of [...this._listeners]) {
      listener.call(thisArg, value);
    }
  }
  dispose() {
    this._listeners.clear();
  }
}

const noEvent = () => new Disposable(() => {});

class CancellationTokenSource {
  constructor() {
    const emitter = new EventEmitter();
    this._emitter = emitter;
    this.token = { isCancellationRequested: false, onCancellationRequested: emitter.event };
  }
  cancel() {
    if (!this.token.isCancellationRequested) {
      this.token.isCancellationRequested = true;
      this._emitter.fire(undefined);
    }
  }
  dispose() {
    this._emitter.dispose();
  }
}

class CancellationError extends Error {
  constructor() {
    super("Canceled");
    this.name = "Canceled";
  }
}

class Uri {
  constructor(scheme, authority, p, query, fragment) {
    this.scheme = scheme;
    this.authority = authority || "";
    this.path = p || "";
    this.query = query || "";
    this.fragment = fragment || "";
  }
  static parse(value) {
    const m = /^([a-zA-Z][\w+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(value);
    if (!m) throw new Error(`fake vscode: cannot parse URI ${value}`);
    return new Uri(m[1], m[2], decodeURIComponent(m[3]), m[4], m[5]);
  }
  static file(p) {
    return new Uri("file", "", path.resolve(p));
  }
  static joinPath(base, ...parts) {
    return base.with({ path: path.posix.join(base.path, ...parts) });
  }
  static from(c) {
    return new Uri(c.scheme, c.authority, c.path, c.query, c.fragment);
  }
  get fsPath() {
    return this.scheme === "file" ? fileURLToPath(this.toString()) : this.path;
  }
  with(change) {
    return new Uri(
      change.scheme ?? this.scheme,
      change.authority ?? this.authority,
      change.path ?? this.path,
      change.query ?? this.query,
      change.fragment ?? this.fragment,
    );
  }
  toString() {
    if (this.scheme === "file") return pathToFileURL(this.path).href;
    let s = `${this.scheme}:`;
    if (this.authority || this.scheme === "file") s += `//${this.authority}`;
    s += encodeURI(this.path);
    if (this.query) s += `?${this.query}`;
    if (this.fragment) s += `#${this.fragment}`;
    return s;
  }
  toJSON() {
    return { $mid: 1, scheme: this.scheme, authority: this.authority, path: this.path, query: this.query, fragment: this.fragment };
  }
}

class Position {
  constructor(line, character) {
    if (line < 0 || character < 0) throw new Error("fake vscode: negative position");
    this.line = line;
    this.character = character;
  }
  isBefore(o) {
    return this.line < o.line || (this.line === o.line && this.character < o.character);
  }
  isBeforeOrEqual(o) {
    return this.isBefore(o) || this.isEqual(o);
  }
  isAfter(o) {
    return !this.isBeforeOrEqual(o);
  }
  isAfterOrEqual(o) {
    return !this.isBefore(o);
  }
  isEqual(o) {
    return this.line === o.line && this.character === o.character;
  }
  compareTo(o) {
    return this.isBefore(o) ? -1 : this.isEqual(o) ? 0 : 1;
  }
  translate(lineDelta = 0, characterDelta = 0) {
    if (typeof lineDelta === "object") ({ lineDelta = 0, characterDelta = 0 } = lineDelta);
    return new Position(this.line + lineDelta, this.character + characterDelta);
  }
  with(line = this.line, character = this.character) {
    if (typeof line === "object") ({ line = this.line, character = this.character } = line);
    return new Position(line, character);
  }
}

class Range {
  constructor(a, b, c, d) {
    if (typeof a === "number") {
      a = new Position(a, b);
      b = new Position(c, d);
    }
    [this.start, this.end] = b.isBefore(a) ? [b, a] : [a, b];
  }
  get isEmpty() {
    return this.start.isEqual(this.end);
  }
  get isSingleLine() {
    return this.start.line === this.end.line;
  }
  contains(x) {
    if (x instanceof Range) return this.contains(x.start) && this.contains(x.end);
    return !x.isBefore(this.start) && !this.end.isBefore(x);
  }
  isEqual(o) {
    return this.start.isEqual(o.start) && this.end.isEqual(o.end);
  }
  with(start = this.start, end = this.end) {
    if (start && !(start instanceof Position)) ({ start = this.start, end = this.end } = start);
    return new Range(start, end);
  }
}

class Selection extends Range {
  constructor(anchor, active) {
    super(anchor, active);
    this.anchor = anchor;
    this.active = active;
  }
}

class Location {
  constructor(uri, rangeOrPosition) {
    this.uri = uri;
    this.range = rangeOrPosition instanceof Position ? new Range(rangeOrPosition, rangeOrPosition) : rangeOrPosition;
  }
}

const DiagnosticSeverity = { Error: 0, Warning: 1, Information: 2, Hint: 3 };
const DiagnosticTag = { Unnecessary: 1, Deprecated: 2 };

class Diagnostic {
  constructor(range, message, severity = DiagnosticSeverity.Error) {
    this.range = range;
    this.message = message;
    this.severity = severity;
  }
}

class DiagnosticRelatedInformation {
  constructor(location, message) {
    this.location = location;
    this.message = message;
  }
}

class MarkdownString {
  constructor(value = "", supportThemeIcons = false) {
    this.value = value;
    this.supportThemeIcons = supportThemeIcons;
  }
  appendText(t) {
    this.value += t.replace(/[\\`*_{}[\]()#+\-.!]/g, "\\$&");
    return this;
  }
  appendMarkdown(t) {
    this.value += t;
    return this;
  }
  appendCodeblock(code, lang = "") {
    this.value += `\n\`\`\`${lang}\n${code}\n\`\`\`\n`;
    return this;
  }
}

class Hover {
  constructor(contents, range) {
    this.contents = Array.isArray(contents) ? contents : [contents];
    this.range = range;
  }
}

const CompletionItemKind = {};
[
  "Text", "Method", "Function", "Constructor", "Field", "Variable", "Class", "Interface", "Module", "Property",
  "Unit", "Value", "Enum", "Keyword", "Snippet", "Color", "File", "Reference", "Folder", "EnumMember",
  "Constant", "Struct", "Event", "Operator", "TypeParameter", "User", "Issue",
].forEach((k, i) => (CompletionItemKind[k] = i));

class CompletionItem {
  constructor(label, kind) {
    this.label = label;
    this.kind = kind;
  }
}

class CompletionList {
  constructor(items = [], isIncomplete = false) {
    this.items = items;
    this.isIncomplete = isIncomplete;
  }
}

class SnippetString {
  constructor(value = "") {
    this.value = value;
  }
}

class TextEdit {
  constructor(range, newText) {
    this.range = range;
    this.newText = newText;
  }
  static replace(range, newText) {
    return new TextEdit(range, newText);
  }
  static insert(position, newText) {
    return new TextEdit(new Range(position, position), newText);
  }
  static delete(range) {
    return new TextEdit(range, "");
  }
}

class SnippetTextEdit {
  constructor(range, snippet) {
    this.range = range;
    this.snippet = snippet;
  }
}

class WorkspaceEdit {
  constructor() {
    this._edits = new Map();
    this._files = [];
  }
  _list(uri) {
    const key = uri.toString();
    if (!this._edits.has(key)) this._edits.set(key, [uri, []]);
    return this._edits.get(key)[1];
  }
  replace(uri, range, newText) {
    this._list(uri).push(new TextEdit(range, newText));
  }
  insert(uri, position, newText) {
    this._list(uri).push(TextEdit.insert(position, newText));
  }
  delete(uri, range) {
    this._list(uri).push(TextEdit.delete(range));
  }
  set(uri, edits) {
    const list = this._list(uri);
    list.length = 0;
    for (const e of edits ?? []) list.push(Array.isArray(e) ? e[0] : e);
  }
  get(uri) {
    return this._edits.get(uri.toString())?.[1] ?? [];
  }
  has(uri) {
    return this._edits.has(uri.toString());
  }
  entries() {
    return [...this._edits.values()].map(([u, e]) => [u, [...e]]);
  }
  createFile(uri, options) {
    this._files.push({ op: "create", uri, options });
  }
  deleteFile(uri, options) {
    this._files.push({ op: "delete", uri, options });
  }
  renameFile(from, to, options) {
    this._files.push({ op: "rename", from, to, options });
  }
  get size() {
    return this._edits.size + this._files.length;
  }
}

class CodeActionKind {
  constructor(value) {
    this.value = value;
  }
  append(part) {
    return new CodeActionKind(this.value ? `${this.value}.${part}` : part);
  }
  contains(other) {
    return this.value === "" || other.value === this.value || other.value.startsWith(`${this.value}.`);
  }
  intersects(other) {
    return this.contains(other) || other.contains(this);
  }
}
CodeActionKind.Empty = new CodeActionKind("");
CodeActionKind.QuickFix = new CodeActionKind("quickfix");
CodeActionKind.Refactor = new CodeActionKind("refactor");
CodeActionKind.RefactorExtract = new CodeActionKind("refactor.extract");
CodeActionKind.RefactorInline = new CodeActionKind("refactor.inline");
CodeActionKind.RefactorMove = new CodeActionKind("refactor.move");
CodeActionKind.RefactorRewrite = new CodeActionKind("refactor.rewrite");
CodeActionKind.Source = new CodeActionKind("source");
CodeActionKind.SourceOrganizeImports = new CodeActionKind("source.organizeImports");
CodeActionKind.SourceFixAll = new CodeActionKind("source.fixAll");
CodeActionKind.Notebook = new CodeActionKind("notebook");

class CodeAction {
  constructor(title, kind) {
    this.title = title;
    this.kind = kind;
  }
}

class CodeLens {
  constructor(range, command) {
    this.range = range;
    this.command = command;
  }
  get isResolved() {
    return !!this.command;
  }
}

function record(...names) {
  return class {
    constructor(...args) {
      names.forEach((n, i) => {
        if (args[i] !== undefined) this[n] = args[i];
      });
    }
  };
}

const SymbolKind = {};
[
  "File", "Module", "Namespace", "Package", "Class", "Method", "Property", "Field", "Constructor", "Enum",
  "Interface", "Function", "Variable", "Constant", "String", "Number", "Boolean", "Array", "Object", "Key",
  "Null", "EnumMember", "Struct", "Event", "Operator", "TypeParameter",
].forEach((k, i) => (SymbolKind[k] = i));

class SemanticTokensLegend {
  constructor(tokenTypes, tokenModifiers = []) {
    this.tokenTypes = tokenTypes;
    this.tokenModifiers = tokenModifiers;
  }
}

class ThemeColor {
  constructor(id) {
    this.id = id;
  }
}

class ThemeIcon {
  constructor(id, color) {
    this.id = id;
    this.color = color;
  }
}

class RelativePattern {
  constructor(base, pattern) {
    this.baseUri = typeof base === "string" ? Uri.file(base) : base.uri ?? base;
    this.base = this.baseUri.fsPath;
    this.pattern = pattern;
  }
}

class TabInputText {}
class TabInputTextDiff {}
class TabInputNotebook {}
class TabInputCustom {}

// -------------------------------------------------------------- documents

const EndOfLine = { LF: 1, CRLF: 2 };

class TextLine {
  constructor(lineNumber, text) {
    this.lineNumber = lineNumber;
    this.text = text;
    this.range = new Range(lineNumber, 0, lineNumber, text.length);
    this.rangeIncludingLineBreak = this.range;
    this.firstNonWhitespaceCharacterIndex = text.search(/\S|$/);
    this.isEmptyOrWhitespace = text.trim() === "";
  }
}

/** A text document; positions are in UTF-16 code units, as in VS Code. */
class FakeTextDocument {
  constructor(uri, languageId, text) {
    this.uri = uri;
    this.fileName = uri.fsPath;
    this.languageId = languageId;
    this.version = 1;
    this.isClosed = false;
    this.isDirty = false;
    this.isUntitled = uri.scheme === "untitled";
    this.eol = EndOfLine.LF;
    this.encoding = "utf8";
    this.notebook = undefined;
    this._text = text;
  }
  get lineCount() {
    return this._text.split("\n").length;
  }
  lineAt(lineOrPosition) {
    const line = typeof lineOrPosition === "number" ? lineOrPosition : lineOrPosition.line;
    return new TextLine(line, this._text.split("\n")[line]);
  }
  offsetAt(position) {
    const lines = this._text.split("\n");
    let offset = 0;
    for (let i = 0; i < position.line && i < lines.length; i++) offset += lines[i].length + 1;
    const line = lines[Math.min(position.line, lines.length - 1)];
    return offset + Math.min(position.character, line.length);
  }
  positionAt(offset) {
    const before = this._text.slice(0, Math.max(0, Math.min(offset, this._text.length)));
    const line = before.split("\n").length - 1;
    return new Position(line, before.length - before.lastIndexOf("\n") - 1);
  }
  getText(range) {
    if (!range) return this._text;
    return this._text.slice(this.offsetAt(range.start), this.offsetAt(range.end));
  }
  validateRange(r) {
    return r;
  }
  validatePosition(p) {
    return p;
  }
  getWordRangeAtPosition(position) {
    const line = this.lineAt(position.line).text;
    const re = /[\w.]+/g;
    let m;
    while ((m = re.exec(line))) {
      if (m.index <= position.character && position.character <= m.index + m[0].length) {
        return new Range(position.line, m.index, position.line, m.index + m[0].length);
      }
    }
    return undefined;
  }
  save() {
    return Promise.resolve(true);
  }
}

// -------------------------------------------------------------- recorders

const registered = { providers: [], commands: new Map() };
const shown = { info: [], warning: [], error: [] };
const outputs = [];
const statusItems = [];
const diagnosticCollections = [];
let settings = {};
let packageDefaults = {};

function providerRegistrar(kind) {
  return (selector, provider, ...rest) => {
    const entry = { kind, selector, provider, rest };
    registered.providers.push(entry);
    return new Disposable(() => {
      const i = registered.providers.indexOf(entry);
      if (i >= 0) registered.providers.splice(i, 1);
    });
  };
}

function getPath(obj, dotted) {
  let cur = obj;
  for (const part of dotted.split(".")) {
    if (cur === undefined || cur === null || typeof cur !== "object") return undefined;
    cur = cur[part];
  }
  return cur;
}

/** User settings over the package.json defaults, as a nested object. */
function effectiveSettings() {
  const out = {};
  const put = (key, value) => {
    const parts = key.split(".");
    let cur = out;
    for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
    cur[parts[parts.length - 1]] = value;
  };
  for (const [k, v] of Object.entries(packageDefaults)) put(k, structuredClone(v));
  for (const [k, v] of Object.entries(settings)) put(k, structuredClone(v));
  return out;
}

class WorkspaceConfiguration {
  constructor(section) {
    const all = effectiveSettings();
    const base = section ? getPath(all, section) ?? {} : all;
    Object.defineProperty(this, "_base", { value: base, enumerable: false });
    for (const k of Object.keys(base)) this[k] = base[k];
  }
  get(key, defaultValue) {
    const v = getPath(this._base, key);
    return v === undefined ? defaultValue : v;
  }
  has(key) {
    return getPath(this._base, key) !== undefined;
  }
  inspect(key) {
    return { key, defaultValue: undefined, globalValue: this.get(key) };
  }
  update() {
    return Promise.resolve();
  }
}

const workspaceEvents = {
  open: new EventEmitter(),
  change: new EventEmitter(),
  close: new EventEmitter(),
  save: new EventEmitter(),
  willSave: new EventEmitter(),
  configuration: new EventEmitter(),
  folders: new EventEmitter(),
};
const textDocuments = [];
const watchers = [];

const workspace = strict("workspace", {
  workspaceFolders: undefined,
  name: undefined,
  textDocuments,
  notebookDocuments: [],
  isTrusted: true,
  rootPath: undefined,
  getConfiguration: (section) => new WorkspaceConfiguration(section),
  getWorkspaceFolder: (uri) =>
    (workspace.workspaceFolders ?? []).find((f) => uri.fsPath.startsWith(f.uri.fsPath)),
  onDidOpenTextDocument: workspaceEvents.open.event,
  onDidChangeTextDocument: workspaceEvents.change.event,
  onDidCloseTextDocument: workspaceEvents.close.event,
  onDidSaveTextDocument: workspaceEvents.save.event,
  onWillSaveTextDocument: workspaceEvents.willSave.event,
  onDidChangeConfiguration: workspaceEvents.configuration.event,
  onDidChangeWorkspaceFolders: workspaceEvents.folders.event,
  onDidOpenNotebookDocument: noEvent,
  onDidCloseNotebookDocument: noEvent,
  onDidChangeNotebookDocument: noEvent,
  onDidSaveNotebookDocument: noEvent,
  onDidCreateFiles: noEvent,
  onDidDeleteFiles: noEvent,
  onDidRenameFiles: noEvent,
  onWillCreateFiles: noEvent,
  onWillDeleteFiles: noEvent,
  onWillRenameFiles: noEvent,
  onDidGrantWorkspaceTrust: noEvent,
  createFileSystemWatcher(globPattern) {
    const w = {
      globPattern,
      ignoreCreateEvents: false,
      ignoreChangeEvents: false,
      ignoreDeleteEvents: false,
      _create: new EventEmitter(),
      _change: new EventEmitter(),
      _delete: new EventEmitter(),
      dispose() {
        const i = watchers.indexOf(w);
        if (i >= 0) watchers.splice(i, 1);
      },
    };
    w.onDidCreate = w._create.event;
    w.onDidChange = w._change.event;
    w.onDidDelete = w._delete.event;
    watchers.push(w);
    return w;
  },
  registerTextDocumentContentProvider: () => new Disposable(() => {}),
  applyEdit: async (edit) => {
    registered.appliedEdits = (registered.appliedEdits ?? []).concat([edit]);
    return true;
  },
  fs: {
    stat: async (uri) => {
      const s = fs.statSync(uri.fsPath);
      return { type: s.isDirectory() ? 2 : 1, ctime: s.ctimeMs, mtime: s.mtimeMs, size: s.size };
    },
    readFile: async (uri) => fs.readFileSync(uri.fsPath),
  },
});

const tabChange = new EventEmitter();
const window = strict("window", {
  activeTextEditor: undefined,
  visibleTextEditors: [],
  tabGroups: { all: [], onDidChangeTabs: tabChange.event, onDidChangeTabGroups: noEvent },
  onDidChangeVisibleTextEditors: noEvent,
  onDidChangeActiveTextEditor: noEvent,
  onDidChangeWindowState: noEvent,
  state: { focused: true },
  showInformationMessage: async (msg) => {
    shown.info.push(msg);
    return undefined;
  },
  showWarningMessage: async (msg) => {
    shown.warning.push(msg);
    return undefined;
  },
  showErrorMessage: async (msg) => {
    shown.error.push(msg);
    return undefined;
  },
  showTextDocument: async (doc) => ({ document: doc }),
  withProgress: async (_options, task) => task({ report() {} }, new CancellationTokenSource().token),
  createOutputChannel(name, options) {
    const lines = [];
    const ch = { name, lines, logLevel: 2, onDidChangeLogLevel: noEvent, shown: false };
    const add = (level) => (msg, ...args) => {
      lines.push(`${level}${String(msg)}${args.length ? ` ${args.map(String).join(" ")}` : ""}`);
    };
    Object.assign(ch, {
      append: (t) => lines.push(String(t)),
      appendLine: add(""),
      replace: (t) => lines.splice(0, lines.length, String(t)),
      clear: () => (lines.length = 0),
      show: () => (ch.shown = true),
      hide: () => (ch.shown = false),
      dispose: () => {},
      trace: add("[trace] "),
      debug: add("[debug] "),
      info: add("[info] "),
      warn: add("[warn] "),
      error: add("[error] "),
      isLog: !!(options && options.log),
    });
    outputs.push(ch);
    return ch;
  },
  createStatusBarItem(idOrAlignment, alignment, priority) {
    const item = {
      id: typeof idOrAlignment === "string" ? idOrAlignment : undefined,
      alignment: typeof idOrAlignment === "string" ? alignment : idOrAlignment,
      priority,
      text: "",
      tooltip: undefined,
      command: undefined,
      backgroundColor: undefined,
      name: undefined,
      visible: false,
      show() {
        item.visible = true;
      },
      hide() {
        item.visible = false;
      },
      dispose() {
        item.visible = false;
        item.disposed = true;
      },
    };
    statusItems.push(item);
    return item;
  },
});

function match(selector, document) {
  const filters = Array.isArray(selector) ? selector : [selector];
  let best = 0;
  for (const f of filters) {
    if (typeof f === "string") {
      if (f === document.languageId || f === "*") best = Math.max(best, 10);
      continue;
    }
    if (f.language && f.language !== "*" && f.language !== document.languageId) continue;
    if (f.scheme && f.scheme !== "*" && f.scheme !== document.uri.scheme) continue;
    if (f.notebookType) continue;
    best = Math.max(best, 10);
  }
  return best;
}

const languagesTarget = {
  match,
  createDiagnosticCollection(name) {
    const map = new Map();
    const changed = new EventEmitter();
    const collection = {
      name,
      map,
      onDidChange: changed.event,
      set(uri, diagnostics) {
        if (Array.isArray(uri)) {
          for (const [u, d] of uri) collection.set(u, d);
          return;
        }
        if (diagnostics === undefined) map.delete(uri.toString());
        else map.set(uri.toString(), [...diagnostics]);
        changed.fire(uri);
      },
      get: (uri) => map.get(uri.toString()),
      has: (uri) => map.has(uri.toString()),
      delete(uri) {
        map.delete(uri.toString());
        changed.fire(uri);
      },
      clear: () => map.clear(),
      forEach: (cb) => map.forEach((d, u) => cb(Uri.parse(u), d, collection)),
      dispose: () => map.clear(),
    };
    diagnosticCollections.push(collection);
    return collection;
  },
  getLanguages: async () => ["pac"],
  setLanguageConfiguration: () => new Disposable(() => {}),
};
const languages = new Proxy(languagesTarget, {
  get(target, prop) {
    if (prop in target || typeof prop === "symbol") return target[prop];
    if (typeof prop === "string" && prop.startsWith("register")) return providerRegistrar(prop.slice("register".length));
    missing.add(`languages.${String(prop)}`);
    return undefined;
  },
});

const commands = strict("commands", {
  registerCommand(id, fn, thisArg) {
    // VS Code refuses a second registration of the same id; so does this.
    if (registered.commands.has(id)) throw new Error(`command '${id}' already exists`);
    registered.commands.set(id, fn.bind(thisArg));
    return new Disposable(() => registered.commands.delete(id));
  },
  registerTextEditorCommand(id, fn) {
    return commands.registerCommand(id, (...args) => fn(window.activeTextEditor, undefined, ...args));
  },
  async executeCommand(id, ...args) {
    const fn = registered.commands.get(id);
    if (!fn) throw new Error(`command '${id}' not found`);
    return fn(...args);
  },
  getCommands: async () => [...registered.commands.keys()],
});

const env = strict("env", {
  appName: "Visual Studio Code (fake, for tests)",
  appRoot: "",
  language: "en",
  machineId: "test",
  sessionId: "test",
  uiKind: 1,
  remoteName: undefined,
  shell: "/bin/sh",
  openExternal: async () => true,
  clipboard: { readText: async () => "", writeText: async () => {} },
});

// ---------------------------------------------------------- test controls

const __test = {
  missing,
  registered,
  shown,
  outputs,
  statusItems,
  diagnosticCollections,
  watchers,
  /** Settings as `{"pac.server.path": …}`, over package.json's defaults. */
  configure(next, { fire = true } = {}) {
    settings = { ...next };
    if (fire) {
      const keys = Object.keys(next).concat(Object.keys(packageDefaults));
      workspaceEvents.configuration.fire({
        affectsConfiguration: (section) => keys.some((k) => k === section || k.startsWith(`${section}.`)),
      });
    }
  },
  loadPackageDefaults(packageJsonPath) {
    const pkg = JSON.parse(fs.readFileSync(packageJsonPath, "utf8"));
    packageDefaults = {};
    for (const [k, v] of Object.entries(pkg.contributes.configuration.properties)) packageDefaults[k] = v.default;
  },
  setWorkspaceFolder(dir) {
    const uri = Uri.file(dir);
    workspace.workspaceFolders = [{ uri, name: path.basename(dir), index: 0 }];
    workspace.name = path.basename(dir);
    workspace.rootPath = dir;
  },
  openDocument(file, text, languageId = "pac") {
    const doc = new FakeTextDocument(Uri.file(file), languageId, text ?? fs.readFileSync(file, "utf8"));
    textDocuments.push(doc);
    workspaceEvents.open.fire(doc);
    const editor = { document: doc, selection: new Selection(new Position(0, 0), new Position(0, 0)), selections: [], options: {} };
    window.activeTextEditor = editor;
    window.visibleTextEditors = [editor];
    return doc;
  },
  /** Replaces the whole text, as an incremental change over the old range. */
  setText(doc, text) {
    const range = new Range(new Position(0, 0), doc.positionAt(doc._text.length));
    const rangeLength = doc._text.length;
    doc._text = text;
    doc.version += 1;
    doc.isDirty = true;
    workspaceEvents.change.fire({
      document: doc,
      contentChanges: [{ range, rangeOffset: 0, rangeLength, text }],
      reason: undefined,
    });
  },
  closeDocument(doc) {
    const i = textDocuments.indexOf(doc);
    if (i >= 0) textDocuments.splice(i, 1);
    doc.isClosed = true;
    workspaceEvents.close.fire(doc);
  },
  /** The providers of `kind` (e.g. "HoverProvider") that match `doc`. */
  providers(kind, doc) {
    return registered.providers.filter((p) => p.kind === kind && match(p.selector, doc) > 0);
  },
  reset() {
    registered.providers.length = 0;
    registered.commands.clear();
    for (const k of Object.keys(shown)) shown[k].length = 0;
    outputs.length = 0;
    statusItems.length = 0;
    diagnosticCollections.length = 0;
    textDocuments.length = 0;
    watchers.length = 0;
    settings = {};
    window.activeTextEditor = undefined;
    window.visibleTextEditors = [];
  },
};

module.exports = strict("vscode", {
  version: "1.91.0",
  Disposable,
  EventEmitter,
  CancellationTokenSource,
  CancellationError,
  Uri,
  Position,
  Range,
  Selection,
  Location,
  Diagnostic,
  DiagnosticSeverity,
  DiagnosticTag,
  DiagnosticRelatedInformation,
  MarkdownString,
  Hover,
  CompletionItem,
  CompletionItemKind,
  CompletionItemTag: { Deprecated: 1 },
  CompletionList,
  CompletionTriggerKind: { Invoke: 0, TriggerCharacter: 1, TriggerForIncompleteCompletions: 2 },
  SnippetString,
  TextEdit,
  SnippetTextEdit,
  WorkspaceEdit,
  CodeAction,
  CodeActionKind,
  CodeActionTriggerKind: { Invoke: 1, Automatic: 2 },
  CodeLens,
  Command: record("title", "command", "arguments"),
  SymbolKind,
  SymbolTag: { Deprecated: 1 },
  SymbolInformation: record("name", "kind", "containerName", "location"),
  CallHierarchyItem: record("kind", "name", "detail", "uri", "range", "selectionRange"),
  TypeHierarchyItem: record("kind", "name", "detail", "uri", "range", "selectionRange"),
  DocumentSymbol: record("name", "detail", "kind", "range", "selectionRange"),
  FoldingRange: record("start", "end", "kind"),
  FoldingRangeKind: { Comment: 1, Imports: 2, Region: 3 },
  SemanticTokens: record("data", "resultId"),
  SemanticTokensLegend,
  SemanticTokensEdits: record("edits", "resultId"),
  SemanticTokensEdit: record("start", "deleteCount", "data"),
  DocumentHighlight: record("range", "kind"),
  DocumentHighlightKind: { Text: 0, Read: 1, Write: 2 },
  DocumentLink: record("range", "target"),
  SelectionRange: record("range", "parent"),
  SignatureHelp: record(),
  SignatureInformation: record("label", "documentation"),
  ParameterInformation: record("label", "documentation"),
  SignatureHelpTriggerKind: { Invoke: 1, TriggerCharacter: 2, ContentChange: 3 },
  InlayHint: record("position", "label", "kind"),
  InlayHintLabelPart: record("value"),
  InlayHintKind: { Type: 1, Parameter: 2 },
  FileType: { Unknown: 0, File: 1, Directory: 2, SymbolicLink: 64 },
  RelativePattern,
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  LogLevel: { Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 },
  StatusBarAlignment: { Left: 1, Right: 2 },
  ThemeColor,
  ThemeIcon,
  EndOfLine,
  TextDocumentSaveReason: { Manual: 1, AfterDelay: 2, FocusOut: 3 },
  ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
  ViewColumn: { Active: -1, Beside: -2, One: 1 },
  NotebookCellKind: { Markup: 1, Code: 2 },
  UIKind: { Desktop: 1, Web: 2 },
  ExtensionMode: { Production: 1, Development: 2, Test: 3 },
  TabInputText,
  TabInputTextDiff,
  TabInputNotebook,
  TabInputCustom,
  workspace,
  window,
  languages,
  commands,
  env,
  extensions: strict("extensions", { getExtension: () => undefined, all: [], onDidChange: noEvent }),
  __test,
});
