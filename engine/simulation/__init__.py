"""The analyst simulation: many operations at once through the vectorised back end.

One module per stage, each importing only the ones above it in this list:

- `vector_values`: columns with known masks, exact int64 fixed point, the batch environment.
- `vector_loops`, `vector_compiler`: the checked IR compiled to functions of a column table.
- `exact_unknowns`, `derivations`, `regimes`: the evaluator's semantics over columns (exact
  unknowns settled over completions, derived facts, a regime's status and exposure per row).
- `operation_table`, `operation_rows`: a DataFrame of flattened operations encoded as columns,
  and one row to operation JSON and back (for the scalar back end).
- `kernel`: a table of operations in, a table of results out (rows the columns cannot hold
  exactly go to the scalar evaluator).
- `scenarios`: scenario tables (files, sweeps, sampled distributions).
- `cluster`: the kernel partition by partition on Dask; `runner`: `run` and `compare`, in this
  process or on a cluster; `report`: summaries, plots and the HTML report.

`Bundle.simulate` imports `runner`; nothing here imports `engine.bundle` (Dask workers rebuild a
bundle with `Bundle.from_sources`, which the driver passes them), so the graph runs one way.
"""
