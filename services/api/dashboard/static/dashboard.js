// Veille's dashboard: one brand at a glance, drawn from the REST API (/api/v1).
// No dependencies and no build step. Every piece of text from the API is written with
// textContent, never as HTML: mentions are whatever strangers posted.
"use strict";

const API = "../api/v1"; // relative: works behind a proxy that adds a path prefix
const KEY_ITEM = "veille.apiKey"; // sessionStorage: this tab only, gone when it closes
const $ = (id) => document.getElementById(id);

class Unauthorized extends Error {}

function apiKey() {
  // "#key=..." opens the board directly (a wall screen, a bookmark); the fragment never
  // reaches a server, and is removed from the address bar at once.
  const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(KEY_ITEM, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY_ITEM) || "";
}

async function api(path, params = {}) {
  const query = new URLSearchParams(params).toString();
  const response = await fetch(`${API}${path}${query ? "?" + query : ""}`, {
    headers: { "X-API-Key": apiKey() },
  });
  if (response.status === 401 || response.status === 403) throw new Unauthorized();
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch (_) { /* not a problem document */ }
    throw new Error(`${path}: ${detail}`);
  }
  return response.json();
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function quoted(name) {
  return `"${name.replace(/"/g, "")}"`;
}

const percent = (part, whole) => (whole ? `${Math.round((100 * part) / whole)}%` : "–");
const signed = (value) => (value === null || value === undefined ? "–" : (value > 0 ? "+" : "") + value.toFixed(2));
const day = (iso) => iso.slice(0, 10);

// French and English function words ("le", "je", "the", "dix"), folded, from the server
// (services/core/function_words.py): a "why" word made only of them says nothing.
let functionWords = new Set();
const fold = (text) => text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
const saysSomething = (word) =>
  fold(word)
    .split(/[^\p{L}\p{N}]+/u)
    .some((t) => t.length > 1 && !/^\p{N}+$/u.test(t) && !functionWords.has(t));
const negativeCount = (series) =>
  series.buckets.reduce((sum, b) => sum + ((b.by && b.by.negative) || 0), 0);

// "+25% on the previous 30 days": how a marketer reads a change at a glance.
function change(now, before, days) {
  if (!before) return now ? `none in the previous ${days} days` : "";
  const ratio = Math.round((100 * (now - before)) / before);
  return `${ratio > 0 ? "+" : ""}${ratio}% on the previous ${days} days`;
}

