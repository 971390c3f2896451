// Modals (the top of the person's stack) with their inputs, Submit, Cancel and the errors the
// app returns; and the confirm dialog of a button that asks first.
"use strict";

window.SB = window.SB || {};

(function (SB) {
  const el = SB.el;
  let shown = null; // {id, key, inputs} of the modal on screen

  function layer() {
    return document.getElementById("modal-layer");
  }

  function keyOf(modal) {
    return modal.id + ":" + JSON.stringify(modal.view) + ":" + JSON.stringify(modal.errors);
  }

  // What the person has typed or picked, by block id, to survive a redraw (errors shown).
  function typed() {
    const kept = {};
    if (!shown) return kept;
    for (const input of shown.inputs) kept[input.blockId] = input.node.value;
    return kept;
  }

  function required(inputs) {
    let missing = false;
    for (const input of inputs) {
      const state = input.state();
      const empty = state.value === null || state.selected_user === null || state.selected_option === null;
      if (!input.optional && empty) {
        input.error.textContent = "Please complete this required field.";
        input.error.hidden = false;
        missing = true;
      }
    }
    return !missing;
  }

  function values(inputs) {
    const result = {};
    for (const input of inputs) result[input.blockId] = { [input.actionId]: input.state() };
    return result;
  }

  // Show the top modal of `modals` (or none); `app` gives the people, names and the API.
  SB.showModals = function (modals, app) {
    const top = modals.length ? modals[modals.length - 1] : null;
    if (top === null) {
      layer().hidden = true;
      layer().replaceChildren();
      shown = null;
      return;
    }
    const key = keyOf(top);
    if (shown && shown.key === key) return;
    const keep = shown && shown.id === top.id ? typed() : {};
    const view = top.view;
    const ctx = { names: app.names(), people: app.people(), inputs: [], errors: top.errors, onAction: () => {} };
    const dialog = el("div", "modal");
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    const title = el("h2", "modal-title", (view.title && view.title.text) || "");
    dialog.setAttribute("aria-label", title.textContent);
    const form = el("form", "modal-body");
    if (top.errors && top.errors[""]) form.append(el("div", "modal-error", top.errors[""]));
    form.append(SB.renderBlocks(view.blocks || [], ctx).node);
    const inputs = ctx.inputs;
    for (const input of inputs) {
      if (keep[input.blockId] !== undefined) input.node.value = keep[input.blockId];
    }
    const footer = el("div", "modal-footer");
    const cancel = el("button", "modal-cancel", (view.close && view.close.text) || "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", () => app.post("/api/close", { view: top.id }));
    footer.append(cancel);
    if (view.submit) {
      const submit = el("button", "modal-submit", view.submit.text);
      submit.type = "submit";
      footer.append(submit);
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!view.submit || !required(inputs)) return;
      form.querySelectorAll("button").forEach((b) => (b.disabled = true));
      app.post("/api/submit", { view: top.id, values: values(inputs) }).finally(() => {
        form.querySelectorAll("button").forEach((b) => (b.disabled = false));
      });
    });
    form.append(footer);
    dialog.append(title, form);
    layer().replaceChildren(dialog);
    layer().hidden = false;
    shown = { id: top.id, key: key, inputs: inputs };
    const first = form.querySelector("input, textarea, select");
    if (first) first.focus();
  };

  // A button's confirm object as a dialog; resolves true when the person confirms.
  SB.confirm = function (confirm, names) {
    return new Promise((resolve) => {
      const holder = document.getElementById("confirm-layer");
      const dialog = el("div", "modal confirm");
      dialog.setAttribute("role", "alertdialog");
      dialog.setAttribute("aria-modal", "true");
      const title = el("h2", "modal-title", (confirm.title && confirm.title.text) || "Are you sure?");
      const text = confirm.text && confirm.text.type === "mrkdwn" ? SB.mrkdwn(confirm.text.text, names) : SB.plainText(confirm.text && confirm.text.text);
      const body = el("div", "modal-body");
      body.append(text);
      const footer = el("div", "modal-footer");
      const deny = el("button", "modal-cancel", (confirm.deny && confirm.deny.text) || "Cancel");
      const yes = el("button", "modal-submit" + (confirm.style === "danger" ? " bk-danger" : ""), (confirm.confirm && confirm.confirm.text) || "Yes");
      deny.type = yes.type = "button";
      const close = (answer) => {
        holder.hidden = true;
        holder.replaceChildren();
        resolve(answer);
      };
      deny.addEventListener("click", () => close(false));
      yes.addEventListener("click", () => close(true));
      footer.append(deny, yes);
      body.append(footer);
      dialog.append(title, body);
      holder.replaceChildren(dialog);
      holder.hidden = false;
      yes.focus();
    });
  };
})(window.SB);
