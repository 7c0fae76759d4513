"""`lexgate schema`: the JSON Schema of an operation, generated from the vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

from .common import PoliciesOption, load


def schema(policies: PoliciesOption = Path("policies")) -> None:
    """Print the JSON Schema of an operation, generated from the vocabulary."""
    bundle = load(policies)
    print(json.dumps(bundle.schema.json_schema(), indent=2, ensure_ascii=False))
