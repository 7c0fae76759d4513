// The playground's JSON routes (api/routes/playground.py). Every request carries the files it
// is about: the server keeps no copy of the edits.

export interface Span {
  file: string;
  line: number;
  col: number;
  end_line: number;
  end_col: number;
}

export interface Diagnostic {
  code: string;
  severity: "error" | "warning";
  message: string;
  span: Span;
  help: string | null;
  notes: string[];
}

export interface CheckResult {
  ok: boolean;
  hash?: string;
  diagnostics: Diagnostic[];
  warnings: Diagnostic[];
  elapsed_ms: number;
}

export interface ExampleResult {
  regime: string;
  description: string;
  span: Span;
  passed: boolean;
  failures: string[];
  status: string | null;
}

export interface ExamplesResult extends CheckResult {
  results: ExampleResult[];
  passed?: number;
  failed?: number;
}

export interface DecideResult extends CheckResult {
  decision: Record<string, any> | null;
}

export interface FormatResult {
  ok: boolean;
  text: string | null;
  changed?: boolean;
  diagnostics: Diagnostic[];
}

export interface BundleInfo {
  root: string;
  files: Record<string, string>;
  operations: Record<string, unknown>;
  formatter: boolean;
  save: boolean;
  limits: Record<string, number>;
}

/** A 4xx/5xx answer: `{"error": {code, message, fields}}` from the service. */
export class ApiFailure extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public fields: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

const BASE = "/playground/api";

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let data: any = null;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ApiFailure(response.status, "error", `the server answered ${response.status}`);
  }
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiFailure(
      response.status,
      error.code ?? "error",
      error.message ?? `the server answered ${response.status}`,
      error.fields ?? [],
    );
  }
  return data as T;
}

export async function getBundle(): Promise<BundleInfo> {
  return answer(await fetch(`${BASE}/bundle`, { cache: "no-store" }));
}

async function post<T>(
  route: string,
  body: unknown,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<T> {
  const response = await fetch(`${BASE}/${route}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal,
  });
  return answer(response);
}

export const check = (files: Record<string, string>, signal?: AbortSignal) =>
  post<CheckResult>("check", { files }, signal);

export const runExamples = (files: Record<string, string>) =>
  post<ExamplesResult>("examples", { files });

export const decide = (
  files: Record<string, string>,
  operation: unknown,
  asOf: string | null,
  currency: string,
) => post<DecideResult>("decide", { files, operation, as_of: asOf, currency });

export const format = (path: string, text: string) =>
  post<FormatResult>("format", { path, text });

export interface SaveResult {
  ok: boolean;
  saved: string[];
  hash: string;
}

/** Write the edited files on the server: `lexgate serve` only, with an admin key. */
export const save = (files: Record<string, string>, paths: string[], adminKey: string) =>
  post<SaveResult>("save", { files, save: paths }, undefined, {
    Authorization: `Bearer ${adminKey}`,
  });
