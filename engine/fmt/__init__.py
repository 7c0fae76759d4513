"""The formatter's parts: the document algebra and printer (`doc`), and the layout of each
grammar rule (`layouts`). The entry point is `engine.formatter.format_source`."""
