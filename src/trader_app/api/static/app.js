// trader-core dashboard: polls the JSON API every second (no CDN, no framework).
"use strict";
const COMMANDS = ["pause", "resume", "halt", "stop", "close-all", "cancel-all", "accept-reconciliation"];
const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem("trader-token") || "";
tokenInput.addEventListener("change", () => sessionStorage.setItem("trader-token", tokenInput.value));
let selected = new URLSearchParams(location.search).get("bot");

function headers() {
  const h = {"Content-Type": "application/json"};
  if (tokenInput.value) h["X-Trader-Token"] = tokenInput.value;
  return h;
}
async function get(path) {
  const r = await fetch(path, {headers: headers()});
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
function cell(tr, text, tag) {
  const td = document.createElement(tag || "td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  tr.appendChild(td);
  return td;
}
function table(id, rows, columns) {
  const t = document.getElementById(id);
  t.replaceChildren();
  if (!rows.length) { const tr = t.insertRow(); cell(tr, "none").className = "empty"; return; }
  const head = t.createTHead().insertRow();
  columns.forEach(c => cell(head, c, "th"));
  const body = t.createTBody();
  rows.forEach(r => { const tr = body.insertRow(); columns.forEach(c => cell(tr, r[c])); });
}
function chart(points) {
  const svg = document.getElementById("chart");
  svg.replaceChildren();
  if (points.length < 1) return;
  if (points.length === 1) points = [points[0], points[0]];  // one round trip: a flat line
  const eq = points.map(p => Number(p.realized_pnl)), dd = points.map(p => Number(p.drawdown));
  const lo = Math.min(0, ...eq, ...dd), hi = Math.max(0, ...eq), span = hi - lo || 1;
  const x = i => 10 + i * 580 / (points.length - 1);
  const y = v => 190 - (v - lo) * 180 / span;
  const line = (values, colour, id) => {
    const p = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    p.setAttribute("points", values.map((v, i) => x(i) + "," + y(v)).join(" "));
    p.setAttribute("fill", "none"); p.setAttribute("stroke", colour); p.setAttribute("stroke-width", "2");
    p.id = id; svg.appendChild(p);
  };
  line(eq, "#1a7f37", "equity-line");
  line(dd, "#cf222e", "drawdown-line");
}
async function send(name) {
  let body = {};
  const out = document.getElementById("command-result");
  if (name === "pause") {
    const m = prompt("Pause bot " + selected + " for how many minutes? (empty: until resumed)", "");
    if (m === null) return;
    const text = m.trim();
    // A whole number of minutes or nothing: "30 min" or "1,5" must not become a pause with no end.
    if (text && !/^[1-9][0-9]{0,5}$/.test(text)) {
      out.textContent = "not sent: minutes must be a whole number (empty: until resumed), not " + JSON.stringify(m);
      return;
    }
    if (text) body = {minutes: Number(text)};
  } else if (!confirm("Send " + name + " to bot " + selected + "?")) return;
  // What the line said before must not stand for this command's answer: a server that does not answer (stopped,
  // restarted, a proxy's HTML error page) is said as such, with what to check before sending again.
  const bot = selected;
  out.textContent = "sending " + name + " to " + bot + "\u2026";
  let r, j;
  try {
    r = await fetch("/api/v1/bots/" + encodeURIComponent(bot) + "/commands/" + name,
                    {method: "POST", headers: headers(), body: JSON.stringify(body)});
  } catch (e) {
    out.textContent = "no answer from the server (" + e.message + "): " + name + " may not have reached bot " + bot +
      "; check its command log before sending it again";
    return;
  }
  try { j = await r.json(); } catch (e) { j = {error: "HTTP " + r.status + " " + r.statusText + " (not the API's answer)"}; }
  const length = name === "pause" ? (j.minutes ? " for " + j.minutes + " min" : " until resumed") : "";
  out.textContent = r.ok ? "queued " + j.name + length + " (" + j.command_id + ")" : "refused: " + j.error;
  refresh();
}
function buttons() {
  const box = document.getElementById("buttons");
  if (box.childElementCount) return;
  COMMANDS.forEach(name => {
    const b = document.createElement("button");
    b.textContent = name; b.id = "cmd-" + name; b.addEventListener("click", () => send(name));
    box.appendChild(b);
  });
}
// Whether a process runs the bot: a run killed or crashed stays marked running in the store; only its lease,
// in force or not, tells a live bot from one nobody watches.
function processText(s) {
  if (s.process && s.process.alive) return "running (pid " + s.process.pid + " on " + s.process.host + ")";
  if (s.run && s.run.status === "running")
    return "down: no process holds the bot" + (s.process ? " since " + s.process.expires_at : "") + " (killed or crashed)";
  return s.run ? s.run.status : "no runs";
}
function processClass(s) {
  return "process " + (s.process && s.process.alive ? "state-active" : s.run && s.run.status === "running" ? "state-error" : "");
}
async function refreshBots() {
  const {bots} = await get("/api/v1/bots");
  const body = document.querySelector("#bots-table tbody");
  // One bot that cannot be read is shown as such; it does not hide the others.
  const rows = await Promise.allSettled(bots.map(b => get("/api/v1/bots/" + encodeURIComponent(b) + "/status")));
  body.replaceChildren();
  rows.forEach((answer, i) => {
    if (answer.status === "rejected") {
      const tr = body.insertRow();
      tr.className = "bot-row failed";
      cell(tr, bots[i]); cell(tr, "unreadable").className = "state-error"; cell(tr, answer.reason.message);
      return;
    }
    const s = answer.value;
    const tr = body.insertRow();
    tr.className = "bot-row" + (s.bot === selected ? " selected" : "");
    tr.addEventListener("click", () => { selected = s.bot; history.replaceState(null, "", "?bot=" + s.bot); refresh(); });
    cell(tr, s.bot);
    cell(tr, processText(s)).className = processClass(s);
    cell(tr, s.trading_state.state).className = "state-" + s.trading_state.state;
    cell(tr, s.trading_state.reason);
    cell(tr, s.loop ? s.loop.at : "");
    cell(tr, s.positions.length);
    cell(tr, s.pnl.total.net);
  });
  if (!selected && bots.length) selected = bots[0];
}
// The newest 20 round trips: the page at offset total-20 (the total remembered from the last answer; asked
// again when it moved), newest first. The server pages in SQL, so this costs the same on a run of any length.
const tradeTotals = {};
async function recentTrades(base) {
  const at = known => "/trades?limit=20&offset=" + Math.max(0, known - 20);
  const known = tradeTotals[base] || 0;
  let page = await get(base + at(known));
  if (page.total !== known) {
    tradeTotals[base] = page.total;
    if (Math.max(0, page.total - 20) !== Math.max(0, known - 20)) page = await get(base + at(page.total));
  }
  return page.trades.slice().reverse();
}
// The equity curve has a point per closed round trip (a megabyte per 10,000): asked again only when the newest
// trades changed (one opened, closed or was added), and at least every 30 s.
const equityCache = {};
async function equityPoints(base, trades) {
  const key = JSON.stringify(trades.map(t => [t.plan_id, t.exit_time]));
  const known = equityCache[base];
  if (known && known.key === key && Date.now() - known.at < 30000) return known.points;
  const {points} = await get(base + "/equity");
  equityCache[base] = {key, at: Date.now(), points};
  return points;
}
// JSON text or a JSON value as one short line: {"a": 1, "b": [2, 3]} -> "a: 1, b: 2; 3".
function brief(value) {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "string") {
    try { value = JSON.parse(value); } catch (e) { return value; }
  }
  if (typeof value !== "object" || value === null) return String(value);
  if (Array.isArray(value)) return value.map(brief).join("; ");
  return Object.entries(value).map(([k, v]) => k + ": " + brief(v)).join(", ");
}
function clipped(tr, text, size) {
  const full = text === null || text === undefined ? "" : String(text);
  const td = cell(tr, full.length > size ? full.slice(0, size - 1) + "\u2026" : full);
  td.title = full;
  return td;
}
// LLM decisions (LlmSource): what the model was asked, what it answered, what it cost and what came of it.
// Every text goes in through textContent: a model's answer is never markup.
let openTrace = null;
function llmTable(base, llm, budget) {
  const line = document.getElementById("llm-budget");
  line.hidden = !budget;
  if (budget) {
    line.textContent = "budget " + budget.state + ": spent " + budget.cost + " of " + budget.budget +
      " (" + budget.pct_of_budget + " %), " + budget.remaining + " left, " + budget.calls + " calls";
  }
  const t = document.getElementById("llm");
  t.replaceChildren();
  if (llm.error || !llm.calls.length) {
    const tr = t.insertRow();
    cell(tr, llm.error ? "LLM decisions unavailable: " + llm.error
                       : "no LLM decisions stored for this bot (no LLM strategy, or no call yet)").className = "empty";
    document.getElementById("llm-trace").hidden = true;
    return;
  }
  const head = t.createTHead().insertRow();
  ["at", "model", "prompt", "answer", "signals", "cost", "outcome"].forEach(c => cell(head, c, "th"));
  const body = t.createTBody();
  llm.calls.forEach(c => {
    const tr = body.insertRow();
    tr.className = "llm-row" + (c.call_id === openTrace ? " selected" : "");
    cell(tr, c.at);
    cell(tr, c.model);
    clipped(tr, c.prompt_summary, 60);
    clipped(tr, c.answer, 120);
    clipped(tr, brief(c.signals), 80);
    cell(tr, c.cost + (c.replayed ? " (replayed)" : ""));
    clipped(tr, brief(c.outcome) || (c.reason ? "hold: " + c.reason : ""), 80);
    if (c.call_id) tr.addEventListener("click", () => showTrace(base, c.call_id));
  });
}
async function showTrace(base, id) {
  openTrace = id;
  const box = document.getElementById("llm-trace");
  try {
    const trace = await get(base + "/llm/calls/" + encodeURIComponent(id));
    document.getElementById("llm-trace-id").textContent = id;
    document.getElementById("llm-prompt").textContent = trace.prompt || "";
    document.getElementById("llm-answer").textContent = trace.answer || "";
    document.getElementById("llm-outcome").textContent = brief(trace.outcome) || brief(trace.reason);
    box.hidden = false;
  } catch (e) {
    box.hidden = true;
    document.getElementById("command-result").textContent = "trace " + id + ": " + e.message;
  }
}
async function refreshBot() {
  if (!selected) return;
  const base = "/api/v1/bots/" + encodeURIComponent(selected);
  // Only the status and the command log must answer; the rest shows its own empty state when it fails.
  const [s, cmds, [trades, points], llm] = await Promise.all([
    get(base + "/status"), get(base + "/commands?limit=10"),
    recentTrades(base).then(async t => [t, await equityPoints(base, t).catch(() => [])], () => [[], []]),
    get(base + "/llm/calls?limit=20").then(j => ({calls: j.calls || []}), e => ({calls: [], error: e.message}))]);
  document.getElementById("bot").hidden = false;
  document.getElementById("bot-name").textContent = s.bot;
  const state = document.getElementById("state");
  state.textContent = s.trading_state.state; state.className = "state-" + s.trading_state.state;
  document.getElementById("reason").textContent = s.trading_state.reason;
  const proc = document.getElementById("process");
  proc.textContent = "process: " + processText(s); proc.className = processClass(s);
  buttons();
  table("positions", s.positions, ["symbol", "quantity", "average_cost", "last_price", "unrealized_pnl"]);
  table("plans", s.plans.map(p => Object.assign({}, p, {protection: p.protection.map(o => o.role + " " + o.status).join(", ")})),
        ["plan_id", "symbol", "side", "status", "quantity", "entry_price", "stop_price", "target_price", "protected", "protection"]);
  table("orders", s.orders, ["client_order_id", "symbol", "side", "type", "role", "status", "quantity", "filled", "price"]);
  chart(points);
  table("trades", trades, ["symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "realized_pnl", "exit_reason"]);
  llmTable(base, llm, s.llm_budget);
  table("commands", cmds.commands, ["created_at", "name", "status", "result"]);
}
// When the server or a read fails, what is on the page is the last good answer: said in a banner.
let lastGood = null;
async function refresh() {
  const banner = document.getElementById("stale");
  try {
    await refreshBots(); await refreshBot();
    lastGood = new Date(); banner.hidden = true; document.title = "trader-core";
  } catch (e) {
    const since = lastGood ? "not updated since " + lastGood.toLocaleTimeString() : "not loaded";
    banner.textContent = since + ": " + e.message; banner.hidden = false;
    document.title = "trader-core (error: " + e.message + ")";
  }
}
refresh();
setInterval(refresh, 1000);
