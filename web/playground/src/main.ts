// The lexgate playground: the bundle's files in a CodeMirror 6 editor, the checker's
// diagnostics inline as you type (debounced), the examples, an operation and its decision.
// Edits stay in this page; nothing is saved on the server (download a file to keep it).
import { basicSetup } from "codemirror";
import { EditorState, type Extension } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { syntaxHighlighting } from "@codemirror/language";
import { lintGutter, setDiagnostics, type Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { json } from "@codemirror/lang-json";
import { indentWithTab } from "@codemirror/commands";
import { policyHighlight, policyLanguage } from "./policy-language";
import * as api from "./api";
import { esc, renderDecision } from "./decision";

const CHECK_DELAY_MS = 400;

const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;

const files = new Map<string, string>();
const original = new Map<string, string>();
const states = new Map<string, EditorState>();
let diagnostics: api.Diagnostic[] = [];
let current = "";
let checkTimer: number | undefined;
let checkSequence = 0;
let inflight: AbortController | null = null;
let formatterAvailable = false;

function bundle(): Record<string, string> {
  return Object.fromEntries(files);
}

function setStatus(text: string, kind: "ok" | "error" | "busy" | "warning") {
  const status = $("#check-status");
  status.textContent = text;
  status.dataset.kind = kind;
}

function showError(where: string, error: unknown) {
  const box = $(where);
  if (error instanceof api.ApiFailure) {
    const fields = error.fields.map((f) => `<li><code>${esc(f.path)}</code>: ${esc(f.message)}</li>`);
    box.innerHTML = `<div class="failure" data-code="${esc(error.code)}">
      <b>${error.status} ${esc(error.code)}</b>: ${esc(error.message)}
      ${fields.length ? `<ul>${fields.join("")}</ul>` : ""}</div>`;
  } else {
    box.innerHTML = `<div class="failure">${esc(String(error))}</div>`;
  }
}

// ---- the policy editor ------------------------------------------------------------------------

const policyExtensions: Extension[] = [
  basicSetup,
  keymap.of([indentWithTab]),
  policyLanguage,
  syntaxHighlighting(policyHighlight),
  lintGutter(),
  EditorView.lineWrapping, // long comments and titles stay readable without scrolling sideways
  EditorView.updateListener.of((update) => {
    if (update.docChanged && current) {
      files.set(current, update.state.doc.toString());
      renderFiles();
      scheduleCheck();
    }
  }),
];

const editor = new EditorView({ parent: $("#editor") });

function stateFor(path: string): EditorState {
  let state = states.get(path);
  if (!state) {
    state = EditorState.create({ doc: files.get(path) ?? "", extensions: policyExtensions });
    states.set(path, state);
  }
  return state;
}

/** Diagnostics of one file as CodeMirror ranges (spans are 1-based, end_col exclusive). */
function editorDiagnostics(path: string, state: EditorState): CmDiagnostic[] {
  const doc = state.doc;
  const position = (line: number, col: number) => {
    const at = doc.line(Math.min(Math.max(line, 1), doc.lines));
    return Math.min(at.from + Math.max(col - 1, 0), at.to);
  };
  return diagnostics
    .filter((d) => d.span.file === path && d.span.line > 0)
    .map((d) => {
      const from = position(d.span.line, d.span.col);
      let to = position(d.span.end_line || d.span.line, d.span.end_col || d.span.col + 1);
      if (to <= from) to = Math.min(from + 1, doc.length);
      return {
        from,
        to,
        severity: d.severity === "warning" ? "warning" : "error",
        source: d.code,
        message: d.message + (d.help ? `\nhelp: ${d.help}` : ""),
      };
    });
}

function showDiagnosticsInEditor() {
  if (!current) return;
  editor.dispatch(setDiagnostics(editor.state, editorDiagnostics(current, editor.state)));
}

function open(path: string, line?: number, col?: number) {
  if (!files.has(path)) return;
  if (current) states.set(current, editor.state);
  current = path;
  editor.setState(stateFor(path));
  showDiagnosticsInEditor();
  if (line) {
    const doc = editor.state.doc;
    const at = doc.line(Math.min(line, doc.lines));
    const pos = Math.min(at.from + Math.max((col ?? 1) - 1, 0), at.to);
    editor.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: "center" }) });
  }
  editor.focus();
  $("#current-file").textContent = path;
  renderFiles();
}

// ---- the file list ----------------------------------------------------------------------------

function renderFiles() {
  const counts = new Map<string, number>();
  for (const d of diagnostics) counts.set(d.span.file, (counts.get(d.span.file) ?? 0) + 1);
  const items = [...files.keys()].sort().map((path) => {
    const count = counts.get(path) ?? 0;
    const edited = files.get(path) !== original.get(path);
    return `<li><button class="file ${path === current ? "current" : ""}" data-file="${esc(path)}">
      <span class="name">${esc(path)}</span>${edited ? '<span class="edited" title="edited">●</span>' : ""}
      ${count ? `<span class="count">${count}</span>` : ""}</button></li>`;
  });
  $("#files").innerHTML = items.join("");
}

