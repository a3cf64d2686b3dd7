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
  const response = await reach(`${API}${path}`, init);
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok) throw await refusal(path, response);
  return response.status === 204 ? null : response.json();
}

// The API's reason, in the page's words where its code is known (refusals.js), and
// worded again on a language switch: each refused field of `form` is said next to it, the
// others in the panel.
function reason(error, form) {
  const problem = error.problem || {};
  const refused = Refusals.fields(problem);
  const left = form ? Refusals.mark(form, problem) : refused;
  if (refused.length && !left.length) return () => t("setup.seeFields");
  const rest = left.length < refused.length ? { ...problem, errors: left, field: undefined } : problem;
  return () => Refusals.sentence(rest) || error.message;
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
  // a parameter given as a function is worded again in the new language (a rule's warnings)
  const params = (given) =>
    Object.fromEntries(Object.entries(given).map(([name, value]) => [name, typeof value === "function" ? value() : value]));
  box.textContent = shown ? t(shown.key, params(shown.params)) : "";
  box.className = shown && shown.refused ? "notice refused" : "notice";
  box.setAttribute("role", shown && shown.refused ? "alert" : "status");
  box.hidden = !shown;
}

// A step of a panel: an ApiError is said in the panel (with the API's reason; a refused
// field of `form` next to it), anything else goes to run() (signed out, or the page's
// error).
function inPanel(id, step, form) {
  return run(async () => {
    notePanel(id, null);
    if (form) Refusals.clear(form);
    try {
      await step();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      notePanel(id, "setup.refused", { reason: reason(error, form) }, true);
    } finally {
      document.body.dataset.setup = String(Number(document.body.dataset.setup || 0) + 1);
    }
  });
}

// A button whose words are a key of the table: relabelled on a language switch, in an
// open form or question too (i18n.js, I18n.label).
const keyButton = (parent, key, className, onClick, params = {}) =>
  I18n.label(actionButton(parent, "", className, onClick), key, params);

// A question made of several messages, written again on a language switch.
const questions = new WeakMap(); // its node -> the function that writes it

// "Delete …?" under the item: its question (a key and its parameters, or a function that
// writes it), its buttons ([key, className, onClick]) and Cancel.
function confirmIn(item, [key, params], choices) {
  const old = item.querySelector(".confirm");
  if (old) old.remove();
  const box = item.appendChild(element("div", undefined, "confirm"));
  const question = box.appendChild(element("span"));
  if (typeof key === "function") {
    questions.set(question, key);
    question.textContent = key();
  } else I18n.label(question, key, params);
  for (const [text, className, onClick] of choices) keyButton(box, text, className, onClick);
  keyButton(box, "setup.cancel", "cancel", () => box.remove());
  box.querySelector("button").focus();
  return box;
}

// A list drawn again (a change, the auto-refresh, another language) without wiping what
// a person is busy with: an item for which `busy` holds (a form open in it, a question
// asked) is kept, typed values and focus included; the others are replaced. A kept node is
// never moved (moving it would take its focus away): the others are inserted around it.
// A kept item's own lines (its name, what it watches) are those of the new drawing, so they
// follow the data and the language; its form or question stays (i18n.js relabels it).
const formOpen = (item) => !!item.querySelector("form, .confirm");
const isOpen = (node) => node.matches("form, .confirm");
function refreshKept(kept, fresh) {
  for (const child of [...kept.children]) if (!isOpen(child)) child.remove();
  const open = kept.firstChild; // the form or question, which keeps its place at the end
  for (const child of [...fresh.children]) kept.insertBefore(child, open);
}
function redraw(list, items, busy = formOpen, key = "name") {
  const kept = new Map();
  for (const child of list.children) {
    if (child.dataset[key] !== undefined && busy(child)) kept.set(child.dataset[key], child);
  }
  if (busy === formOpen) {
    for (const item of items) if (kept.has(item.dataset[key])) refreshKept(kept.get(item.dataset[key]), item);
  }
  const wanted = items.map((item) => kept.get(item.dataset[key]) || item);
  for (const child of [...list.children]) if (!wanted.includes(child)) child.remove();
  let cursor = list.firstChild;
  for (const node of wanted) {
    if (node === cursor) cursor = cursor.nextSibling;
    else list.insertBefore(node, cursor);
  }
}

// An edit or create form in an item: labelled fields, then its buttons. A field's
// `place` is where the API puts it (`schedule.at`; its name by default): a refusal of it
// is said next to it (refusals.js).
function inlineForm(item, className) {
  const form = item.appendChild(element("form", undefined, `inline-form ${className}`));
  const field = (key, control, name, place = name, parent = form) => {
    const label = parent.appendChild(element("label"));
    label.appendChild(I18n.label(element("span"), key));
    label.appendChild(document.createTextNode(" "));
    if (name) control.name = name;
    if (place) control.dataset.field = place;
    return label.appendChild(control);
  };
  return { form, field };
}

