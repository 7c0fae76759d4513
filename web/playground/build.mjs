// `npm ci && npm run build`: bundles src/ with esbuild into api/static/playground/, which is
// committed, so that a machine without Node serves the playground. No CDN at run time.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "../../api/static/playground");
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
