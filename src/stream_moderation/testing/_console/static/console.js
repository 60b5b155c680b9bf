"use strict";
// The emulator console. Everything shown is built with createElement/textContent: no data
// ever reaches innerHTML, so text from users (a <script> in a message) stays text.
(() => {
  const BASE = "/_emulator/ui";
  const CSRF = document.querySelector('meta[name="console-csrf"]').content;
  const view = document.getElementById("view");
  let meta = null;
  const JOURNAL_ROWS = 200;

  // -- helpers --------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function clear(node, ...children) { node.replaceChildren(...children.flat().filter(Boolean)); }
  function time(value) {
    if (value === undefined || value === null || value === "") return "";
    if (typeof value === "number") {
      const ms = value > 1e15 ? value / 1e6 : value > 1e12 ? value : value * 1000;
      return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
    }
    return String(value);
  }
  function pretty(value) { return JSON.stringify(value, null, 2); }
  function table(testid, headers, rows) {
    return el("table", { "data-testid": testid },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows));
  }
  function errorBox(message) { return el("p", { class: "error", role: "alert", "data-testid": "error" }, message); }
  function apiError(answer) {
    const body = answer.body || {};
    return `${answer.status}: ${body.message || body.error || JSON.stringify(body)}`;
  }

  async function request(method, path, body) {
    const options = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-Console-CSRF"] = CSRF;
      options.body = JSON.stringify(body);
    }
    const answer = await fetch(BASE + path, options);
    if (answer.status === 401) { window.location.replace(BASE); throw new Error("signed out"); }
    let data = {};
    try { data = await answer.json(); } catch (e) { /* empty */ }
    return { status: answer.status, body: data };
  }
  // One operation of the spec, run by the emulator's API (same path as any client):
  // { data } on success, { failed: "status: message", code } otherwise.
  async function call(operation, { path, query, body } = {}) {
    const answer = await request("POST", "/api/call", { operation, path, query, body });
    const result = answer.status === 200 ? answer.body : { status: answer.status, body: answer.body };
    if (result.status >= 200 && result.status < 300) return { data: result.body };
    return { failed: apiError(result), code: result.status };
  }
  const read = (name) => request("GET", "/api/" + name).then((a) => a.body);

  // -- review queue ---------------------------------------------------------------------
  const queueState = { filter: {}, limit: 10, cursor: null };

  function select(name, label, values, current) {
    return el("label", {}, label + " ",
      el("select", { name, "data-testid": "filter-" + name },
        el("option", { value: "" }, "any"),
        values.map((v) => el("option", { value: v, selected: current === v }, v))));
  }

  async function showQueue() {
    meta = await read("meta");
    const f = queueState.filter;
    const reviewed = f.reviewed === undefined ? "" : String(f.reviewed);
    const form = el("form", { class: "filters", "data-testid": "queue-filters" },
      select("status", "Status", meta.filters.status, f.status),
      select("entity_type", "Entity type", meta.filters.entity_type, f.entity_type),
      select("recommended_action", "Recommended action", meta.filters.recommended_action, f.recommended_action),
      select("reviewed", "Reviewed", ["true", "false"], reviewed),
      el("label", {}, "Per page ",
        el("select", { name: "limit", "data-testid": "filter-limit" },
          [5, 10, 25, 50, 100].map((n) => el("option", { value: n, selected: n === queueState.limit }, n)))),
      el("button", { type: "submit", "data-testid": "apply-filters" }, "Apply"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const filter = {};
      for (const name of ["status", "entity_type", "recommended_action"]) {
        if (data.get(name)) filter[name] = data.get(name);
      }
      if (data.get("reviewed")) filter.reviewed = data.get("reviewed") === "true";
      queueState.filter = filter;
      queueState.limit = Number(data.get("limit"));
      queueState.cursor = null;
      showQueue();
    });
    const body = { filter: queueState.filter, limit: queueState.limit };
    if (queueState.cursor) body[queueState.cursor[0]] = queueState.cursor[1];
    const answer = await call("query_review_queue", { body });
    if (answer.failed) { clear(view, form, errorBox(answer.failed)); return; }
    const rows = answer.data.items.map((item) => {
      const texts = ((item.moderation_payload || {}).texts || []).join(" · ");
      const labels = [...new Set(item.flags.flatMap((flag) => flag.labels || []))];
      const row = el("tr", { class: "link", "data-testid": "queue-row", "data-item-id": item.id,
                             onclick: () => { location.hash = "#/item/" + encodeURIComponent(item.id); } },
        el("td", {}, time(item.created_at)),
        el("td", {}, item.entity_type),
        el("td", {}, item.entity_id),
        el("td", {}, item.entity_creator_id || ""),
        el("td", {}, el("span", { class: "badge " + item.recommended_action }, item.recommended_action)),
        el("td", {}, item.status),
        el("td", {}, labels.join(", ")),
        el("td", { class: "text" }, texts),
        el("td", {}, item.config_key || ""),
        el("td", { "data-testid": "reviewed" }, item.reviewed_at ? "reviewed" : "no"));
      return row;
    });
    const stats = answer.data.stats || {};
    const pager = el("div", { class: "pager" },
      el("button", { type: "button", "data-testid": "prev-page", disabled: !answer.data.prev,
                     onclick: () => { queueState.cursor = ["prev", answer.data.prev]; showQueue(); } }, "‹ Previous"),
      el("span", { "data-testid": "queue-total" },
        `${stats.total ?? "?"} matching · ${stats.reviewed ?? "?"} reviewed · ${stats.unreviewed ?? "?"} to review`),
      el("button", { type: "button", "data-testid": "next-page", disabled: !answer.data.next,
                     onclick: () => { queueState.cursor = ["next", answer.data.next]; showQueue(); } }, "Next ›"));
    clear(view, el("h2", {}, "Review queue"), form,
      rows.length ? table("queue", ["Created", "Entity type", "Entity id", "Creator", "Recommended",
        "Status", "Labels", "Text", "Config", "Reviewed"], rows)
        : el("p", { class: "muted", "data-testid": "queue-empty" }, "No item matches."),
      pager);
  }

  // -- one item -------------------------------------------------------------------------
  function field(name, value, testid) {
    return [el("dt", {}, name), el("dd", { "data-testid": testid }, value === undefined || value === null ? "" : value)];
  }

  async function showItem(id, notice) {
    if (!meta) meta = await read("meta");
    const answer = await call("get_review_queue_item", { path: { id } });
    if (answer.failed) { clear(view, errorBox(answer.failed)); return; }
    const item = answer.data.item;
    const payload = item.moderation_payload || {};
    const flags = item.flags.map((flag) => el("tr", { "data-testid": "flag-row" },
      el("td", {}, flag.type), el("td", {}, (flag.labels || []).join(", ")),
      el("td", {}, flag.reason || ""), el("td", {}, flag.user_id || ""), el("td", {}, time(flag.created_at)),
      el("td", { class: "text" }, (flag.result || []).map((entry) => el("div", { class: "result" },
        Object.entries(entry).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" "))))));
    const actions = item.actions.map((log) => el("tr", { "data-testid": "action-row" },
      el("td", {}, time(log.created_at)), el("td", {}, log.type), el("td", {}, log.user_id || ""),
      el("td", {}, log.target_user_id || ""), el("td", {}, log.reason || "")));
    const form = el("form", { class: "action", "data-testid": "action-form" },
      el("label", {}, "Action ",
        el("select", { name: "action_type", "data-testid": "action-type" },
          meta.action_types.map((t) => el("option", { value: t }, t)))),
      el("label", {}, "As moderator ", el("input", { name: "user_id", value: "console-moderator", "data-testid": "moderator" })),
      el("label", { class: "wide" }, "Options (JSON, sent as the action's object, e.g. {\"reason\": \"spam\"}) ",
        el("textarea", { name: "options", rows: 2, "data-testid": "action-options" }, "{}")),
      el("button", { type: "submit", "data-testid": "submit-action" }, "Submit action"));
    const result = el("div", { "data-testid": "action-result" }, notice ? el("p", { class: "ok" }, notice) : null);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      let options;
      try { options = JSON.parse(data.get("options") || "{}"); } catch (e) {
        clear(result, errorBox("options: not valid JSON")); return;
      }
      const type = data.get("action_type");
      const body = { action_type: type, item_id: item.id };
      if (data.get("user_id")) body.user_id = data.get("user_id");
      if (options && Object.keys(options).length) body[type] = options;
      const done = await call("submit_action", { body });
      if (done.failed) { clear(result, errorBox(done.failed)); return; }
      showItem(id, `${type}: done`);
    });
    clear(view,
      el("p", {}, el("a", { href: "#/queue", "data-testid": "back-to-queue" }, "‹ Review queue")),
      el("h2", {}, "Item ", el("code", { "data-testid": "item-id" }, item.id)),
      el("dl", { class: "fields" },
        field("Entity", `${item.entity_type} ${item.entity_id}`, "item-entity"),
        field("Creator", item.entity_creator_id, "item-creator"),
        field("Status", item.status, "item-status"),
        field("Recommended action", item.recommended_action, "item-recommended"),
        field("Decided by (config)", item.config_key
          ? el("a", { href: "#/config/" + encodeURIComponent(item.config_key) }, item.config_key) : "(no config)", "item-config"),
        field("Severity", `${item.severity} ${item.ai_text_severity || ""}`),
        field("Reviewed", item.reviewed_at ? `${time(item.reviewed_at)} by ${item.reviewed_by || "?"}` : "no", "item-reviewed"),
        field("Latest moderator action", item.latest_moderator_action, "item-latest-action"),
        field("Escalated", item.escalated ? "yes" : "no"),
        field("Created", time(item.created_at))),
      el("h3", {}, "Content"),
      (payload.texts || []).map((text) => el("blockquote", { class: "message", "data-testid": "item-text" }, text)),
      (payload.images || []).map((url) => el("p", {}, "image: ", el("code", {}, url))),
      (payload.videos || []).map((url) => el("p", {}, "video: ", el("code", {}, url))),
      el("h3", {}, "Flags"),
      table("flags", ["Type", "Labels", "Reason", "By", "At", "Result"], flags),
      el("h3", {}, "Act on it"), form, result,
      el("h3", {}, "Actions taken"),
      actions.length ? table("actions", ["At", "Action", "Moderator", "Target user", "Reason"], actions)
        : el("p", { class: "muted" }, "None yet."));
  }

  // -- configs, blocklists, checks ------------------------------------------------------
  const NOT_EDITABLE = new Set(["key", "team", "created_at", "updated_at", "duration", "supported_video_call_harm_types"]);

  async function showConfigs() {
    const [answer, lists] = await Promise.all([call("query_moderation_configs", { body: { limit: 100 } }), read("blocklists")]);
    if (answer.failed) { clear(view, errorBox(answer.failed)); return; }
    const rows = answer.data.configs.map((config) => el("tr", { class: "link", "data-testid": "config-row", "data-key": config.key,
        onclick: () => { location.hash = "#/config/" + encodeURIComponent(config.key) + (config.team ? "/" + encodeURIComponent(config.team) : ""); } },
      el("td", {}, config.key), el("td", {}, config.team || ""),
      el("td", {}, Object.keys(config).filter((k) => k.endsWith("_config")).join(", ")),
      el("td", {}, time(config.updated_at))));
    const blocklists = lists.blocklists.map((list) => el("tr", { "data-testid": "blocklist-row" },
      el("td", {}, list.name), el("td", {}, list.words.length), el("td", { class: "text" }, list.words.slice(0, 30).join(", "))));
    const newKey = el("input", { name: "key", placeholder: "new config key", "data-testid": "new-config-key" });
    const create = el("form", { class: "filters" }, newKey, el("button", { type: "submit" }, "New config"));
    create.addEventListener("submit", (event) => {
      event.preventDefault();
      if (newKey.value) location.hash = "#/config/" + encodeURIComponent(newKey.value);
    });
    clear(view, el("h2", {}, "Configs"),
      rows.length ? table("configs", ["Key", "Team", "Sections", "Updated"], rows) : el("p", { class: "muted" }, "No config yet."),
      create,
      el("h2", {}, "Block lists"), table("blocklists", ["Name", "Words", "First words"], blocklists));
  }

  async function showConfig(key, team) {
    const query = team ? { team } : {};
    const answer = await call("get_config", { path: { key }, query });
    const missing = answer.code === 404;
    if (answer.failed && !missing) { clear(view, errorBox(answer.failed)); return; }
    const config = missing ? {} : answer.data.config;
    const sections = {};
    for (const [name, value] of Object.entries(config)) if (!NOT_EDITABLE.has(name)) sections[name] = value;
    const editor = el("textarea", { rows: 18, class: "code", "data-testid": "config-editor", spellcheck: "false" }, pretty(sections));
    const saved = el("div", { "data-testid": "config-result" });
    const save = el("form", {}, editor, el("button", { type: "submit", "data-testid": "save-config" }, "Save (upsert_config)"), saved);
    save.addEventListener("submit", async (event) => {
      event.preventDefault();
      let body;
      try { body = JSON.parse(editor.value); } catch (e) { clear(saved, errorBox("not valid JSON: " + e.message)); return; }
      if (!body || typeof body !== "object" || Array.isArray(body)) { clear(saved, errorBox("the rules must be a JSON object")); return; }
      body.key = key;
      if (team) body.team = team;
      const done = await call("upsert_config", { body });
      if (done.failed) { clear(saved, errorBox(done.failed)); return; }
      clear(saved, el("p", { class: "ok", "data-testid": "config-saved" }, "Saved at " + time(done.data.config.updated_at)));
    });
    const text = el("input", { name: "text", class: "wide", placeholder: "a message to check", "data-testid": "check-text" });
    const verdict = el("div", { "data-testid": "check-verdict" });
    const check = el("form", { class: "filters" }, text, el("button", { type: "submit", "data-testid": "run-check" }, "Run check"));
    check.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {
        entity_type: "stream:chat:v1:message",
        entity_id: "console-check-" + Date.now(),
        entity_creator_id: "console-user",
        moderation_payload: { texts: [text.value] },
        config_key: key,
      };
      if (team) body.config_team = team;
      const done = await call("check", { body });
      if (done.failed) { clear(verdict, errorBox(done.failed)); return; }
      const verdictData = done.data;
      const labels = verdictData.item ? [...new Set(verdictData.item.flags.flatMap((f) => f.labels || []))] : [];
      clear(verdict, el("p", {}, "Verdict: ",
        el("span", { class: "badge " + verdictData.recommended_action, "data-testid": "verdict-action" }, verdictData.recommended_action),
        ` (status ${verdictData.status}${labels.length ? ", labels " + labels.join(", ") : ""})`,
        verdictData.item ? el("a", { href: "#/item/" + encodeURIComponent(verdictData.item.id) }, " open the queue item") : null));
    });
    clear(view, el("p", {}, el("a", { href: "#/configs" }, "‹ Configs")),
      el("h2", {}, "Config ", el("code", { "data-testid": "config-key" }, key), team ? ` (team ${team})` : ""),
      missing ? el("p", { class: "muted" }, "No config with this key yet: saving creates it.") : el("p", { class: "muted" }, "Updated " + time(config.updated_at)),
      el("h3", {}, "Rules"), save,
      el("h3", {}, "Check a text with this config"), check, verdict);
  }

  // -- users, bans, mutes, journal (read only) ---------------------------------------------
  async function showUsers() {
    const [users, bans, mutes] = await Promise.all([read("users"), read("bans"), read("mutes")]);
    const userId = (u) => (u ? u.id : "");
    clear(view,
      el("h2", {}, "Users"),
      table("users", ["Id", "Name", "Role", "Teams", "Banned", "Created"], users.users.map((u) => el("tr", { "data-testid": "user-row" },
        el("td", {}, u.id), el("td", {}, u.name || ""), el("td", {}, u.role || ""), el("td", {}, (u.teams || []).join(", ")),
        el("td", {}, u.banned ? "yes" : "no"), el("td", {}, time(u.created_at))))),
      el("h2", {}, "Bans"),
      table("bans", ["User", "By", "Reason", "Shadow", "Since", "Expires"], bans.bans.map((b) => el("tr", { "data-testid": "ban-row" },
        el("td", {}, userId(b.user)), el("td", {}, userId(b.created_by)), el("td", {}, b.reason || ""),
        el("td", {}, b.shadow ? "yes" : "no"), el("td", {}, time(b.created_at)), el("td", {}, time(b.expires))))),
      el("h2", {}, "Mutes"),
      table("mutes", ["User", "Muted", "Since", "Expires"], mutes.mutes.map((m) => el("tr", { "data-testid": "mute-row" },
        el("td", {}, m.user_id), el("td", {}, m.target_id), el("td", {}, time(m.created_at)), el("td", {}, time(m.expires))))));
  }

  async function showJournal() {
    const answer = await request("GET", "/api/journal");
    if (answer.status === 404) {
      clear(view, el("h2", {}, "Request journal"),
        el("p", { class: "muted", "data-testid": "journal-unavailable" }, "request journal not available in this emulator"));
      return;
    }
    if (answer.status !== 200) { clear(view, el("h2", {}, "Request journal"), errorBox(apiError(answer))); return; }
    const rows = [];
    const all = answer.body.requests || [];
    for (const entry of all.slice(-JOURNAL_ROWS).reverse()) {
      const details = el("tr", { hidden: true }, el("td", { colspan: 6 },
        el("h4", {}, "Request body"), el("pre", {}, pretty(entry.request_body ?? null)),
        el("h4", {}, "Response body"), el("pre", {}, pretty(entry.response_body ?? null))));
      rows.push(el("tr", { class: "link", "data-testid": "journal-row", onclick: () => { details.hidden = !details.hidden; } },
        el("td", {}, time(entry.started_at)), el("td", {}, entry.method), el("td", { class: "text" }, entry.path),
        el("td", {}, entry.status), el("td", {}, `${entry.duration_ms} ms`), el("td", {}, entry.request_id)), details);
    }
    clear(view, el("h2", {}, "Request journal"),
      el("p", { class: "muted", "data-testid": "journal-count" },
        `${all.length} request(s)` + (all.length > JOURNAL_ROWS ? `, the last ${JOURNAL_ROWS} shown` : "") + ", newest first; click one for its bodies. ",
        el("button", { type: "button", onclick: showJournal }, "Refresh")),
      table("journal", ["Started", "Method", "Path", "Status", "Duration", "Request id"], rows));
  }

  // -- routing --------------------------------------------------------------------------
  async function route() {
    const parts = (location.hash || "#/queue").slice(2).split("/").map(decodeURIComponent);
    const tab = parts[0] === "item" ? "queue" : parts[0] === "config" ? "configs" : parts[0];
    for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.tab === tab);
    try {
      if (parts[0] === "item") await showItem(parts[1]);
      else if (parts[0] === "configs") await showConfigs();
      else if (parts[0] === "config") await showConfig(parts[1], parts[2]);
      else if (parts[0] === "users") await showUsers();
      else if (parts[0] === "journal") await showJournal();
      else await showQueue();
    } catch (e) {
      clear(view, errorBox(String(e.message || e)));
    }
    document.body.dataset.ready = location.hash || "#/queue";
  }

  document.getElementById("sign-out").addEventListener("click", async () => {
    await request("POST", "/session/end", {});
    window.location.replace(BASE);
  });
  window.addEventListener("hashchange", route);
  read("meta").then((m) => {
    meta = m;
    document.getElementById("meta").textContent = `${m.api_key} · ${m.spec_version}`;
  });
  route();
})();
