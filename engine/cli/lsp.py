"""`lexgate lsp`: the language server for editors, over stdin and stdout (engine/lsp/)."""

from __future__ import annotations

from typing import Annotated

import typer


def lsp(
    stdio: Annotated[
        bool,
        typer.Option(
            "--stdio", help="Talk over stdin/stdout: the default, accepted because editors pass it."
        ),
    ] = False,
) -> None:
    """Run the language server (diagnostics, hover, definition, completion, formatting)."""
    # pygls is imported here, not at the top: `lexgate check` and `import lexgate.engine`
    # never pay for it
    from ..lsp.server import serve

    serve()
