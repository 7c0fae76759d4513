#!/usr/bin/env node
// Tokenize policy files with the TextMate engine VS Code itself runs (vscode-textmate on
// vscode-oniguruma), and print the tokens as JSON: {file: [[[start, end, [scopes...]], ...] per
// line]}. Offsets are UTF-16 code units within the line, as JavaScript counts them.
//
//   node scripts/tokenize.js GRAMMAR.tmLanguage.json FILE...
// tests/engine/test_tmgrammar.py runs it over every file of the shipped packs.
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

async function main() {
  const [grammarPath, ...files] = process.argv.slice(2);
  if (!grammarPath || files.length === 0) {
    process.stderr.write("usage: tokenize.js GRAMMAR.tmLanguage.json FILE...\n");
    process.exit(2);
  }
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async () =>
      vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), path.resolve(grammarPath)),
  });
  const grammar = await registry.loadGrammar("source.lexgate");
  if (!grammar) throw new Error(`no grammar for source.lexgate in ${grammarPath}`);
  const result = {};
  for (const file of files) {
    let stack = vsctm.INITIAL;
    result[file] = fs.readFileSync(file, "utf8").split("\n").map((line) => {
      const tokens = grammar.tokenizeLine(line, stack);
      stack = tokens.ruleStack;
      return tokens.tokens.map((t) => [t.startIndex, Math.min(t.endIndex, line.length), t.scopes]);
    });
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
