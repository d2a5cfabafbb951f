// Messenger emulator for messenger-lex-bridge's local mode. Plain JavaScript, no build step.
//
// What a person does here becomes the webhook event Messenger would deliver: the page builds
// the messaging item, the bridge wraps and signs it as Meta does (POST /local/emulator/sign;
// the app secret stays on the server), and the page posts those exact bytes to /webhook with
// the X-Hub-Signature-256 header. Replies are read from the local Graph inbox
// (GET /local/graph/inbox?recipient=<psid>&after=<seq>) and drawn as Messenger draws them.
//
// Untrusted text (everything a bot or a person wrote) only ever reaches the page through
// textContent, text nodes and checked attributes: never innerHTML.
"use strict";

(() => {
  const API = {
    config: "/local/emulator/config",
    sign: "/local/emulator/sign",
    events: "/local/emulator/events",
    inbox: "/local/graph/inbox",
    status: "/local/status",
    webhook: "/webhook",
  };
  const SIGNATURE_HEADER = "X-Hub-Signature-256";
  const GET_STARTED = { title: "Get Started", payload: "GET_STARTED" };
  const STORAGE_KEY = "messenger-emulator.user";
  const DIVIDER_GAP_S = 15 * 60;
  const STATUS_POLL_MS = 500;
  const STATUS_POLL_MAX = 240; // two minutes of following a message through the queue
  const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  const TRAILING_PUNCTUATION = /[.,;:!?)\]}'"»」』]+$/;
  const PALETTE = ["#e4405f", "#f5a623", "#2bb673", "#0866ff", "#a033ff", "#00a3bf", "#ff6b3d"];

  const state = {
    config: null,
    users: [],
    current: null, // PSID
    convos: new Map(), // PSID -> conversation
    jsonOpen: false,
    pollMs: 300,
    typingTimeoutS: 20,
    localOrder: 0,
    offline: false,
    stick: true, // the thread is scrolled to its end and should stay there
  };

  const $ = (id) => document.getElementById(id);

  // --- small helpers ------------------------------------------------------------------------

  /** An element with attributes and children; strings become text nodes (never markup). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  function httpUrl(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function asText(value) {
    return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
  }

  function newMid() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "m_emu_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function newPsid() {
    const digits = new Uint8Array(14);
    crypto.getRandomValues(digits);
    return "79" + Array.from(digits, (d) => String(d % 10)).join("");
  }

  function colorFor(psid) {
    let hash = 0;
    for (const ch of psid) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    return PALETTE[hash % PALETTE.length];
  }

  function initials(name) {
    // "Min-jun Kim" → "MK", "Guest 1234" → "G": the first and last words that are not numbers.
    const words = name.split(/[\s-]+/).filter((word) => word && !/^\d+$/.test(word));
    if (!words.length) return "?";
    const first = Array.from(words[0])[0];
    const last = words.length > 1 ? Array.from(words[words.length - 1])[0] : "";
    return (first + last).toUpperCase();
  }

  function clock(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return response.json();
  }

  async function postJSON(url, value) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(value),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `${url} answered ${response.status}`);
    return data;
  }

  function setOffline(offline, message) {
    if (state.offline === offline) return;
    state.offline = offline;
    const banner = $("banner");
    banner.hidden = !offline;
    banner.textContent = offline ? message : "";
  }

  // --- conversations --------------------------------------------------------------------------
  //
  // A conversation is a sorted list of entries: "in" entries are Send API bodies from the
  // inbox (ordered by their seq), "out" entries are webhook events the page sent (ordered
  // just after the inbox seq they followed).

  function convoFor(psid) {
    let convo = state.convos.get(psid);
    if (!convo) {
      convo = { psid, loaded: false, loading: null, cursor: 0, entries: [], seqs: new Set(), unread: false };
      state.convos.set(psid, convo);
    }
    return convo;
  }

  function order(entry) {
    return entry.kind === "in" ? entry.seq : entry.after + 0.5;
  }

  function sortEntries(convo) {
    convo.entries.sort((a, b) => order(a) - order(b) || a.local - b.local);
  }

  function inEntry(record) {
    return { kind: "in", seq: record.seq, body: record.body, at: record.at, local: ++state.localOrder, nodes: {} };
  }

  function outFromEvent(event) {
    let item = {};
    try {
      item = JSON.parse(event.body).entry[0].messaging[0];
    } catch {
      item = {};
    }
    return {
      kind: "out",
      id: event.id,
      after: event.after,
      at: event.at,
      body: event.body,
      item,
      mid: eventMid(item),
      status: "sent",
      local: ++state.localOrder,
      rev: 0,
      nodes: {},
    };
  }

  function eventMid(item) {
    return (item.message && item.message.mid) || (item.postback && item.postback.mid) || null;
  }

  function addInbox(convo, records) {
    let added = false;
    for (const record of records) {
      if (convo.seqs.has(record.seq)) continue;
      convo.seqs.add(record.seq);
      convo.entries.push(inEntry(record));
      added = true;
    }
    if (added) sortEntries(convo);
    return added;
  }

  function load(convo) {
    if (!convo.loading) {
      convo.loading = (async () => {
        const psid = encodeURIComponent(convo.psid);
        const [sent, inbox] = await Promise.all([
          getJSON(`${API.events}?psid=${psid}`),
          getJSON(`${API.inbox}?recipient=${psid}&after=0`),
        ]);
        convo.entries = sent.events.map(outFromEvent);
        addInbox(convo, inbox.entries);
        sortEntries(convo);
        convo.cursor = inbox.last;
        convo.loaded = true;
      })().catch((error) => {
        convo.loading = null;
        throw error;
      });
    }
    return convo.loading;
  }

  // --- sending --------------------------------------------------------------------------------

  function textItem(text) {
    return { message: { mid: newMid(), text } };
  }

  function quickReplyItem(title, payload) {
    return { message: { mid: newMid(), text: title, quick_reply: { payload } } };
  }

  function postbackItem(title, payload) {
    return { postback: { mid: newMid(), title, payload } };
  }

  async function send(event) {
    const convo = convoFor(state.current);
    if (!convo.loaded) return;
    const item = { sender: { id: convo.psid }, ...event };
    const entry = {
      kind: "out",
      after: convo.cursor,
      at: Date.now() / 1000,
      item,
      mid: eventMid(item),
      body: null,
      status: "sending",
      local: ++state.localOrder,
      rev: 0,
      nodes: {},
    };
    convo.entries.push(entry);
    sortEntries(convo);
    render({ scroll: true });
    try {
      const signed = await postJSON(API.sign, item);
      Object.assign(entry, { id: signed.id, after: signed.after, body: signed.body, signature: signed.signature });
      entry.item = JSON.parse(signed.body).entry[0].messaging[0];
      sortEntries(convo);
      const response = await fetch(API.webhook, {
        method: "POST",
        headers: { "Content-Type": "application/json", [SIGNATURE_HEADER]: signed.signature },
        body: signed.body, // the exact bytes that were signed (ASCII, as Meta sends them)
      });
      entry.http = response.status;
      if (response.ok) {
        entry.status = "sent";
        follow(entry);
      } else {
        entry.status = "failed";
        entry.error = `Not delivered: the webhook answered ${response.status}`;
      }
    } catch (error) {
      entry.status = "failed";
      entry.error = `Not delivered: ${error.message || "the bridge could not be reached"}`;
    }
    entry.rev += 1;
    render({ scroll: convo.psid === state.current });
  }

  /** Follow an event through the bridge's queue, to tell when the bridge gave up on it. */
  async function follow(entry) {
    if (!entry.mid) return;
    for (let i = 0; i < STATUS_POLL_MAX; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, STATUS_POLL_MS));
      let status;
      try {
        status = (await getJSON(`${API.status}?key=${encodeURIComponent(entry.mid)}`)).state;
      } catch {
        continue;
      }
      if (status === "done") return;
      if (status === "dead") {
        entry.status = "dead";
        entry.error = "Not answered: the bridge gave up on this message (see its log)";
        entry.rev += 1;
        render({});
        return;
      }
    }
  }

  // --- polling the inbox ----------------------------------------------------------------------

  async function poll() {
    const convo = state.current && convoFor(state.current);
    if (convo && convo.loaded) {
      try {
        const data = await getJSON(`${API.inbox}?recipient=${encodeURIComponent(convo.psid)}&after=${convo.cursor}`);
        setOffline(false);
        const added = addInbox(convo, data.entries);
        convo.cursor = Math.max(convo.cursor, data.last);
        if (added) render({});
      } catch {
        setOffline(true, "Cannot reach the bridge. Is `make demo` still running?");
      }
    }
    setTimeout(poll, document.hidden ? 2000 : state.pollMs);
  }

  // --- rendering Send API bodies -------------------------------------------------------------

  /** Text with clickable http(s) links; line breaks are kept by CSS (white-space: pre-wrap). */
  function linkified(text) {
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(URL_PATTERN)) {
      let url = match[0];
      const trailing = url.match(TRAILING_PUNCTUATION);
      if (trailing) url = url.slice(0, -trailing[0].length);
      const href = httpUrl(url);
      if (!href) continue;
      parts.push(text.slice(last, match.index));
      parts.push(el("a", { href, target: "_blank", rel: "noopener noreferrer", text: url }));
      last = match.index + url.length;
    }
    parts.push(text.slice(last));
    return parts.filter((part) => part !== "");
  }

  function bubble(text, extra) {
    return el("div", { class: "bubble" + (extra ? ` ${extra}` : "") }, linkified(text));
  }

  function templateButton(button) {
    const title = asText(button.title) || "Button";
    switch (button.type) {
      case "postback":
        return el("button", {
          type: "button",
          class: "tpl-button",
          text: title,
          onclick: () => send(postbackItem(title, asText(button.payload))),
        });
      case "web_url": {
        const href = httpUrl(button.url);
        if (href) {
          return el("a", { class: "tpl-button", href, target: "_blank", rel: "noopener noreferrer", text: `${title} ↗` });
        }
        break;
      }
      case "phone_number":
        return el("a", { class: "tpl-button", href: `tel:${asText(button.payload).replace(/[^\d+]/g, "")}`, text: title });
      default:
        break;
    }
    return el("button", {
      type: "button",
      class: "tpl-button",
      disabled: true,
      title: `A ${asText(button.type) || "button"} button: not emulated here`,
      text: title,
    });
  }

  function card(element) {
    const image = httpUrl(element.image_url);
    const body = el(
      "div",
      { class: "card-body" },
      el("h4", { class: "card-title", text: asText(element.title) }),
      element.subtitle ? el("p", { class: "card-subtitle", text: asText(element.subtitle) }) : null,
    );
    const top = [
      image ? el("img", { class: "card-image", src: image, alt: "", loading: "lazy", referrerpolicy: "no-referrer" }) : null,
      body,
    ];
    const action = element.default_action && httpUrl(element.default_action.url);
    const buttons = Array.isArray(element.buttons) ? element.buttons : [];
    return el(
      "article",
      { class: "card", "aria-label": asText(element.title) },
      action ? el("a", { class: "card-link", href: action, target: "_blank", rel: "noopener noreferrer" }, top) : top,
      buttons.length ? el("div", { class: "card-buttons" }, buttons.map(templateButton)) : null,
    );
  }

  function carousel(payload) {
    const elements = Array.isArray(payload.elements) ? payload.elements : [];
    const track = el("div", { class: "carousel", role: "group", "aria-label": "Cards" }, elements.map(card));
    if (payload.image_aspect_ratio === "square") {
      for (const image of track.querySelectorAll(".card-image")) image.classList.add("square");
    }
    const wrap = el("div", { class: "carousel-wrap" }, track);
    if (elements.length > 1) {
      const step = (direction) => () => track.scrollBy({ left: direction * 268, behavior: "smooth" });
      wrap.append(
        el("button", { type: "button", class: "carousel-nav prev", "aria-label": "Previous card", text: "‹", onclick: step(-1) }),
        el("button", { type: "button", class: "carousel-nav next", "aria-label": "Next card", text: "›", onclick: step(1) }),
      );
    }
    return wrap;
  }

  function buttonTemplate(payload) {
    const buttons = Array.isArray(payload.buttons) ? payload.buttons : [];
    return el("div", { class: "button-template" }, bubble(asText(payload.text)), buttons.map(templateButton));
  }

  function attachment(value) {
    const type = value && value.type;
    const payload = (value && value.payload) || {};
    if (type === "template") {
      if (payload.template_type === "generic") return { node: carousel(payload), wide: true };
      if (payload.template_type === "button") return { node: buttonTemplate(payload) };
      return { node: bubble(`[a ${asText(payload.template_type)} template: not drawn by the emulator]`, "unsupported") };
    }
    const url = httpUrl(payload.url);
    if (type === "image" && url) {
      return { node: el("img", { class: "media", src: url, alt: "Image", loading: "lazy", referrerpolicy: "no-referrer" }) };
    }
    if (url && (type === "video" || type === "audio")) {
      return { node: el(type, { class: "media", src: url, controls: true, preload: "none" }) };
    }
    if (url) {
      return { node: el("div", { class: "bubble" }, el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: `📎 ${type || "file"}` })) };
    }
    const id = payload.attachment_id ? ` ${asText(payload.attachment_id)}` : "";
    return { node: bubble(`[${asText(type) || "an"} attachment${id}]`, "unsupported") };
  }

  /** What a Send API message body shows in the thread: a list of nodes. */
  function messageParts(message) {
    const parts = [];
    let wide = false;
    if (typeof message.text === "string") parts.push(bubble(message.text));
    const attachments = message.attachment ? [message.attachment] : Array.isArray(message.attachments) ? message.attachments : [];
    for (const value of attachments) {
      const part = attachment(value);
      parts.push(part.node);
      wide = wide || Boolean(part.wide);
    }
    if (!parts.length) parts.push(bubble("[an empty message]", "unsupported"));
    return { parts, wide };
  }

  function userText(item) {
    if (item.message) {
      if (typeof item.message.text === "string") return item.message.text;
      return "[an attachment]";
    }
    if (item.postback) return asText(item.postback.title) || asText(item.postback.payload);
    return `[${Object.keys(item).filter((key) => key !== "sender").join(", ") || "event"}]`;
  }

  function isVisible(entry) {
    return entry.kind === "out" || Boolean(entry.body && entry.body.message);
  }

  function rowFor(entry) {
    const key = "row";
    const cached = entry.nodes[key];
    if (cached && cached.rev === entry.rev) return cached.node;
    let node;
    if (entry.kind === "in") {
      const { parts, wide } = messageParts(entry.body.message);
      node = el(
        "li",
        { class: "row bot", "data-seq": entry.seq },
        el("div", { class: "avatar-slot" }),
        el("div", { class: "content" + (wide ? " wide" : "") }, parts),
      );
    } else {
      const pending = entry.status === "sending" ? "pending" : "";
      node = el(
        "li",
        { class: "row user", "data-mid": entry.mid || "" },
        el("div", { class: "content" }, bubble(userText(entry.item), pending)),
        entry.error ? el("p", { class: "receipt error", role: "status", text: entry.error }) : null,
      );
    }
    entry.nodes[key] = { node, rev: entry.rev };
    return node;
  }

  function dividerFor(entry) {
    if (!entry.nodes.divider) entry.nodes.divider = el("li", { class: "divider", text: clock(entry.at) });
    return entry.nodes.divider;
  }

  let botAvatar = null;
  function avatarImage() {
    if (!botAvatar) botAvatar = el("img", { class: "avatar avatar-28", src: "/local/emulator/static/avatar.svg", alt: "", width: 28, height: 28 });
    return botAvatar;
  }

  /** Put ``nodes`` in ``list`` in order, moving only what is out of place. */
  function reconcile(list, nodes) {
    nodes.forEach((node, index) => {
      if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
    });
    while (list.children.length > nodes.length) list.lastElementChild.remove();
  }

  // --- the view -------------------------------------------------------------------------------

  let typingTimer = null;

  function render({ scroll, jump }) {
    renderPeople();
    const convo = state.current && state.convos.get(state.current);
    if (!convo) return;
    const thread = $("thread");
    const nearBottom = state.stick || thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;

    const visible = convo.entries.filter(isVisible);
    const nodes = [];
    let previous = null;
    visible.forEach((entry, index) => {
      if (!previous || entry.at - previous.at > DIVIDER_GAP_S) nodes.push(dividerFor(entry));
      const row = rowFor(entry);
      const next = visible[index + 1];
      const side = entry.kind;
      row.classList.toggle("group-start", !previous || previous.kind !== side || nodes[nodes.length - 1] !== previous.nodes.row.node);
      row.classList.toggle("group-end", !next || next.kind !== side);
      if (side === "in") {
        const slot = row.querySelector(".avatar-slot");
        const last = !next || next.kind !== side;
        if (last) slot.replaceChildren(avatarImage());
        else if (slot.firstChild) slot.replaceChildren();
      }
      nodes.push(row);
      previous = entry;
    });
    reconcile($("messages"), nodes);

    renderReceipt(convo, visible);
    renderTyping(convo);
    renderQuickReplies(visible);
    $("get-started").hidden = !convo.loaded || convo.entries.length > 0;
    if (state.jsonOpen) renderJson(convo);

    if (jump || scroll || nearBottom) {
      thread.scrollTop = thread.scrollHeight;
      state.stick = true;
    }
  }

  let receipt = null;
  function renderReceipt(convo, visible) {
    if (!receipt) receipt = el("p", { class: "receipt", id: "receipt" });
    const lastOut = [...visible].reverse().find((entry) => entry.kind === "out");
    if (!lastOut || lastOut.error) {
      receipt.remove();
      return;
    }
    const seen = convo.entries.some(
      (entry) => entry.kind === "in" && entry.body.sender_action === "mark_seen" && order(entry) > order(lastOut),
    );
    receipt.textContent = seen ? "Seen" : lastOut.status === "sending" ? "Sending…" : "Sent";
    const row = lastOut.nodes.row.node;
    if (receipt.parentNode !== row) row.append(receipt);
  }

  function renderTyping(convo) {
    clearTimeout(typingTimer);
    let typingSince = null;
    for (const entry of convo.entries) {
      if (entry.kind !== "in") continue;
      const action = entry.body.sender_action;
      if (action === "typing_on") typingSince = entry.at;
      else if (action === "typing_off" || entry.body.message) typingSince = null;
    }
    const left = typingSince === null ? 0 : typingSince + state.typingTimeoutS - Date.now() / 1000;
    $("typing").hidden = left <= 0;
    if (left > 0) typingTimer = setTimeout(() => render({}), left * 1000 + 50);
  }

  function quickReplyChip(reply) {
    const kind = reply.content_type || "text";
    let title = asText(reply.title);
    let payload = asText(reply.payload);
    if (kind === "user_email" || kind === "user_phone_number") {
      // Messenger offers the person's own address or number; the emulator has made-up ones.
      const user = currentUser();
      title = payload =
        kind === "user_email"
          ? `${user.name.toLowerCase().replace(/[^a-z0-9]+/g, ".")}@example.com`
          : "+15555550100";
    }
    const icon = httpUrl(reply.image_url);
    return el(
      "button",
      { type: "button", class: "chip", onclick: () => send(quickReplyItem(title, payload)) },
      icon ? el("img", { src: icon, alt: "", referrerpolicy: "no-referrer" }) : null,
      title,
    );
  }

  function renderQuickReplies(visible) {
    const box = $("quick-replies");
    const last = visible[visible.length - 1];
    const replies = last && last.kind === "in" && Array.isArray(last.body.message.quick_replies) ? last.body.message.quick_replies : [];
    if (box.dataset.owner === String(last && last.local) && !box.hidden === replies.length > 0) return;
    box.dataset.owner = String(last && last.local);
    box.replaceChildren(...replies.map(quickReplyChip));
    box.hidden = replies.length === 0;
  }

  // --- the JSON panel -------------------------------------------------------------------------

  const JSON_TOKENS = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

  function jsonBlock(value, compact) {
    // Compact: one line, with a space after each colon and comma, so it wraps between values.
    const text = compact ? JSON.stringify(value, null, 1).replace(/\n\s*/g, " ") : JSON.stringify(value, null, 2);
    const pre = el("pre", { class: "json" + (compact ? " compact" : "") });
    let last = 0;
    for (const match of text.matchAll(JSON_TOKENS)) {
      pre.append(text.slice(last, match.index));
      if (match[1]) {
        pre.append(el("span", { class: match[2] ? "k" : "s", text: match[1] }));
        if (match[2]) pre.append(match[2]);
      } else if (match[3]) {
        pre.append(el("span", { class: "b", text: match[3] }));
      } else {
        pre.append(el("span", { class: "n", text: match[4] }));
      }
      last = match.index + match[0].length;
    }
    pre.append(text.slice(last));
    return pre;
  }

  function jsonEntry(entry) {
    const cached = entry.nodes.json;
    if (cached && cached.rev === entry.rev) return cached.node;
    let node;
    if (entry.kind === "out") {
      let parsed = null;
      try {
        parsed = entry.body ? JSON.parse(entry.body) : null;
      } catch {
        parsed = null;
      }
      const status = entry.http ? el("span", { class: "tag " + (entry.http === 200 ? "out" : "error"), text: String(entry.http) }) : null;
      node = el(
        "li",
        { class: "io webhook" },
        el(
          "div",
          { class: "io-head" },
          el("span", { class: "tag in", text: "Webhook" }),
          el("span", { class: "path", text: "POST /webhook" }),
          status,
          el("time", { text: clock(entry.at) }),
          entry.signature ? el("span", { class: "sig", text: `${SIGNATURE_HEADER}: ${entry.signature}` }) : null,
        ),
        parsed ? jsonBlock(parsed, false) : el("p", { class: "json-empty", text: entry.error || "Signing…" }),
        entry.body
          ? el(
              "details",
              { class: "raw" },
              el("summary", { text: `Exact bytes signed (${entry.body.length})` }),
              el("pre", { class: "json", text: entry.body }),
            )
          : null,
      );
    } else {
      const action = entry.body.sender_action;
      node = el(
        "li",
        { class: "io send" },
        el(
          "div",
          { class: "io-head" },
          el("span", { class: "tag out", text: "Send API" }),
          el("span", { class: "path", text: action ? `sender_action: ${action}` : entry.body.target_app_id ? "POST /me/pass_thread_control" : "POST /me/messages" }),
          el("time", { text: `#${entry.seq} · ${clock(entry.at)}` }),
        ),
        jsonBlock(entry.body, Boolean(action)),
      );
    }
    entry.nodes.json = { node, rev: entry.rev };
    return node;
  }

  let jsonEmpty = null;
  function renderJson(convo) {
    const list = $("exchanges");
    const near = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    if (!jsonEmpty) jsonEmpty = el("li", { class: "json-empty", text: "Nothing yet: send a message." });
    reconcile(list, convo.entries.length ? convo.entries.map(jsonEntry) : [jsonEmpty]);
    if (near) list.scrollTop = list.scrollHeight;
  }

  function setJsonOpen(open) {
    if (open) document.dispatchEvent(new CustomEvent("emulator:panel", { detail: { name: "json" } }));
    state.jsonOpen = open;
    $("json-panel").hidden = !open;
    $("app").classList.toggle("json-open", open);
    $("toggle-json").setAttribute("aria-pressed", String(open));
    if (open) {
      render({});
      const list = $("exchanges");
      list.scrollTop = list.scrollHeight;
    }
  }

  // --- people ---------------------------------------------------------------------------------

  function currentUser() {
    return state.users.find((user) => user.psid === state.current) || { psid: state.current, name: "Guest" };
  }

  function preview(psid) {
    const convo = state.convos.get(psid);
    const visible = convo ? convo.entries.filter(isVisible) : [];
    const last = visible[visible.length - 1];
    if (!last) return `PSID ${psid}`;
    if (last.kind === "out") return `You: ${userText(last.item)}`;
    const message = last.body.message;
    if (typeof message.text === "string") return message.text.replace(/\s+/g, " ");
    return message.attachment ? "Sent a card" : "Sent a message";
  }

  const personNodes = new Map(); // PSID -> its list item, kept (a focused button keeps focus)

  function personNode(user) {
    let node = personNodes.get(user.psid);
    if (!node) {
      const badge = el("span", { class: "initials", "aria-hidden": "true", text: initials(user.name) });
      badge.style.background = colorFor(user.psid);
      node = el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "person", title: `${user.name} · PSID ${user.psid}`, onclick: () => select(user.psid) },
          badge,
          el("span", { class: "person-text" }, el("span", { class: "person-name", text: user.name }), el("span", { class: "person-sub" })),
        ),
      );
      personNodes.set(user.psid, node);
    }
    return node;
  }

  function renderPeople() {
    const nodes = state.users.map((user) => {
      const node = personNode(user);
      node.firstChild.setAttribute("aria-current", String(user.psid === state.current));
      const sub = node.querySelector(".person-sub");
      const text = preview(user.psid);
      if (sub.textContent !== text) sub.textContent = text;
      return node;
    });
    reconcile($("people"), nodes);
    $("current-user").textContent = currentUser().name;
  }

  function revealSelected() {
    const selected = $("people").querySelector('[aria-current="true"]');
    if (selected) selected.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  function addUser(psid, name) {
    let user = state.users.find((known) => known.psid === psid);
    if (!user) {
      user = { psid, name: name || `Guest ${psid.slice(-4)}` };
      state.users.push(user);
    }
    return user;
  }

  async function select(psid) {
    state.current = psid;
    // The "send as the Page" panel (page-send.js) writes to whoever is selected.
    const user = currentUser();
    document.dispatchEvent(new CustomEvent("emulator:select", { detail: { psid, name: user.name, pageId: state.config.page.id } }));
    try {
      localStorage.setItem(STORAGE_KEY, psid);
    } catch {
      // storage may be unavailable; the choice just won't be remembered
    }
    const convo = convoFor(psid);
    const composer = $("text");
    render({ jump: true });
    revealSelected();
    if (!convo.loaded) {
      $("messages").replaceChildren();
      $("typing").hidden = true;
      $("quick-replies").hidden = true;
      $("get-started").hidden = true;
      composer.disabled = true;
      try {
        await load(convo);
        setOffline(false);
      } catch {
        setOffline(true, "Cannot reach the bridge. Is `make demo` still running?");
        return;
      }
      if (state.current !== psid) return;
    }
    composer.disabled = false;
    updateSendButton();
    render({ jump: true });
    if (window.matchMedia("(pointer: fine)").matches) composer.focus();
  }

  // --- composer -------------------------------------------------------------------------------

  function updateSendButton() {
    const composer = $("text");
    $("send").disabled = composer.disabled || composer.value.trim() === "";
    composer.style.height = "auto";
    composer.style.height = `${Math.min(composer.scrollHeight, 140)}px`;
  }

  function submitText() {
    const composer = $("text");
    const text = composer.value.trim();
    if (!text || composer.disabled) return;
    composer.value = "";
    updateSendButton();
    send(textItem(text));
  }

  // --- start ------------------------------------------------------------------------------------

  async function start() {
    const composer = $("text");
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      submitText();
    });
    composer.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter is a new line; never while an IME (Korean…) is composing.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submitText();
      }
    });
    composer.addEventListener("input", updateSendButton);
    $("get-started").addEventListener("click", () => send(postbackItem(GET_STARTED.title, GET_STARTED.payload)));
    $("toggle-json").addEventListener("click", () => setJsonOpen(!state.jsonOpen));
    $("close-json").addEventListener("click", () => setJsonOpen(false));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && state.jsonOpen) setJsonOpen(false);
    });
    document.addEventListener("emulator:panel", (event) => {
      if (event.detail.name !== "json" && state.jsonOpen) setJsonOpen(false); // one side panel at a time
    });
    $("new-user").addEventListener("click", () => {
      const user = addUser(newPsid());
      select(user.psid);
    });
    const thread = $("thread");
    thread.addEventListener("scroll", () => {
      state.stick = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
    });
    // A resize (a phone's keyboard, the JSON panel) keeps the end of the thread in view.
    new ResizeObserver(() => {
      if (state.stick) thread.scrollTop = thread.scrollHeight;
    }).observe(thread);
    thread.addEventListener(
      "load",
      (event) => {
        // An image that arrives late grows the thread: stay at the end if we were there.
        if (event.target.tagName === "IMG" && state.stick) thread.scrollTop = thread.scrollHeight;
      },
      true,
    );

    let config;
    for (;;) {
      try {
        config = await getJSON(API.config);
        setOffline(false);
        break;
      } catch {
        setOffline(true, "Cannot reach the bridge. Is `make demo` still running?");
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
    state.config = config;
    state.pollMs = config.poll_ms || state.pollMs;
    state.typingTimeoutS = config.typing_timeout_s || state.typingTimeoutS;
    state.users = config.users.map((user) => ({ ...user }));
    for (const id of ["page-name", "intro-name"]) $(id).textContent = config.page.name;
    $("bot-label").textContent = config.bot;
    $("intro-bot").textContent = config.bot;
    document.title = `${config.page.name} · Messenger emulator`;

    const params = new URLSearchParams(location.search);
    let chosen = params.get("psid");
    if (chosen && /^\d{1,30}$/.test(chosen)) {
      addUser(chosen, params.get("name"));
    } else {
      let remembered = null;
      try {
        remembered = localStorage.getItem(STORAGE_KEY);
      } catch {
        remembered = null;
      }
      chosen = state.users.some((user) => user.psid === remembered) ? remembered : state.users[0].psid;
    }
    await select(chosen);
    poll();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
