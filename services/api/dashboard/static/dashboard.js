// Veille's dashboard: one brand at a glance, drawn from the REST API (/api/v1), where
// every number opens the mentions behind it. Charts: charts.js (Chart.js, vendored); no
// build step. Every piece of text from the API is written with
// textContent, never as HTML: mentions are whatever strangers posted. The page's own words,
// numbers and dates come from i18n.js (`t(key, params)`, `I18n.*`), in French or English.
"use strict";

const API = "../api/v1"; // relative: works behind a proxy that adds a path prefix
const KEY_ITEM = "veille.apiKey"; // sessionStorage: this tab only, gone when it closes
const $ = (id) => document.getElementById(id);

class Unauthorized extends Error {}
// The server did not answer at all (down, or the network is): said in the page's words.
class Unreachable extends Error {}

// fetch(), with a request that never got an answer thrown as Unreachable (a browser's own
// "Failed to fetch" is English, and names no cause).
async function reach(url, init) {
  try {
    return await fetch(url, init);
  } catch (error) {
    throw new Unreachable(error.message);
  }
}

// A refused request, with the API's problem document (RFC 9457): a query's syntax error
// says where it is (`position`, 0-based).
class ApiError extends Error {
  constructor(message, problem) {
    super(message);
    this.problem = problem || {};
  }
}

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
  const response = await reach(`${API}${path}${query ? "?" + query : ""}`, {
    headers: { "X-API-Key": apiKey() },
  });
  if (response.status === 401 || response.status === 403) throw new Unauthorized();
  if (!response.ok) throw await refusal(path, response);
  return response.json();
}

async function refusal(path, response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch (_) { /* not a problem document */ }
  return new ApiError(`${path}: ${problem.detail || `${response.status} ${response.statusText}`}`, problem);
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

// Numbers and dates as the chosen language writes them (i18n.js): "63 %", "+0,21".
const percent = (part, whole) => (whole ? I18n.percent(part / whole) : "–");
const signed = (value) => I18n.signed(value);
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
  if (!before) return now ? t("kpi.noneBefore", { count: days }) : "";
  const ratio = Math.round((100 * (now - before)) / before) / 100;
  return t("kpi.change", { change: I18n.percent(ratio, { sign: true }), count: days });
}

function pointsChange(now, before, days) {
  return t("kpi.change", { change: I18n.points(Math.round(100 * (now - before))), count: days });
}

// The message above the board or the login form, kept as a key of the table and its
// parameters so that a language switch writes it again; "" or none: no message.
let shownError = null;
function showError(key, params = {}) {
  shownError = key ? { key, params } : null;
  writeError();
}

function writeError() {
  // a parameter given as a function is worded again in the new language (a refusal's)
  const params = (given) =>
    Object.fromEntries(Object.entries(given).map(([name, value]) => [name, typeof value === "function" ? value() : value]));
  $("error").textContent = shownError ? t(shownError.key, params(shownError.params)) : "";
  $("error").hidden = !shownError;
}

function showLogin(key) {
  $("board").hidden = true;
  $("controls").hidden = true;
  $("login").hidden = false;
  showError(key || "");
  showProviders();
  $("key").focus();
}

// "Sign in with <provider>" when the server has an OIDC provider configured: the link
// leaves for the provider, which sends the browser back with a session cookie.
async function showProviders() {
  try {
    const response = await fetch(`${API}/session/providers`);
    const oidc = response.ok ? (await response.json()).oidc : null;
    if (!oidc) return;
    $("oidc-name").textContent = oidc.name;
    $("oidc-link").href = `${API}/session/oidc`; // relative, like every call here
    $("oidc-sign-in").hidden = false;
  } catch {
    // no provider button: the key and password forms still work
  }
}

// A number that leads to the mentions behind it: a button that opens them below.
function drillButton(count, query, note, window) {
  const button = element("button", I18n.number(count), "drill");
  button.type = "button";
  button.dataset.q = query;
  button.dataset.count = String(count);
  button.addEventListener("click", () => drill(query, note, window));
  return button;
}

