/*
 * llama-serve playground: a small Markdown renderer for model output.
 *
 * Escaping-first by construction: it never parses HTML. It builds DOM nodes with createElement and
 * createTextNode, so any "<script>" or "<img onerror>" in the text stays literal text. Supported:
 * fenced code blocks (``` or ~~~, unterminated ones run to the end while streaming), bullet and
 * numbered lists (nested by indentation), block quotes, headings, horizontal rules, paragraphs with
 * line breaks, and inline `code`, **bold**, *italic*, ~~strike~~ and [links](https://...) (http and
 * https only, opened in a new tab without a referrer). Nesting is capped (MAX_DEPTH quotes or lists, as many
 * inline spans): deeper markers stay text, so no output ("> > > ..." 3,000 times) can build a DOM deep enough to
 * crash the tab.
 */
(function (global) {
  'use strict';

  var FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
  var HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  var RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
  var ITEM = /^( *)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  var QUOTE = /^ {0,3}>\s?(.*)$/;
  var LINK = /^\[([^\]\n]+)\]\((https?:\/\/[^\s()<>]+)\)/;
  var PUNCT = /[!-\/:-@\[-`{-~]/;
  var MAX_DEPTH = 16;

  function el(doc, tag, parent) {
    var e = doc.createElement(tag);
    if (parent) parent.appendChild(e);
    return e;
  }

  function startsBlock(line) {
    return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || ITEM.test(line) || QUOTE.test(line);
  }

  function indentOf(line) {
    return line.length - line.replace(/^ +/, '').length;
  }

  /** Renders lines as blocks into parent, depth quotes and lists deep (beyond MAX_DEPTH: one plain paragraph). */
  function blocks(doc, lines, parent, depth) {
    depth = depth || 0;
    if (depth >= MAX_DEPTH) {
      el(doc, 'p', parent).appendChild(doc.createTextNode(lines.join('\n')));
      return;
    }
    var i = 0;
    while (i < lines.length) {
      var line = lines[i];
      var m;
      if (/^\s*$/.test(line)) { i++; continue; }
      if ((m = FENCE.exec(line))) { i = fence(doc, lines, i, m, parent); continue; }
      if ((m = HEADING.exec(line))) {
        inline(doc, m[2], el(doc, 'h' + Math.min(6, m[1].length + 2), parent));
        i++;
        continue;
      }
      if (RULE.test(line)) { el(doc, 'hr', parent); i++; continue; }
      if ((m = ITEM.exec(line))) { i = list(doc, lines, i, parent, depth); continue; }
      if (QUOTE.test(line)) {
        var quoted = [];
        while (i < lines.length && (m = QUOTE.exec(lines[i]))) { quoted.push(m[1]); i++; }
        blocks(doc, quoted, el(doc, 'blockquote', parent), depth + 1);
        continue;
      }
      var para = [line];
      i++;
      while (i < lines.length && !/^\s*$/.test(lines[i]) && !startsBlock(lines[i])) { para.push(lines[i]); i++; }
      inline(doc, para.join('\n'), el(doc, 'p', parent));
    }
  }

  function fence(doc, lines, i, m, parent) {
    var marker = m[1];
    var body = [];
    i++;
    while (i < lines.length) {
      var close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[i]);
      if (close && close[1].charAt(0) === marker.charAt(0) && close[1].length >= marker.length) { i++; break; }
      body.push(lines[i]);
      i++;
    }
    var pre = el(doc, 'pre', parent);
    var code = el(doc, 'code', pre);
    if (m[2]) {
      code.className = 'language-' + m[2];
      pre.setAttribute('data-lang', m[2]);
    }
    code.appendChild(doc.createTextNode(body.join('\n')));
    return i;
  }

  function list(doc, lines, i, parent, depth) {
    var first = ITEM.exec(lines[i]);
    var ordered = /\d/.test(first[2]);
    var indent = first[1].length;
    var listEl = el(doc, ordered ? 'ol' : 'ul', parent);
    if (ordered && parseInt(first[2], 10) !== 1) listEl.setAttribute('start', String(parseInt(first[2], 10)));
    while (i < lines.length) {
      var m = ITEM.exec(lines[i]);
      if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
      var contentIndent = m[1].length + m[2].length + 1;
      var body = [m[3]];
      i++;
      while (i < lines.length) {
        var line = lines[i];
        if (/^\s*$/.test(line)) {
          var next = lines[i + 1];
          if (next !== undefined && !/^\s*$/.test(next) && indentOf(next) > indent) { body.push(''); i++; continue; }
          if (next !== undefined && ITEM.test(next) && indentOf(next) === indent) i++;
          break;
        }
        var item = ITEM.exec(line);
        if (item && item[1].length <= indent) break;
        if (!item && indentOf(line) <= indent && startsBlock(line)) break;
        body.push(line.slice(Math.min(indentOf(line), contentIndent)));
        i++;
      }
      var li = el(doc, 'li', listEl);
      if (body.length === 1) {
        inline(doc, body[0], li);
      } else {
        blocks(doc, body, li, depth + 1);
      }
    }
    return i;
  }

  function inline(doc, text, parent, depth) {
    depth = depth || 0;
    if (depth >= MAX_DEPTH) {
      parent.appendChild(doc.createTextNode(text));
      return;
    }
    var buf = '';
    function flush() {
      if (buf) { parent.appendChild(doc.createTextNode(buf)); buf = ''; }
    }
    var i = 0;
    while (i < text.length) {
      var c = text.charAt(i);
      var rest = text.slice(i);
      var m;
      if (c === '\\' && i + 1 < text.length && PUNCT.test(text.charAt(i + 1))) {
        buf += text.charAt(i + 1);
        i += 2;
        continue;
      }
      if (c === '\n') { flush(); el(doc, 'br', parent); i++; continue; }
      if (c === '`') {
        var run = /^`+/.exec(rest)[0];
        var end = findRun(text, run, i + run.length);
        if (end >= 0) {
          flush();
          var code = text.slice(i + run.length, end).replace(/\n/g, ' ');
          if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
          el(doc, 'code', parent).appendChild(doc.createTextNode(code));
          i = end + run.length;
          continue;
        }
        buf += run;
        i += run.length;
        continue;
      }
      if ((m = LINK.exec(rest))) {
        flush();
        var a = el(doc, 'a', parent);
        a.setAttribute('href', m[2]);
        a.setAttribute('target', '_blank');
        a.setAttribute('rel', 'noopener noreferrer nofollow');
        inline(doc, m[1], a, depth + 1);
        i += m[0].length;
        continue;
      }
      var span = emphasis(text, i);
      if (span) {
        flush();
        inline(doc, span.inner, el(doc, span.tag, parent), depth + 1);
        i = span.end;
        continue;
      }
      buf += c;
      i++;
    }
    flush();
  }

  /** The index of the next backtick run exactly as long as run, or -1. */
  function findRun(text, run, from) {
    var re = /`+/g;
    re.lastIndex = from;
    var m;
    while ((m = re.exec(text))) {
      if (m[0].length === run.length) return m.index;
    }
    return -1;
  }

  /** **bold**, __bold__, *italic*, _italic_, ~~strike~~ starting at i, or null. */
  function emphasis(text, i) {
    var delims = [['**', 'strong'], ['__', 'strong'], ['~~', 'del'], ['*', 'em'], ['_', 'em']];
    for (var d = 0; d < delims.length; d++) {
      var delim = delims[d][0];
      if (text.substr(i, delim.length) !== delim) continue;
      var after = text.charAt(i + delim.length);
      if (!after || /\s/.test(after)) continue;
      if (delim.charAt(0) === '_' && i > 0 && /[A-Za-z0-9]/.test(text.charAt(i - 1))) continue;
      var from = i + delim.length + 1;
      while (true) {
        var end = text.indexOf(delim, from);
        if (end < 0) break;
        var before = text.charAt(end - 1);
        var next = text.charAt(end + delim.length);
        var okRight = !/\s/.test(before) && !(delim.length === 1 && next === delim);
        if (delim.charAt(0) === '_' && /[A-Za-z0-9]/.test(next)) okRight = false;
        if (okRight) return { tag: delims[d][1], inner: text.slice(i + delim.length, end), end: end + delim.length };
        from = end + 1;
      }
    }
    return null;
  }

  /** The Markdown text as a DocumentFragment of safe nodes. */
  function render(text, doc) {
    doc = doc || global.document;
    var frag = doc.createDocumentFragment();
    var lines = String(text == null ? '' : text).replace(/\r\n?/g, '\n').split('\n');
    blocks(doc, lines, frag);
    return frag;
  }

  /** The rendered HTML as a string (for tests and debugging; the page itself appends the nodes). */
  function toHtml(text) {
    var div = global.document.createElement('div');
    div.appendChild(render(text));
    return div.innerHTML;
  }

  global.LlamaMarkdown = { render: render, toHtml: toHtml };
})(window);