// A number typed as the page's language writes it ("1,5" or "1.5"); NaN when it is none.
const typedNumber = (text) => (/^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)\s*$/.test(text) ? Number(text.trim().replace(",", ".")) : NaN);
const shownNumber = (value) => I18n.number(value, { useGrouping: false, maximumFractionDigits: 6 });

// A duration as rules write it ("14d", "90s", or seconds) -> [amount, unit]; null if none.
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
function splitDuration(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") {
    const unit = ["w", "d", "h", "m"].find((u) => value && value % UNIT_SECONDS[u] === 0) || "s";
    return [value / UNIT_SECONDS[unit], unit];
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$/.exec(String(value));
  return match ? [Number(match[1]), match[2] === "min" ? "m" : match[2]] : null;
}

// A select of codes, each shown in the page's words (`keyOf(code)`: its key), which a
// language switch writes again.
function choices(select, codes, keyOf) {
  for (const code of codes) I18n.label(select.appendChild(element("option")), keyOf(code)).value = code;
  return select;
}

// A select of languages, each named in the page's language.
function languageChoices(select, codes) {
  for (const code of codes) {
    const option = select.appendChild(element("option", I18n.language(code)));
    option.value = code;
    option.dataset.i18nLanguage = code;
  }
  return select;
}

// A time of day, as the page's language writes it (a native time field shows the
// browser's locale: "08:00 AM" on a French page). Every half hour, and `value` when it is
// another minute (one set through the API).
function timeChoices(select, value) {
  const times = [];
  for (let minutes = 0; minutes < 24 * 60; minutes += 30) {
    times.push(`${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`);
  }
  if (value && !times.includes(value)) times.push(value);
  select.replaceChildren();
  for (const at of times.sort()) {
    const option = select.appendChild(element("option", I18n.time(at)));
    option.value = at;
    option.dataset.i18nTime = at;
    option.defaultSelected = at === (value || "08:00"); // what a form's reset() comes back to
  }
  select.value = value || "08:00";
  return select;
}

// The form's buttons: submit (its words, its class) and Cancel, which closes it.
function formButtons(form, key, className) {
  const submit = I18n.label(form.appendChild(element("button", undefined, className)), key);
  submit.type = "submit";
  keyButton(form, "setup.cancel", "cancel", () => form.remove());
  return submit;
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

// A person with roles in several workspaces picks one: a session opens one workspace, so
// the server opens a new session there (PUT /session/workspace) and the board reloads.
// Shown at each start, brands or not (a workspace without any is still one to leave).
async function showWorkspaces() {
  const me = await api("/me").catch(() => null); // a key without a role: no picker
  const names = (me && me.workspaces) || [];
  const select = $("workspace");
  select.replaceChildren(...names.map((name) => new Option(name, name)));
  select.value = (me && me.workspace) || "";
  $("workspace-pick").hidden = names.length < 2;
}

async function switchWorkspace() {
  const response = await fetch(`${API}/session/workspace`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ workspace: $("workspace").value }),
  });
  if (!response.ok) throw await refusal("/session/workspace", response);
  location.reload();
}