// Rows of cells; a cell {count, q, note} is a number that opens its mentions.
function fillTable(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren();
  if (!rows.length) {
    const cell = element("td", t("table.empty"), "empty");
    cell.colSpan = table.tHead.rows[0].cells.length;
    body.appendChild(element("tr")).appendChild(cell);
    return;
  }
  for (const cells of rows) {
    const row = body.appendChild(element("tr"));
    cells.forEach((value, i) => {
      const cell = row.appendChild(element("td", undefined, i ? "number" : ""));
      if (value && typeof value === "object") cell.appendChild(drillButton(value.count, value.q, value.note));
      else cell.textContent = typeof value === "number" ? I18n.number(value) : String(value);
    });
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
    `${I18n.date(mention.published_at)} · ${mention.source_name}` +
    (mention.language ? ` · ${I18n.language(mention.language)}` : "") +
    (copies > 1 ? ` · ${t("mention.copies", { count: copies })}` : "");
  const line = item.appendChild(element("div", meta + " · ", "meta"));
  if (mention.url) {
    const link = line.appendChild(element("a", t("mention.open")));
    link.href = mention.url;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
  }
  const judged = (mention.brand_sentiments || {})[brand] || mention.sentiment;
  const weighed = judged && judged.evidence ? judged.evidence.words.map((w) => w.text) : [];
  // A word weighs in each form the model read ("ridiculous", "ridiculous ."): shown once.
  const trimmed = weighed.map((w) => w.replace(/^[\s\p{P}]+|[\s\p{P}]+$/gu, "")).filter(saysSomething);
  const words = trimmed.filter((w, i) => trimmed.findIndex((o) => fold(o) === fold(w)) === i).slice(0, 3);
  if (words.length) item.appendChild(element("div", t("mention.why", { words: words.join(", ") }), "why"));
  return item;
}

function alertWhy(numbers) {
  // "observed 59% vs 18% expected (score 4.3, needs 3)": the alert's own explanation
  const share = (x) => I18n.percent(x);
  const count = (x) => I18n.number(Math.round(x * 10) / 10);
  if (typeof numbers.observed !== "number" || typeof numbers.score !== "number") return "";
  const show = numbers.kind === "negative_share_spike" ? share : count;
  return t("alert.why", {
    observed: show(numbers.observed),
    expected: show(numbers.expected),
    score: I18n.number(numbers.score, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
    threshold: numbers.threshold,
  });
}

function alertItem(event) {
  const item = element("li");
  // A known kind or status in the notifications' words; an unknown status as the API says
  // it, an unknown kind named as one (I18n.alertKind).
  const known = (key, code) => (key in I18n.messages ? t(key) : code);
  const kind = I18n.alertKind(event.kind);
  const status = known(`alertStatus.${event.status}`, event.status);
  const rule = I18n.ruleName(event.rule, event.rule_default_name); // "Veloria : pic de volume"
  item.appendChild(element("div", t("alert.title", { rule, kind, status })));
  const why = alertWhy(event.numbers || {});
  if (why) item.appendChild(element("div", why, "why"));
  // How "expected" was computed, in the page's words from its parts (the API's
  // `baseline`); an old event's sentence of no known shape, as the server gave it.
  const method = I18n.baseline(event.baseline) || (event.numbers && event.numbers.baseline_method);
  if (method) item.appendChild(element("div", t("alert.baseline", { method }), "meta"));
  const at = item.appendChild(element("div", t("alert.at", { when: I18n.dateTime(event.created_at) }) + " · ", "meta"));
  const behind = alertMentions(event.numbers || {});
  if (behind) {
    const open = at.appendChild(element("button", t("alert.mentions"), "link alert-mentions"));
    open.type = "button";
    // The rule's name and, for a default rule, its parts: the note words it in each language.
    const parts = event.rule_default_name;
    const params = parts ? { rule: event.rule, ruleTarget: parts.target, ruleKind: parts.kind } : { rule: event.rule };
    open.addEventListener("click", () => drill(behind.query, note("note.alert", params), behind.window));
  } else {
    at.textContent = t("alert.at", { when: I18n.dateTime(event.created_at) });
  }
  return item;
}

// The mentions an alert counted: its target's (a brand's, the negative ones for a negative
// share; a saved search's query, when this caller sees it) over the window it judged.
function alertMentions(numbers) {
  const target = numbers.target || {};
  const since = new Date(numbers.window_start || ""), until = new Date(numbers.window_end || "");
  if (isNaN(since) || isNaN(until) || since >= until || !target.name) return null;
  let query = null;
  if (target.type === "brand") {
    query = numbers.kind === "negative_share_spike" ? `negative:${quoted(target.name)}` : towardQuery(target.name);
  } else if (target.type === "saved_search") {
    const search = setup.saved.find((s) => s.name === target.name); // setup.js
    query = search ? search.query : null;
  }
  return query ? { query, window: { since, until } } : null;
}

// The window the page shows: the last 7/30/90 days up to now, or whole UTC days chosen.
function currentWindow() {
  if ($("period").value === "custom") {
    const from = $("from").value, to = $("to").value;
    if (!from || !to) throw new Error(t("error.noDays"));
    const since = new Date(`${from}T00:00:00Z`);
    const until = new Date(Date.parse(`${to}T00:00:00Z`) + 86400e3); // the last day included
    if (until <= since) throw new Error(t("error.daysReversed"));
    return { since, until, days: Math.round((until - since) / 86400e3) };
  }
  const days = Number($("period").value);
  const until = new Date();
  return { since: new Date(until - days * 86400e3), until, days };
}

const iso = (date) => date.toISOString();
const towardQuery = (name) => `(${["negative", "neutral", "positive"].map((l) => `${l}:${quoted(name)}`).join(" OR ")})`;
const polarQuery = (name) => `(negative:${quoted(name)} OR positive:${quoted(name)})`;
let view = null; // the window and brand last loaded: drill-downs search within it
let board = null; // the API's answers the board was last drawn from
let loads = 0; // a newer load (auto-refresh, a new choice) makes an older one's answers stale

// Histogram buckets as chart labels, with the window each covers (clipped to the view's).
function bucketWindows(series, interval) {
  const step = (interval === "week" ? 7 : 1) * 86400e3;
  return series.buckets.map((b) => {
    const start = Date.parse(b.start);
    return {
      label: day(b.start),
      since: new Date(Math.max(start, view.since)),
      until: new Date(Math.min(start + step, view.until)),
    };
  });
}

function alertsByBucket(windows, events) {
  const marks = new Map();
  for (const event of events) {
    // Where the spike was (the bucket it fired on), not when the alert was recorded.
    const at = new Date((event.numbers && event.numbers.fired_at) || event.created_at);
    const bucket = windows.find((w) => w.since <= at && at < w.until);
    const rule = I18n.ruleName(event.rule, event.rule_default_name);
    if (bucket) marks.set(bucket.label, [...(marks.get(bucket.label) || []), rule]);
  }
  return marks;
}

// Kinds of source (feed, web, reddit...): the kind of each source mentioned, then a
// count per kind (`source:` matches a source's name or kind).
async function kindCounts(baseQuery, window, sources) {
  const sample = await Promise.all(
    sources.counts.map((c) =>
      api("/mentions", { q: `${baseQuery} AND source:${quoted(c.key)}`, ...window, limit: 1 }),
    ),
  );
  const kinds = [...new Set(sample.flatMap((page) => page.mentions.map((m) => m.source_kind)))];
  const totals = await Promise.all(
    kinds.map((kind) => api("/mentions", { q: `${baseQuery} AND source:${quoted(kind)}`, ...window, limit: 1 })),
  );
  return kinds
    .map((key, i) => ({ key, count: totals[i].total }))
    .filter((c) => c.count)
    .sort((a, b) => b.count - a.count);
}

async function loadBoard() {
  const generation = ++loads;
  const brand = $("brand").value;
  const { since: start, until: end, days } = currentWindow();
  view = { brand, since: start, until: end };
  const interval = days > 92 ? "week" : "day";
  const since = iso(start), until = iso(end);
  const window = { since, until };
  const before = iso(new Date(start - (end - start))); // the period before, as long
  I18n.setContext({ brand, interval }); // the headings that name them
  saveView();
  setBusy(true);
  const complaints = `negative:${quoted(brand)}`;
  const named = `brand:${quoted(brand)}`;
  const [toward, previous, share, topics, terms, negative, alerts, sources, languages] =
    await Promise.all([
      api("/stats/sentiment", { toward: brand, ...window, interval }),
      api("/stats/sentiment", { toward: brand, since: before, until: since, interval: "week" }),
      api("/stats/share-of-voice", { brand, ...window }),
      api("/stats/breakdown", { dimension: "topic", q: named, ...window, size: 8 }),
      api("/stats/top-terms", { q: complaints, ...window, size: 16 }),
      api("/mentions", { q: complaints, ...window, limit: 50 }),
      api("/alerts/events", { brand, limit: 50 }),
      api("/stats/breakdown", { dimension: "source", q: named, ...window, size: 10 }),
      api("/stats/breakdown", { dimension: "language", q: named, ...window, size: 10 }),
      fetchSetup(), // setup.js: the caller, saved searches, alert rules, reports
    ]);
  // A word's count is recounted by search: top terms read the newest 10,000 mentions and
  // words as written, a search all of them and words folded ("déçu" finds "decu" too).
  const words = terms.counts.slice(0, 8);
  const wordQuery = (word) => `${complaints} AND ${quoted(word)}`;
  // The saved searches' rules are listed on every board (setup.js, fillRules): their alerts
  // show here too, beside the brand's own (`brand` above keeps only rules on the brand).
  const searchRules = setup.rules.filter((r) => r.target_type === "saved_search");
  const [kinds, rivals, wordPages, searchAlerts] = await Promise.all([
    kindCounts(named, window, sources),
    Promise.all(share.shares.map((s) => api("/stats/sentiment", { toward: s.name, ...window, interval }))),
    Promise.all(words.map((c) => api("/mentions", { q: wordQuery(c.key), ...window, limit: 1 }))),
    Promise.all(searchRules.map((r) => api("/alerts/events", { rule: r.name, limit: 50 }))),
  ]);
  if (generation !== loads) return; // a newer load is under way
  const events = [...alerts.events, ...searchAlerts.flatMap((page) => page.events)]
    .sort((a, b) => new Date(b.created_at) - new Date(a.created_at) || b.id - a.id);
  board = { brand, days, interval, start, end, toward, previous, share, topics, words, kinds, rivals, wordPages,
    negative, alerts: { events }, sources, languages, loadedAt: new Date() };
  drawBoard(board);
}

// The board drawn from answers already loaded: after a load, and again in another
// language (same figures, same window: a switch is no new "now").
function drawBoard({ brand, days, interval, start, end, toward, previous, share, topics, words, kinds, rivals,
  wordPages, negative, alerts, sources, languages, loadedAt }) {
  const complaints = `negative:${quoted(brand)}`;
  const named = `brand:${quoted(brand)}`;
  const wordQuery = (word) => `${complaints} AND ${quoted(word)}`;
  const negatives = negativeCount(toward);
  const previousNegatives = negativeCount(previous);
  const own = share.shares.find((s) => s.role === "brand") || {};
  const recentAlerts = alerts.events.filter((e) => new Date(e.created_at) >= start && new Date(e.created_at) < end);
  const setKpi = (id, text, count, query, note) => {
    const button = $(id);
    button.textContent = text;
    button.dataset.q = query;
    button.dataset.count = String(count);
    button.onclick = () => drill(query, note);
  };
  setKpi("kpi-mentions", I18n.number(toward.total), toward.total, towardQuery(brand), note("note.of", { brand }));
  setKpi("kpi-negative", percent(negatives, toward.total), negatives, complaints,
    note("note.negativeOf", { brand, total: toward.total }));
  $("kpi-mentions-change").textContent = change(toward.total, previous.total, days);
  $("kpi-negative-change").textContent =
    toward.total && previous.total
      ? pointsChange(negatives / toward.total, previousNegatives / previous.total, days)
      : "";
  const polar = (own.sentiment ? own.sentiment.positive + own.sentiment.negative : 0);
  setKpi("kpi-net", signed(own.net_sentiment), polar, polarQuery(brand), note("note.polar", { brand }));
  $("kpi-alerts").textContent = I18n.number(recentAlerts.length);

  const windows = bucketWindows(toward, interval);
  const labels = windows.map((w) => w.label);
  const marks = alertsByBucket(windows, recentAlerts);
  const by = (label) => toward.buckets.map((b) => (b.by && b.by[label]) || 0);
  const per = t(`interval.${interval}`);
  $("chart-sentiment").setAttribute("aria-label", t("chart.sentimentLabel", { total: toward.total, brand, interval: per }));
  $("chart-competitors").setAttribute("aria-label",
    t("chart.competitorsLabel", { names: share.shares.map((s) => s.name).join(", "), interval: per }));
  $("chart-net").setAttribute("aria-label", t("chart.netLabel", { interval: per }));
  // The days a bar or point stands for, written out at each draw: one day, or a week's
  // first and last (within the view's window).
  const on = (i) => (interval === "week"
    ? { day: day(iso(windows[i].since)), to: day(iso(new Date(windows[i].until - 1))) }
    : { day: labels[i] });
  Charts.sentimentBars($("chart-sentiment"), labels,
    { negative: by("negative"), neutral: by("neutral"), positive: by("positive") }, marks,
    (label, i) => {
      const query = label === "alert" ? towardQuery(brand) : `${label}:${quoted(brand)}`;
      const key = label === "alert" ? "note.mentioningOn" : `note.${label}`;
      drill(query, note(key, { brand, ...on(i) }), windows[i]);
    });
  const volumes = {}, nets = {};
  share.shares.forEach((s, k) => {
    volumes[s.name] = rivals[k].buckets.map((b) => b.count);
    nets[s.name] = rivals[k].buckets.map((b) => {
      const pos = (b.by && b.by.positive) || 0, neg = (b.by && b.by.negative) || 0;
      return pos + neg ? Math.round((100 * (pos - neg)) / (pos + neg)) / 100 : null;
    });
  });
  Charts.lines($("chart-competitors"), labels, volumes, marks, (name, i) =>
    drill(towardQuery(name === "alert" ? brand : name),
      note("note.mentioningOn", { brand: name === "alert" ? brand : name, ...on(i) }), windows[i]));
  Charts.lines($("chart-net"), labels, nets, new Map(), (name, i) =>
    drill(polarQuery(name), note("note.polarOn", { brand: name, ...on(i) }), windows[i]),
    { min: -1, max: 1, ticks: { stepSize: 0.5 } });

  const drillCell = (count, q, note) => ({ count, q, note });
  fillTable(
    $("share-of-voice"),
    share.shares.map((s) => {
      const q = `${s.role}:${quoted(s.name)}`;
      return [s.name, drillCell(s.count, q, note("note.naming", { name: s.name })), percent(s.count, share.total),
        signed(s.net_sentiment)];
    }),
  );
  const rows = (counts, field, key, name = (code) => code) =>
    counts.map((c) =>
      [name(c.key), drillCell(c.count, `${named} AND ${field}:${quoted(c.key)}`, note(key, { key: c.key }))]);
  fillTable($("topics"), rows(topics.counts, "topic", "note.about"));
  fillTable($("by-source"), rows(sources.counts, "source", "note.from"));
  fillTable($("by-kind"), rows(kinds, "source", "note.fromKind", I18n.sourceKind));
  fillTable($("by-language"), rows(languages.counts, "lang", "note.in", I18n.language));
  // The API leaves out function words and the watched names (in every such mention).
  fillTable(
    $("negative-terms"),
    words.map((c, i) =>
      [c.key, drillCell(wordPages[i].total, wordQuery(c.key), note("note.word", { brand, word: c.key }))]),
  );
  const list = $("negative-mentions");
  list.replaceChildren(...stories(negative.mentions).slice(0, 5).map(([m, n]) => mentionItem(m, brand, n)));
  if (!negative.mentions.length) list.appendChild(element("li", t("list.empty"), "empty"));
  const alertList = $("alerts");
  alertList.replaceChildren(...recentAlerts.slice(0, 5).map(alertItem));
  if (!recentAlerts.length) alertList.appendChild(element("li", t("list.empty"), "empty"));
  drawSetup(); // setup.js: saved searches, alert rules, reports
  if (!explored) showWindow(view);
  // A wall screen says how fresh it is.
  $("updated").textContent = t("header.updated", { time: I18n.clock(loadedAt) });
  setBusy(false);
  document.body.dataset.loaded = brand;
  run(loadInbox); // triage.js: its own errors, so a refused inbox query spares the board
}

function setBusy(busy) {
  $("board").setAttribute("aria-busy", String(busy));
  $("loading").hidden = !busy;
}

// The address keeps the whole view: brand, period or days, auto-refresh, and the mentions
// explored below (their query, what was clicked, and the bucket's window when narrower than
// the page's), so a reload, the back button and a pasted link reopen the same view. A
// person's step (a click, a search, a new brand or period) is a new history entry; a reload
// of the board (auto-refresh) or a restored view only rewrites the current one.
let searched = null; // {q, note} of the mentions listed below (note: see noteText), or null
let restoring = false; // reopening the view an address describes: no new history entry

function viewParams() {
  const params = { brand: $("brand").value, period: $("period").value };
  if (params.period === "custom") Object.assign(params, { from: $("from").value, to: $("to").value });
  if ($("auto-refresh").value !== "0") params.refresh = $("auto-refresh").value;
  if (I18n.pinned()) params.lang = I18n.lang(); // a link with ?lang= keeps its language
  if (searched) {
    params.q = searched.q;
    Object.assign(params, noteAddress(searched.note));
    if (explored && view && (explored.since.getTime() !== view.since.getTime()
      || explored.until.getTime() !== view.until.getTime())) {
      Object.assign(params, { since: iso(explored.since), until: iso(explored.until) });
    }
  }
  return params;
}

function saveView(push = false) {
  const address = `${location.pathname}?${new URLSearchParams(viewParams())}`;
  if (address === location.pathname + location.search) return;
  if (push && !restoring) history.pushState(null, "", address);
  else history.replaceState(null, "", address);
}

// The controls an address names (unknown brands, periods or days are ignored).
function applyControls(wanted, brands) {
  if (brands.includes(wanted.get("brand"))) $("brand").value = wanted.get("brand");
  const period = [...$("period").options].some((o) => o.value === wanted.get("period"))
    ? wanted.get("period") : "30";
  $("period").value = period;
  const isDay = (value) => /^\d{4}-\d{2}-\d{2}$/.test(value || "");
  if (isDay(wanted.get("from")) && isDay(wanted.get("to"))) {
    $("from").value = wanted.get("from");
    $("to").value = wanted.get("to");
  }
  const refresh = wanted.get("refresh") || "0";
  $("auto-refresh").value = [...$("auto-refresh").options].some((o) => o.value === refresh) ? refresh : "0";
}

// The mentions an address explores (?q=...&note=...[&since=...&until=...]), searched again.
async function restoreExplore(wanted) {
  if (!wanted.has("q")) {
    clearExplore();
    return;
  }
  const since = new Date(wanted.get("since") || ""), until = new Date(wanted.get("until") || "");
  explored = !isNaN(since) && !isNaN(until) && since < until ? { since, until } : null;
  $("q").value = wanted.get("q");
  showNote(noteFromAddress(wanted));
  await search();
}

function clearExplore() {
  explored = null;
  searched = null;
  explorePage = null;
  $("explore-total").textContent = "–";
  showNote(null);
  $("explore-mentions").replaceChildren();
}

let brandNames = [];
async function restore() {
  restoring = true;
  try {
    const wanted = new URLSearchParams(location.search);
    const shown = () => ["brand", "period", "from", "to"].map((id) => $(id).value).join("\n");
    const before = shown();
    applyControls(wanted, brandNames);
    showRange();
    autoRefresh();
    if (shown() !== before || !view) {
      clearExplore();
      await loadBoard();
    }
    await restoreExplore(wanted);
  } finally {
    restoring = false;
  }
}

// --- Drill-down: the mentions behind a number, and a search box for the query language.
let explored = null; // {since, until} of the last drill-down, or null: the page's window
let searches = 0;

function showWindow(window) {
  $("explore-window").textContent =
    t("explore.window", { since: I18n.dateTime(window.since), until: I18n.dateTime(window.until) });
  $("whole-period").hidden = !explored || (explored.since.getTime() === view.since.getTime()
    && explored.until.getTime() === view.until.getTime());
}

// What the mentions below are, kept as a key of the table and its parameters (never as
// the words on screen) so that each draw, and a language switch, writes it anew, and the
// address holds the key (?note=note.negativeOf&np={"brand":…}). An old link's free-text
// note ({text}) is shown as it is.
const note = (key, params = {}) => ({ key, params });
let shownNote = null; // {key, params}, {text}, or null: nothing explored yet

function noteText(shown) {
  if (!shown) return t("explore.idle");
  if (shown.text !== undefined) return shown.text;
  if (!shown.key.startsWith("note.")) return t(shown.key); // "mentions matching the query"
  return t("explore.drilled", { note: t(shown.key, noteParams(shown.params, shown.key)) });
}

// The parameters as this language writes them: a bucket's day, with its year, or a
// week's days (day, to: its last day); a language's or a source kind's code as its name
// (note.in, note.fromKind); a default rule's name (note.alert: ruleTarget, ruleKind).
function noteParams(params, key) {
  const written = { ...params };
  if (key === "note.in" && typeof params.key === "string") written.key = I18n.language(params.key);
  if (key === "note.fromKind" && typeof params.key === "string") written.key = I18n.sourceKind(params.key);
  if (params.day) written.day = params.to ? I18n.dateRange(params.day, params.to) : I18n.date(params.day);
  if (params.ruleKind) written.rule = I18n.ruleName(params.rule, { target: params.ruleTarget, kind: params.ruleKind });
  return written;
}

function showNote(shown) {
  shownNote = shown;
  $("explore-note").textContent = noteText(shown);
}

function noteAddress(shown) {
  if (!shown) return {};
  if (shown.text !== undefined) return { note: shown.text };
  const params = shown.params && Object.keys(shown.params).length ? { np: JSON.stringify(shown.params) } : {};
  return { note: shown.key, ...params };
}

// ?note= of an address: a key of the table (with ?np=, its parameters), or an older
// link's sentence, shown as written.
function noteFromAddress(wanted) {
  const value = wanted.get("note");
  if (!value) return note("explore.matching");
  if (!/^(?:note\.\w+|explore\.matching)$/.test(value) || !(value in I18n.messages)) return { text: value };
  let params = {};
  try {
    const parsed = JSON.parse(wanted.get("np") || "{}");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) params = parsed;
  } catch { /* unreadable parameters: the key's words without them */ }
  const plain = Object.entries(params).filter(([, v]) => typeof v === "string" || typeof v === "number");
  return note(value, Object.fromEntries(plain));
}

function drill(query, drilled, window) {
  $("q").value = query;
  explored = window ? { since: window.since, until: window.until } : { since: view.since, until: view.until };
  showNote(drilled);
  run(search);
  $("explore").scrollIntoView({ block: "start" });
}

function exploreParams() {
  const window = explored || view;
  return { q: $("q").value.trim(), since: iso(window.since), until: iso(window.until) };
}

// A query the API refused: its message, and a caret under where the error is.
function showQueryError(error) {
  const box = $("query-error");
  const position = error.problem.position;
  const query = $("q").value;
  let text = error.problem.detail || error.message;
  if (Number.isInteger(position)) {
    text += `\n${query}\n${" ".repeat(position)}^`;
    $("q").setSelectionRange(position, Math.min(position + 1, query.length));
  }
  box.textContent = text;
  box.hidden = false;
  $("q").setAttribute("aria-invalid", "true");
  $("q").focus();
}

function clearQueryError() {
  $("query-error").hidden = true;
  $("q").removeAttribute("aria-invalid");
}

let explorePage = null; // the API's last answer listed below, drawn again in another language

function drawExplore(page) {
  const list = $("explore-mentions");
  $("explore-total").textContent = I18n.number(page.total);
  $("explore-total").dataset.count = String(page.total);
  list.replaceChildren(...page.mentions.map((m) => mentionItem(m, view.brand)));
  if (!page.total) list.appendChild(element("li", t("explore.none"), "empty"));
  if (page.total > page.mentions.length) {
    list.appendChild(element("li", t("explore.newest", { count: page.mentions.length }), "meta"));
  }
}

async function search() {
  const params = exploreParams();
  showWindow(explored || view);
  clearQueryError();
  searched = { q: params.q, note: shownNote };
  saveView(true);
  const list = $("explore-mentions");
  try {
    explorePage = await api("/mentions", { ...params, limit: 50 });
    drawExplore(explorePage);
  } catch (error) {
    if (!(error instanceof ApiError) || error.problem.status !== 400) throw error;
    explorePage = null;
    $("explore-total").textContent = "–";
    list.replaceChildren();
    showQueryError(error);
  } finally {
    document.body.dataset.searches = String(++searches);
  }
}

// The current query's mentions as a file, from /export/mentions (no cap), with the key.
async function exportMentions(format) {
  const query = new URLSearchParams({ ...exploreParams(), format }).toString();
  clearQueryError();
  const response = await reach(`${API}/export/mentions?${query}`, { headers: { "X-API-Key": apiKey() } });
  if (response.status === 401 || response.status === 403) throw new Unauthorized();
  if (!response.ok) {
    const error = await refusal("/export/mentions", response);
    if (error.problem.status === 400) return showQueryError(error);
    throw error;
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || `veille-mentions.${format}`;
  const link = element("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  document.body.appendChild(link).click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60e3);
  document.body.dataset.exported = name;
}

async function start() {
  const [brands, words] = await Promise.all([
    api("/brands"),
    fetch("function-words.json").then((r) => (r.ok ? r.json() : [])),
  ]);
  functionWords = new Set(words);
  const select = $("brand");
  select.replaceChildren(...brands.map((b) => element("option", b.name)));
  $("q").placeholder = exampleQuery(brands[0]);
  // The address picks the view, so a bookmark, a reload or a shared link keeps it.
  const wanted = new URLSearchParams(location.search);
  brandNames = brands.map((b) => b.name);
  applyControls(wanted, brandNames);
  showRange();
  autoRefresh();
  $("login").hidden = true;
  $("controls").hidden = false;
  await showWorkspaces(); // setup.js: the picker, for a person with several
  if (!brands.length) {
    showError("error.noBrand");
    return;
  }
  $("board").hidden = false;
  restoring = true;
  try {
    await loadBoard();
    await restoreExplore(wanted);
  } finally {
    restoring = false;
  }
}

// The search box's example, on the workspace's own first brand (a client never sees
// another's name): a bare word when the name is one, else a quoted phrase.
function exampleQuery(brand) {
  if (!brand) return "(livraison OR delivery) -promo, negative:\"Brand\", topic:delivery";
  const term = /^[\p{L}\p{N}]+$/u.test(brand.name) ? brand.name.toLowerCase() : quoted(brand.name);
  return `${term} AND (livraison OR delivery) -promo, negative:${quoted(brand.name)}, topic:delivery`;
}

async function run(step) {
  try {
    showError("");
    await step();
  } catch (error) {
    setBusy(false);
    if (error instanceof Unauthorized) {
      const refused = Boolean(sessionStorage.getItem(KEY_ITEM));
      sessionStorage.removeItem(KEY_ITEM);
      showLogin(refused ? "login.refused" : "");
    } else {
      showError(...loadError(error));
    }
  }
}

// Why the board could not load, as a key of i18n.js: a server that did not answer, an
// index down or an error of the server's in the page's words; any other refusal by its
// code in the page's words too (refusals.js), else in the API's.
function loadError(error) {
  if (error instanceof Unreachable) return ["error.loadUnreachable", {}];
  const status = error instanceof ApiError ? error.problem.status : undefined;
  if (status === 503) return ["error.loadUnavailable", {}];
  if (status >= 500) return ["error.loadInternal", { id: error.problem.error_id || "–" }];
  if (status) return ["error.load", { message: () => Refusals.sentence(error.problem) || error.message }];
  return ["error.load", { message: error.message }];
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_ITEM, $("key").value.trim());
  $("key").value = "";
  run(start);
});
// A person's sign-in: the server sets an HttpOnly session cookie that every fetch to
// this origin then carries; no key is kept in the tab.
$("password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch(`${API}/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login: $("login-name").value.trim(), password: $("password").value }),
  });
  $("password").value = "";
  if (!response.ok) {
    showLogin("login.failed");
    return;
  }
  sessionStorage.removeItem(KEY_ITEM);
  run(start);
});
// Custom dates: the two day fields show with "dates…", first filled with the last 30 days.
function showRange() {
  const custom = $("period").value === "custom";
  $("range").hidden = !custom;
  if (custom && !$("from").value) {
    $("to").value = iso(new Date()).slice(0, 10);
    $("from").value = iso(new Date(Date.now() - 29 * 86400e3)).slice(0, 10);
  }
  showDays();
}