function pointsChange(now, before, days) {
  const points = Math.round(100 * (now - before));
  return `${points > 0 ? "+" : ""}${points} pts on the previous ${days} days`;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function showLogin(message) {
  $("board").hidden = true;
  $("controls").hidden = true;
  $("login").hidden = false;
  showError(message || "");
  $("key").focus();
}

function sentimentChart(series) {
  const buckets = series.buckets;
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  const width = 800, height = 180, bottom = 20, left = 30;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${series.total} mentions, per day, by sentiment`);
  const most = Math.max(1, ...buckets.map((b) => b.count));
  const slot = (width - left) / Math.max(1, buckets.length);
  buckets.forEach((bucket, i) => {
    let y = height - bottom;
    for (const label of ["negative", "neutral", "positive"]) {
      const count = (bucket.by && bucket.by[label]) || 0;
      if (!count) continue;
      const h = ((height - bottom - 10) * count) / most;
      y -= h;
      const bar = document.createElementNS(svgNS, "rect");
      bar.setAttribute("x", String(left + i * slot + slot * 0.1));
      bar.setAttribute("y", String(y));
      bar.setAttribute("width", String(slot * 0.8));
      bar.setAttribute("height", String(h));
      bar.setAttribute("class", label);
      bar.dataset.day = day(bucket.start);
      bar.dataset.count = String(count);
      const title = document.createElementNS(svgNS, "title");
      title.textContent = `${day(bucket.start)}: ${count} ${label}`;
      bar.appendChild(title);
      svg.appendChild(bar);
    }
  });
  const axis = (x, y, text, anchor) => {
    const node = document.createElementNS(svgNS, "text");
    node.setAttribute("x", String(x));
    node.setAttribute("y", String(y));
    node.setAttribute("text-anchor", anchor);
    node.textContent = text;
    svg.appendChild(node);
  };
  axis(left - 4, 12, String(most), "end");
  axis(left - 4, height - bottom, "0", "end");
  if (buckets.length) {
    axis(left, height - 4, day(buckets[0].start), "start");
    axis(width, height - 4, day(buckets[buckets.length - 1].start), "end");
  }
  return svg;
}

function fillTable(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren();
  if (!rows.length) {
    const cell = element("td", "nothing in this period", "empty");
    cell.colSpan = table.tHead.rows[0].cells.length;
    body.appendChild(element("tr")).appendChild(cell);
    return;
  }
  for (const cells of rows) {
    const row = body.appendChild(element("tr"));
    cells.forEach((value, i) => row.appendChild(element("td", value, i ? "number" : "")));
  }
}

// Reposts and syndicated copies share a story: shown once, newest first, with their count.
function stories(mentions) {
  const groups = new Map();
  for (const mention of mentions) {
    const key = mention.story_id || mention.id;
    const group = groups.get(key);
    if (group) group[1] += 1;
    else groups.set(key, [mention, 1]);
  }
  return [...groups.values()];
}

function mentionItem(mention, brand, copies = 1) {
  const item = element("li");
  item.dataset.id = mention.id;
  const text = [mention.title, mention.text].filter(Boolean).join(" — ");
  item.appendChild(element("div", text.length > 280 ? text.slice(0, 279) + "…" : text));
  const meta =
    `${day(mention.published_at)} · ${mention.source_name}` +
    (mention.language ? ` · ${mention.language}` : "") +
    (copies > 1 ? ` · ${copies} copies` : "");
  const line = item.appendChild(element("div", meta + " · ", "meta"));
  if (mention.url) {
    const link = line.appendChild(element("a", "open"));
    link.href = mention.url;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
  }
  const judged = (mention.brand_sentiments || {})[brand] || mention.sentiment;
  const weighed = judged && judged.evidence ? judged.evidence.words.map((w) => w.text) : [];
  const words = weighed.filter(saysSomething).slice(0, 3);
  if (words.length) item.appendChild(element("div", `why: ${words.join(", ")}`, "why"));
  return item;
}

function alertWhy(numbers) {
  // "observed 59 % vs 18 % expected (score 4.3, needs 3)": the alert's own explanation
  const share = (x) => `${Math.round(x * 100)} %`;
  const count = (x) => String(Math.round(x * 10) / 10);
  if (typeof numbers.observed !== "number" || typeof numbers.score !== "number") return "";
  const show = numbers.kind === "negative_share_spike" ? share : count;
  return (
    `observed ${show(numbers.observed)} vs ${show(numbers.expected)} expected ` +
    `(score ${numbers.score.toFixed(1)}, needs ${numbers.threshold})`
  );
}

function alertItem(event) {
  const item = element("li");
  item.appendChild(element("div", `${event.rule}: ${event.kind} (${event.status})`));
  const why = alertWhy(event.numbers || {});
  if (why) item.appendChild(element("div", why, "why"));
  if (event.numbers && event.numbers.baseline_method) {
    item.appendChild(element("div", `baseline: ${event.numbers.baseline_method}`, "meta"));
  }
  item.appendChild(element("div", event.created_at.replace("T", " ").slice(0, 16) + " UTC", "meta"));
  return item;
}

async function loadBoard() {
  const brand = $("brand").value;
  const days = Number($("period").value);
  const since = new Date(Date.now() - days * 86400e3).toISOString();
  const before = new Date(Date.now() - 2 * days * 86400e3).toISOString(); // the period before
  document.querySelectorAll(".brand-name").forEach((node) => (node.textContent = brand));
  const view = new URLSearchParams({ brand, period: String(days) });
  history.replaceState(null, "", `${location.pathname}?${view}`);
  $("board").setAttribute("aria-busy", "true");
  const complaints = `negative:${quoted(brand)}`;
  const [toward, previous, share, topics, terms, negative, alerts] = await Promise.all([
    api("/stats/sentiment", { toward: brand, since, interval: "day" }),
    api("/stats/sentiment", { toward: brand, since: before, until: since, interval: "week" }),
    api("/stats/share-of-voice", { brand, since }),
    api("/stats/breakdown", { dimension: "topic", q: `brand:${quoted(brand)}`, since, size: 8 }),
    api("/stats/top-terms", { q: complaints, since, size: 16 }),
    api("/mentions", { q: complaints, since, limit: 50 }),
    api("/alerts/events", { limit: 50 }),
  ]);
  const negatives = negativeCount(toward);
  const previousNegatives = negativeCount(previous);
  const own = share.shares.find((s) => s.role === "brand") || {};
  const recentAlerts = alerts.events.filter((e) => new Date(e.created_at) >= new Date(since));
  $("kpi-mentions").textContent = String(toward.total);
  $("kpi-negative").textContent = percent(negatives, toward.total);
  $("kpi-mentions-change").textContent = change(toward.total, previous.total, days);
  $("kpi-negative-change").textContent =
    toward.total && previous.total
      ? pointsChange(negatives / toward.total, previousNegatives / previous.total, days)
      : "";
  $("kpi-net").textContent = signed(own.net_sentiment);
  $("kpi-alerts").textContent = String(recentAlerts.length);
  $("chart-sentiment").replaceChildren(sentimentChart(toward));
  fillTable(
    $("share-of-voice"),
    share.shares.map((s) => [s.name, s.count, percent(s.count, share.total), signed(s.net_sentiment)]),
  );
  fillTable($("topics"), topics.counts.map((c) => [c.key, c.count]));
  // The API leaves out function words and the watched names (in every such mention).
  fillTable($("negative-terms"), terms.counts.slice(0, 8).map((c) => [c.key, c.count]));
  const list = $("negative-mentions");
  list.replaceChildren(...stories(negative.mentions).slice(0, 5).map(([m, n]) => mentionItem(m, brand, n)));
  if (!negative.mentions.length) list.appendChild(element("li", "none in this period", "empty"));
  const alertList = $("alerts");
  alertList.replaceChildren(...recentAlerts.slice(0, 5).map(alertItem));
  if (!recentAlerts.length) alertList.appendChild(element("li", "none in this period", "empty"));
  $("board").setAttribute("aria-busy", "false");
  document.body.dataset.loaded = brand;
}

async function start() {
  const [brands, words] = await Promise.all([
    api("/brands"),
    fetch("function-words.json").then((r) => (r.ok ? r.json() : [])),
  ]);
  functionWords = new Set(words);
  const select = $("brand");
  select.replaceChildren(...brands.map((b) => element("option", b.name)));
  // ?brand=...&period=... picks the view, so a bookmark or a shared link keeps it.
  const wanted = new URLSearchParams(location.search);
  if (brands.some((b) => b.name === wanted.get("brand"))) select.value = wanted.get("brand");
  if ([...$("period").options].some((o) => o.value === wanted.get("period"))) {
    $("period").value = wanted.get("period");
  }
  $("login").hidden = true;
  $("controls").hidden = false;
  if (!brands.length) {
    showError("No brand is watched yet: add one to the workspace (brands:) or POST /api/v1/brands.");
    return;
  }
  $("board").hidden = false;
  await loadBoard();
}

async function run(step) {
  try {
    showError("");
    await step();
  } catch (error) {
    if (error instanceof Unauthorized) {
      const refused = Boolean(sessionStorage.getItem(KEY_ITEM));
      sessionStorage.removeItem(KEY_ITEM);
      showLogin(refused ? "This API key was refused: check it, or create one." : "");
    } else {
      showError(`Could not load the dashboard: ${error.message}`);
    }
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_ITEM, $("key").value.trim());
  $("key").value = "";
  run(start);
});
$("brand").addEventListener("change", () => run(loadBoard));
$("period").addEventListener("change", () => run(loadBoard));
$("refresh").addEventListener("click", () => run(loadBoard));
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_ITEM);
  showLogin("");
});

run(start);
