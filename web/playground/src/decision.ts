// Renders a decision (Decision.to_dict(explain=True)) as HTML: the overall status and
// exposure, then per regime its status, reasons, violations with their fines, obligations,
// the decisive questions and the facts still missing. Text goes through `esc`: policy titles
// and citations are user text.

export const esc = (value: unknown): string =>
  String(value ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

type Money = { amount: string; currency: string } | null | undefined;

export function money(value: Money): string {
  if (!value) return "unknown";
  const [whole, cents] = value.amount.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${value.currency} ${grouped}${cents && cents !== "00" ? "." + cents : ""}`;
}

function exposure(amount: any): string {
  if (!amount) return "none";
  const max = amount.reporting?.max ?? amount.max;
  const atLeast = amount.reporting?.max_at_least ?? amount.max_at_least;
  const min = amount.reporting?.min ?? amount.min;
  if (!max && atLeast) return `${money(min)} – at least ${money(atLeast)}`;
  return `${money(min)} – ${money(max)}`;
}

const badge = (status: string) =>
  `<span class="badge status-${esc(status)}">${esc(status.replace(/_/g, " "))}</span>`;

function list(title: string, items: string[]): string {
  return items.length ? `<h4>${esc(title)}</h4><ul>${items.join("")}</ul>` : "";
}

function regimeCard(name: string, regime: any): string {
  const violations = (regime.violations ?? []).map((v: any) => {
    const fines = (v.exposure ?? [])
      .map((line: any) => `<li class="fine">${esc(line.fine)}: ${exposure(line)}
        <span class="cite">${esc(line.cite ?? "")}</span></li>`)
      .join("");
    return `<li><b>${esc(v.rule)}</b> — ${esc(v.title)} <span class="cite">${esc(v.cite)}</span>
      ${fines ? `<ul>${fines}</ul>` : ""}</li>`;
  });
  const obligations = (regime.obligations ?? []).map(
    (o: any) => `<li>${esc(o.text)}${o.within ? ` <i>within ${esc(o.within)}</i>` : ""}
      ${o.due ? ` <i>(due ${esc(o.due)})</i>` : ""}
      <span class="cite">${esc(o.cite ?? "")}</span></li>`,
  );
  const questions = (regime.questions ?? []).map(
    (q: any) => `<li><code>${esc(q.path)}</code>: ${esc(q.question)}
      ${q.values ? `<span class="muted">(${q.values.map(esc).join(" / ")})</span>` : ""}</li>`,
  );
  const undetermined = (regime.undetermined_rules ?? []).map(
    (u: any) => `<li><b>${esc(u.rule)}</b> — ${esc(u.title)}: needs
      ${(u.missing ?? []).map((m: string) => `<code>${esc(m)}</code>`).join(", ")}</li>`,
  );
  const reasons = (regime.reasons ?? []).map((r: string) => `<li>${esc(r)}</li>`);
  const organisation = regime.exposure?.organisation;
  const open = regime.status !== "not_applicable";
  return `<details class="regime" data-regime="${esc(name)}" ${open ? "open" : ""}>
    <summary>${badge(regime.status)} <b>${esc(name)}</b>
      ${organisation ? `<span class="exposure">exposure ${exposure(organisation)}</span>` : ""}
    </summary>
    ${list("Reasons", reasons)}
    ${list("Violations", violations)}
    ${list("Questions that decide it", questions)}
    ${list("Undetermined rules", undetermined)}
    ${list("Obligations", obligations)}
  </details>`;
}

export function renderDecision(decision: any): string {
  const regimes = Object.entries(decision.regimes ?? {}) as [string, any][];
  const order = ["denied", "undetermined", "allowed_with_obligations", "allowed", "not_applicable"];
  regimes.sort((a, b) => order.indexOf(a[1].status) - order.indexOf(b[1].status));
  const missing = (decision.missing ?? []) as string[];
  return `<div class="decision-head">
      <span id="decision-status" data-status="${esc(decision.status)}">${badge(decision.status)}</span>
      <span>exposure <b id="decision-exposure">${exposure(decision.exposure)}</b></span>
      <span class="muted">as of ${esc(decision.as_of)} · bundle ${esc(decision.bundle_hash?.slice(0, 12))}</span>
    </div>
    ${missing.length ? `<p class="muted">Missing facts: ${missing.map((m) => `<code>${esc(m)}</code>`).join(", ")}</p>` : ""}
    ${regimes.map(([name, regime]) => regimeCard(name, regime)).join("")}`;
}
