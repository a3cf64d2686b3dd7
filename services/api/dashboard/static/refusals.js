// The API's refusals in the page's words. A problem document carries a stable `code`
// beside its English `detail`, and each refused field of a 422 its own `code`, limits
// (`params`) and place (`path`): the codes the page knows are worded here (i18n.js,
// `problem.*` and `fieldError.*`), any other falls back to the API's sentence. Loaded
// after i18n.js; setup.js shows a refused field next to its control (`Refusals.mark`).
"use strict";

const Refusals = (() => {
  const known = (key) => key in I18n.messages;

  // A limit as the page writes numbers ("0,5"); a pydantic `expected` list as it is.
  const worded = (params) =>
    Object.fromEntries(Object.entries(params || {}).map(([name, value]) => [name, typeof value === "number" ? I18n.number(value) : value]));

  // One refused field's reason: its code worded, else the API's message without the
  // field's name in front ("min_volume: Input should be …" -> "Input should be …").
  function field(error) {
    const key = `fieldError.${error.code}`;
    if (error.code && known(key)) return t(key, worded(error.params));
    const said = String(error.message || "").replace(/^Value error, /, "");
    const name = (error.path || []).at(-1);
    return name !== undefined && said.startsWith(`${name}: `) ? said.slice(String(name).length + 2) : said;
  }

  // Where a refused field is, as the page's controls name it: "detector.bucket",
  // "channels.0.target" (a problem's own `field`, "channels[0].target", read alike).
  const place = (error) =>
    error.path ? error.path.join(".") : String(error.field || "").replace(/\[(\d+)\]/g, ".$1");

  // The refused fields of a problem: its `errors`, or the one its `field` names.
  function fields(problem) {
    if (Array.isArray(problem.errors) && problem.errors.length) return problem.errors;
    if (problem.field) return [{ field: problem.field, code: problem.code, message: problem.detail }];
    return [];
  }

  // The whole refusal as a sentence: each refused field (its name, its reason), or the
  // problem's code worded, or the API's detail.
  function sentence(problem) {
    const refused = fields(problem || {});
    if (refused.length) {
      return refused.map((e) => {
        const where = place(e);
        const reason = known(`fieldError.${e.code}`) ? field(e) : problemText(e) || field(e);
        return where ? `${where}: ${reason}` : reason;
      }).join("; ");
    }
    return problemText(problem) || problem.detail || problem.title || "";
  }

  // A problem's code in the page's words, or null when the page does not know it.
  function problemText(problem) {
    const code = problem && (problem.code || (problem.status === 429 ? "rate_limited" : null));
    const key = `problem.${code}`;
    const params = { role: problem.role, workspace: problem.workspace, permission: problem.permission };
    return code && known(key) ? t(key, worded(params)) : null;
  }

  // Each refused field said next to its control in `form` (a control whose data-field
  // is the field's place, or the nearest enclosing one: "detector.bucket" then
  // "detector"); returns those no control takes, for the panel to say. Worded again on
  // a language switch.
  const shown = new WeakMap(); // a message's node -> the error it says
  function mark(form, problem) {
    clear(form);
    const left = [];
    for (const error of fields(problem)) {
      let where = place(error);
      let control = null;
      while (where && !control) {
        control = form.querySelector(`[data-field="${CSS.escape(where)}"]`);
        where = where.includes(".") ? where.slice(0, where.lastIndexOf(".")) : "";
      }
      if (!control || control.closest("[hidden]")) {
        left.push(error);
        continue;
      }
      const folded = control.closest("details");
      if (folded) folded.open = true; // an advanced setting: unfolded, so it is seen
      control.setAttribute("aria-invalid", "true");
      const said = element("span", field(error), "field-error");
      said.id = `refused-${Math.random().toString(36).slice(2)}`;
      said.setAttribute("role", "alert");
      control.setAttribute("aria-describedby", said.id);
      shown.set(said, error);
      (control.closest("label, .channel-row") || control).after(said);
    }
    return left;
  }

  function clear(form) {
    form.querySelectorAll(".field-error").forEach((node) => node.remove());
    form.querySelectorAll("[aria-invalid]").forEach((node) => {
      node.removeAttribute("aria-invalid");
      node.removeAttribute("aria-describedby");
    });
  }

  I18n.onChange(() => {
    document.querySelectorAll(".field-error").forEach((node) => {
      if (shown.has(node)) node.textContent = field(shown.get(node));
    });
  });

  return { sentence, field, mark, clear, fields };
})();
