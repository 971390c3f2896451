// Slack's mrkdwn, minimally: *bold*, _italic_, ~strike~, `code`, ```preformatted```, > quotes,
// links, and <@U…> mentions shown as names. Everything becomes DOM nodes built with
// createTextNode and textContent: no text from a message is ever parsed as HTML.
"use strict";

window.SB = window.SB || {};

(function (SB) {
  const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">" };
  const SAFE_LINK = /^(https?:|mailto:)/i;
  // Spans that open only after a space or punctuation and close before one, as Slack's do:
  // the underscores of ad_performance are not italics.
  const SPANS = { "*": "strong", _: "em", "~": "s" };

  // The shortcodes Switchboard's messages use, and a few more; others stay as typed.
  const EMOJI = {
    "+1": "👍", "-1": "👎", alarm_clock: "⏰", arrow_forward: "▶️", arrow_heading_down: "⤵️",
    arrows_counterclockwise: "🔄", bar_chart: "📊", bell: "🔔", black_large_square: "⬛",
    busts_in_silhouette: "👥", calendar: "📅", chart_with_downwards_trend: "📉",
    chart_with_upwards_trend: "📈", clipboard: "📋", double_vertical_bar: "⏸️", email: "📧",
    envelope: "✉️", eyes: "👀", fire: "🔥", ghost: "👻", heavy_check_mark: "✔️", hourglass: "⌛",
    hourglass_flowing_sand: "⏳", inbox_tray: "📥", incoming_envelope: "📨", information_source: "ℹ️",
    large_blue_square: "🟦", large_green_square: "🟩", large_orange_square: "🟧",
    large_red_square: "🟥", large_yellow_square: "🟨", lock: "🔒", mag: "🔍", memo: "📝",
    no_entry: "⛔", no_entry_sign: "🚫", outbox_tray: "📤", pushpin: "📌", robot_face: "🤖",
    rotating_light: "🚨", speech_balloon: "💬", sunny: "☀️", sunrise: "🌅", tada: "🎉",
    warning: "⚠️", white_check_mark: "✅", x: "❌", zipper_mouth_face: "🤐",
  };

  function decode(text) {
    return text.replace(/&(amp|lt|gt);/g, (entity) => ENTITIES[entity]);
  }

  function emoji(text) {
    return text.replace(/:([a-z0-9_+-]+):/g, (code, name) => EMOJI[name] || code);
  }
  SB.emoji = emoji;

  function isWordChar(ch) {
    return ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
  }

  // Only web and mail addresses become links (never javascript: and the like).
  SB.safeUrl = (url) => SAFE_LINK.test(String(url || ""));

  function link(url, label) {
    if (!SB.safeUrl(url)) return document.createTextNode(label || url);
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.target = "_blank";
    anchor.rel = "noopener noreferrer";
    anchor.textContent = label || url;
    return anchor;
  }

  function mention(text, kind) {
    const span = document.createElement("span");
    span.className = "mention";
    span.textContent = text;
    if (kind) span.dataset.kind = kind;
    return span;
  }

  // <@U123>, <#C123|name>, <!here>, <!date^…|fallback>, <url|label>
  function angle(inner, names) {
    const [target, label] = splitOnce(inner, "|");
    if (target.startsWith("@")) {
      const id = target.slice(1);
      return mention("@" + (names[id] || label || id), "user");
    }
    if (target.startsWith("#")) return mention("#" + (label || target.slice(1)), "channel");
    if (target.startsWith("!")) {
      const word = target.slice(1).split("^")[0];
      return mention(label ? decode(label) : "@" + word, "special");
    }
    return link(decode(target), label ? decode(label) : "");
  }

  function splitOnce(text, separator) {
    const at = text.indexOf(separator);
    return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
  }

  // The next span opening at or after `from`, or null.
  function nextSpan(text, from) {
    for (let i = from; i < text.length; i++) {
      const ch = text[i];
      if (ch === "`" || ch === "<") {
        const end = text.indexOf(ch === "`" ? "`" : ">", i + 1);
        if (end > i + 1) return { start: i, end: end, kind: ch };
      } else if (SPANS[ch] && !isWordChar(text[i - 1]) && text[i + 1] !== " ") {
        let end = text.indexOf(ch, i + 1);
        while (end > 0 && (text[end - 1] === " " || isWordChar(text[end + 1]))) {
          end = text.indexOf(ch, end + 1);
        }
        if (end > i + 1) return { start: i, end: end, kind: ch };
      }
    }
    return null;
  }

  function inline(text, names, into) {
    let at = 0;
    while (at < text.length) {
      const span = nextSpan(text, at);
      if (span === null) break;
      if (span.start > at) into.append(emoji(decode(text.slice(at, span.start))));
      const inner = text.slice(span.start + 1, span.end);
      if (span.kind === "`") {
        const code = document.createElement("code");
        code.textContent = decode(inner);
        into.append(code);
      } else if (span.kind === "<") {
        into.append(angle(inner, names));
      } else {
        const styled = document.createElement(SPANS[span.kind]);
        inline(inner, names, styled);
        into.append(styled);
      }
      at = span.end + 1;
    }
    if (at < text.length) into.append(emoji(decode(text.slice(at))));
  }

  function lines(text, names, into) {
    text.split("\n").forEach((line, n) => {
      const quoted = line.match(/^(&gt;|>) ?(.*)$/);
      if (quoted) {
        const quote = document.createElement("blockquote");
        inline(quoted[2], names, quote);
        into.append(quote);
        return;
      }
      if (n > 0 && !(into.lastChild && into.lastChild.nodeName === "BLOCKQUOTE")) {
        into.append(document.createElement("br"));
      }
      inline(line, names, into);
    });
  }

  // mrkdwn text as a <div class="mrkdwn">; `names` maps user ids to names.
  SB.mrkdwn = function (text, names) {
    const root = document.createElement("div");
    root.className = "mrkdwn";
    const parts = String(text || "").split("```");
    parts.forEach((part, n) => {
      if (n % 2 === 1) {
        const pre = document.createElement("pre");
        pre.textContent = decode(part.replace(/^\n/, ""));
        root.append(pre);
      } else if (part) {
        lines(part, names || {}, root);
      }
    });
    return root;
  };

  // plain_text as Slack shows it (no formatting at all).
  SB.plainText = function (text) {
    const span = document.createElement("span");
    span.className = "plain";
    span.textContent = emoji(String(text || ""));
    return span;
  };
})(window.SB);
