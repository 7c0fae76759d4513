# ruff: noqa: E501  (HTML: a table row reads best on one line)
"""The HTML report's Jinja template (autoescaped): inline CSS, the chart as a data: URI, no
script, no link to anything outside the file, so it opens offline and can be mailed as is."""

HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Processing register audit — {{ data.organisation.name or data.register }}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #1d2733; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d7dde4; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .3rem; }
.meta { color: #5a6572; font-size: .9rem; }
.meta code { font-size: .85rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e6eaef;
         vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.status { font-weight: 600; padding: .05rem .4rem; border-radius: 3px; white-space: nowrap; }
.denied { background: #fbe3e2; color: #9b1c1c; }
.undetermined { background: #fff4d6; color: #7a5200; }
.allowed_with_obligations { background: #e1f0fb; color: #0b4f7c; }
.allowed { background: #e3f5e6; color: #1e6b2e; }
.not_applicable, .invalid { background: #eceff2; color: #5a6572; }
.sev { font-size: .8rem; text-transform: uppercase; font-weight: 700; }
.activity { border: 1px solid #e0e5ea; border-radius: 6px; padding: .2rem 1rem .6rem;
            margin: 1rem 0; }
ul { margin: .2rem 0 .4rem 1.2rem; padding: 0; }
.cite { color: #5a6572; }
img.chart { max-width: 100%; border: 1px solid #e6eaef; }
.note { color: #5a6572; font-size: .85rem; }
</style>
</head>
<body>
<h1>Processing register audit</h1>
<p class="meta">
{% if data.organisation.name %}<strong>{{ data.organisation.name }}</strong> · {% endif %}
register <code>{{ data.register }}</code> · {{ data.activities|length }} activities ·
law applied as of <strong>{{ data.date }}</strong><br>
bundle <code>{{ data.bundle_hash[:16] }}</code> ·
profile {% if data.profile %}<code>{{ data.profile.id }}</code> version
<code>{{ data.profile.version or "—" }}</code>{% if data.profile.enable %} · internal rules
enabled: {{ data.profile.enable|join(", ") }}{% endif %}{% else %}none{% endif %} ·
reporting currency {{ data.currency }}
</p>

<h2>Summary</h2>
<table>
<tr><th>Regime</th><th>Activities by status</th><th class="num">Exposure (sum over activities)</th></tr>
{% for name in data.regimes %}
<tr><td>{{ name }}</td>
<td>{% for status, n in data.status_counts.get(name, {}).items() %}<span class="status {{ status }}">{{ status }}</span> {{ n }} {% endfor %}</td>
<td class="num">{{ data.totals.by_regime[name]|range }}</td></tr>
{% endfor %}
{% for name in data.internal_regimes %}
<tr><td>{{ name }} (internal)</td>
<td>{% for status, n in data.status_counts.get(name, {}).items() %}<span class="status {{ status }}">{{ status }}</span> {{ n }} {% endfor %}</td>
<td class="num">severities, no fines</td></tr>
{% endfor %}
</table>
<table>
<tr><th>Totals per currency (never added across currencies)</th><th class="num">Exposure</th></tr>
{% for currency, total in data.totals.by_currency.items() %}
<tr><td>{{ currency }}</td><td class="num">{{ total|range }}</td></tr>
{% endfor %}
<tr><th>All regimes, converted to {{ data.currency }}</th><th class="num">{{ data.totals.reporting_currency|range }}</th></tr>
</table>
<p class="note">{{ data.totals.note }}.</p>

<h2>Activities ranked by exposure</h2>
<img class="chart" alt="Exposure per activity" src="data:image/png;base64,{{ chart }}">
<table>
<tr><th>#</th><th>Activity</th><th>Owner</th><th>Statutory</th>
{% if data.internal_regimes %}<th>Internal</th>{% endif %}
<th class="num">Exposure ({{ data.currency }})</th></tr>
{% for a in ranked %}
<tr><td>{{ loop.index }}</td><td><a href="#{{ a.id }}">{{ a.name }}</a></td><td>{{ a.owner }}</td>
<td><span class="status {{ a.status }}">{{ a.status }}</span></td>
{% if data.internal_regimes %}<td>{% if a.internal_status %}<span class="status {{ a.internal_status }}">{{ a.internal_status }}</span>{% endif %}</td>{% endif %}
<td class="num">{{ a.exposure_total|range }}</td></tr>
{% endfor %}
</table>

<h2>Findings per activity</h2>
{% for a in ranked %}
<div class="activity" id="{{ a.id }}">
<h3>{{ a.name }} <span class="status {{ a.status }}">{{ a.status }}</span></h3>
<p class="meta">{{ a.id }} · owner {{ a.owner or "—" }} · systems {{ a.systems|join(", ") or "—" }}
{% if a.description %}<br>{{ a.description }}{% endif %}</p>
{% if a.errors %}<p><strong>The operation does not fit the vocabulary:</strong></p>
<ul>{% for e in a.errors %}<li>{{ e }}</li>{% endfor %}</ul>{% endif %}
{% if a.regimes %}
<table>
<tr><th>Regime</th><th>Status</th><th>Violations</th><th class="num">Exposure</th></tr>
{% for name, r in a.regimes.items() %}
<tr><td>{{ name }}{% if r.kind == "internal" %} (internal){% endif %}</td>
<td><span class="status {{ r.status }}">{{ r.status }}</span></td>
<td>{% if r.violations %}<ul>{% for v in r.violations %}<li>{% if v.severity %}<span class="sev">{{ v.severity }}</span> {% endif %}{{ v.title }} <span class="cite">({{ v.cite or v.rule }})</span></li>{% endfor %}</ul>{% else %}—{% endif %}</td>
<td class="num">{% if r.kind == "internal" %}—{% else %}{{ a.exposure[name]|range }}{% endif %}</td></tr>
{% endfor %}
</table>
{% set questions = [] %}{% for name, r in a.regimes.items() %}{% for q in r.questions %}{% set _ = questions.append((name, q)) %}{% endfor %}{% endfor %}
{% if questions %}<p><strong>Questions that decide it</strong></p>
<ul>{% for name, q in questions %}<li>{{ name }}: <code>{{ q.path }}</code> — {{ q.question }}{% if q["values"] %} ({{ q["values"]|join(" / ") }}){% endif %}</li>{% endfor %}</ul>{% endif %}
{% set fixes = [] %}{% for name, r in a.regimes.items() %}{% for f in r.remediations %}{% set _ = fixes.append((name, f)) %}{% endfor %}{% endfor %}
{% if fixes %}<p><strong>Remediations</strong></p>
<ul>{% for name, f in fixes %}<li>{{ name }}: {{ f.text }} → {{ f.status }}{% if f.exposure_removed and f.exposure_removed.max %}, removes up to {{ f.exposure_removed.max|money }}{% endif %}</li>{% endfor %}</ul>{% endif %}
{% endif %}
</div>
{% endfor %}
<p class="note">Generated by <code>lexgate audit</code>. Citations are the policies' own; figures are
exact decimals rounded to the currency's minor unit. The Art. 30(1) record is in
<code>register-art30.csv</code> beside this file.</p>
</body>
</html>
"""
