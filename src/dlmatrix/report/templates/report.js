"use strict";
// Program output reaches the page only through textContent: never parsed as HTML.
const DATA = JSON.parse(document.getElementById("page-data").textContent);
const S = DATA.strings;
const LEGEND = DATA.legend;  // the report's tables (marks, the rate bar's colour, what ran nothing): not written here
const $ = (id) => document.getElementById(id);
const FIELD = Object.fromEntries(DATA.fields.map((name, i) => [name, i]));
const TEXT = ["scenario", "runtime", "result", "symbol", "label", "state", "verdict", "expected", "reason",
  "engine", "compiler", "stdout", "stderr"];
const COLUMNS = DATA.columns.map(([image, family, version, arch, tag]) => ({ image, family, version, arch, tag }));
const COLUMN_OF = Object.fromEntries(COLUMNS.map((c, i) => [c.image, i]));
const FOLDED = new Set([...document.querySelectorAll("#grid [data-folded]")].map((el) =>
  el.tagName === "TR" ? el.dataset.runtime : COLUMNS[Number(el.dataset.col)].image));
const FILTERS = { libc: "f-libc", arch: "f-arch", rfamily: "f-rfamily", runtime: "f-runtime", scenario: "f-scenario", verdict: "f-verdict" };
let VISIBLE = COLUMNS.map(() => true);  // the grid's columns the filters leave
let opened = null;  // what the panel shows: ["env", runtime, image] or ["cell", index]
let opener = null;  // the control that opened it, to return focus to

function pairs(flat) {  // [name, value, name, value...] of string indexes: [[name, value]...]
  const out = [];
  for (let at = 0; at < flat.length; at += 2) out.push([S[flat[at]], S[flat[at + 1]]]);
  return out;
}

function cell(i) {  // a cell of the page's compact data, with its strings looked up
  const raw = DATA.cells[i], c = { index: i };
  for (const [name, at] of Object.entries(FIELD)) c[name] = raw[at];
  for (const name of TEXT) c[name] = S[c[name]];
  c.column = COLUMNS[raw[FIELD.column]];
  c.image = c.column.image;
  c.attempts = c.attempts.map(([result, seconds]) => ({ result: S[result], seconds }));
  c.elf = pairs(c.elf);
  c.story = c.story.map((line) => S[line]);
  c.evidence = pairs(c.evidence);
  return c;
}
// cells by runtime and image, and by runtime and scenario: the drill-down and the charts read them
const BY_PAIR = new Map(), BY_ROW = new Map(), BY_KEY = new Map();
DATA.cells.forEach((raw, i) => {
  const image = COLUMNS[raw[FIELD.column]].image, scenario = S[raw[FIELD.scenario]], runtime = S[raw[FIELD.runtime]];
  const pair = `${runtime}\u0000${image}`, row = `${scenario}\u0000${runtime}`;
  if (!BY_PAIR.has(pair)) BY_PAIR.set(pair, []);
  BY_PAIR.get(pair).push(i);
  if (!BY_ROW.has(row)) BY_ROW.set(row, []);
  BY_ROW.get(row).push(i);
  BY_KEY.set(`${image}/${scenario}/${runtime}`, i);
});

function crashRate(c) {
  return [c.crashed, c.attempts.length];  // counted once, in the report's model
}

function svg(tag, attributes) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
  return el;
}

function rateChart(scenario, runtime) {
  // a bar per environment: the share of attempts that crashed, for a racy scenario
  const cells = (BY_ROW.get(`${scenario}\u0000${runtime}`) || []).map(cell)
    .filter((c) => !LEGEND.not_run.includes(c.result));  // no attempt ran the scenario
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = `${scenario} / ${runtime}: attempts that crashed, per C library version`;
  const width = 64, height = 60, top = 6;
  const chart = svg("svg", { width: cells.length * width + 10, height: height + 34, role: "img",
    "aria-label": cells.map((c) => `${c.column.family} ${c.column.version} ${c.column.arch}: ${crashRate(c).join(" of ")}`).join("; ") });
  cells.forEach((c, k) => {
    const [crashed, total] = crashRate(c), x = 5 + k * width, bar = total ? (height - top) * crashed / total : 0;
    chart.append(svg("rect", { x, y: top, width: width - 14, height: height - top, fill: LEGEND.chart[0], stroke: LEGEND.chart[1] }));
    chart.append(svg("rect", { x, y: height - bar, width: width - 14, height: bar, fill: LEGEND.rate }));
    for (const [y, words] of [[height + 13, `${c.column.family} ${c.column.version}`], [height + 26, `${c.column.arch} ${crashed}/${total}`]]) {
      const text = svg("text", { x: x + (width - 14) / 2, y, "text-anchor": "middle", "font-size": 10 });
      text.textContent = words;
      chart.append(text);
    }
  });
  figure.append(caption, chart);
  return figure;
}

