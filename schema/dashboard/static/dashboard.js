// The SLRT dashboard: a GraphQL client of /graphql. No other endpoint is used.
"use strict";

const TOKEN_KEY = "slrt.dashboard.token";
const MAX_PROGRAMMES = 5;
const FLAGS_PAGE = 20;
const COLOURS = ["#0b6e4f", "#d64545", "#2680c2", "#e8a33d", "#7a4eab", "#3ebd93", "#8d6e63"];

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  threshold: 5,
  protected: false,
  region: null,
  tables: {},
  charts: {},
  flags: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  if (text !== null) node.textContent = text;
  return node;
}

class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.codes = errors.map((e) => (e.extensions || {}).code);
  }
}

async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new ApiError(body.errors);
  return body.data;
}

// ---- formatting ------------------------------------------------------------------------------

function display(value, kind) {
  if (value === null || value === undefined) {
    if (kind === "count") return `<${state.threshold}`;
    return "–";
  }
  if (kind === "rate") return `${(value * 100).toFixed(1)}%`;
  if (kind === "hours") return value.toFixed(1);
  if (kind === "count") return value.toLocaleString("en-US");
  if (kind === "bool") return value ? "yes" : "no";
  return String(value);
}

// columns: [{key, label, kind}] with kind count | rate | hours | text | bool | dot | actions
function renderTable(id, columns, rows) {
  state.tables[id] = { columns: columns.filter((c) => c.kind !== "actions"), rows };
  const table = $(id);
  table.replaceChildren();
  const head = el("tr");
  for (const c of columns) head.append(el("th", { "data-col": c.key }, c.label));
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr");
    for (const c of columns) {
      const value = row[c.key];
      const td = el("td", { "data-col": c.key });
      if (c.kind === "actions") {
        td.append(...c.render(row));
      } else if (c.kind === "dot") {
        td.className = value ? "dot" : "off";
        td.textContent = value ? "●" : "·";
        td.setAttribute("data-value", value ? "1" : "0");
      } else {
        td.textContent = display(value, c.kind);
        td.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
        if (c.kind === "text" || c.kind === "bool") td.classList.add("text");
        if ((value === null || value === undefined) && c.kind === "count") {
          td.classList.add("withheld");
          td.title = `Withheld: fewer than ${state.threshold}`;
        }
      }
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function exportCsv(id) {
  const table = state.tables[id];
  if (!table) return;
  const lines = [table.columns.map((c) => csvCell(c.label)).join(",")];
  for (const row of table.rows) {
    lines.push(table.columns.map((c) => csvCell(c.kind === "dot" ? (row[c.key] ? 1 : 0) : row[c.key])).join(","));
  }
  const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" });
  const link = el("a", { href: URL.createObjectURL(blob), download: `slrt-${id.replace(/-table$/, "")}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function chart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
  state.charts[id] = new Chart($(id), config);
}

// ---- sign in and controls --------------------------------------------------------------------

const START = `{ dashboard { nationalScope scope { code name level } protection { applied threshold }
  catalogue { code name decileMin decileMax } } }`;

async function signIn(token) {
  state.token = token;
  try {
    const data = await gql(START);
    sessionStorage.setItem(TOKEN_KEY, token);
    await start(data.dashboard);
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    $("sign-in").hidden = false;
    $("main").hidden = true;
    $("sign-in-error").textContent = error.codes && error.codes.includes("UNAUTHENTICATED")
      ? "This token was not accepted." : `Could not sign in: ${error.message}`;
  }
}

async function start(d) {
  $("sign-in").hidden = true;
  $("main").hidden = false;
  $("sign-out").hidden = false;
  state.threshold = d.protection.threshold;
  state.protected = d.protection.applied;
  $("who").textContent = d.nationalScope ? "Scope: national"
    : `Scope: ${d.scope.map((r) => `${r.name} (${r.code})`).join(", ")}`;
  const list = $("programme-list");
  list.replaceChildren();
  d.catalogue.forEach((p, i) => {
    const box = el("input", { type: "checkbox", value: p.code, checked: i < 4 });
    box.addEventListener("change", () => {
      const chosen = list.querySelectorAll("input:checked");
      if (chosen.length > MAX_PROGRAMMES) {
        box.checked = false;
        $("status").textContent = `Choose at most ${MAX_PROGRAMMES} programmes.`;
      }
    });
    const band = p.decileMin || p.decileMax ? ` (decile ${p.decileMin ?? 1}–${p.decileMax ?? 10})` : "";
    const label = el("label", { title: p.name });
    label.append(box, ` ${p.code}${band}`);
    list.append(label);
  });
  const roots = d.nationalScope ? (await gql("{ regions { code name level } }")).regions : d.scope;
  $("region-chain").replaceChildren();
  addRegionSelect(roots, d.nationalScope ? "Indonesia (whole scope)" : "Whole scope", 0);
  await load();
}

function addRegionSelect(regions, allLabel, depth) {
  const select = el("select", { "data-depth": String(depth), "aria-label": `Region level ${depth + 1}` });
  select.append(el("option", { value: "" }, allLabel));
  for (const r of regions) select.append(el("option", { value: r.code }, `${r.name} (${r.code})`));
  select.addEventListener("change", () => chooseRegion(select, depth));
  $("region-chain").append(select);
}

async function chooseRegion(select, depth) {
  for (const s of [...$("region-chain").querySelectorAll("select")]) {
    if (Number(s.dataset.depth) > depth) s.remove();
  }
  if (select.value) {
    state.region = select.value;
    if (select.value.split(".").length < 4) {
      const children = (await gql("query($p: String!) { regions(parentCode: $p) { code name level } }",
        { p: select.value })).regions;
      if (children.length) addRegionSelect(children, `All of ${select.selectedOptions[0].textContent}`, depth + 1);
    }
  } else {
    const parent = $("region-chain").querySelector(`select[data-depth="${depth - 1}"]`);
    state.region = parent ? parent.value : null;
  }
}

// ---- the figures -----------------------------------------------------------------------------

const DASHBOARD = `query Dashboard($region: String, $codes: [String!]) {
  dashboard(regionCode: $region, programmeCodes: $codes) {
    region { code name }
    refreshedAt
    protection { applied threshold }
    programmes { code name decileMin decileMax }
    coverage { programmeCode decile inBand registryHouseholds registryPersons eligibleHouseholds
               enrolledHouseholds enrolledPersons coverageRate }
    overlap { programmes setSizes { programmeCode households } cells { programmes households } }
    targeting { programmeCode bandApplies exclusion enrolledHouseholds inclusionOutsideBand
                inclusionNotInRegistry matchedInRegistry matchedByNik matchedByName }
    profiles { sex ageGroup hasDisability persons enrolled withNeed }
    workflow {
      proposals { kind group status count }
      reviews { kind group status count }
      submissions { kind group status count }
      caseSla { districtCode districtName cases open overdue steps { step moves medianHours } }
    }
  }
}`;

async function load() {
  const codes = [...$("programme-list").querySelectorAll("input:checked")].map((b) => b.value);
  document.body.dataset.state = "loading";
  $("status").textContent = "Loading…";
  const started = performance.now();
  try {
    const d = (await gql(DASHBOARD, { region: state.region, codes })).dashboard;
    state.threshold = d.protection.threshold;
    state.protected = d.protection.applied;
    $("region-label").textContent = d.region ? `Showing ${d.region.name} (${d.region.code})` : "Showing the whole scope";
    const notice = $("protection");
    notice.hidden = !d.protection.applied;
    notice.textContent = `Small-cell protection: counts below ${d.protection.threshold} are shown as ` +
      `“<${d.protection.threshold}” and others are rounded to a multiple of ${d.protection.threshold}.`;
    $("as-of").textContent = d.refreshedAt
      ? `Coverage, overlap, targeting and profiles as of ${new Date(d.refreshedAt).toLocaleString()} ` +
        "(the summary rebuilt after the last sync); the workflow figures are live."
      : "All figures computed live.";
    renderCoverage(d);
    renderOverlap(d);
    renderTargeting(d);
    renderProfiles(d);
    renderWorkflow(d.workflow);
    $("flags-panel").hidden = true;
    $("status").textContent = `Loaded in ${Math.round(performance.now() - started)} ms.`;
    document.body.dataset.state = "ready";
  } catch (error) {
    $("status").textContent = `Error: ${error.message}`;
    document.body.dataset.state = "error";
  }
}

function decileLabel(decile) {
  return decile === 0 ? "Not in registry" : `D${decile}`;
}

function renderCoverage(d) {
  const deciles = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0];
  const byKey = new Map(d.coverage.map((c) => [`${c.programmeCode}:${c.decile}`, c]));
  const first = d.programmes[0];
  const datasets = d.programmes.map((p, i) => ({
    type: "bar", label: `${p.code} enrolled`, backgroundColor: COLOURS[i % COLOURS.length],
    data: deciles.map((k) => (byKey.get(`${p.code}:${k}`) || {}).enrolledHouseholds ?? null),
  }));
  if (first) {
    datasets.push({ type: "line", label: "Registry households", borderColor: "#52606d", backgroundColor: "#52606d",
      data: deciles.map((k) => (k === 0 ? null : (byKey.get(`${first.code}:${k}`) || {}).registryHouseholds ?? null)) });
  }
  chart("coverage-chart", { data: { labels: deciles.map(decileLabel), datasets },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 },
      title: { display: true, text: "households" } } } } });
  renderTable("coverage-table", [
    { key: "programmeCode", label: "Programme", kind: "text" },
    { key: "decileLabel", label: "Decile", kind: "text" },
    { key: "inBand", label: "In band", kind: "bool" },
    { key: "registryHouseholds", label: "Registry households", kind: "count" },
    { key: "registryPersons", label: "Registry persons", kind: "count" },
    { key: "eligibleHouseholds", label: "Eligible households", kind: "count" },
    { key: "enrolledHouseholds", label: "Enrolled households", kind: "count" },
    { key: "enrolledPersons", label: "Enrolled persons", kind: "count" },
    { key: "coverageRate", label: "Coverage", kind: "rate" },
  ], d.coverage.map((c) => ({ ...c, decileLabel: decileLabel(c.decile) })));
}

function comboLabel(programmes) {
  return programmes.length ? programmes.join(" + ") : "none of them";
}

function renderOverlap(d) {
  const o = d.overlap;
  if (!o) return;
  const combos = o.cells.filter((c) => c.programmes.length > 0 && c.households !== 0);
  combos.sort((a, b) => (b.households ?? -1) - (a.households ?? -1) || a.programmes.length - b.programmes.length);
  const none = o.cells.find((c) => c.programmes.length === 0);
  $("overlap-none").textContent = none ? `Registry households receiving none of them: ${display(none.households, "count")}.` : "";
  chart("overlap-chart", {
    type: "bar",
    data: { labels: combos.map((c) => comboLabel(c.programmes)),
      datasets: [{ label: "households", backgroundColor: COLOURS[0], data: combos.map((c) => c.households) }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  const rows = combos.map((c) => {
    const row = { combination: comboLabel(c.programmes), households: c.households };
    for (const p of o.programmes) row[`in_${p}`] = c.programmes.includes(p);
    return row;
  });
  renderTable("overlap-table", [
    ...o.programmes.map((p) => ({ key: `in_${p}`, label: p, kind: "dot" })),
    { key: "households", label: "Households", kind: "count" },
    { key: "combination", label: "Combination", kind: "text" },
  ], rows);
  renderTable("sets-table", [
    { key: "programmeCode", label: "Programme", kind: "text" },
    { key: "households", label: "Households (any combination)", kind: "count" },
  ], o.setSizes);
}

function renderTargeting(d) {
  // A programme not targeted by decile has no exclusion figure: say so rather than show it as withheld.
  const rows = d.targeting.map((t) => (t.bandApplies ? t : { ...t, exclusion: "n/a" }));
  chart("targeting-chart", {
    type: "bar",
    data: { labels: rows.map((t) => t.programmeCode), datasets: [
      { label: "Exclusion", backgroundColor: COLOURS[1], data: d.targeting.map((t) => t.exclusion) },
      { label: "Inclusion: outside band", backgroundColor: COLOURS[3], data: rows.map((t) => t.inclusionOutsideBand) },
      { label: "Inclusion: not in registry", backgroundColor: COLOURS[4], data: rows.map((t) => t.inclusionNotInRegistry) },
    ] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  const button = (t, kind, text) => {
    const b = el("button", { type: "button", "data-programme": t.programmeCode, "data-kind": kind }, text);
    b.addEventListener("click", () => showFlags(t.programmeCode, kind, 0));
    return b;
  };
  renderTable("targeting-table", [
    { key: "programmeCode", label: "Programme", kind: "text" },
    { key: "enrolledHouseholds", label: "Enrolled", kind: "count" },
    { key: "exclusion", label: "Exclusion", kind: "count" },
    { key: "inclusionOutsideBand", label: "Outside band", kind: "count" },
    { key: "inclusionNotInRegistry", label: "Not in registry", kind: "count" },
    { key: "matchedInRegistry", label: "Registry households", kind: "count" },
    { key: "matchedByNik", label: "Matched by NIK", kind: "count" },
    { key: "matchedByName", label: "Matched by name", kind: "count" },
    { key: "actions", label: "Households to follow up", kind: "actions", render: (t) => [
      ...(t.bandApplies ? [button(t, "EXCLUSION", "excluded"), " ", button(t, "OUTSIDE_BAND", "outside band"), " "] : []),
      button(t, "NOT_IN_REGISTRY", "not in registry")] },
  ], rows);
}

const FLAGS = `query Flags($code: String!, $region: String, $kind: FlagKind, $first: Int!, $offset: Int!) {
  targetingFlags(programmeCode: $code, regionCode: $region, kind: $kind, first: $first, offset: $offset) {
    total withheld items { id kind decile matchMethod matchScore address villageCode registryId headName headNikMasked }
  }
}`;

async function showFlags(code, kind, offset) {
  state.flags = { code, kind, offset };
  const page = (await gql(FLAGS, { code, region: state.region, kind, first: FLAGS_PAGE, offset })).targetingFlags;
  $("flags-panel").hidden = false;
  $("flags-title").textContent = `Flagged households: ${code}, ${kind.toLowerCase().replaceAll("_", " ")}`;
  $("flags-note").textContent = page.withheld
    ? "Household lists are available to managers and above; your role sees the counts only." : "";
  renderTable("flags-table", [
    { key: "kind", label: "Flag", kind: "text" },
    { key: "registryId", label: "Registry ID", kind: "text" },
    { key: "villageCode", label: "Village", kind: "text" },
    { key: "address", label: "Address", kind: "text" },
    { key: "headName", label: "Head of household", kind: "text" },
    { key: "headNikMasked", label: "NIK (masked)", kind: "text" },
    { key: "decile", label: "Decile", kind: "text" },
    { key: "matchMethod", label: "Matched by", kind: "text" },
    { key: "matchScore", label: "Score", kind: "text" },
    { key: "id", label: "Household ID", kind: "text" },
  ], page.items.map((i) => ({ ...i, kind: i.kind.toLowerCase().replaceAll("_", " ") })));
  const last = Math.min(offset + FLAGS_PAGE, page.total);
  $("flags-page").textContent = page.total ? `${offset + 1}–${last} of ${page.total}` : "none";
  $("flags-prev").disabled = offset === 0;
  $("flags-next").disabled = last >= page.total;
}

function renderProfiles(d) {
  const groups = new Map();
  for (const p of d.profiles) {
    // hasDisability is null for roles without the right to see disability: one group per sex.
    const disability = p.hasDisability === null ? "" : p.hasDisability ? " · with disability" : " · no disability";
    const key = `${p.sex}${disability}`;
    const g = groups.get(key) || { persons: 0, enrolled: 0, withNeed: 0 };
    for (const f of ["persons", "enrolled", "withNeed"]) g[f] += p[f] ?? 0;
    groups.set(key, g);
  }
  const labels = [...groups.keys()].sort();
  chart("profiles-chart", {
    type: "bar",
    data: { labels, datasets: [
      { label: "Persons", backgroundColor: COLOURS[2], data: labels.map((k) => groups.get(k).persons) },
      { label: "Enrolled", backgroundColor: COLOURS[0], data: labels.map((k) => groups.get(k).enrolled) },
      { label: "With need", backgroundColor: COLOURS[3], data: labels.map((k) => groups.get(k).withNeed) },
    ] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  renderTable("profiles-table", [
    { key: "sex", label: "Sex", kind: "text" },
    { key: "ageGroup", label: "Age group", kind: "text" },
    { key: "hasDisability", label: "Disability", kind: "bool" },
    { key: "persons", label: "Persons", kind: "count" },
    { key: "enrolled", label: "Enrolled", kind: "count" },
    { key: "withNeed", label: "With need", kind: "count" },
  ], d.profiles);
}

function renderWorkflow(w) {
  if (!w) return;
  const districts = w.caseSla.map((s) => s.districtName || s.districtCode);
  chart("sla-chart", {
    type: "bar",
    data: { labels: districts, datasets: [
      { label: "Open cases", backgroundColor: COLOURS[2], data: w.caseSla.map((s) => s.open) },
      { label: "Overdue", backgroundColor: COLOURS[1], data: w.caseSla.map((s) => s.overdue) },
    ] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  renderTable("sla-table", [
    { key: "districtCode", label: "District", kind: "text" },
    { key: "districtName", label: "Name", kind: "text" },
    { key: "cases", label: "Cases", kind: "count" },
    { key: "open", label: "Open", kind: "count" },
    { key: "overdue", label: "Overdue", kind: "count" },
  ], w.caseSla);
  renderTable("steps-table", [
    { key: "districtCode", label: "District", kind: "text" },
    { key: "step", label: "Step (moved to)", kind: "text" },
    { key: "moves", label: "Moves", kind: "count" },
    { key: "medianHours", label: "Median hours", kind: "hours" },
  ], w.caseSla.flatMap((s) => s.steps.map((t) => ({ districtCode: s.districtCode, ...t }))));
  const statusColumns = (groupLabel) => [
    { key: "group", label: groupLabel, kind: "text" },
    { key: "status", label: "Status", kind: "text" },
    { key: "count", label: "Count", kind: "count" },
  ];
  renderTable("proposals-table", statusColumns("Kind"), w.proposals);
  renderTable("reviews-table", statusColumns("Subject"), w.reviews);
  renderTable("submissions-table", [{ key: "kind", label: "Type", kind: "text" }, ...statusColumns("Category")],
    w.submissions);
}

// ---- wiring ----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    signIn($("token").value.trim());
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
  $("load").addEventListener("click", load);
  $("flags-prev").addEventListener("click", () =>
    showFlags(state.flags.code, state.flags.kind, Math.max(0, state.flags.offset - FLAGS_PAGE)));
  $("flags-next").addEventListener("click", () =>
    showFlags(state.flags.code, state.flags.kind, state.flags.offset + FLAGS_PAGE));
  for (const b of document.querySelectorAll("button[data-csv]")) {
    b.addEventListener("click", () => exportCsv(b.dataset.csv));
  }
  document.body.dataset.state = "signed-out";
  if (state.token) signIn(state.token);
});
