// The fleet dashboard: the agent list arrives on /v1/events (server-sent events) whenever it changes; policies,
// instances and the selected agent's timeline are read from the tenant API. Everything a node reported (reasons,
// container and image names) is set as text, never as markup.
"use strict";

const view = { agents: [], state: "all", text: "", selected: null, shownAttestations: -1 };
const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

function time(value) {
  if (!value) return "never";
  return new Date(value).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${response.statusText}`);
  return response.json();
}

function matches(agent) {
  if (view.state !== "all" && agent.state !== view.state) return false;
  if (!view.text) return true;
  const needle = view.text.toLowerCase();
  return [agent.agent_id, agent.address, agent.policy, agent.failure_reason ?? ""].some((f) => f.toLowerCase().includes(needle));
}

function renderFilters() {
  const counts = new Map();
  for (const agent of view.agents) counts.set(agent.state, (counts.get(agent.state) ?? 0) + 1);
  const states = [["all", view.agents.length], ...[...counts.entries()].sort(([a], [b]) => a.localeCompare(b))];
  if (view.state !== "all" && !counts.has(view.state)) states.push([view.state, 0]);
  const buttons = states.map(([state, count]) => {
    const button = el("button", { type: "button", "data-testid": `filter-${state}`, "data-count": String(count) },
      `${state === "all" ? "All" : state} (${count})`);
    button.setAttribute("aria-pressed", String(view.state === state));
    button.addEventListener("click", () => { view.state = state; render(); });
    return button;
  });
  $("state-filters").replaceChildren(...buttons);
}

function renderAgents() {
  const rows = view.agents.filter(matches).map((agent) => {
    const row = el("tr", { class: "agent" + (agent.agent_id === view.selected ? " selected" : ""),
      "data-testid": "agent-row", "data-agent-id": agent.agent_id, "data-state": agent.state },
      el("td", { class: "id" }, agent.agent_id),
      el("td", {}, el("span", { class: `state state-${agent.state}`, "data-testid": "agent-state" }, agent.state + (agent.paused ? " (paused)" : ""))),
      el("td", {}, `${agent.policy} v${agent.policy_version}`),
      el("td", { class: "mono" }, agent.address || agent.mode),
      el("td", {}, time(agent.last_attestation)),
      el("td", {}, String(agent.events_verified)),
      el("td", { "data-testid": "agent-reason" }, agent.failure_reason ?? ""));
    row.addEventListener("click", () => select(agent.agent_id));
    return row;
  });
  $("agents").replaceChildren(...rows);
  $("agents-empty").hidden = rows.length > 0;
}

function render() {
  renderFilters();
  renderAgents();
}

function launchLine(launch) {
  const where = launch.pod ? ` in pod ${launch.pod}` + (launch.namespace ? ` (namespace ${launch.namespace})` : "") : "";
  return el("div", { class: "launch", "data-testid": "launch" },
    `event ${launch.event_index}: launched ${launch.container} from ${launch.image || "an image"} `,
    el("span", { class: "mono" }, launch.digest), where);
}

async function renderTimeline() {
  const id = view.selected;
  if (!id) return;
  const agent = view.agents.find((a) => a.agent_id === id);
  view.shownAttestations = agent ? agent.attestations : -1;
  let results;
  try {
    results = await getJson(`/v1/agents/${encodeURIComponent(id)}/results?last=50`);
  } catch (error) {
    $("timeline").replaceChildren(el("li", { class: "contraindicated" }, `cannot read the timeline: ${error.message}`));
    return;
  }
  if (view.selected !== id) return;
  const items = quietRuns(results).map((run) => {
    const result = run[0];
    const when = run.length === 1 ? time(result.at) : `${time(run[run.length - 1].at)} – ${time(result.at)}`;
    return el("li", { class: result.status, "data-testid": "timeline-entry", "data-status": result.status },
      el("span", { class: "when" }, when),
      `${result.status}${run.length > 1 ? ` ×${run.length}` : ""} under ${result.policy_id}` + (result.event_index != null ? ` at event ${result.event_index}` : ""),
      result.reason ? el("div", { "data-testid": "timeline-reason" }, result.reason) : "",
      ...(result.launches ?? []).map(launchLine));
  });
  $("timeline").replaceChildren(...(items.length ? items : [el("li", {}, "no attestation yet")]));
}

// Results, newest first, in runs: consecutive uneventful ones (same status and policy, no reason, no launch) share a line.
function quietRuns(results) {
  const runs = [];
  const quiet = (r) => !r.reason && !(r.launches ?? []).length;
  for (const result of results) {
    const last = runs[runs.length - 1];
    if (last && quiet(result) && quiet(last[0]) && last[0].status === result.status && last[0].policy_id === result.policy_id) last.push(result);
    else runs.push([result]);
  }
  return runs;
}

function select(id) {
  view.selected = id;
  $("timeline-agent").textContent = id;
  $("timeline-section").hidden = false;
  renderAgents();
  renderTimeline();
}

async function renderPolicies() {
  try {
    const policies = await getJson("/v1/policies");
    $("policies").replaceChildren(...policies.map((p) => el("tr", { "data-testid": "policy-row", "data-policy": p.policy.name },
      el("td", {}, p.policy.name), el("td", {}, String(p.version)), el("td", {}, time(p.created_at)),
      el("td", {}, String(view.agents.filter((a) => a.policy === p.policy.name).length)))));
  } catch (error) {
    $("policies").replaceChildren(el("tr", {}, el("td", { colSpan: 4 }, `cannot read policies: ${error.message}`)));
  }
}

async function renderInstances() {
  try {
    const instances = await getJson("/v1/instances");
    $("instances").replaceChildren(...instances.map((i) => el("tr", { "data-testid": "instance-row", "data-instance": i.instance_id },
      el("td", { class: "mono" }, i.instance_id), el("td", {}, String(i.agents)), el("td", {}, time(i.heartbeat_at)),
      el("td", {}, time(i.expires_at)), el("td", {}, i.alive ? "alive" : "dead"))));
  } catch (error) {
    $("instances").replaceChildren(el("tr", {}, el("td", { colSpan: 5 }, `cannot read instances: ${error.message}`)));
  }
}

function connect() {
  const live = $("live");
  const events = new EventSource("/v1/events");
  events.addEventListener("open", () => { live.dataset.state = "live"; live.textContent = "live"; });
  events.addEventListener("error", () => { live.dataset.state = "lost"; live.textContent = "connection lost, retrying…"; });
  events.addEventListener("agents", (event) => {
    view.agents = JSON.parse(event.data);
    render();
    renderPolicies();
    renderInstances();
    const selected = view.agents.find((a) => a.agent_id === view.selected);
    if (selected && selected.attestations !== view.shownAttestations) renderTimeline();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("text-filter").addEventListener("input", (event) => { view.text = event.target.value.trim(); renderAgents(); });
  connect();
  setInterval(renderInstances, 10000);
});
