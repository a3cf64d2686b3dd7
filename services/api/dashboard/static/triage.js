// The triage inbox: negative mentions of the brand still to handle (default: new ones),
// with the actions of a community manager: set the state, assign to me, tag, note, mark
// every copy of a story answered, and correct the analyzer (the sentiment toward the
// brand, or "not about it": POST /mentions/{id}/sentiment and /brands) when the caller
// may. Loaded before dashboard.js, whose helpers ($, api, element, quoted, mentionItem,
// view, run...) it calls at run time; text from the API is written with textContent only.
"use strict";

const TRIAGE_STATES = ["new", "in_progress", "answered", "escalated", "ignored"];
const stateLabel = (state) => t(`state.${state}`); // i18n.js, as the query language names it
let inboxLoads = 0;
let inboxBound = false;
let mayCorrect = false; // whether the caller holds corrections:write (GET /me, each load)
let mayTriage = false; // and triage:write: a viewer sees the inbox without its actions

// A change sent to the API (PATCH/POST with JSON), with the key; a refusal (a 403 too:
// this person may read but not do that) is an ApiError, shown above the list.
async function send(method, path, body) {
  const response = await reach(`${API}${path}`, {
    method,
    headers: { "X-API-Key": apiKey(), "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok) throw await refusal(path, response);
  return response.json();
}

function inboxQuery() {
  return $("triage-q").value.trim() || `state:new AND negative:${quoted(view.brand)}`;
}

function bindInbox() {
  if (inboxBound) return;
  inboxBound = true;
  // Unticked (the default), one row per story: an action on it changes the copies the
  // row counts (those matching the inbox query). Ticked, one row and one change per copy.
  const label = $("triage-form").appendChild(element("label", undefined, "one-per-copy"));
  const box = label.appendChild(element("input"));
  box.type = "checkbox";
  box.id = "triage-one-per-copy";
  label.appendChild(document.createTextNode(" "));
  const words = label.appendChild(element("span", t("triage.onePerCopy")));
  words.dataset.i18n = "triage.onePerCopy"; // redrawn by i18n.js on a language switch
  box.addEventListener("change", () => run(loadInbox));
  $("triage-form").addEventListener("submit", (event) => {
    event.preventDefault();
    triageNotice = null;
    run(loadInbox);
  });
}

async function loadInbox() {
  bindInbox();
  const generation = ++inboxLoads;
  const q = inboxQuery();
  if (!$("triage-q").value.trim()) $("triage-q").placeholder = q;
  const box = $("triage-error");
  box.hidden = true;
  let page, counts;
  try {
    let me;
    [page, counts, me] = await Promise.all([
      api("/triage/inbox", { q, limit: 20, group: grouped() ? "story" : "none" }),
      api("/stats/triage", { q: `negative:${quoted(view.brand)}` }),
      api("/me").catch(() => ({ permissions: [] })), // only the action controls need it
    ]);
    mayCorrect = me.permissions.includes("corrections:write");
    mayTriage = me.permissions.includes("triage:write");
  } catch (error) {
    if (!(error instanceof ApiError) || error.problem.status !== 400) throw error;
    box.textContent = error.problem.detail || error.message;
    box.hidden = false;
    $("triage-mentions").replaceChildren();
    return;
  } finally {
    if (generation === inboxLoads) document.body.dataset.inbox = String(generation);
  }
  if (generation !== inboxLoads) return;
  $("triage-counts").textContent = t("triage.counts", {
    total: page.total,
    brand: view.brand,
    states: TRIAGE_STATES.map((s) => t(`stateCount.${s}`, { count: counts.states[s] })).join(", "),
  });
  writeNotice();
  const list = $("triage-mentions");
  // A row where a tag or a note is being typed is left as it is (setup.js: redraw).
  redraw(list, page.mentions.map(inboxItem), typing, "id");
  if (!page.mentions.length) list.appendChild(element("li", t("triage.empty"), "empty"));
}

// A tag or a note typed in the row and not yet added, or the cursor in one of them.
const typing = (row) =>
  [...row.querySelectorAll("input")].some((input) => input.value.trim() || input === document.activeElement);

const grouped = () => !$("triage-one-per-copy").checked;

// One row of the inbox: a mention (grouped: its story's first copy), its triage, and its
// actions (grouped: on the copies of the story the row counts, which each action says).
function inboxItem(mention) {
  const item = mentionItem(mention, view.brand);
  const triage = mention.triage;
  const status = item.appendChild(element("div", undefined, "triage"));
  // A row being typed in is kept on a redraw (a language switch too): its words are keys of
  // the table, which i18n.js writes again in place (I18n.label).
  status.appendChild(I18n.label(element("span", undefined, "state"), `state.${triage.state}`));
  if (triage.assignee) status.appendChild(element("span", `· ${triage.assignee}`));
  for (const tag of triage.tags) {
    const chip = status.appendChild(element("span", tag, "tag"));
    // Removing a tag is the undo of adding one: its own ×, for whoever may triage.
    if (mayTriage) {
      const remove = actionButton(chip, "×", "remove-tag", () => changeTriage(mention.id, { remove_tags: [tag] }));
      I18n.label(remove, "triage.removeTag", { tag }, "aria-label");
      I18n.label(remove, "triage.removeTag", { tag }, "title");
    }
  }
  if (mention.notes) status.appendChild(I18n.label(element("span", undefined, "meta"), "triage.notes", { count: mention.notes }));
  // The inbox groups the copies of a story (reposts, retweets) in one row.
  if (mention.copies > 1) {
    status.appendChild(I18n.label(element("span", undefined, "copies"), "triage.copies", { count: mention.copies }));
  }
  const answered = mention.story_answered;
  if (answered) {
    const when = answered.answered_at ? I18n.dateTime(answered.answered_at) : "";
    const who = answered.answered_by || t("triage.someone");
    item.appendChild(element("div", t("triage.answeredStory", { when, who }), "answered-story"));
  }
  if (!mayTriage) return item; // a viewer (corrections need more than triage)

  const actions = item.appendChild(element("div", undefined, "triage"));
  // A grouped row's action changes its `copies` (at the time of this load): say so.
  const reach = mention.copies > 1 ? t("triage.changesCopies", { count: mention.copies }) : "";
  // What an action reaches, as a button's title that follows the language.
  const reaching = (button) => (reach ? I18n.label(button, "triage.changesCopies", { count: mention.copies }, "title") : button);
  const select = actions.appendChild(element("select"));
  select.className = "set-state";
  select.setAttribute("aria-label", reach ? `${t("triage.state")} (${reach})` : t("triage.state"));
  if (reach) select.title = reach;
  for (const state of TRIAGE_STATES) I18n.label(select.appendChild(element("option")), `state.${state}`).value = state;
  select.value = triage.state;
  select.addEventListener("change", () => changeTriage(mention.id, { state: select.value }));
  reaching(I18n.label(actionButton(actions, "", "assign-me", () => changeTriage(mention.id, { assignee: "me" })),
    "triage.assignMe"));
  const tag = actions.appendChild(element("input"));
  tag.className = "tag-input";
  I18n.label(tag, "triage.tag", {}, "placeholder");
  tag.maxLength = 50;
  reaching(I18n.label(actionButton(actions, "", "add-tag", () =>
    changeTriage(mention.id, { add_tags: [tag.value] }, () => { tag.value = ""; })), "triage.addTag"));
  const note = actions.appendChild(element("input"));
  note.className = "note-input";
  I18n.label(note, "triage.note", {}, "placeholder");
  note.maxLength = 4000;
  const addNote = actionButton(actions, "", "add-note", () =>
    act(async () => {
      await send("POST", `/triage/mentions/${encodeURIComponent(mention.id)}/notes`, { text: note.value });
      note.value = ""; // added: the row is drawn again (a typed note keeps it)
      return { key: "triage.noteAdded" }; // said, as every other action is
    }));
  I18n.label(addNote, "triage.addNote");
  if (mention.story_id) {
    const answer = I18n.label(actionButton(actions, "", "story-answered", () => answerStory(mention)), "triage.storyAnswered");
    if (grouped()) reaching(answer);
    else answer.title = t("triage.storyAnsweredScope", { state: stateLabel(triage.state) });
  }
  item.appendChild(corrections(mention));
  return item;
}

// The analyzer got it wrong: the sentiment toward the brand, or the brand itself. The
// verdict applies to the mention and its copies, and the analyzer learns from it.
function corrections(mention) {
  const brand = view.brand;
  const row = element("div", undefined, "triage corrections");
  const named = [...mention.brands, ...mention.competitors].includes(brand);
  if (!named || !mayCorrect) return row;
  const select = row.appendChild(element("select"));
  select.className = "correct-sentiment";
  I18n.label(select, "triage.sentimentToward", { brand }, "aria-label");
  I18n.label(select.appendChild(element("option")), "triage.sentimentIs", { brand }).value = "";
  for (const label of ["negative", "neutral", "positive"]) {
    I18n.label(select.appendChild(element("option")), `sentiment.${label}`).value = label;
  }
  select.addEventListener("change", () => {
    if (!select.value) return;
    const label = select.value;
    act(async () => corrected(await send("POST", `/mentions/${encodeURIComponent(mention.id)}/sentiment`,
      { label, brand }), "triage.sentimentCorrected", { brand, label: t(`sentiment.${label}`) }));
  });
  I18n.label(actionButton(row, "", "not-about", () =>
    act(async () => corrected(await send("POST", `/mentions/${encodeURIComponent(mention.id)}/brands`,
      { brand, about_brand: false }), "triage.notAboutDone", { brand }))), "triage.notAbout", { brand });
  return row;
}

function actionButton(parent, text, className, onClick) {
  const node = parent.appendChild(element("button", text, className));
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

// Grouped, the change goes to the copies of the story the row counted: those matching
// the inbox's query, never one already handled otherwise (answered by someone else).
// The page says how many mentions changed (the API's `changed`): a state set, or else.
function changeTriage(id, body, sent = () => {}) {
  const change = grouped() ? { ...body, whole_story: true, q: inboxQuery() } : body;
  return act(async () => {
    const done = await send("PATCH", `/triage/mentions/${encodeURIComponent(id)}`, change);
    sent(); // e.g. the tag typed is added: its field empties, so the row is drawn again
    const count = done.changed === null || done.changed === undefined ? 1 : done.changed;
    if (!count) return { key: "triage.nothingChanged" };
    if (body.state) return { key: "triage.stateSet", params: { count, state: stateLabel(body.state) } };
    return { key: "triage.changed", params: { count } };
  });
}

// A correction: how many mentions (this one and its copies) carry it now, and what the
// server would have the analyst look at again (its words).
function corrected(result, key, params) {
  return { key, params: { ...params, count: result.updated.length }, extra: result.warnings.join(" ") };
}

// "Mark all of this story answered": the copies of the story this row stands for, never
// one a colleague already handled otherwise (ignored, escalated, answered by them).
// Grouped, those the inbox's query matches (the row's `copies`); one row per copy, those
// in this copy's state. The API says how many changed, and the page says it too.
function answerStory(mention) {
  const body = { state: "answered", whole_story: true };
  if (grouped()) body.q = inboxQuery();
  return act(async () => {
    const done = await send("PATCH", `/triage/mentions/${encodeURIComponent(mention.id)}`, body);
    const changed = done.changed || 0;
    return changed ? { key: "triage.storyAnsweredDone", params: { count: changed } } : { key: "triage.storyAnsweredNone" };
  });
}

// What the last action did ({key, params} of i18n.js), written at each draw of the inbox
// so that a language switch writes it again; a new query or action clears it.
let triageNotice = null;

function writeNotice() {
  const extra = triageNotice && triageNotice.extra ? ` ${triageNotice.extra}` : "";
  $("triage-status").textContent = triageNotice ? t(triageNotice.key, triageNotice.params) + extra : "";
  $("triage-status").hidden = !triageNotice;
}

// An action, then the inbox again; a refused one (an empty tag) says why above the list.
// An action may return a notice ({key, params}) to show above the list.
function act(step) {
  return run(async () => {
    triageNotice = null;
    writeNotice();
    try {
      triageNotice = (await step()) || null;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      $("triage-error").textContent = Refusals.sentence(error.problem) || error.message; // refusals.js
      $("triage-error").hidden = false;
      document.body.dataset.triageRefused = String(Date.now());
      return;
    }
    await loadInbox();
  });
}