$("#files").addEventListener("click", (event) => {
  const button = (event.target as HTMLElement).closest<HTMLElement>("[data-file]");
  if (button) open(button.dataset.file!);
});

// ---- checking as you type ---------------------------------------------------------------------

function scheduleCheck() {
  window.clearTimeout(checkTimer);
  setStatus("checking…", "busy");
  checkTimer = window.setTimeout(runCheck, CHECK_DELAY_MS);
}

async function runCheck() {
  const sequence = ++checkSequence;
  inflight?.abort();
  inflight = new AbortController();
  try {
    const result = await api.check(bundle(), inflight.signal);
    if (sequence !== checkSequence) return; // an older answer: a newer check is on its way
    diagnostics = [...result.diagnostics, ...result.warnings];
    const errors = result.diagnostics.length;
    const warnings = result.warnings.length;
    if (errors) setStatus(`${errors} error${errors === 1 ? "" : "s"}`, "error");
    else if (warnings) setStatus(`ok · ${warnings} warning${warnings === 1 ? "" : "s"}`, "warning");
    else setStatus("ok", "ok");
    const took = result.elapsed_ms < 1 ? "<1" : String(Math.round(result.elapsed_ms));
    $("#check-detail").textContent = result.ok
      ? `bundle ${result.hash?.slice(0, 12)} · checked in ${took} ms`
      : `checked in ${took} ms`;
    showDiagnosticsInEditor();
    renderProblems();
    renderFiles();
  } catch (error) {
    if ((error as Error).name === "AbortError" || sequence !== checkSequence) return;
    setStatus("check failed", "error");
    showError("#problems", error);
  }
}

function renderProblems() {
  const box = $("#problems");
  if (!diagnostics.length) {
    box.innerHTML = '<p class="muted">No problems.</p>';
    return;
  }
  box.innerHTML = `<ul class="problems">${diagnostics
    .map(
      (d) => `<li class="problem ${esc(d.severity)}" data-file="${esc(d.span.file)}"
        data-line="${d.span.line}" data-col="${d.span.col}">
        <span class="where">${esc(d.span.file)}:${d.span.line}:${d.span.col}</span>
        <span class="code">${esc(d.code)}</span> ${esc(d.message)}
        ${d.help ? `<div class="help">help: ${esc(d.help)}</div>` : ""}</li>`,
    )
    .join("")}</ul>`;
}

function jumpFrom(event: Event) {
  const item = (event.target as HTMLElement).closest<HTMLElement>("[data-file][data-line]");
  if (item) open(item.dataset.file!, Number(item.dataset.line), Number(item.dataset.col));
}
$("#problems").addEventListener("click", jumpFrom);
$("#examples").addEventListener("click", jumpFrom);

// ---- examples ---------------------------------------------------------------------------------

$("#run-examples").addEventListener("click", async () => {
  const summary = $("#examples-summary");
  summary.textContent = "running…";
  summary.dataset.kind = "busy";
  $("#examples").innerHTML = "";
  try {
    const result = await api.runExamples(bundle());
    if (!result.ok) {
      summary.textContent = "the bundle does not load: fix its errors first";
      summary.dataset.kind = "error";
      return;
    }
    const failed = result.results.filter((r) => !r.passed);
    summary.textContent = `${result.passed} passed, ${result.failed} failed`;
    summary.dataset.kind = failed.length ? "error" : "ok";
    const row = (r: api.ExampleResult) => `<li class="example ${r.passed ? "pass" : "fail"}"
        data-file="${esc(r.span.file)}" data-line="${r.span.line}" data-col="${r.span.col}">
        <span class="mark">${r.passed ? "pass" : "FAIL"}</span>
        <span class="regime">${esc(r.regime)}</span> ${esc(r.description)}
        ${r.failures.map((f) => `<div class="failure-line">${esc(f)}</div>`).join("")}</li>`;
    const passed = result.results.filter((r) => r.passed);
    $("#examples").innerHTML = `<ul class="examples">${failed.map(row).join("")}</ul>
      <details ${failed.length ? "" : "open"}><summary>${passed.length} passing examples</summary>
      <ul class="examples">${passed.map(row).join("")}</ul></details>`;
  } catch (error) {
    summary.textContent = "";
    showError("#examples", error);
  }
});

// ---- operation and decision ------------------------------------------------------------------

const operationEditor = new EditorView({
  parent: $("#operation"),
  state: EditorState.create({ doc: "{}", extensions: [basicSetup, json()] }),
});

function setOperation(value: unknown) {
  const text = JSON.stringify(value, null, 2);
  operationEditor.dispatch({ changes: { from: 0, to: operationEditor.state.doc.length, insert: text } });
}

