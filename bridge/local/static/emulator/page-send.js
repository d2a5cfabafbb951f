// The emulator's "send as the Page" panel: try the outbound API in local mode.
//
// The form builds the body POST /v1/messages takes (recipient, page_id, text or lex,
// messaging_type and tag, idempotency_key) and posts it to /local/emulator/outbound, which
// queues it exactly as the API does, without the bearer token (local mode answers only this
// machine). The panel shows the request, the answer (202, 200 for a repeat, 400, 422) and
// then follows the message (GET /local/emulator/outbound/<id>) until it is sent, dropped or
// dead. The message itself reaches the thread through the local Graph inbox, like a reply.
//
// Untrusted text only reaches the page through textContent: never innerHTML.
"use strict";

(() => {
  const API = "/local/emulator/outbound";
  const FOLLOW_MS = 400;
  const FOLLOW_MAX = 300; // two minutes
  const FINAL = new Set(["sent", "dropped", "dead"]);
  const $ = (id) => document.getElementById(id);

  const state = { open: false, psid: null, name: "", pageId: null, follow: 0 };

  /** The outbound API body for what the form says. */
  function requestBody() {
    const text = $("page-send-text").value;
    const kind = document.querySelector('input[name="what"]:checked').value;
    const type = $("page-send-type").value;
    const body = { recipient: { id: state.psid }, page_id: state.pageId };
    if (kind === "lex") body.lex = { text };
    else body.text = text;
    if (type === "HUMAN_AGENT") Object.assign(body, { messaging_type: "MESSAGE_TAG", tag: "HUMAN_AGENT" });
    else body.messaging_type = type;
    const key = $("page-send-key").value.trim();
    if (key) body.idempotency_key = key;
    return body;
  }

  function show(answerCode, answer) {
    $("page-send-code").textContent = String(answerCode);
    $("page-send-code").className = answerCode >= 400 ? "tag error" : "tag in";
    $("page-send-answer").textContent = JSON.stringify(answer, null, 2);
  }

  function say(text, error) {
    const status = $("page-send-status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(error));
  }

  /** What an error answer means, in a sentence. */
  function refusal(code, answer) {
    const error = (answer && answer.error) || {};
    const field = error.field ? ` (${error.field})` : "";
    if (code === 422) return `Not queued: ${error.code}: ${error.message}`;
    if (code === 400) return `Not queued: invalid${field}: ${error.message}`;
    return `Not queued: the bridge answered ${code}${error.message ? `: ${error.message}` : ""}`;
  }

  function outcome(status) {
    if (status.status === "sent") {
      const ids = status.message_ids.length ? ` (${status.message_ids.join(", ")})` : "";
      return { text: `Sent: ${status.parts_sent} part${status.parts_sent === 1 ? "" : "s"}${ids}.`, error: false };
    }
    const reason = status.reason ? `: ${status.reason}` : "";
    return { text: `${status.status === "dead" ? "Dead" : "Dropped"}${reason}.`, error: true };
  }

  /** Follow a queued message until it is sent, dropped or dead (or another one is sent). */
  async function follow(id) {
    const mine = ++state.follow;
    for (let i = 0; i < FOLLOW_MAX && mine === state.follow; i += 1) {
      let status = null;
      try {
        const response = await fetch(`${API}/${encodeURIComponent(id)}`, { cache: "no-store" });
        if (response.ok) status = await response.json();
      } catch {
        status = null; // the bridge restarting: keep asking
      }
      if (mine !== state.follow) return;
      if (status && FINAL.has(status.status)) {
        const { text, error } = outcome(status);
        say(text, error);
        return;
      }
      if (status) say(status.status === "sending" ? `Sending: ${status.parts_sent} part(s) sent…` : "Queued: waiting for its turn in the conversation…");
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
    }
  }

  async function submit() {
    const body = requestBody();
    $("page-send-result").hidden = false;
    $("page-send-request").textContent = JSON.stringify(body, null, 2);
    $("page-send-code").textContent = "…";
    $("page-send-answer").textContent = "";
    say("Queueing…");
    state.follow += 1; // stop following the previous message
    $("page-send-submit").disabled = true;
    try {
      const response = await fetch(API, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      show(response.status, answer);
      if (response.status === 202 || response.status === 200) {
        say(response.status === 200 ? "Already queued under this idempotency key: not sent twice." : "Queued.");
        follow(answer.id);
      } else {
        say(refusal(response.status, answer), true);
      }
    } catch (error) {
      show("—", {});
      say(`Not queued: ${error.message || "the bridge could not be reached"}`, true);
    } finally {
      $("page-send-submit").disabled = false;
    }
  }

  function setOpen(open) {
    if (open) document.dispatchEvent(new CustomEvent("emulator:panel", { detail: { name: "page" } }));
    state.open = open;
    $("page-panel").hidden = !open;
    $("app").classList.toggle("page-open", open);
    $("toggle-page-send").setAttribute("aria-pressed", String(open));
    if (open) $("page-send-text").focus();
  }

  function start() {
    $("toggle-page-send").addEventListener("click", () => setOpen(!state.open));
    $("close-page-send").addEventListener("click", () => setOpen(false));
    $("page-send").addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && state.open) setOpen(false);
    });
    document.addEventListener("emulator:panel", (event) => {
      if (event.detail.name !== "page" && state.open) setOpen(false); // one side panel at a time
    });
    document.addEventListener("emulator:select", (event) => {
      Object.assign(state, { psid: event.detail.psid, name: event.detail.name, pageId: event.detail.pageId });
      $("page-send-to").textContent = `${event.detail.name} (PSID ${event.detail.psid})`;
    });
  }

  start(); // deferred: runs after the document is parsed and before emulator.js's first select
})();
