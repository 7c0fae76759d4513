"""Retention and deletion: which customer records must be deleted or anonymised on a date.

The limits are the bundle's `retention` declarations (checked into `ir.RetentionLimit`); a table
of record metadata (one row a record, the fields of `customer_record`) is read from CSV or
Parquet (`table.py`) and evaluated column-wise (`vector.py`); `scalar.py` is the one-record
reading the vectorised one is tested against, and what the API answers for small batches.
"""

from .scalar import RecordVerdict, Status, evaluate_record
from .table import RecordTableError, encode_records, read_records, records_from_rows
from .vector import evaluate_table

__all__ = [
    "RecordTableError",
    "RecordVerdict",
    "Status",
    "encode_records",
    "evaluate_record",
    "evaluate_table",
    "read_records",
    "records_from_rows",
]