function isRacy(c) {
  const [crashed, total] = crashRate(c);
  return c.racy === 1 || (crashed > 0 && crashed < total);
}

function command(c) {
  // the exact command that re-runs this one cell: the image by hand, and dlmatrix's equivalent
  const n = Math.max(c.attempts.length, 1), quote = (s) => (/^[\w.\/:@-]+$/.test(s) ? s : `'${s}'`);
  const dlm = `dlmatrix run --backend ${DATA.backend || "docker"} --image ${quote(c.image)} --scenario ${quote(c.scenario)} --runtime ${quote(c.runtime)} --repeat ${n} --out rerun`;
  if (DATA.backend === "host") return dlm;
  const tag = c.column.tag || `dlmatrix/${c.image}:TAG`;
  const emulated = c.emulated ? "\n# emulated: dlmatrix scales the timeouts; by hand add --timeout-factor F (matrix/architectures.yaml)" : "";
  return `docker run --rm ${tag} --scenario ${quote(c.scenario)} --runtime ${quote(c.runtime)} --repeat ${n}\n${dlm}${emulated}`;
}

function fillTable(table, pairs, empty) {
  table.replaceChildren();
  for (const [name, value] of pairs) {
    const row = table.insertRow();
    row.insertCell().textContent = name;
    row.insertCell().textContent = value;
  }
  if (!pairs.length) table.insertRow().insertCell().textContent = empty;
}

