// The sandbox's chat client: who you act as, the conversations, their messages and threads,
// the composer for /ops, the clock, sent mail. The state comes from /api/state by long poll,
// so the page follows the app as it works; what you do is POSTed to /api/*.
"use strict";

(function (SB) {
  const el = SB.el;
  const $ = (id) => document.getElementById(id);
  const app = {
    me: null,
    conversation: null, // a conversation id, or "mail"
    thread: null, // the ts of the open thread's parent
    data: null,
    version: null,
    received: 0, // Date.now() when `data` arrived (the clock keeps running after)
    seen: {}, // conversation id -> messages already seen there
    poll: null,
    sidebarKey: "",
  };

  // -- talking to the sandbox ---------------------------------------------------------

  function toast(text) {
    const node = $("toast");
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (node.hidden = true), 6000);
  }

  async function post(path, body) {
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ as: app.me, ...body }),
      });
      const answer = await response.json();
      if (!answer.ok) toast(answer.error || "That did not work.");
      return answer;
    } catch (error) {
      toast("The sandbox is not answering.");
      return { ok: false };
    }
  }

  async function poll() {
    for (;;) {
      const controller = new AbortController();
      app.poll = controller;
      const after = app.version === null ? "" : "&after=" + app.version;
      try {
        const response = await fetch("/api/state?as=" + encodeURIComponent(app.me) + after, { signal: controller.signal });
        if (!response.ok) throw new Error("HTTP " + response.status);
        const data = await response.json();
        app.data = data;
        app.version = data.version;
        app.received = Date.now();
        $("offline").hidden = true;
        render();
      } catch (error) {
        if (controller.signal.aborted) continue; // acting as someone else: start again
        $("offline").hidden = false;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  function actAs(user) {
    app.me = user;
    app.version = null;
    app.thread = null;
    remember();
    if (app.poll) app.poll.abort();
  }

  function remember() {
    const hash = "as=" + encodeURIComponent(app.me) + "&c=" + encodeURIComponent(app.conversation || "");
    history.replaceState(null, "", "#" + hash);
  }

  // -- reading the state -------------------------------------------------------------------

  const names = () => Object.fromEntries(app.data.people.map((p) => [p.id, p.name]));
  const person = (id) => app.data.people.find((p) => p.id === id);
  const current = () => app.data.conversations.find((c) => c.id === app.conversation);

  function count(conversation) {
    return conversation.messages.reduce((n, m) => n + 1 + m.replies.length, 0);
  }

  function formatter(options) {
    return new Intl.DateTimeFormat("en-GB", { timeZone: app.data.tz, ...options });
  }

  function when(ts) {
    return new Date(parseFloat(ts) * 1000);
  }

  // -- the sidebar and the clock -------------------------------------------------------------

  function renderClock() {
    if (!app.data) return;
    const now = new Date(Date.parse(app.data.clock.now) + (Date.now() - app.received));
    $("clock-now").textContent = formatter({ weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }).format(now);
    const minutes = Math.round(app.data.clock.offset / 60);
    const parts = [[Math.floor(minutes / 1440), "d"], [Math.floor(minutes / 60) % 24, "h"], [minutes % 60, "min"]];
    const ahead = minutes < 1 ? "real time" : parts.filter(([n]) => n).map(([n, unit]) => n + " " + unit).join(" ") + " ahead of real time";
    $("clock-offset").textContent = app.data.tz + " · " + ahead;
  }

  function renderActAs() {
    const select = $("act-as");
    const key = JSON.stringify(app.data.people);
    if (select.dataset.key !== key) {
      select.replaceChildren();
      for (const p of app.data.people) {
        const roles = p.in_manifest ? (p.roles.length ? " (" + p.roles.join(", ") + ")" : "") : " (not in the manifest)";
        const option = el("option", null, p.name + roles);
        option.value = p.id;
        select.append(option);
      }
      select.dataset.key = key;
    }
    select.value = app.me;
  }

  function entry(id, label, unread, extra) {
    const item = el("li");
    const link = el("button", "nav-item" + (id === app.conversation ? " active" : "") + (unread ? " unread" : ""));
    link.type = "button";
    link.dataset.conversation = id;
    link.append(el("span", "nav-label", label));
    if (extra) link.append(el("span", "nav-extra", extra));
    if (unread) link.append(el("span", "nav-count", String(unread)));
    link.addEventListener("click", () => open(id));
    item.append(link);
    return item;
  }

  function renderSidebar() {
    $("agency").textContent = app.data.agency;
    const channels = [];
    const dms = [];
    for (const c of app.data.conversations) {
      const unread = c.id === app.conversation ? 0 : Math.max(0, count(c) - (app.seen[c.id] || 0));
      if (c.kind === "channel") channels.push(entry(c.id, "# " + c.name, unread));
      else dms.push(entry(c.id, c.name, unread, c.user === app.me ? "you" : person(c.user).in_manifest ? "" : "guest"));
    }
    $("channels").replaceChildren(...channels);
    $("dms").replaceChildren(...dms);
    $("mail-nav").replaceChildren(entry("mail", "Sent client email", 0, String(app.data.mail.length)));
  }

  // -- messages ----------------------------------------------------------------------------

  function onAction(conversation, message) {
    return async (block, element, spec, selected) => {
      if (spec.confirm && !(await SB.confirm(spec.confirm, names()))) return;
      const where = message.ephemeral ? { ephemeral: message.id } : { channel: conversation.id, ts: message.ts };
      await post("/api/action", { block: block, element: element, selected: selected, ...where });
    };
  }

  function files(message) {
    const list = el("div", "files");
    for (const file of message.files) {
      if (file.mimetype.startsWith("image/")) {
        const figure = el("figure", "file-image");
        const img = el("img");
        img.src = file.url;
        img.alt = file.title || file.name;
        figure.append(img, el("figcaption", null, file.title || file.name));
        list.append(figure);
      } else {
        const link = el("a", "file-link", "📎 " + (file.title || file.name));
        link.href = file.url;
        link.download = file.name;
        list.append(link);
      }
    }
    return list;
  }

  // Slack's "More actions" on a message: the app's message shortcuts.
  function moreActions(conversation, message) {
    const holder = el("div", "more");
    const toggle = el("button", "more-toggle", "⋯");
    toggle.type = "button";
    toggle.title = "More actions";
    toggle.setAttribute("aria-label", "More actions");
    const list = el("div", "more-menu");
    list.hidden = true;
    for (const shortcut of app.data.shortcuts) {
      const item = el("button", null, shortcut.name);
      item.type = "button";
      item.addEventListener("click", () => {
        list.hidden = true;
        post("/api/shortcut", { channel: conversation.id, ts: message.ts, callback_id: shortcut.callback_id });
      });
      list.append(item);
    }
    toggle.addEventListener("click", () => (list.hidden = !list.hidden));
    holder.append(toggle, list);
    return holder;
  }

  function messageNode(conversation, message, inThread) {
    const readOnly = conversation.kind === "dm" && conversation.user !== app.me;
    const author = message.user ? person(message.user) : null;
    const node = el("div", "message" + (message.ephemeral ? " ephemeral" : "") + (author ? " from-person" : ""));
    node.dataset.ts = message.ts;
    node.append(el("div", "avatar", author ? author.name.slice(0, 1) : "S"));
    const main = el("div", "message-main");
    const meta = el("div", "message-meta");
    if (author) meta.append(el("span", "author", author.name));
    else meta.append(el("span", "author", "Switchboard"), el("span", "app-badge", "APP"));
    const time = el("time", null, formatter({ hour: "2-digit", minute: "2-digit" }).format(when(message.ts)));
    time.dateTime = when(message.ts).toISOString();
    meta.append(time);
    main.append(meta);
    if (message.ephemeral) main.append(el("div", "ephemeral-note", "Only visible to you"));
    const ctx = { names: names(), disabled: readOnly, onAction: onAction(conversation, message) };
    main.append(SB.messageBody(message, ctx));
    if (message.files.length) main.append(files(message));
    if (!inThread && message.replies && message.replies.length) {
      const replies = el("button", "replies", message.replies.length + (message.replies.length === 1 ? " reply" : " replies"));
      replies.type = "button";
      replies.addEventListener("click", () => {
        app.thread = message.ts;
        render();
      });
      main.append(replies);
    }
    if (message.ephemeral) {
      const dismiss = el("button", "dismiss", "Dismiss");
      dismiss.type = "button";
      dismiss.addEventListener("click", () => post("/api/dismiss", { ephemeral: message.id }));
      main.append(dismiss);
    }
    node.append(main);
    if (!message.ephemeral && !readOnly && app.data.shortcuts.length) node.append(moreActions(conversation, message));
    return node;
  }

  function fill(container, conversation, messages, inThread) {
    const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
    const nodes = [];
    let day = "";
    const dayFormat = formatter({ weekday: "long", day: "numeric", month: "long" });
    for (const message of messages) {
      const label = dayFormat.format(when(message.ts));
      if (!inThread && label !== day) {
        nodes.push(el("div", "day", label));
        day = label;
      }
      nodes.push(messageNode(conversation, message, inThread));
    }
    if (!nodes.length) nodes.push(el("div", "empty", "Nothing here yet."));
    container.replaceChildren(...nodes);
    if (atBottom || container.dataset.conversation !== conversation.id) container.scrollTop = container.scrollHeight;
    container.dataset.conversation = conversation.id;
  }

  function renderMail() {
    $("title").textContent = "Sent client email";
    $("subtitle").textContent = "approved drafts, written as .eml files by the file backend";
    const cards = app.data.mail.map((mail) => {
      const card = el("article", "mail");
      card.append(el("h3", null, mail.subject));
      for (const [label, value] of [["From", mail.from], ["To", mail.to], ["Date", mail.date], ["Message-ID", mail.message_id], ["File", mail.file]]) {
        const row = el("div", "mail-header");
        row.append(el("span", "mail-label", label + ": "), el("span", null, value));
        card.append(row);
      }
      card.append(el("pre", "mail-body", mail.body));
      return card;
    });
    $("messages").replaceChildren(...(cards.length ? cards : [el("div", "empty", "No client email has been sent yet. Approve a draft in #approvals.")]));
    $("banner").hidden = true;
    $("composer").hidden = true;
  }

  function renderConversation() {
    const conversation = current();
    const dmOf = conversation.kind === "dm" ? person(conversation.user) : null;
    $("title").textContent = dmOf ? dmOf.name : "# " + conversation.name;
    $("subtitle").textContent = dmOf ? "direct messages with Switchboard" : "";
    const banner = $("banner");
    const foreign = dmOf && dmOf.id !== app.me;
    banner.hidden = !foreign;
    if (foreign) {
      const become = el("button", "become", "Act as " + dmOf.name);
      become.type = "button";
      become.addEventListener("click", () => actAs(dmOf.id));
      banner.replaceChildren(el("span", null, "This is " + dmOf.name + "'s direct message with Switchboard; only " + dmOf.name + " can use its buttons. "), become);
    }
    $("composer").hidden = false;
    $("composer-input").disabled = !!foreign;
    $("composer-input").placeholder = "Message " + $("title").textContent + ", or /ops help";
    fill($("messages"), conversation, conversation.messages, false);
    app.seen[conversation.id] = count(conversation);
  }

  function renderThread() {
    const pane = $("thread");
    const conversation = app.conversation === "mail" ? null : current();
    const parent = conversation && conversation.messages.find((m) => m.ts === app.thread);
    pane.hidden = !parent;
    $("app").classList.toggle("with-thread", !!parent);
    if (!parent) return;
    fill($("thread-messages"), conversation, [parent, ...parent.replies], true);
  }

  function render() {
    if (!app.data) return;
    if (app.conversation !== "mail" && !current()) app.conversation = app.data.conversations[0].id;
    renderClock();
    renderActAs();
    if (app.conversation === "mail") renderMail();
    else renderConversation();
    renderSidebar();
    renderThread();
    SB.showModals(app.data.modals, { names: names, people: () => app.data.people, post: post });
  }

  function open(id) {
    app.conversation = id;
    app.thread = null;
    $("app").classList.remove("sidebar-open");
    remember();
    render();
  }

  // -- wiring ------------------------------------------------------------------------------------

  function start() {
    const wanted = new URLSearchParams(location.hash.slice(1));
    app.me = wanted.get("as") || "";
    app.conversation = wanted.get("c") || "C0ALERTS";
    $("act-as").addEventListener("change", (event) => actAs(event.target.value));
    $("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $("composer-input");
      const text = input.value.trim();
      if (!text) return;
      // A slash command goes to the app; anything else is a message from the person acting.
      const path = text.startsWith("/") ? "/api/command" : "/api/message";
      const answer = await post(path, { channel: app.conversation, text: text });
      if (answer.ok) input.value = "";
    });
    for (const button of document.querySelectorAll("[data-step]")) {
      button.addEventListener("click", async () => {
        document.querySelectorAll("[data-step]").forEach((b) => (b.disabled = true));
        await post("/api/clock", { step: button.dataset.step });
        document.querySelectorAll("[data-step]").forEach((b) => (b.disabled = false));
      });
    }
    $("thread-close").addEventListener("click", () => {
      app.thread = null;
      render();
    });
    $("menu").addEventListener("click", () => $("app").classList.toggle("sidebar-open"));
    setInterval(renderClock, 15000);
    first();
  }

  // The person the address names, else the manifest's first.
  async function first() {
    const people = await (await fetch("/api/people")).json();
    if (!people.some((p) => p.id === app.me)) app.me = people[0].id;
    remember();
    poll();
  }

  document.addEventListener("DOMContentLoaded", start);
})(window.SB);
