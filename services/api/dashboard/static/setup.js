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
  // a parameter given as a function is worded again in the new language (a rule's warnings)
  const params = (given) =>
    Object.fromEntries(Object.entries(given).map(([name, value]) => [name, typeof value === "function" ? value() : value]));
  box.textContent = shown ? t(shown.key, params(shown.params)) : "";
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

// An edit or create form in an item: labelled fields, then its buttons.
function inlineForm(item, className) {
  const form = item.appendChild(element("form", undefined, `inline-form ${className}`));
  const field = (key, control, name) => {
    const label = form.appendChild(element("label"));
    label.appendChild(I18n.label(element("span"), key));
    label.appendChild(document.createTextNode(" "));
    if (name) control.name = name;
    return label.appendChild(control);
  };
  return { form, field };
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
    const chosen = [...rows.querySelectorAll(".channel-row")]
      .map((row) => [row.querySelector("select").value, row.querySelector("input").value.trim()])
      .filter(([type]) => type)
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
  const sensitivity = choices(field("rule.sensitivity", element("select"), "sensitivity"),
    ["low", "medium", "high"], (code) => `sensitivity.${code}`);
  const stored = rule && rule.detector ? rule.detector.sensitivity : undefined;
  if (stored !== undefined && !["low", "medium", "high"].includes(stored)) {
    I18n.label(sensitivity.appendChild(element("option")), "sensitivity.custom", { value: stored }).value = String(stored);
  }
  sensitivity.value = stored !== undefined ? String(stored) : "medium";
  // Each new mention needs no sensitivity: a spike, a share or a drop does.
  const showSensitivity = () => { sensitivity.parentNode.hidden = kind.value === "new_mention"; };
  kind.addEventListener("change", showSensitivity);
  showSensitivity();
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
      if (kind.value === "new_mention") body.detector = {};
      else if (rule && rule.kind === kind.value) body.detector = { ...rule.detector, sensitivity: sensitivityValue(sensitivity.value) };
      else body.detector = { sensitivity: sensitivityValue(sensitivity.value), bucket: "auto" };
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
    });
  });
  (fixed ? kind : name).focus();
}

// "medium", or a threshold stored as a number, kept as a number.
const sensitivityValue = (value) => (["low", "medium", "high"].includes(value) ? value : Number(value));

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
  const periods = ["last_week", "last_month", "last_quarter", ...(report.period === "custom" ? ["custom"] : [])];
  const period = choices(field("report.periodLabel", element("select"), "period"), periods, (code) => `reportPeriod.${code}`);
  period.value = report.period;
  const language = languageChoices(field("report.languageLabel", element("select"), "language"), ["fr", "en"]);
  language.value = report.language;
  const every = choices(field("report.everyLabel", element("select"), "every"), ["week", "month", ""],
    (code) => ({ week: "report.weekly", month: "report.monthly" })[code] || "report.onDemand");
  every.value = report.schedule ? report.schedule.every : "";
  const at = timeChoices(field("report.at", element("select"), "at"), report.schedule ? report.schedule.at : "08:00");
  const showAt = () => { at.parentNode.hidden = !every.value; };
  every.addEventListener("change", showAt);
  showAt();
  const recipients = field("report.recipients", element("input"), "recipients");
  recipients.autocomplete = "off";
  recipients.value = report.recipients.join(", ");
  recipients.parentNode.className = "wide-field";
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
      };
      await call("PATCH", `/reports/${encodeURIComponent(report.name)}`, body);
      form.remove();
      notePanel("reports-note", body.name === report.name ? "report.changed" : "report.renamed",
        { name: body.name, old: report.name });
      await loadSetup();
    });
  });
  name.focus();
}

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