function showCell(index) {
  const c = cell(index);
  opened = ["cell", index];
  $("d-env").hidden = true;
  $("d-cell").hidden = false;
  $("d-title").textContent = `${c.scenario} / ${c.runtime} on ${c.image}`;
  $("d-result").textContent = `${c.symbol} ${c.label}`;
  $("d-expected").textContent = c.expected || "nothing declared";
  $("d-reason").textContent = c.reason;
  $("d-verdict").textContent = c.verdict;
  $("d-libc").textContent = `${c.column.family} ${c.column.version}`;
  $("d-arch").textContent = (c.column.arch || "unknown") + (c.emulated ? " (emulated)" : "");
  $("d-compiler").textContent = c.compiler || "?";
  $("d-engine").textContent = c.engine || "?";
  $("d-duration").textContent = `${c.duration_s} s`;
  $("d-attempts").textContent = c.attempts.map((a) => `${a.result} (${a.seconds} s)`).join(", ");
  $("d-command").textContent = command(c);
  $("d-chart").replaceChildren(...(isRacy(c) ? [rateChart(c.scenario, c.runtime)] : []));
  fillTable($("d-elf"), c.elf, "no ELF facts recorded");
  $("d-loader").replaceChildren(...c.story.map((line) => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
  fillTable($("d-evidence"), c.evidence, "none recorded");
  $("d-stdout").textContent = c.stdout || "(empty)";
  $("d-stderr").textContent = c.stderr || "(empty)";
  openPanel();
}

function showEnv(runtime, image) {
  opened = ["env", runtime, image];
  const scenario = $("f-scenario").value;
  const cells = (BY_PAIR.get(`${runtime}\u0000${image}`) || []).map(cell)
    .filter((c) => scenario === "" || c.scenario === scenario);
  const column = COLUMNS[COLUMN_OF[image]];
  $("d-env").hidden = false;
  $("d-cell").hidden = true;
  $("d-title").textContent = `${runtime} on ${image}`;
  $("d-env-summary").textContent = `${column.family} ${column.version}, ${column.arch || "unknown"}: ${cells.length} scenario(s)`
    + (scenario ? ` (filtered to ${scenario})` : "") + ". Select a scenario for its evidence.";
  const body = $("d-scenarios");
  body.replaceChildren();
  for (const c of cells) {
    const row = body.insertRow();
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.index = c.index;
    button.textContent = c.scenario;
    row.insertCell().append(button);
    row.insertCell().textContent = `${c.symbol} ${c.label}`;
    row.insertCell().textContent = c.expected || "nothing declared";
    row.insertCell().textContent = c.verdict;
  }
  $("d-env-charts").replaceChildren(...cells.filter(isRacy).map((c) => rateChart(c.scenario, c.runtime)));
  openPanel();
}

function openPanel() {
  $("details").hidden = false;
  $("copied").textContent = "";
  writeHash();
  $("d-title").focus();
}

function closePanel() {
  $("details").hidden = true;
  opened = null;
  writeHash();
  if (opener && document.body.contains(opener)) opener.focus();
}

// --- the view in the URL fragment: filters, the skipped toggle, the full matrix and the open panel
function viewState() {
  const params = new URLSearchParams();
  for (const [key, id] of Object.entries(FILTERS)) if ($(id).value) params.set(key, $(id).value);
  if ($("f-skipped").checked) params.set("skipped", "1");
  if ($("full-matrix").open) params.set("full", "1");
  if ($("full-matrix").open && fullPage) params.set("rows", String(fullPage + 1));
  if (opened && opened[0] === "cell") {
    const c = cell(opened[1]);
    params.set("cell", `${c.image}/${c.scenario}/${c.runtime}`);
  } else if (opened) params.set("env", `${opened[1]}@${opened[2]}`);
  return params.toString();
}

function writeHash() {
  const hash = viewState();
  history.replaceState(null, "", hash ? `#${hash}` : location.pathname + location.search);
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const [key, id] of Object.entries(FILTERS)) {
    const value = params.get(key) || "";
    $(id).value = [...$(id).options].some((o) => o.value === value) ? value : "";
  }
  $("f-skipped").checked = params.get("skipped") === "1";
  $("full-matrix").open = params.get("full") === "1";
  fullPage = Math.max(0, Number(params.get("rows") || 1) - 1);
  applyFilters(false);
  const key = params.get("cell"), env = params.get("env");
  if (key && BY_KEY.has(key)) showCell(BY_KEY.get(key));
  else if (env && env.includes("@")) showEnv(env.slice(0, env.lastIndexOf("@")), env.slice(env.lastIndexOf("@") + 1));
  else if (!$("details").hidden) { $("details").hidden = true; opened = null; }
}

function copyLink(status) {
  writeHash();
  const link = $("link");
  link.value = location.href;
  link.hidden = false;
  link.select();
  const done = () => { status.textContent = "link copied"; };
  const failed = () => { status.textContent = "copy the selected link"; };
  if (navigator.clipboard) navigator.clipboard.writeText(location.href).then(done, failed);
  else failed();
}

// --- filters: columns by C library and architecture, rows by runtime, cells by verdict
function columnVisible(index, libc, arch, skipped) {
  const c = COLUMNS[index];
  return (libc === "" || c.family === libc) && (arch === "" || (c.arch || "unknown") === arch)
    && (skipped || !FOLDED.has(c.image));
}

// the grid's cells and rows, read once: a filter change writes only what it changes
const GRID_CELLS = [...document.querySelectorAll("#grid td[data-col]")].map((td) => ({
  td, col: Number(td.dataset.col), verdicts: td.dataset.verdicts.split(" "), row: td.parentElement,
}));
const GRID_ROWS = [...document.querySelectorAll("#grid tbody tr")];
const HEADERS = [...document.querySelectorAll("#grid thead th[data-family]")];

function set(el, property, value) {
  if (el[property] !== value) el[property] = value;
}

function applyFilters(write = true) {
  const libc = $("f-libc").value, arch = $("f-arch").value, rfamily = $("f-rfamily").value;
  const runtime = $("f-runtime").value, verdict = $("f-verdict").value, skipped = $("f-skipped").checked;
  const visible = COLUMNS.map((_, i) => columnVisible(i, libc, arch, skipped));
  VISIBLE = visible;
  const width = visible.filter(Boolean).length + 1;
  // hidden columns: one style rule rather than a thousand cells' attributes
  const hide = COLUMNS.map((_, i) => i).filter((i) => !visible[i]).map((i) => `#grid [data-col="${i}"]`);
  set($("hidden-columns"), "textContent", hide.length ? `${hide.join(",")} { display: none; }` : "");
  for (const th of HEADERS) {
    if (th.dataset.col !== undefined) continue;
    // a group header spans its visible columns only
    const span = COLUMNS.filter((c, i) => visible[i] && c.family === th.dataset.family
      && (th.dataset.version === undefined || c.version === (th.dataset.version || "?"))
      && (th.dataset.arch === undefined || c.arch === th.dataset.arch)).length;
    set(th, "hidden", span === 0);
    set(th, "colSpan", Math.max(span, 1));
  }
  const rowShown = new Map();
  for (const tr of GRID_ROWS) {
    if (tr.classList.contains("family-row")) { set(tr.cells[0], "colSpan", width); continue; }
    const show = (rfamily === "" || tr.dataset.rfamily === rfamily) && (runtime === "" || tr.dataset.runtime === runtime)
      && (skipped || tr.dataset.folded === undefined);
    set(tr, "hidden", !show);
    rowShown.set(tr, show);
  }
  for (const body of $("grid").tBodies) set(body, "hidden", ![...body.rows].some((tr) => rowShown.get(tr)));
  let shown = 0;
  for (const cell of GRID_CELLS) {
    const hit = verdict === "" || cell.verdicts.includes(verdict);
    if (cell.td.classList.contains("dim") === hit) cell.td.classList.toggle("dim", !hit);
    if (rowShown.get(cell.row) && visible[cell.col] && hit) shown += 1;
  }
  const scenario = $("f-scenario").value;
  $("shown").textContent = `${shown} grid cells shown`
    + (scenario ? `; each still sums every scenario, the panel and the full matrix show ${scenario} only` : "");
  rovingStart();
  if ($("full-matrix").open) drawFull(visible);
  if (write) writeHash();
}

// --- the full scenario matrix, drawn from the data when opened (and when a filter changes)
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (text) => String(text).replace(/[&<>"']/g, (ch) => ESCAPES[ch]);

const FULL_ROWS = 25;  // rows drawn at a time: a filter change stays quick at any size
let fullPage = 0;

function drawFull(visible) {
  const rfamily = $("f-rfamily").value, runtime = $("f-runtime").value, scenario = $("f-scenario").value;
  const verdict = $("f-verdict").value;
  const columns = COLUMNS.map((c, i) => [c, i]).filter(([, i]) => visible[i]);
  const familyOf = {};
  document.querySelectorAll("#grid tr[data-runtime]").forEach((tr) => { familyOf[tr.dataset.runtime] = tr.dataset.rfamily; });
  const rows = [];
  let shown = 0;
  for (const [key, indices] of BY_ROW) {
    const [s, r] = key.split("\u0000");
    if ((scenario && s !== scenario) || (runtime && r !== runtime) || (rfamily && familyOf[r] !== rfamily)) continue;
    const hits = indices.filter((i) => visible[DATA.cells[i][FIELD.column]]
      && (verdict === "" || S[DATA.cells[i][FIELD.verdict]] === verdict)).length;
    if (!hits) continue;
    shown += hits;
    rows.push([s, r, indices]);
  }
  const pages = Math.max(1, Math.ceil(rows.length / FULL_ROWS));
  fullPage = Math.max(0, Math.min(fullPage, pages - 1));
  const first = fullPage * FULL_ROWS, last = Math.min(rows.length, first + FULL_ROWS);
  const html = [`<p class="pager"><button type="button" id="full-prev"${fullPage ? "" : " disabled"}>previous rows</button>
    <span id="full-range">rows ${rows.length ? first + 1 : 0} to ${last} of ${rows.length} (${shown} cells)</span>
    <button type="button" id="full-next"${fullPage + 1 < pages ? "" : " disabled"}>next rows</button></p>`];
  html.push(`<table class="matrix" id="matrix"><caption>A row per scenario and runtime; select a cell for its evidence.</caption><thead><tr><th scope="col">scenario</th><th scope="col">runtime</th>`);
  for (const [c] of columns) html.push(`<th scope="col" title="${esc(c.image)}">${esc(c.family)} ${esc(c.version)}<br>${esc(c.arch)}</th>`);
  html.push("</tr></thead><tbody>");
  for (const [s, r, indices] of rows.slice(first, last)) {
    const at = new Map(indices.map((i) => [DATA.cells[i][FIELD.column], i]));
    const tds = [];
    for (const [c, col] of columns) {
      const i = at.get(col);
      if (i === undefined) { tds.push(`<td class="absent">n/a</td>`); continue; }
      const raw = DATA.cells[i], v = S[raw[FIELD.verdict]], state = S[raw[FIELD.state]], label = S[raw[FIELD.label]];
      const hit = verdict === "" || v === verdict;
      const mark = Object.hasOwn(LEGEND.marks, state) ? ` ${LEGEND.marks[state]}` : "";
      tds.push(`<td class="${state}${hit ? "" : " dim"}" data-verdict="${v}"><button class="cell" type="button" data-index="${i}" aria-label="${esc(`${s} / ${r} on ${c.image}: ${label}, ${v}`)}">${esc(S[raw[FIELD.symbol]])} ${esc(label)}${mark}</button></td>`);
    }
    html.push(`<tr data-scenario="${esc(s)}" data-runtime="${esc(r)}"><th>${esc(s)}</th><th>${esc(r)}</th>${tds.join("")}</tr>`);
  }
  html.push("</tbody></table>");
  $("full").innerHTML = html.join("");
  $("full").dataset.shown = shown;
}

// --- keyboard: one grid cell is in the tab order; arrow keys, Home and End move between them
function gridButtons(tr) {
  return [...tr.querySelectorAll("button.g")].filter((b) => VISIBLE[Number(b.parentElement.dataset.col)]);
}

function visibleRows() {
  return [...$("grid").querySelectorAll("tbody:not([hidden]) tr[data-runtime]:not([hidden])")];
}

function rovingStart() {
  const current = $("grid").querySelector("button.g[tabindex='0']");
  if (current && !current.closest("[hidden]") && VISIBLE[Number(current.parentElement.dataset.col)]) return;
  if (current) current.tabIndex = -1;
  const rows = visibleRows(), first = rows.length ? gridButtons(rows[0])[0] : null;
  if (first) first.tabIndex = 0;
}

function moveFocus(from, to) {
  if (!to) return;
  from.tabIndex = -1;
  to.tabIndex = 0;
  to.focus();
}

$("grid").addEventListener("keydown", (event) => {
  const button = event.target.closest("button.g");
  if (!button) return;
  const rows = visibleRows(), tr = button.closest("tr"), row = rows.indexOf(tr);
  const buttons = gridButtons(tr), at = buttons.indexOf(button);
  const sameColumn = (other) => other && gridButtons(other).find((b) => b.parentElement.dataset.col === button.parentElement.dataset.col);
  const target = {
    ArrowRight: buttons[at + 1], ArrowLeft: buttons[at - 1], Home: buttons[0], End: buttons[buttons.length - 1],
    ArrowDown: sameColumn(rows[row + 1]), ArrowUp: sameColumn(rows[row - 1]),
  }[event.key];
  if (event.key in { ArrowRight: 1, ArrowLeft: 1, ArrowUp: 1, ArrowDown: 1, Home: 1, End: 1 }) {
    event.preventDefault();
    moveFocus(button, target);
  }
});
$("grid").addEventListener("click", (event) => {
  const button = event.target.closest("button.g");
  if (!button) return;
  const previous = $("grid").querySelector("button.g[tabindex='0']");
  if (previous) previous.tabIndex = -1;
  button.tabIndex = 0;
  opener = button;
  showEnv(button.dataset.runtime, button.dataset.image);
});
$("full").addEventListener("click", (event) => {
  const step = { "full-prev": -1, "full-next": 1 }[event.target.id];
  if (step) { fullPage += step; drawFull(VISIBLE); writeHash(); $(event.target.id).focus(); return; }
  const button = event.target.closest("button.cell");
  if (button) { opener = button; showCell(Number(button.dataset.index)); }
});
$("d-scenarios").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (button) showCell(Number(button.dataset.index));
});
document.querySelectorAll("#filters select, #f-skipped").forEach((el) => el.addEventListener("change", () => {
  fullPage = 0;  // a new selection starts at its first rows
  applyFilters();
}));
$("full-matrix").addEventListener("toggle", () => applyFilters());
$("close-details").addEventListener("click", closePanel);
$("copy-link").addEventListener("click", () => copyLink($("copied")));
$("copy-view").addEventListener("click", () => copyLink($("shown")));
document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !$("details").hidden) closePanel(); });
window.addEventListener("hashchange", readHash);
readHash();
window.readyAt = performance.now();  // for benchmarks/report_page.py
document.documentElement.dataset.ready = "1";
