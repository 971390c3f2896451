// Block Kit, rendered: header, section (text, fields, accessory), context, divider, image,
// actions (buttons with styles and confirm dialogs, select menus) and, in modals, inputs
// (plain text, users select, static select). A block or element the page does not know is
// marked, and the message's fallback text is shown with it: nothing is dropped.
"use strict";

window.SB = window.SB || {};

(function (SB) {
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  SB.el = el;

  function textObject(object, ctx) {
    if (!object) return el("span");
    if (typeof object === "string") return SB.plainText(object);
    return object.type === "mrkdwn" ? SB.mrkdwn(object.text, ctx.names) : SB.plainText(object.text);
  }

  function plain(object) {
    if (!object) return "";
    return SB.emoji(typeof object === "string" ? object : String(object.text || ""));
  }

  // Files the bot uploaded are served by this page; nothing is fetched from elsewhere.
  function imageSource(element) {
    if (element.slack_file && element.slack_file.id) return "/files/" + encodeURIComponent(element.slack_file.id) + "/image";
    const url = element.image_url || (element.slack_file && element.slack_file.url) || "";
    try {
      const parsed = new URL(url, location.href);
      if (parsed.pathname.startsWith("/files/")) return parsed.pathname;
    } catch (error) {
      return null;
    }
    return null;
  }

  function image(element, className) {
    const source = imageSource(element);
    if (source === null) {
      return el("span", "bk-external-image", "[image: " + (element.alt_text || "no description") + "; not loaded offline]");
    }
    const img = el("img", className);
    img.src = source;
    img.alt = element.alt_text || "";
    return img;
  }

  function button(element, ctx, blockIndex, elementIndex) {
    const node = el("button", "bk-button" + (element.style ? " bk-" + element.style : ""), plain(element.text));
    node.type = "button";
    node.dataset.actionId = element.action_id || "";
    node.disabled = !!ctx.disabled;
    node.addEventListener("click", () => {
      if (element.url && SB.safeUrl(element.url)) window.open(element.url, "_blank", "noopener");
      ctx.onAction(blockIndex, elementIndex, element, null);
    });
    return node;
  }

  function menu(element, ctx, blockIndex, elementIndex) {
    const select = el("select", "bk-select");
    select.disabled = !!ctx.disabled;
    select.dataset.actionId = element.action_id || "";
    const placeholder = el("option", null, element.type === "overflow" ? "⋯" : plain(element.placeholder) || "Choose…");
    placeholder.value = "";
    select.append(placeholder);
    allOptions(element).forEach((option) => {
      const node = el("option", null, plain(option.text));
      node.value = option.value;
      select.append(node);
    });
    select.addEventListener("change", () => {
      if (select.value) ctx.onAction(blockIndex, elementIndex, element, select.value);
    });
    return select;
  }

  function allOptions(element) {
    const groups = element.option_groups || [];
    return (element.options || []).concat(...groups.map((group) => group.options || []));
  }

  function interactive(element, ctx, blockIndex, elementIndex) {
    if (element.type === "button") return button(element, ctx, blockIndex, elementIndex);
    if (element.type === "static_select" || element.type === "overflow") {
      return menu(element, ctx, blockIndex, elementIndex);
    }
    if (element.type === "image") return image(element, "bk-accessory-image");
    return null;
  }

  const BLOCKS = {
    header(block) {
      return el("div", "bk-header", plain(block.text));
    },
    divider() {
      return el("hr", "bk-divider");
    },
    image(block) {
      const figure = el("figure", "bk-image");
      if (block.title) figure.append(el("figcaption", null, plain(block.title)));
      figure.append(image(block, null));
      return figure;
    },
    context(block, ctx) {
      const node = el("div", "bk-context");
      for (const element of block.elements || []) {
        if (element.type === "image") node.append(image(element, "bk-context-image"));
        else if (element.type === "mrkdwn" || element.type === "plain_text") node.append(textObject(element, ctx));
        else return null;
      }
      return node;
    },
    section(block, ctx, index) {
      const node = el("div", "bk-section");
      const body = el("div", "bk-section-body");
      if (block.text) body.append(textObject(block.text, ctx));
      if (block.fields && block.fields.length) {
        const fields = el("div", "bk-fields");
        block.fields.forEach((field) => fields.append(textObject(field, ctx)));
        body.append(fields);
      }
      node.append(body);
      if (block.accessory) {
        const accessory = interactive(block.accessory, ctx, index, null);
        if (accessory === null) return null;
        accessory.classList.add("bk-accessory");
        node.append(accessory);
      }
      return node;
    },
    actions(block, ctx, index) {
      const node = el("div", "bk-actions");
      for (const [n, element] of (block.elements || []).entries()) {
        const control = interactive(element, ctx, index, n);
        if (control === null || element.type === "image") return null;
        node.append(control);
      }
      return node;
    },
    input(block, ctx) {
      return ctx.inputs ? SB.input(block, ctx) : null;
    },
  };

  // The blocks as DOM, and whether every one of them could be shown.
  SB.renderBlocks = function (blocks, ctx) {
    const root = el("div", "bk");
    let complete = true;
    blocks.forEach((block, index) => {
      const render = BLOCKS[block.type];
      const node = render ? render(block, ctx, index) : null;
      if (node === null) {
        complete = false;
        root.append(el("div", "bk-unsupported", "[a " + block.type + " block the sandbox does not draw]"));
      } else {
        root.append(node);
      }
    });
    return { node: root, complete: complete };
  };

  // A message's body: its blocks, or its text; the fallback text too when a block is unknown.
  SB.messageBody = function (message, ctx) {
    if (!message.blocks || !message.blocks.length) return SB.mrkdwn(message.text, ctx.names);
    const rendered = SB.renderBlocks(message.blocks, ctx);
    if (!rendered.complete) {
      const fallback = el("div", "bk-fallback");
      fallback.append(el("div", "bk-fallback-label", "Fallback text:"));
      fallback.append(SB.mrkdwn(message.text, ctx.names));
      rendered.node.append(fallback);
    }
    return rendered.node;
  };

  // -- inputs (modals) -------------------------------------------------------------------

  function control(element, ctx) {
    if (element.type === "plain_text_input") {
      const field = el(element.multiline ? "textarea" : "input", "bk-input");
      if (element.multiline) field.rows = 6;
      field.value = element.initial_value || "";
      if (element.max_length) field.maxLength = element.max_length;
      if (element.placeholder) field.placeholder = plain(element.placeholder);
      return { node: field, state: () => ({ type: element.type, value: field.value.trim() ? field.value : null }) };
    }
    if (element.type === "users_select") {
      const select = el("select", "bk-select");
      const none = el("option", null, plain(element.placeholder) || "Choose a person");
      none.value = "";
      select.append(none);
      ctx.people.forEach((person) => {
        const option = el("option", null, person.name + (person.in_manifest ? "" : " (not in the manifest)"));
        option.value = person.id;
        select.append(option);
      });
      select.value = element.initial_user || "";
      return { node: select, state: () => ({ type: element.type, selected_user: select.value || null }) };
    }
    if (element.type === "static_select") {
      const select = menu(element, { disabled: false, onAction: () => {} }, 0, 0);
      const options = allOptions(element);
      if (element.initial_option) select.value = element.initial_option.value;
      return {
        node: select,
        state: () => ({ type: element.type, selected_option: options.find((o) => o.value === select.value) || null }),
      };
    }
    return null;
  }

  SB.input = function (block, ctx) {
    const element = block.element || {};
    const made = control(element, ctx);
    if (made === null) return null;
    const blockId = block.block_id || "b" + ctx.inputs.length;
    const wrapper = el("label", "bk-input-block");
    const label = el("span", "bk-label", plain(block.label));
    if (block.optional) label.append(el("span", "bk-optional", " (optional)"));
    wrapper.append(label, made.node);
    if (block.hint) wrapper.append(el("span", "bk-hint", plain(block.hint)));
    const problem = ctx.errors && ctx.errors[blockId];
    const error = el("span", "bk-error", problem || "");
    error.hidden = !problem;
    wrapper.append(error);
    ctx.inputs.push({
      blockId: blockId,
      actionId: element.action_id || "input",
      optional: !!block.optional,
      node: made.node,
      state: made.state,
      error: error,
    });
    return wrapper;
  };
})(window.SB);
