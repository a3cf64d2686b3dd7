// What a person sets up from the dashboard, and takes down again: saved searches (the
// query explored above, saved), alert rules on them, and scheduled reports. Each control
// shows only to whom may use it (GET /me: the permissions of the caller's role), each
// deletion asks first, and a refusal is said in the page's words or, for a reason only
// the server knows, as the API's sentence (never a raw document). Loaded before
// dashboard.js, whose helpers ($, api, element, quoted, view, run, drill...) it calls at
// run time; text from the API is written with textContent only.
"use strict";

let caller = { actor: null, permissions: [] }; // GET /me, at each load of the board
let setup = { saved: [], rules: [], reports: [] }; // the lists last drawn

const may = (permission) => caller.permissions.includes(permission);
// A saved search is changed by its owner alone (a shared one too): the API's rule.
const mayEditSearch = (search) =>
  (may("saved_searches:write_own") || may("saved_searches:write")) &&
  (search.owner === null || search.owner === undefined || search.owner === caller.actor);

// A change sent to the API, with the key; 204 answers nothing. A refusal (403 too: the
// role may read, not do that) is an ApiError: the panel says it, nobody is signed out.
async function call(method, path, body) {
  const init = { method, headers: { "X-API-Key": apiKey() } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${API}${path}`, init);
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok) throw await refusal(path, response);
  return response.status === 204 ? null : response.json();
}

// The API's reason as a sentence: its detail, or each refused field and why (a 422).
function reason(error) {
  const problem = error.problem || {};
  if (Array.isArray(problem.errors) && problem.errors.length) {
    // pydantic's "Value error, " says nothing to a person
    const said = (e) => String(e.message || "").replace(/^Value error, /, "");
    return problem.errors.map((e) => (e.field ? `${e.field}: ${said(e)}` : said(e))).join("; ");
  }
  return problem.detail || problem.title || error.message;
}

// A panel's own message line: what was done (status) or refused (alert); kept as a key of
// i18n.js and its parameters so a language switch writes it again.
const panelNotes = {};
function notePanel(id, key, params = {}, refused = false) {
  panelNotes[id] = key ? { key, params, refused } : null;
  writePanelNote(id);
}
function writePanelNote(id) {
  const box = $(id);
  const shown = panelNotes[id];
  box.textContent = shown ? t(shown.key, shown.params) : "";
  box.className = shown && shown.refused ? "notice refused" : "notice";
  box.setAttribute("role", shown && shown.refused ? "alert" : "status");
  box.hidden = !shown;
}

// A step of a panel: an ApiError is said in the panel (with the API's reason), anything
// else goes to run() (signed out, or the page's error).
function inPanel(id, step) {
  return run(async () => {
    notePanel(id, null);
    try {
      await step();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      notePanel(id, "setup.refused", { reason: reason(error) }, true);
    } finally {
      document.body.dataset.setup = String(Number(document.body.dataset.setup || 0) + 1);
    }
  });
}

// "Delete …?" under the item, with its buttons ([text, className, onClick]) and Cancel.
function confirmIn(item, message, choices) {
  const old = item.querySelector(".confirm");
  if (old) old.remove();
  const box = item.appendChild(element("div", undefined, "confirm"));
  box.appendChild(element("span", message));
  for (const [text, className, onClick] of choices) actionButton(box, text, className, onClick);
  actionButton(box, t("setup.cancel"), "cancel", () => box.remove());
  box.querySelector("button").focus();
  return box;
}

// --- Loading and drawing the three lists.

// The caller and the three lists (with the board's own requests: drawn with it).
async function fetchSetup() {
  const [me, saved, rules, reports] = await Promise.all([
    api("/me").catch(() => ({ actor: null, permissions: [] })), // a key without a role
    api("/saved-searches"),
    api("/alert-rules"),
    api("/reports"),
  ]);
  caller = me;
  setup = { saved, rules, reports };
}

// After a change: the lists again, without reloading the board.
async function loadSetup() {
  await fetchSetup();
  drawSetup();
}

function drawSetup() {
  fillSaved(setup.saved);
  fillRules(setup.rules);
  fillReports(setup.reports);
  $("save-search").hidden = !(may("saved_searches:write_own") || may("saved_searches:write"));
  $("new-report").hidden = !may("reports:write");
  ["saved-note", "rules-note", "reports-note", "save-note"].forEach(writePanelNote);
  document.body.dataset.setupDrawn = String(Number(document.body.dataset.setupDrawn || 0) + 1);
}

// Saved searches: open one (its mentions below), make an alert rule on it, delete it.
function fillSaved(searches) {
  const list = $("saved-searches");
  list.replaceChildren(
    ...searches.map((search) => {
      const item = element("li");
      item.dataset.name = search.name;
      const open = item.appendChild(element("button", search.name, "link"));
      open.type = "button";
      open.dataset.q = search.query;
      open.addEventListener("click", () => drill(search.query, note("note.saved", { name: search.name })));
      if (search.visibility === "shared") item.appendChild(element("span", t("saved.shared"), "tag"));
      item.appendChild(element("div", search.description || search.query, "meta"));
      const actions = element("div", undefined, "actions");
      if (may("alert_rules:write")) {
        actionButton(actions, t("saved.alertRule"), "new-rule", () => ruleForm(item, search));
      }
      if (mayEditSearch(search)) {
        actionButton(actions, t("setup.delete"), "delete", () =>
          confirmIn(item, t("saved.confirmDelete", { name: search.name }), [
            [t("setup.delete"), "confirm-delete", () => inPanel("saved-note", () => deleteSearch(search, item))],
          ]));
      }
      if (actions.childElementCount) item.appendChild(actions);
      return item;
    }),
  );
  const maySave = may("saved_searches:write_own") || may("saved_searches:write");
  if (!searches.length) list.appendChild(element("li", t(maySave ? "saved.empty" : "saved.none"), "empty"));
}

// The API refuses (409) while alert rules or reports use the search: say which, and offer
// to delete it all the same (?force=true: its rules are disabled, its reports refuse to
// render until edited).
async function deleteSearch(search, item, force = false) {
  const path = `/saved-searches/${encodeURIComponent(search.name)}${force ? "?force=true" : ""}`;
  try {
    await call("DELETE", path);
  } catch (error) {
    if (!(error instanceof ApiError) || error.problem.status !== 409 || force) throw error;
    const rules = error.problem.alert_rules || [], reports = error.problem.reports || [];
    const users = [
      ...rules.map((name) => t("saved.usedByRule", { name })),
      ...reports.map((name) => t("saved.usedByReport", { name })),
    ];
    const consequences = [t("saved.inUse", { name: search.name, users: users.join(", ") })];
    if (rules.length) consequences.push(t("saved.inUseRules"));
    if (reports.length) consequences.push(t("saved.inUseReports"));
    confirmIn(item, consequences.join(" "), [
      [t("saved.forceDelete"), "force-delete", () => inPanel("saved-note", () => deleteSearch(search, item, true))],
    ]);
    return;
  }
  notePanel("saved-note", force ? "saved.forceDeleted" : "saved.deleted", { name: search.name });
  await loadSetup();
}

// "delivery: volume spike": a rule's name allows letters, digits, spaces and . : @ / - _
const ruleName = (search, kind) => `${search.name}: ${t(`alertKind.${kind}`).toLowerCase()}`.slice(0, 200);

// A channel's kind, in the page's words (the rules panel and the form's choices).
const channelKinds = () => ({ email: t("channel.email"), slack: t("channel.slack"), webhook: t("channel.webhook") });

// An alert rule on a saved search: its kind and sensitivity, and optionally one channel
// (email, Slack, webhook) naming the secret that holds its address or URL, never the
// value: the API checks the name against the workspace's secrets and says why it refuses.
function ruleForm(item, search) {
  const old = item.querySelector("form");
  if (old) return old.querySelector("input").focus();
  const form = item.appendChild(element("form", undefined, "inline-form rule-form"));
  const field = (key, control) => {
    const label = form.appendChild(element("label"));
    label.appendChild(element("span", t(key)));
    label.appendChild(document.createTextNode(" "));
    return label.appendChild(control);
  };
  const name = field("rule.name", element("input"));
  name.name = "name";
  name.required = true;
  name.maxLength = 200;
  name.value = ruleName(search, "new_mention");
  const kind = field("rule.kind", element("select"));
  kind.name = "kind";
  for (const code of ["new_mention", "volume_spike", "negative_share_spike", "drop"]) {
    kind.appendChild(element("option", t(`alertKind.${code}`))).value = code;
  }
  kind.addEventListener("change", () => {
    name.value = ruleName(search, kind.value);
  });
  const sensitivity = field("rule.sensitivity", element("select"));
  sensitivity.name = "sensitivity";
  for (const code of ["low", "medium", "high"]) {
    sensitivity.appendChild(element("option", t(`sensitivity.${code}`))).value = code;
  }
  sensitivity.value = "medium";
  // Each new mention needs no sensitivity: a spike, a share or a drop does.
  const showSensitivity = () => { sensitivity.parentNode.hidden = kind.value === "new_mention"; };
  kind.addEventListener("change", showSensitivity);
  showSensitivity();
  const channel = field("rule.channel", element("select"));
  channel.name = "channel";
  channel.appendChild(element("option", t("channel.none"))).value = "";
  for (const [code, text] of Object.entries(channelKinds())) channel.appendChild(element("option", text)).value = code;
  const secret = field("rule.secret", element("input"));
  secret.name = "channel-target";
  secret.maxLength = 128;
  secret.autocomplete = "off";
  const showSecret = () => {
    secret.parentNode.hidden = !channel.value;
    secret.required = !!channel.value;
    const examples = { email: "channelExample.email", slack: "channelExample.slack", webhook: "channelExample.webhook" };
    secret.placeholder = channel.value ? t(examples[channel.value]) : "";
  };
  channel.addEventListener("change", showSecret);
  showSecret();
  const create = form.appendChild(element("button", t("rule.create"), "create-rule"));
  create.type = "submit";
  actionButton(form, t("setup.cancel"), "cancel", () => form.remove());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    inPanel("saved-note", async () => {
      const rule = { name: name.value.trim(), target_type: "saved_search", target: search.name, kind: kind.value };
      if (kind.value !== "new_mention") rule.detector = { sensitivity: sensitivity.value };
      if (channel.value) rule.channels = [{ type: channel.value, target: secret.value.trim(), language: I18n.lang() }];
      // An address or URL pasted in: the API's answer would be a pattern; say what it wants.
      if (rule.channels && /[@/:]/.test(rule.channels[0].target)) {
        notePanel("saved-note", "rule.secretNotValue", {}, true);
        return;
      }
      const saved = await call("POST", "/alert-rules", rule);
      const warnings = (saved && saved.warnings) || [];
      if (warnings.length) {
        // Made, but its channel cannot deliver yet (a secret not set, email off): say so
        // loudly, or the person believes alerts are going out.
        notePanel("rules-note", "rule.createdNotSent", { name: rule.name, search: search.name, warnings: warnings.join(" ") }, true);
      } else {
        const sent = rule.channels ? "rule.createdSent" : "rule.created";
        notePanel("rules-note", sent, { name: rule.name, search: search.name });
      }
      await loadSetup();
    });
  });
  name.focus();
}

// Alert rules of the brand shown and of the saved searches: what each watches, whether it
// runs; delete one (a brand's default rule cannot be: its replacement can, which brings
// the default back).
function fillRules(rules) {
  const brand = view ? view.brand : "";
  const shown = rules.filter((r) => r.target_type === "saved_search" || r.target === brand);
  const list = $("alert-rules");
  list.replaceChildren(
    ...shown.map((rule) => {
      const item = element("li");
      item.dataset.name = rule.name;
      item.appendChild(element("div", rule.name));
      const known = (key, code) => (key in I18n.messages ? t(key) : code);
      const target = rule.target_type === "saved_search"
        ? t("rule.onSearch", { name: rule.target }) : t("rule.onBrand", { name: rule.target });
      const status = known(`ruleStatus.${rule.status}`, rule.status);
      const meta = [known(`alertKind.${rule.kind}`, rule.kind), target, status];
      if (rule.default) meta.push(t("rule.default"));
      item.appendChild(element("div", meta.join(" · "), "meta"));
      // Each channel's kind and the secret's name (the API never gives a value).
      const kinds = channelKinds();
      const sentTo = (rule.channels || []).map((c) => `${kinds[c.type] || c.type} ${c.target}`);
      const to = sentTo.length ? t("rule.sentTo", { channels: sentTo.join(", ") }) : t("rule.boardOnly");
      item.appendChild(element("div", to, "meta channels"));
      if (rule.error) item.appendChild(element("div", rule.error, "why")); // the server's words
      if (may("alert_rules:write") && !rule.default) {
        const actions = item.appendChild(element("div", undefined, "actions"));
        actionButton(actions, t("setup.delete"), "delete", () =>
          confirmIn(item, t("rule.confirmDelete", { name: rule.name }), [
            [t("setup.delete"), "confirm-delete", () => inPanel("rules-note", async () => {
              await call("DELETE", `/alert-rules/${encodeURIComponent(rule.name)}`);
              notePanel("rules-note", "rule.deleted", { name: rule.name });
              await loadSetup();
            })],
          ]));
      }
      return item;
    }),
  );
  if (!shown.length) list.appendChild(element("li", t("rule.none"), "empty"));
}

// Reports: each one's subject and schedule; delete those made here or by the API (the
// workspace's YAML ones are changed in the YAML).
function fillReports(reports) {
  const list = $("reports");
  list.replaceChildren(
    ...reports.map((report) => {
      const item = element("li");
      item.dataset.name = report.name;
      item.appendChild(element("div", report.title || report.name));
      const subject = report.saved_search ? t("rule.onSearch", { name: report.saved_search }) : report.brand || "";
      const when = report.schedule
        ? t(`reportEvery.${report.schedule.every}`, { at: report.schedule.at, zone: report.timezone })
        : t("report.onDemand");
      const to = report.recipients.length ? t("report.to", { recipients: report.recipients.join(", ") }) : "";
      const meta = [report.title ? report.name : "", subject, t(`reportPeriod.${report.period}`), I18n.language(report.language), when, to];
      item.appendChild(element("div", meta.filter(Boolean).join(" · "), "meta"));
      if (may("reports:write") && report.origin === "api") {
        const actions = item.appendChild(element("div", undefined, "actions"));
        actionButton(actions, t("setup.delete"), "delete", () =>
          confirmIn(item, t("report.confirmDelete", { name: report.name }), [
            [t("setup.delete"), "confirm-delete", () => inPanel("reports-note", async () => {
              await call("DELETE", `/reports/${encodeURIComponent(report.name)}`);
              notePanel("reports-note", "report.deleted", { name: report.name });
              await loadSetup();
            })],
          ]));
      } else if (report.origin === "config") {
        item.appendChild(element("div", t("report.fromConfig"), "meta"));
      }
      return item;
    }),
  );
  if (!reports.length) list.appendChild(element("li", t("report.none"), "empty"));
}

// "veloria-weekly", or "veloria-weekly-2" when taken (the workspace's YAML has one).
function freeReportName(brand) {
  const base = `${brand.toLowerCase().normalize("NFKD").replace(/[^a-z0-9_-]+/g, "-").replace(/^-+/, "")}-weekly`;
  const taken = new Set(setup.reports.map((r) => r.name));
  let name = base;
  for (let n = 2; taken.has(name); n += 1) name = `${base}-${n}`;
  return name;
}

// --- Forms: save the query explored above; schedule a report (bound by dashboard.js).

function bindSetup() {
  $("save-search").addEventListener("click", () => {
    $("save-form").hidden = false;
    $("save-name").focus();
  });
  $("save-cancel").addEventListener("click", () => {
    $("save-form").hidden = true;
  });
  $("save-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("q").value.trim();
    inPanel("save-note", async () => {
      if (!query) {
        notePanel("save-note", "saved.noQuery", {}, true);
        return;
      }
      const search = {
        name: $("save-name").value.trim(),
        query,
        description: $("save-description").value.trim(),
        visibility: $("save-shared").checked ? "shared" : "private",
      };
      clearQueryError();
      try {
        await call("POST", "/saved-searches", search);
      } catch (error) {
        // A query that does not parse: shown where it is wrong, as a search shows it.
        if (!(error instanceof ApiError) || !Number.isInteger(error.problem.position)) throw error;
        showQueryError(error);
        return;
      }
      $("save-form").reset();
      $("save-form").hidden = true;
      notePanel("save-note", "saved.saved", { name: search.name });
      await loadSetup();
    });
  });
  $("new-report").addEventListener("click", () => {
    $("report-form").hidden = false;
    $("report-language").value = I18n.lang();
    if (!$("report-name").value && view) $("report-name").value = freeReportName(view.brand);
    $("report-name").focus();
  });
  $("report-cancel").addEventListener("click", () => {
    $("report-form").hidden = true;
  });
  $("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    inPanel("reports-note", async () => {
      const recipients = $("report-recipients").value.split(/[,;\n]+/).map((r) => r.trim()).filter(Boolean);
      const report = {
        name: $("report-name").value.trim(),
        brand: view.brand,
        period: $("report-period").value,
        language: $("report-language").value,
        schedule: { every: $("report-every").value, at: $("report-at").value || "08:00" },
        recipients,
      };
      await call("POST", "/reports", report);
      $("report-form").reset();
      $("report-form").hidden = true;
      notePanel("reports-note", "report.created", { name: report.name });
      await loadSetup();
    });
  });
}
