// richtext.js — shows chat text with light formatting, built from DOM nodes.
//
// Models and character cards write a little Markdown: *actions* in italics,
// **bold**, `code`, ```fenced``` blocks and "> " quotes (offline replies
// quote passages that way), with [1]-style markers citing sources. This
// turns that into elements and text nodes; nothing is ever parsed as HTML,
// so a message cannot inject markup. Anything else stays as it was typed.

import { h } from './ui.js';

const FENCE = /^\s*```/;
const QUOTE = /^\s*>\s?(.*)$/;
// **bold**, *italic* (not around spaces, so "2 * 3 * 4" stays), `code`, [n].
const INLINE = /\*\*(?!\s)([^*\n]+?)(?<!\s)\*\*|\*(?!\s)([^*\n]+?)(?<!\s)\*|`([^`\n]+)`|\[(\d{1,3})\]/g;

/**
 * Renders text as a fragment of paragraphs, quotes and code blocks. marker,
 * when given, is called with the number of each [n] marker and returns the
 * node to show in its place, or null to leave the marker as text.
 */
export function renderText(text, { marker = null } = {}) {
  const out = document.createDocumentFragment();
  const lines = String(text || '').replace(/\r\n?/g, '\n').split('\n');
  let block = null; // { quote, lines } of the paragraph being collected
  const flush = () => {
    if (!block) return;
    const content = inline(block.lines.join('\n'), marker);
    out.append(block.quote ? h('blockquote', null, content) : h('p', null, content));
    block = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (FENCE.test(line)) {
      flush();
      const code = [];
      // A fence still open (the reply is streaming) runs to the end.
      for (i++; i < lines.length && !FENCE.test(lines[i]); i++) code.push(lines[i]);
      out.append(h('pre', { class: 'rich-code' }, h('code', null, code.join('\n'))));
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    const q = QUOTE.exec(line);
    if (block && block.quote !== Boolean(q)) flush();
    if (!block) block = { quote: Boolean(q), lines: [] };
    block.lines.push(q ? q[1] : line);
  }
  flush();
  return out;
}

/** The inline formatting of one paragraph, as nodes. */
function inline(text, marker) {
  const nodes = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    let node = null;
    if (m[1] !== undefined) node = h('strong', null, m[1]);
    else if (m[2] !== undefined) node = h('em', null, m[2]);
    else if (m[3] !== undefined) node = h('code', null, m[3]);
    else if (marker) node = marker(Number(m[4]));
    if (!node) continue; // an uncited [n] stays in the text
    if (m.index > last) nodes.push(text.slice(last, m.index));
    nodes.push(node);
    last = m.index + m[0].length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}
