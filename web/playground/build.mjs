// `npm ci && npm run build`: bundles src/ with esbuild into api/static/playground/, which is
// committed, so that a machine without Node serves the playground. No CDN at run time.
// It also writes sources.sha256, the hash of what it was built from (src/, this file, the
// lock file): tests/api/test_playground.py fails when the sources change without a rebuild.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "../../api/static/playground");

async function sourcesHash() {
  const names = (await readdir(path.join(here, "src"))).map((n) => `src/${n}`);
  names.push("build.mjs", "package-lock.json");
  const digest = createHash("sha256");
  for (const name of names.sort()) {
    digest.update(`${name}\0`);
    digest.update(await readFile(path.join(here, name)));
    digest.update("\0");
  }
  return digest.digest("hex");
}

await mkdir(out, { recursive: true });
await build({
  entryPoints: [path.join(here, "src/main.ts")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  outfile: path.join(out, "playground.js"),
  legalComments: "eof",
  logLevel: "info",
});
for (const name of ["index.html", "playground.css"]) {
  await copyFile(path.join(here, "src", name), path.join(out, name));
}
await writeFile(path.join(out, "sources.sha256"), `${await sourcesHash()}\n`);
