// The lexgate extension: the grammar and language configuration are declared in package.json;
// this starts the language server (`lexgate lsp`, over stdio) for every .policy file.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace
    .getConfiguration("lexgate")
    .get("server.command", ["lexgate", "lsp"]);
  client = new LanguageClient(
    "lexgate",
    "lexgate language server",
    { command, args },
    {
      documentSelector: [{ scheme: "file", language: "lexgate" }],
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher("**/*.policy"),
      },
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