// Each day of the period as the page's language writes it ("1 nov. 2026"): a native date
// field writes the browser's locale (11/01/2026 on a French page, read as 11 January), so
// it stays out of sight; its button says the day and opens its calendar.
function showDays() {
  for (const id of ["from", "to"]) $(`${id}-shown`).textContent = $(id).value ? I18n.date($(id).value) : "–";
}
for (const id of ["from", "to"]) {
  $(`${id}-shown`).addEventListener("click", () => {
    try {
      $(id).showPicker();
    } catch {
      $(id).focus(); // no picker here: the field itself takes the keys
    }
  });
  $(id).addEventListener("change", showDays);
}

// A wall screen: reload the board every minute or five, without a person at it.
let refreshTimer = null;
function autoRefresh() {
  clearInterval(refreshTimer);
  const seconds = Number($("auto-refresh").value);
  refreshTimer = seconds ? setInterval(() => run(loadBoard), seconds * 1000) : null;
}

// A new brand or window: the mentions shown below belonged to the old one.
function newView() {
  clearExplore();
  saveView(true);
  run(loadBoard);
}

$("brand").addEventListener("change", newView);
$("period").addEventListener("change", () => {
  showRange();
  newView();
});
$("from").addEventListener("change", newView);
$("to").addEventListener("change", newView);
$("auto-refresh").addEventListener("change", () => {
  autoRefresh();
  saveView(true);
});
// Another language (the switcher): the page's own texts change at once (i18n.js); the
// board and the mentions below are drawn again in it (numbers, dates, charts) from the
// answers already held, so the view keeps its window and its drill-down; the message
// shown above them (a refused key, a failed sign-in) too.
I18n.onChange(() => {
  writeError();
  showDays();
  showNote(shownNote); // the mentions below: what they are, in the new language
  if (!view || !board || $("board").hidden) return;
  drawBoard(board);
  showWindow(explored || view);
  if (searched && explorePage) drawExplore(explorePage);
});
// Back and forward: the view of that history entry.
window.addEventListener("popstate", () => {
  I18n.follow(); // the language the entry's address had (?lang=), or the remembered one
  run(restore);
});
$("refresh").addEventListener("click", () => run(loadBoard));
bindSetup(); // setup.js: save a search, schedule a report
$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!view) return;
  showNote(note("explore.matching"));
  run(search);
});
$("whole-period").addEventListener("click", () => {
  explored = null;
  run(search);
});
document.querySelectorAll("#search-form [data-format]").forEach((button) =>
  button.addEventListener("click", () => view && run(() => exportMentions(button.dataset.format))),
);
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_ITEM);
  fetch(`${API}/session`, { method: "DELETE" }); // ends a person's session, if any
  clearInterval(refreshTimer);
  showLogin("");
});

run(start);
