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
  if (name === "pause") {
    const m = prompt("Pause for how many minutes? (empty: until resumed)", "");
    if (m === null) return;
    if (m.trim()) body = {minutes: Number(m)};
  } else if (!confirm("Send " + name + " to bot " + selected + "?")) return;
  const out = document.getElementById("command-result");
  const r = await fetch("/api/v1/bots/" + encodeURIComponent(selected) + "/commands/" + name,
                        {method: "POST", headers: headers(), body: JSON.stringify(body)});
  const j = await r.json();
  out.textContent = r.ok ? "queued " + j.name + " (" + j.command_id + ")" : "refused: " + j.error;
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
async function refreshBots() {
  const {bots} = await get("/api/v1/bots");
  const body = document.querySelector("#bots-table tbody");
  const rows = await Promise.all(bots.map(b => get("/api/v1/bots/" + encodeURIComponent(b) + "/status")));
  body.replaceChildren();
  rows.forEach(s => {
    const tr = body.insertRow();
    tr.className = "bot-row" + (s.bot === selected ? " selected" : "");
    tr.addEventListener("click", () => { selected = s.bot; history.replaceState(null, "", "?bot=" + s.bot); refresh(); });
    cell(tr, s.bot);
    cell(tr, s.trading_state.state).className = "state-" + s.trading_state.state;
    cell(tr, s.trading_state.reason);
    cell(tr, s.loop ? s.loop.at : "");
    cell(tr, s.positions.length);
    cell(tr, s.pnl.total.net);
  });
  if (!selected && bots.length) selected = bots[0];
}
async function refreshBot() {
  if (!selected) return;
  const base = "/api/v1/bots/" + encodeURIComponent(selected);
  const [s, trades, eq, llm, cmds] = await Promise.all([
    get(base + "/status"), get(base + "/trades?limit=1000").catch(() => ({trades: []})),
    get(base + "/equity").catch(() => ({points: []})), get(base + "/llm/calls?limit=20"), get(base + "/commands?limit=10")]);
  document.getElementById("bot").hidden = false;
  document.getElementById("bot-name").textContent = s.bot;
  const state = document.getElementById("state");
  state.textContent = s.trading_state.state; state.className = "state-" + s.trading_state.state;
  document.getElementById("reason").textContent = s.trading_state.reason;
  buttons();
  table("positions", s.positions, ["symbol", "quantity", "average_cost", "last_price", "unrealized_pnl"]);
  table("plans", s.plans.map(p => Object.assign({}, p, {protection: p.protection.map(o => o.role + " " + o.status).join(", ")})),
        ["plan_id", "symbol", "side", "status", "quantity", "entry_price", "stop_price", "target_price", "protected", "protection"]);
  table("orders", s.orders, ["client_order_id", "symbol", "side", "type", "role", "status", "quantity", "filled", "price"]);
  chart(eq.points);
  table("trades", trades.trades.slice(-20).reverse(), ["symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "realized_pnl", "exit_reason"]);
  table("llm", llm.calls, ["at", "prompt_summary", "answer", "cost", "outcome"]);
  table("commands", cmds.commands, ["created_at", "name", "status", "result"]);
}
async function refresh() {
  try { await refreshBots(); await refreshBot(); document.title = "trader-core"; }
  catch (e) { document.title = "trader-core (error: " + e.message + ")"; }
}
refresh();
setInterval(refresh, 1000);