// Saved searches: open one (its mentions below), make an alert rule on it, delete it.
function fillSaved(searches) {
  const list = $("saved-searches");
  redraw(
    list,
    searches.map((search) => {
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
        actionButton(actions, t("saved.alertRule"), "new-rule", () => ruleForm(item, { search }));
      }
      if (mayEditSearch(search)) {
        actionButton(actions, t("setup.edit"), "edit", () => searchForm(item, search));
        actionButton(actions, t("setup.delete"), "delete", () =>
          confirmIn(item, ["saved.confirmDelete", { name: search.name }], [
            ["setup.delete", "confirm-delete", () => inPanel("saved-note", () => deleteSearch(search, item))],
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
    const consequences = () => {
      const users = [
        ...rules.map((name) => t("saved.usedByRule", { name })),
        ...reports.map((name) => t("saved.usedByReport", { name })),
      ];
      const said = [t("saved.inUse", { name: search.name, users: users.join(", ") })];
      if (rules.length) said.push(t("saved.inUseRules"));
      if (reports.length) said.push(t("saved.inUseReports"));
      return said.join(" ");
    };
    confirmIn(item, [consequences], [
      ["saved.forceDelete", "force-delete", () => inPanel("saved-note", () => deleteSearch(search, item, true))],
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

// Why a saved rule's channels cannot send yet, in the page's words: the API's codes
// (`warning_codes`), or its English sentence for a reason the page does not know.
function channelWarnings(saved) {
  const codes = saved.warning_codes || [];
  return saved.warnings
    .map((text, i) => {
      const found = codes[i];
      const key = found && `channelWarning.${found.code}`;
      return key && key in I18n.messages ? t(key, { channel: found.channel, name: found.name }) : text;
    })
    .join(" ");
}

// Where a rule sends its alerts: any number of channels (email, Slack, webhook), each
// naming the secret that holds its address or URL, never the value: the API checks the
// name against the workspace's secrets and says why it refuses. One row per channel; the
// first reads "nothing" until chosen, "Add a channel" adds another.
function channelsField(form, channels) {
  const box = form.appendChild(element("fieldset", undefined, "channels-field"));
  box.appendChild(I18n.label(element("legend"), "rule.channel"));
  const rows = box.appendChild(element("div", undefined, "channel-rows"));
  const examples = { email: "channelExample.email", slack: "channelExample.slack", webhook: "channelExample.webhook" };
  const addRow = (channel) => {
    const row = rows.appendChild(element("div", undefined, "channel-row"));
    const kind = row.appendChild(element("select"));
    kind.name = "channel";
    I18n.label(kind, "rule.channelKind", {}, "aria-label");
    const keys = { "": "channel.none", email: "channel.email", slack: "channel.slack", webhook: "channel.webhook" };
    choices(kind, Object.keys(keys), (code) => keys[code]);
    const secret = row.appendChild(element("input"));
    secret.name = "channel-target";
    secret.maxLength = 128;
    secret.autocomplete = "off";
    I18n.label(secret, "rule.secret", {}, "aria-label");
    const show = () => {
      secret.hidden = !kind.value;
      secret.required = !!kind.value;
      if (kind.value) I18n.label(secret, examples[kind.value], {}, "placeholder");
      else {
        delete secret.dataset.i18nPlaceholder;
        secret.placeholder = "";
      }
    };
    kind.addEventListener("change", show);
    if (channel) {
      kind.value = channel.type;
      secret.value = channel.target;
    }
    show();
    if (rows.childElementCount > 1) {
      I18n.label(actionButton(row, "×", "remove-channel", () => row.remove()), "rule.removeChannel", {}, "aria-label");
    }
    return kind;
  };
  for (const channel of channels.length ? channels : [null]) addRow(channel);
  keyButton(box, "rule.addChannel", "add-channel", () => addRow(null).focus());
  // The channels chosen, or null (said in the panel) when a secret's value was pasted in.
  return () => {
    const picked = [...rows.querySelectorAll(".channel-row")].filter((row) => row.querySelector("select").value);
    // each input is the channel the API counts it as: a refusal of channels[1] is said there
    picked.forEach((row, index) => { row.querySelector("input").dataset.field = `channels.${index}.target`; });
    const chosen = picked
      .map((row) => [row.querySelector("select").value, row.querySelector("input").value.trim()])
      .map(([type, target]) => ({ type, target, language: I18n.lang() }));
    // An address or URL pasted in: the API's answer would be a pattern; say what it wants.
    return chosen.some((c) => /[@/:]/.test(c.target)) ? null : chosen;
  };
}

// An alert rule: made on a saved search ("Alert me…"), or an existing one changed (its
// name, kind, sensitivity, channels, on or off). A brand's default rule keeps its name:
// changing it stores a replacement.
function ruleForm(item, { search, rule }) {
  const old = item.querySelector("form");
  if (old) return old.querySelector("input").focus();
  const { form, field } = inlineForm(item, rule ? "rule-form edit-form" : "rule-form");
  // A brand's default rule keeps its name, shown in the page's words ("Veloria : pic de
  // volume"), never typed: what is sent is the name the server gave.
  const fixed = !!(rule && rule.default);
  const name = field("rule.name", element("input"), "name");
  name.required = true;
  name.maxLength = 200;
  name.value = rule ? rule.name : ruleName(search, "new_mention");
  name.readOnly = fixed;
  if (fixed && rule.default_name) {
    name.dataset.ruleName = rule.name;
    name.dataset.ruleTarget = rule.default_name.target;
    name.dataset.ruleKind = rule.default_name.kind;
    name.value = I18n.ruleName(rule.name, rule.default_name);
  }
  name.size = 32; // "delivery: negative share spike" shows whole
  const kind = choices(field("rule.kind", element("select"), "kind"),
    ["new_mention", "volume_spike", "negative_share_spike", "drop"], (code) => `alertKind.${code}`);
  kind.value = rule ? rule.kind : "new_mention";
  if (!rule) kind.addEventListener("change", () => { name.value = ruleName(search, kind.value); });
  const sensitivity = choices(field("rule.sensitivity", element("select"), "sensitivity", "detector.sensitivity"),
    ["low", "medium", "high"], (code) => `sensitivity.${code}`);
  // Or a score threshold of its own (a number above 0), typed beside it.
  I18n.label(sensitivity.appendChild(element("option")), "rule.threshold").value = "threshold";
  const threshold = sensitivity.parentNode.appendChild(element("input", undefined, "threshold"));
  threshold.name = "threshold";
  threshold.inputMode = "decimal";
  threshold.size = 5;
  I18n.label(threshold, "rule.threshold", {}, "aria-label");
  const stored = rule && rule.detector ? rule.detector.sensitivity : undefined;
  const named = stored === undefined || ["low", "medium", "high"].includes(stored);
  sensitivity.value = named ? stored || "medium" : "threshold";
  threshold.value = named ? "" : shownNumber(stored);
  // Each new mention needs no sensitivity: a spike, a share or a drop does.
  const showSensitivity = () => {
    sensitivity.parentNode.hidden = kind.value === "new_mention";
    threshold.hidden = sensitivity.value !== "threshold";
  };
  kind.addEventListener("change", showSensitivity);
  sensitivity.addEventListener("change", showSensitivity);
  showSensitivity();
  const advanced = advancedFields(form, field, kind, rule);
  const channels = channelsField(form, rule ? rule.channels || [] : []);
  let enabled = null;
  if (rule) {
    const label = form.appendChild(element("label"));
    enabled = label.appendChild(element("input"));
    enabled.type = "checkbox";
    enabled.name = "enabled";
    enabled.checked = rule.enabled !== false;
    label.appendChild(document.createTextNode(" "));
    label.appendChild(I18n.label(element("span"), "rule.enabled"));
  }
  formButtons(form, rule ? "setup.saveChanges" : "rule.create", rule ? "save-edit" : "create-rule");
  const panel = rule ? "rules-note" : "saved-note";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    inPanel(panel, async () => {
      const sent = channels();
      if (sent === null) {
        notePanel(panel, "rule.secretNotValue", {}, true);
        return;
      }
      const body = { name: fixed ? rule.name : name.value.trim(), kind: kind.value, channels: sent };
      // What the form says of the detector, for the kind chosen: its advanced settings
      // left empty take their defaults; a number that is none is refused here, as the
      // API would, without asking it.
      const typed = sensitivity.value === "threshold" ? typedNumber(threshold.value) : sensitivity.value;
      const settings = advanced();
      const unreadable = [...settings.unreadable];
      if (Number.isNaN(typed) && kind.value !== "new_mention") unreadable.push({ path: ["detector", "sensitivity"], code: "float_parsing" });
      if (unreadable.length) throw new ApiError("", { status: 422, code: "invalid_request", errors: unreadable });
      body.detector = kind.value === "new_mention" ? {} : { sensitivity: typed, ...settings.detector };
      Object.assign(body, settings.rule);
      let saved;
      if (rule) {
        body.enabled = enabled.checked;
        saved = await call("PATCH", `/alert-rules/${encodeURIComponent(rule.name)}`, body);
      } else {
        Object.assign(body, { target_type: "saved_search", target: search.name });
        saved = await call("POST", "/alert-rules", body);
      }
      form.remove();
      const warnings = (saved && saved.warnings) || [];
      const shownName = fixed ? I18n.ruleName(rule.name, rule.default_name) : body.name;
      const params = { name: shownName, old: rule ? rule.name : "", search: search ? search.name : "", count: sent.length };
      if (warnings.length) {
        // Saved, but a channel cannot deliver yet (a secret not set, email off): say so
        // loudly, or the person believes alerts are going out.
        const key = rule ? "rule.changedNotSent" : "rule.createdNotSent";
        notePanel("rules-note", key, { ...params, warnings: () => channelWarnings(saved) }, true);
      } else if (rule) {
        notePanel("rules-note", body.name === rule.name ? "rule.changed" : "rule.renamed", params);
      } else {
        notePanel("rules-note", sent.length ? "rule.createdSent" : "rule.created", params);
      }
      await loadSetup();
    }, form);
  });
  (fixed ? kind : name).focus();
}

// A rule's advanced settings, by their place in the API's rule: what each is, the kinds
// it applies to, and its default (shown when left empty). Detector settings are stored
// only when given; the rule's own are always sent.
const DETECTORS = ["volume_spike", "negative_share_spike", "drop"];
const SEASONS = [["none", "ruleChoice.none"], ["daily", "ruleChoice.daily"], ["weekly", "ruleChoice.weekly"]];
const GAPS = [["zero", "ruleChoice.zero"], ["skip", "ruleChoice.skip"]];
const DIGESTS = [["off", "ruleChoice.off"], ["daily", "ruleChoice.digestDaily"], ["weekly", "ruleChoice.digestWeekly"]];
const ADVANCED = [
  ["detector.bucket", "duration", DETECTORS, "5m"],
  ["detector.baseline_window", "duration", DETECTORS, "14d"],
  ["detector.seasonality", SEASONS, DETECTORS, "daily"],
  ["detector.min_volume", "number", DETECTORS, 10],
  ["detector.min_ratio", "number", ["volume_spike", "drop"], 1.5],
  ["detector.min_share_delta", "number", ["negative_share_spike"], 0.1],
  ["detector.smoothing", "integer", DETECTORS, 1],
  ["detector.min_run", "integer", DETECTORS, 1],
  ["detector.end_after", "integer", DETECTORS, null], // 6 hours of buckets
  ["detector.warmup", "duration", DETECTORS, null], // 2 days, 2 weeks when weekly
  ["detector.level_window", "duration", DETECTORS, "3d"],
  ["detector.noise_floor", "number", DETECTORS, 0],
  ["detector.missing", GAPS, DETECTORS, "zero"],
  ["cooldown", "duration", DETECTORS, "1h"],
  ["repeat_interval", "duration", DETECTORS, null],
  ["grouping_window", "duration", ["new_mention"], "5m"],
  ["max_per_hour", "integer", ["new_mention"], 6],
  ["batch_size", "integer", ["new_mention"], 10],
  ["digest", DIGESTS, [...DETECTORS, "new_mention"], "off"],
];

// The advanced settings' fields, folded under "Advanced settings", those of the kind
// chosen shown; returns what reads them: {detector, rule, unreadable}.
function advancedFields(form, field, kind, rule) {
  const box = form.appendChild(element("details", undefined, "advanced"));
  I18n.label(box.appendChild(element("summary")), "rule.advanced");
  const fields = box.appendChild(element("div", undefined, "advanced-fields"));
  const readers = ADVANCED.map(([place, type, kinds, fallback]) => {
    const [group, name] = place.includes(".") ? place.split(".") : [null, place];
    const now = rule ? (group ? (rule.kind === kind.value ? rule.detector || {} : {})[name] : rule[name]) : undefined;
    // A new rule's bucket, left empty, is "auto" (sized by its target's volume, as the
    // brands' default rules are); so is one already "auto". An older rule left empty keeps
    // the detector's default.
    const autoBucket = () => !rule || rule.kind !== kind.value || now === "auto";
    let control;
    let unit = null;
    if (Array.isArray(type)) {
      control = field(`ruleField.${name}`, element("select"), name, place, fields);
      if (group) { // empty: the default, named (and named again on a language switch)
        const option = control.appendChild(element("option"));
        option.value = "";
        option.dataset.defaultOf = type.find(([v]) => v === fallback)[1];
        option.textContent = t("ruleChoice.default", { value: t(option.dataset.defaultOf) });
      }
      for (const [value, key] of type) I18n.label(control.appendChild(element("option")), key).value = value;
      control.value = now ?? (group ? "" : fallback);
    } else {
      control = field(`ruleField.${name}`, element("input"), name, place, fields);
      control.inputMode = type === "integer" ? "numeric" : "decimal";
      control.size = 6;
      const parts = type === "duration" ? splitDuration(now) : null;
      control.value = type === "duration" ? (parts ? shownNumber(parts[0]) : "") : now ?? "";
      if (type !== "duration" && control.value !== "") control.value = shownNumber(Number(now));
      if (type === "duration") {
        unit = control.parentNode.appendChild(element("select"));
        unit.name = `${name}-unit`;
        I18n.label(unit, `ruleField.${name}`, {}, "aria-label");
        const units = { s: "duration.s", m: "duration.m", h: "duration.h", d: "duration.d", w: "duration.w" };
        for (const [code, key] of Object.entries(units)) I18n.label(unit.appendChild(element("option")), key).value = code;
        unit.value = parts ? parts[1] : (splitDuration(fallback) || [0, "h"])[1];
      }
      const shown = type === "duration" ? splitDuration(fallback) : fallback;
      if (name === "bucket" && autoBucket()) I18n.label(control, "ruleChoice.auto", {}, "placeholder");
      else if (shown !== null) control.placeholder = shownNumber(type === "duration" ? shown[0] : shown);
      else if (name === "repeat_interval") I18n.label(control, "ruleChoice.never", {}, "placeholder");
    }
    const label = control.closest("label");
    const show = () => { label.hidden = !kinds.includes(kind.value); };
    kind.addEventListener("change", show);
    show();
    // Its value for the API: undefined when empty (the default), NaN when unreadable.
    const read = () => {
      const text = control.value.trim();
      if (!text) return name === "bucket" && autoBucket() ? "auto" : undefined;
      if (Array.isArray(type)) return text;
      const amount = typedNumber(text);
      if (Number.isNaN(amount)) return NaN;
      return type === "duration" ? `${amount}${unit.value}` : amount;
    };
    return { place, group, name, type, label, read };
  });
  return () => {
    const detector = {}, own = {}, unreadable = [];
    for (const { place, group, name, type, label, read } of readers) {
      if (label.hidden) continue;
      const value = read();
      if (Number.isNaN(value)) {
        unreadable.push({ path: place.split("."), code: type === "integer" ? "int_parsing" : "float_parsing" });
      } else if (value !== undefined) (group ? detector : own)[name] = value;
      else if (name === "repeat_interval") own[name] = null; // empty: never
    }
    return { detector, rule: own, unreadable };
  };
}

// A saved search changed: its name (its alert rules and reports follow it), query,
// description and sharing. A query that does not parse is refused with where it is wrong.
function searchForm(item, search) {
  const old = item.querySelector("form");
  if (old) return old.querySelector("input").focus();
  const { form, field } = inlineForm(item, "search-form edit-form");
  const name = field("saved.name", element("input"), "name");
  name.required = true;
  name.maxLength = 200;
  name.pattern = "[\\w][\\w .:@/\\-]*";
  name.value = search.name;
  const query = field("explore.query", element("input"), "query");
  query.required = true;
  query.maxLength = 4000;
  query.spellcheck = false;
  query.value = search.query;
  query.parentNode.className = "wide-field";
  const description = field("saved.description", element("input"), "description");
  description.maxLength = 2000;
  description.value = search.description || "";
  const label = form.appendChild(element("label"));
  const shared = label.appendChild(element("input"));
  shared.type = "checkbox";
  shared.name = "shared";
  shared.checked = search.visibility === "shared";
  label.appendChild(document.createTextNode(" "));
  label.appendChild(I18n.label(element("span"), "saved.shareIt"));
  formButtons(form, "setup.saveChanges", "save-edit");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    inPanel("saved-note", async () => {
      const body = {
        name: name.value.trim(),
        query: query.value.trim(),
        description: description.value.trim(),
        visibility: shared.checked ? "shared" : "private",
      };
      await call("PATCH", `/saved-searches/${encodeURIComponent(search.name)}`, body);
      form.remove();
      const renamed = body.name !== search.name;
      notePanel("saved-note", renamed ? "saved.renamed" : "saved.changed", { name: body.name, old: search.name });
      await loadSetup();
    }, form);
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
  redraw(
    list,
    shown.map((rule) => {
      const item = element("li");
      item.dataset.name = rule.name;
      const named = I18n.ruleName(rule.name, rule.default_name); // "Veloria : pic de volume"
      item.appendChild(element("div", named, "rule-name"));
      const known = (key, code) => (key in I18n.messages ? t(key) : code);
      const target = rule.target_type === "saved_search"
        ? t("rule.onSearch", { name: rule.target }) : t("rule.onBrand", { name: rule.target });
      const status = known(`ruleStatus.${rule.status}`, rule.status);
      const meta = [I18n.alertKind(rule.kind), target, status];
      if (rule.default) meta.push(t("rule.default"));
      item.appendChild(element("div", meta.join(" · "), "meta"));
      // Each channel's kind and the secret's name (the API never gives a value).
      const kinds = channelKinds();
      const sentTo = (rule.channels || []).map((c) => `${kinds[c.type] || c.type} ${c.target}`);
      const to = sentTo.length ? t("rule.sentTo", { channels: sentTo.join(", ") }) : t("rule.boardOnly");
      item.appendChild(element("div", to, "meta channels"));
      // Why it cannot run: in the page's words for a reason the API codes, else its own.
      const why = rule.error_reason === "saved_search_deleted" ? t("rule.searchDeleted", { name: rule.target }) : rule.error;
      if (why) item.appendChild(element("div", why, "why"));
      if (may("alert_rules:write")) {
        const actions = item.appendChild(element("div", undefined, "actions"));
        actionButton(actions, t("setup.edit"), "edit", () => ruleForm(item, { rule }));
      }
      if (may("alert_rules:write") && !rule.default) {
        const actions = item.querySelector(".actions");
        actionButton(actions, t("setup.delete"), "delete", () =>
          confirmIn(item, ["rule.confirmDelete", { name: named }], [
            ["setup.delete", "confirm-delete", () => inPanel("rules-note", async () => {
              await call("DELETE", `/alert-rules/${encodeURIComponent(rule.name)}`);
              notePanel("rules-note", "rule.deleted", { name: named });
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
  redraw(
    list,
    reports.map((report) => {
      const item = element("li");
      item.dataset.name = report.name;
      item.appendChild(element("div", report.title || report.name));
      const subject = report.saved_search ? t("rule.onSearch", { name: report.saved_search }) : report.brand || "";
      const when = report.schedule
        ? t(`reportEvery.${report.schedule.every}`, { at: I18n.time(report.schedule.at), zone: report.timezone })
        : t("report.onDemand");
      const to = report.recipients.length ? t("report.to", { recipients: report.recipients.join(", ") }) : "";
      const meta = [report.title ? report.name : "", subject, t(`reportPeriod.${report.period}`), I18n.language(report.language), when, to];
      item.appendChild(element("div", meta.filter(Boolean).join(" · "), "meta"));
      if (may("reports:write") && report.origin === "api") {
        const actions = item.appendChild(element("div", undefined, "actions"));
        actionButton(actions, t("setup.edit"), "edit", () => reportForm(item, report));
        actionButton(actions, t("setup.delete"), "delete", () =>
          confirmIn(item, ["report.confirmDelete", { name: report.name }], [
            ["setup.delete", "confirm-delete", () => inPanel("reports-note", async () => {
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

// A report changed: its name (its kept renders follow), what it covers, its language,
// when it is sent (or on demand only) and to whom.
function reportForm(item, report) {
  const old = item.querySelector("form");
  if (old) return old.querySelector("input").focus();
  const { form, field } = inlineForm(item, "report-edit edit-form");
  const name = field("report.name", element("input"), "name");
  name.required = true;
  name.maxLength = 80;
  name.pattern = "[a-z0-9][a-z0-9_\\-]*";
  name.value = report.name;
  const periods = ["last_week", "last_month", "last_quarter", "custom"];
  const period = choices(field("report.periodLabel", element("select"), "period"), periods, (code) => `reportPeriod.${code}`);
  period.value = report.period;
  // Chosen days: the first and the last included, each said in the page's words.
  const since = dayField(field("report.since", element("input"), "since"), report.since);
  const until = dayField(field("report.until", element("input"), "until"), report.until);
  const showDays = () => {
    const custom = period.value === "custom";
    since.parentNode.hidden = until.parentNode.hidden = !custom;
    if (custom && !since.value && !until.value) { // the last 30 days to start from
      until.value = iso(new Date()).slice(0, 10);
      since.value = iso(new Date(Date.now() - 29 * 86400e3)).slice(0, 10);
      writeDay(since);
      writeDay(until);
    }
  };
  period.addEventListener("change", showDays);
  showDays();
  const language = languageChoices(field("report.languageLabel", element("select"), "language"), ["fr", "en"]);
  language.value = report.language;
  const every = choices(field("report.everyLabel", element("select"), "every", "schedule.every"), ["week", "month", ""],
    (code) => ({ week: "report.weekly", month: "report.monthly" })[code] || "report.onDemand");
  every.value = report.schedule ? report.schedule.every : "";
  const at = timeChoices(field("report.at", element("select"), "at", "schedule.at"), report.schedule ? report.schedule.at : "08:00");
  const showAt = () => { at.parentNode.hidden = !every.value; };
  every.addEventListener("change", showAt);
  showAt();
  const recipients = field("report.recipients", element("input"), "recipients");
  recipients.autocomplete = "off";
  recipients.value = report.recipients.join(", ");
  recipients.parentNode.className = "wide-field";
  const sections = sectionsField(form, report.sections);
  formButtons(form, "setup.saveChanges", "save-edit");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    inPanel("reports-note", async () => {
      const body = {
        name: name.value.trim(),
        period: period.value,
        language: language.value,
        schedule: every.value ? { every: every.value, at: at.value || "08:00" } : null,
        recipients: splitRecipients(recipients.value),
        sections: sections(),
      };
      if (period.value === "custom") Object.assign(body, { since: since.value || null, until: until.value || null });
      await call("PATCH", `/reports/${encodeURIComponent(report.name)}`, body);
      form.remove();
      notePanel("reports-note", body.name === report.name ? "report.changed" : "report.renamed",
        { name: body.name, old: report.name });
      await loadSetup();
    }, form);
  });
  name.focus();
}

// A report's sections, each ticked or not, in the order they are laid out.
const SECTIONS = ["key_figures", "volume_sentiment", "share_of_voice", "topics", "top_stories", "authors_sources", "alerts", "samples"];
function sectionsField(form, chosen) {
  const box = form.appendChild(element("fieldset", undefined, "sections-field"));
  box.dataset.field = "sections";
  I18n.label(box.appendChild(element("legend")), "report.sections");
  for (const section of SECTIONS) {
    const label = box.appendChild(element("label"));
    const tick = label.appendChild(element("input"));
    tick.type = "checkbox";
    tick.name = "section";
    tick.value = section;
    tick.checked = chosen.includes(section);
    label.appendChild(document.createTextNode(" "));
    label.appendChild(I18n.label(element("span"), `reportSection.${section}`));
  }
  return () => [...box.querySelectorAll("input:checked")].map((tick) => tick.value);
}

// A day field: the browser's date field, out of sight (it writes days as the browser's
// locale does), behind a button that says the day in the page's words and opens it.
function dayField(input, value) {
  input.type = "date";
  input.className = "picked-day";
  input.tabIndex = -1;
  input.setAttribute("aria-hidden", "true");
  input.value = value || "";
  const shown = input.parentNode.insertBefore(element("button", undefined, "day-shown"), input);
  shown.type = "button";
  input.parentNode.classList.add("day-field");
  shown.addEventListener("click", () => {
    try {
      input.showPicker();
    } catch {
      input.focus(); // no picker here: the field itself takes the keys
    }
  });
  input.addEventListener("change", () => writeDay(input));
  writeDay(input);
  return input;
}
const writeDay = (input) => {
  input.previousElementSibling.textContent = input.value ? I18n.date(input.value) : "–";
};

const splitRecipients = (text) => text.split(/[,;\n]+/).map((r) => r.trim()).filter(Boolean);

// "veloria-weekly", or "veloria-weekly-2" when taken (the workspace's YAML has one).
function freeReportName(brand) {
  if (!brand) return "";
  const folded = brand.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, ""); // "Zéphyr" -> "zephyr"
  const base = `${folded.replace(/[^a-z0-9_-]+/g, "-").replace(/^-+/, "")}-weekly`;
  const taken = new Set(setup.reports.map((r) => r.name));
  let name = base;
  for (let n = 2; taken.has(name); n += 1) name = `${base}-${n}`;
  return name;
}

// --- Forms: save the query explored above; schedule a report (bound by dashboard.js).

function bindSetup() {
  $("workspace").addEventListener("change", () => run(switchWorkspace));
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
  timeChoices($("report-at"), "08:00");
  // The report is for a brand the form names: the brand shown when it opens, or another
  // chosen; the name proposed follows the brand until the person types one.
  let proposed = "";
  $("new-report").addEventListener("click", () => {
    const opening = $("report-form").hidden;
    $("report-form").hidden = false;
    const brand = $("report-brand");
    brand.replaceChildren(...brandNames.map((name) => element("option", name))); // dashboard.js
    if (opening && view) brand.value = view.brand;
    $("report-language").value = I18n.lang();
    if (!$("report-name").value || $("report-name").value === proposed) {
      $("report-name").value = proposed = freeReportName(brand.value);
    }
    $("report-name").focus();
  });
  $("report-brand").addEventListener("change", () => {
    if ($("report-name").value === proposed) $("report-name").value = proposed = freeReportName($("report-brand").value);
  });
  $("report-cancel").addEventListener("click", () => {
    $("report-form").hidden = true;
  });
  // A brand's default rule's name, shown read-only in its edit form, and a question of
  // several messages: in the new language.
  I18n.onChange(() => {
    document.querySelectorAll(".confirm > span").forEach((question) => {
      if (questions.has(question)) question.textContent = questions.get(question)();
    });
    document.querySelectorAll(".inline-form input.picked-day").forEach(writeDay);
    document.querySelectorAll("option[data-default-of]").forEach((option) => {
      option.textContent = t("ruleChoice.default", { value: t(option.dataset.defaultOf) });
    });
    document.querySelectorAll("input[data-rule-kind]").forEach((name) => {
      name.value = I18n.ruleName(name.dataset.ruleName, { target: name.dataset.ruleTarget, kind: name.dataset.ruleKind });
    });
  });
  $("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    inPanel("reports-note", async () => {
      const recipients = splitRecipients($("report-recipients").value);
      const report = {
        name: $("report-name").value.trim(),
        brand: $("report-brand").value,
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
