// Which `pacc` binary the extension runs, and from where.
//
// Order (as rust-analyzer's extension does, an explicit setting wins):
//   1. `pac.server.path`, when the user set it;
//   2. the binary bundled in a platform-specific .vsix (`server/pacc`);
//   3. `pacc` on the PATH.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type ServerSource = "setting" | "bundled" | "PATH";

export interface ResolvedServer {
  /** The absolute path of the binary to spawn. */
  command: string;
  source: ServerSource;
}

/** The bundled binary's path inside the extension. */
export function bundledServerPath(extensionPath: string, platform: string = process.platform): string {
  return path.join(extensionPath, "server", platform === "win32" ? "pacc.exe" : "pacc");
}

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) {
      return false;
    }
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` looked up in the directories of `pathVar`, like a shell would. */
export function findOnPath(name: string, pathVar: string | undefined = process.env.PATH): string | undefined {
  const exts = process.platform === "win32" ? ["", ".exe", ".cmd"] : [""];
  for (const dir of (pathVar ?? "").split(path.delimiter)) {
    if (!dir) {
      continue;
    }
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (isExecutableFile(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

export class ServerNotFound extends Error {}

/**
 * The server to spawn. `setting` is `pac.server.path` (empty when unset);
 * a bare name in it (`pacc`) is looked up on the PATH, `~/` is the home
 * directory, and a relative path is taken from `workspaceRoot`.
 */
export function resolveServer(setting: string | undefined, extensionPath: string, workspaceRoot?: string): ResolvedServer {
  const configured = (setting ?? "").trim();
  if (configured) {
    let p = configured;
    if (p === "~" || p.startsWith("~/")) {
      p = path.join(os.homedir(), p.slice(1));
    }
    if (!p.includes("/") && !p.includes("\\")) {
      const found = findOnPath(p);
      if (!found) {
        throw new ServerNotFound(`"pac.server.path" is \`${configured}\`, which is not on the PATH.`);
      }
      return { command: found, source: "setting" };
    }
    if (!path.isAbsolute(p) && workspaceRoot) {
      p = path.join(workspaceRoot, p);
    }
    if (!isExecutableFile(p)) {
      throw new ServerNotFound(`"pac.server.path" is \`${configured}\`, which is not an executable file.`);
    }
    return { command: p, source: "setting" };
  }
  const bundled = bundledServerPath(extensionPath);
  if (fs.existsSync(bundled)) {
    // A zip extracted without modes loses the executable bit; put it back.
    if (!isExecutableFile(bundled)) {
      try {
        fs.chmodSync(bundled, 0o755);
      } catch {
        // Reported below by the spawn itself.
      }
    }
    return { command: bundled, source: "bundled" };
  }
  const onPath = findOnPath("pacc");
  if (onPath) {
    return { command: onPath, source: "PATH" };
  }
  throw new ServerNotFound(
    'no `pacc` found: "pac.server.path" is not set, this extension has no bundled server, and `pacc` is not on the PATH.',
  );
}
