"""`lexgate lsp`: the language server (pygls over stdio) that brings the checker to the editor.

One module per concern, each a pure function of the parsed bundle, so it can be tested without a
client: `documents` (which bundle a file belongs to, open-document overlays, parse and check),
`index` (what the bundle declares, by name), `ranges` (lexgate spans to LSP ranges in the
client's position encoding), `diagnostics`, `hover`, `definition`, `completion`, `symbols`,
`formatting`; `server` wires them to pygls. Nothing here is imported by the rest of the engine,
so `import lexgate.engine` never pays for pygls.
"""