let operations: Record<string, unknown> = {};
$("#operation-example").addEventListener("change", (event) => {
  const name = (event.target as HTMLSelectElement).value;
  if (name in operations) setOperation(operations[name]);
});

$("#decide").addEventListener("click", async () => {
  const box = $("#decision");
  let operation: unknown;
  try {
    operation = JSON.parse(operationEditor.state.doc.toString());
  } catch (error) {
    box.innerHTML = `<div class="failure">the operation is not valid JSON: ${esc((error as Error).message)}</div>`;
    return;
  }
  box.innerHTML = '<p class="muted">deciding…</p>';
  const asOf = ($("#as-of") as HTMLInputElement).value || null;
  const currency = ($("#currency") as HTMLInputElement).value.trim().toUpperCase() || "EUR";
  try {
    const result = await api.decide(bundle(), operation, asOf, currency);
    box.innerHTML = result.decision
      ? renderDecision(result.decision)
      : '<div class="failure">the bundle does not load: fix its errors first</div>';
  } catch (error) {
    showError("#decision", error);
  }
});

// ---- format, download, revert --------------------------------------------------------------

$("#format").addEventListener("click", async () => {
  if (!current) return;
  try {
    const result = await api.format(current, editor.state.doc.toString());
    if (result.ok && result.text !== null && result.changed) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: result.text } });
      $("#format-status").textContent = `formatted ${current}`;
    } else if (result.ok) {
      $("#format-status").textContent = `${current} is already formatted`;
    } else {
      $("#format-status").textContent = `${current} does not parse; fix its errors to format it`;
    }
  } catch (error) {
    $("#format-status").textContent =
      error instanceof api.ApiFailure ? error.message : String(error);
  }
});

$("#download").addEventListener("click", () => {
  if (!current) return;
  const blob = new Blob([files.get(current) ?? ""], { type: "text/plain;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = current.split("/").pop()!;
  link.click();
  URL.revokeObjectURL(link.href);
});

$("#revert").addEventListener("click", () => {
  if (!current || !original.has(current)) return;
  editor.dispatch({
    changes: { from: 0, to: editor.state.doc.length, insert: original.get(current)! },
  });
});

// Saving: only where the server says it can (`lexgate serve`), with an admin key typed here
// and kept in this page's memory only. The server saves only a bundle that loads.
$("#save").addEventListener("click", async () => {
  const status = $("#format-status");
  const edited = [...files.keys()].filter((path) => files.get(path) !== original.get(path));
  const key = ($("#admin-key") as HTMLInputElement).value.trim();
  if (!edited.length) {
    status.textContent = "nothing edited to save";
    return;
  }
  if (!key) {
    status.textContent = "an admin key is needed to save";
    return;
  }
  try {
    const result = await api.save(bundle(), edited, key);
    for (const path of result.saved) original.set(path, files.get(path)!);
    status.textContent = `saved ${result.saved.length} file(s); reload the service to serve them`;
    renderFiles();
  } catch (error) {
    status.textContent = error instanceof api.ApiFailure ? error.message : String(error);
  }
});

// ---- start ----------------------------------------------------------------------------------

async function start() {
  setStatus("loading…", "busy");
  let info: api.BundleInfo;
  try {
    info = await api.getBundle();
  } catch (error) {
    setStatus("cannot load the bundle", "error");
    showError("#problems", error);
    return;
  }
  for (const [path, text] of Object.entries(info.files)) {
    files.set(path, text);
    original.set(path, text);
  }
  $("#bundle-root").textContent = `${info.root}/ · ${files.size} files`;
  formatterAvailable = info.formatter;
  const format = $("#format") as HTMLButtonElement;
  format.disabled = !formatterAvailable;
  format.title = formatterAvailable
    ? "Lay out this file the canonical way (lexgate fmt)"
    : "the formatter is not available in this version of lexgate";
  ($("#save-box") as HTMLElement).hidden = !info.save;
  operations = info.operations;
  const select = $("#operation-example") as HTMLSelectElement;
  select.innerHTML = Object.keys(operations)
    .map((name) => `<option value="${esc(name)}">examples/${esc(name)}.json</option>`)
    .join("");
  const first = Object.keys(operations)[0];
  if (first) setOperation(operations[first]);
  const paths = [...files.keys()].sort();
  const firstFile = paths.find((p) => !p.startsWith("common/")) ?? paths[0];
  renderFiles();
  if (firstFile) open(firstFile);
  await runCheck();
}

// For the browser test and the curious: the editor, and a way to open a file by name.
(window as any).playground = {
  editor,
  open,
  files,
  operation: () => operationEditor.state.doc.toString(),
};
document.body.dataset.ready = "true";
start().then(() => (document.body.dataset.loaded = "true"));
