// Builds the platform-specific .vsix with the `pacc` binary inside
// (server/pacc), as rust-analyzer's extension ships its server.
//
//   npm run package                      # linux-x64, pacc found as below
//   npm run package -- --pacc PATH       # that binary
//
// pacc is, in order: --pacc, $PAC_PACC, then release before debug in
// $CARGO_TARGET_DIR or the repository's target/. Build one first with
// `cargo build --release --bin pacc`.
"use strict";

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const repo = path.join(root, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// Only linux-x64 binaries are built here; the target must match the binary.
const target = arg("--target") ?? "linux-x64";
const hostTarget = `${process.platform}-${process.arch}`;
if (target !== hostTarget) {
  console.error(`cannot package for ${target} on ${hostTarget}: the bundled pacc must be built for the target`);
  process.exit(2);
}

const targetDirs = [process.env.CARGO_TARGET_DIR, path.join(repo, "target")].filter(Boolean);
const candidates = [
  arg("--pacc"),
  process.env.PAC_PACC,
  ...targetDirs.map((d) => path.join(d, "release", "pacc")),
  ...targetDirs.map((d) => path.join(d, "debug", "pacc")),
].filter(Boolean);
const pacc = candidates.find((p) => fs.existsSync(p));
if (!pacc) {
  console.error(`no pacc binary found (looked at ${candidates.join(", ")}); run \`cargo build --release --bin pacc\``);
  process.exit(2);
}
const version = execFileSync(pacc, ["--version"], { encoding: "utf8" }).trim();
const kind = pacc.includes(`${path.sep}debug${path.sep}`) ? " (a debug build: larger and slower than release)" : "";
console.log(`bundling ${pacc}: ${version}${kind}`);

const serverDir = path.join(root, "server");
fs.rmSync(serverDir, { recursive: true, force: true });
fs.mkdirSync(serverDir);
const bundled = path.join(serverDir, "pacc");
fs.copyFileSync(pacc, bundled);
fs.chmodSync(bundled, 0o755);
// Debug info is most of a binary's size (over 1 GB for a debug build, too
// large for vsce's secret scan to read); the extension needs none of it.
try {
  execFileSync("strip", [bundled]);
} catch (e) {
  console.warn(`strip failed (${e.message}); packaging the binary unstripped`);
}

const out = path.join(root, `${pkg.name}-${target}-${pkg.version}.vsix`);
const vsce = path.join(root, "node_modules", ".bin", "vsce");
// The bundle (dist/extension.js) holds every dependency: none are packed.
execFileSync(vsce, ["package", "--target", target, "--no-dependencies", "--out", out], {
  cwd: root,
  stdio: "inherit",
});
console.log(`${path.relative(process.cwd(), out)}: ${(fs.statSync(out).size / 1e6).toFixed(1)} MB`);
