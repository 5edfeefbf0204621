// The embeddable chat page (served at /embed by assistant/embed.py). It asks POST v1/ask/stream on its
// own origin and renders as the Gradio chat does (ui/render.py): answer sentences with [n] markers that
// open their source card, a note on how the answer was made, the rewritten follow-up, abstentions
// without sources, and a sources panel with the cited words highlighted. Every document and model text
// goes into the page as a text node, never parsed as HTML. An API key comes in the fragment (#key=...).
(() => {
  'use strict';
  // The texts of ui/render.py (tests/test_embed.py checks that they stay the same).
  const KIND_LABELS = {
    extractive: 'Quoted from the documents',
    generative: 'Written by the model from the documents; every sentence checked against its source',
  };
  const SEARCHING = 'Searching the documents…';
  const NOT_IN_DOCUMENTS = 'Not in the documents.';
  const DECLINED = 'Not a question I can answer.';
  const NO_RELEVANT_PASSAGE = 'No passage of the indexed documents is about this question.';
  const NOT_SUPPORTED = 'The passages found do not support an answer to it, so none is given.';
  const FAILED = 'The assistant could not answer.';
  const EMPTY_QUESTION = 'The question is empty. Type a question about the documents.';
  const SENTENCE_END = /[.!?]+["'”’)]*$/;
  const HISTORY_TURNS = 8; // the server uses at most history_turns of them

  const apiKey = new URLSearchParams(location.hash.slice(1)).get('key') || '';
  const chat = document.getElementById('chat');
  const panel = document.getElementById('sources-panel');
  const form = document.getElementById('ask-form');
  const box = document.getElementById('question');
  const askButton = document.getElementById('ask');
  const clearButton = document.getElementById('clear');
  const turns = []; // {question, answer: the /v1/ask Answer JSON, or null while streaming or after a failure}

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children) if (child !== null && child !== undefined && child !== '') node.append(child);
    return node;
  }

  // -- answers (ui/render.py: answer_message, abstention_message, kind_note, rewrite_note) --------
  function markerLinks(turn, ids) {
    return ids.map((i) => el('a', { class: 'cite', href: `#src-${turn}-${i}`, title: `Show source ${i}` }, `[${i}]`));
  }

  function sentenceWithLinks(sentence, turn, ids) {
    if (!ids.length) return [sentence];
    const m = SENTENCE_END.exec(sentence);
    const body = m ? sentence.slice(0, m.index) : sentence;
    const end = m ? sentence.slice(m.index) : '';
    return [`${body} `, ...markerLinks(turn, ids), end];
  }

  function rewriteNote(standalone, asked) {
    if (!standalone || standalone.trim() === (asked || '').trim()) return null;
    return el('small', { class: 'rewrite' }, `Searched for: “${standalone}”`);
  }

  function kindNote(answer) {
    let label = KIND_LABELS[answer.answer_kind] || '';
    if (answer.notice) label = label ? `${label}. ${answer.notice}` : answer.notice;
    return label ? el('small', { class: 'kind' }, label) : null;
  }

  function abstention(answer) {
    if (answer.answer_kind === 'declined') return el('div', { class: 'abstain' }, el('strong', {}, DECLINED), ` ${answer.answer}`);
    const why = (answer.abstention_reason || '').startsWith('no passage is relevant') ? NO_RELEVANT_PASSAGE : NOT_SUPPORTED;
    return el('div', { class: 'abstain' }, el('strong', {}, NOT_IN_DOCUMENTS), ` ${answer.answer} ${why}`);
  }

  function answerNodes(answer, turn) {
    const out = [];
    if (answer.abstained) {
      out.push(abstention(answer));
    } else {
      const parts = [];
      (answer.sentences || []).forEach((sentence, i) => {
        const ids = [...new Set(answer.citations.filter((c) => c.sentence_index === i).map((c) => c.passage_id))]
          .sort((a, b) => a - b);
        if (parts.length) parts.push(' ');
        parts.push(...sentenceWithLinks(sentence, turn, ids));
      });
      out.push(el('span', { class: 'answer' }, ...(parts.length ? parts : [answer.answer])));
      out.push(kindNote(answer));
    }
    out.push(rewriteNote(answer.standalone_question, answer.question));
    return out.filter(Boolean);
  }

  function streamingNodes(state, question) {
    return [state.sentences.length ? el('span', { class: 'answer' }, state.sentences.join(' ')) : null,
      el('small', { class: 'status' }, state.status), rewriteNote(state.rewrite, question)].filter(Boolean);
  }

  function errorNode(detail) {
    return el('div', { class: 'error' }, el('strong', {}, FAILED), ` ${detail}`);
  }

  // -- sources panel (ui/render.py: quote_spans, highlighted, _card, sources_section) ------------
  // Offsets are in characters (code points), as in Python; Array.from splits a string into them.
  function quoteSpans(passage, citations) {
    const chars = Array.from(passage.text);
    const spans = [];
    for (const c of citations) {
      let s = c.start - passage.start;
      let e = c.end - passage.start;
      if (!(s >= 0 && s < e && e <= chars.length && chars.slice(s, e).join('') === c.quote)) {
        const at = c.quote ? passage.text.indexOf(c.quote) : -1;
        if (at < 0) continue;
        s = Array.from(passage.text.slice(0, at)).length;
        e = s + Array.from(c.quote).length;
      }
      spans.push([s, e]);
    }
    spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const merged = [];
    for (const [s, e] of spans) {
      const last = merged[merged.length - 1];
      if (last && s <= last[1]) last[1] = Math.max(e, last[1]);
      else merged.push([s, e]);
    }
    return merged;
  }

  function highlighted(text, spans) {
    const chars = Array.from(text);
    const out = [];
    let pos = 0;
    for (const [s, e] of spans) {
      out.push(chars.slice(pos, s).join(''), el('mark', { class: 'quote' }, chars.slice(s, e).join('')));
      pos = e;
    }
    out.push(chars.slice(pos).join(''));
    return out;
  }

  function card(turn, p, citations) {
    const n = (x) => x.toLocaleString('en-US');
    const header = el('header', {}, el('span', { class: 'src-num' }, `[${p.passage_id}]`), ' ',
      el('span', { class: 'src-name' }, p.source), ' ',
      ...(p.page !== null && p.page !== undefined ? [el('span', { class: 'src-page' }, `page ${p.page}`), ' '] : []),
      el('span', { class: 'src-loc' }, `characters ${n(p.start)}–${n(p.end)}`), ' ',
      el('span', { class: 'src-score', title: 'Cosine similarity of question and passage' }, `score ${p.score.toFixed(2)}`));
    return el('article', { class: 'src-card', id: `src-${turn}-${p.passage_id}`, 'data-passage': p.passage_id },
      header, el('p', { class: 'src-text' }, ...highlighted(p.text, quoteSpans(p, citations))));
  }

  function sourcesSection(answer, turn, visible) {
    const citedIds = [...new Set(answer.citations.map((c) => c.passage_id))].sort((a, b) => a - b);
    const cited = citedIds.map((i) => answer.passages.find((p) => p.passage_id === i)).filter(Boolean);
    const others = answer.passages.filter((p) => !citedIds.includes(p.passage_id));
    const section = el('section', { class: 'src-turn', 'data-turn': turn, hidden: !visible },
      el('p', { class: 'src-for' }, `Sources for “${answer.question}”`),
      ...cited.map((p) => card(turn, p, answer.citations.filter((c) => c.passage_id === p.passage_id))));
    if (others.length) {
      section.append(el('details', { class: 'src-uncited' },
        el('summary', {}, `Retrieved but not cited (${others.length})`), ...others.map((p) => card(turn, p, []))));
    }
    return section;
  }

  function renderPanel() {
    if (!turns.length) {
      panel.replaceChildren(el('p', { class: 'src-hint' },
        'Sources appear here: each passage an answer cites, with the supporting words highlighted.'));
      return;
    }
    const last = turns.length - 1;
    panel.replaceChildren(...turns.map((t, i) => (t.answer && !t.answer.abstained ? sourcesSection(t.answer, i, i === last) : null))
      .filter(Boolean));
  }

  function showSource(turn, passage) {
    panel.querySelectorAll('section.src-turn').forEach((s) => { s.hidden = s.dataset.turn !== turn; });
    const target = document.getElementById(`src-${turn}-${passage}`);
    if (!target) return;
    const details = target.closest('details');
    if (details) details.open = true;
    panel.querySelectorAll('.src-card.active').forEach((c) => c.classList.remove('active'));
    target.classList.add('active');
    target.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  }

  chat.addEventListener('click', (ev) => {
    const a = ev.target.closest ? ev.target.closest('a.cite') : null;
    const m = a ? /^#src-(\d+)-(\d+)$/.exec(a.getAttribute('href') || '') : null;
    if (!m) return;
    ev.preventDefault(); // the fragment stays as it is (it may hold the key)
    showSource(m[1], m[2]);
  });

  // -- asking -------------------------------------------------------------------------------------
  // Server-Sent Events of a fetch response: [event, data] pairs; comment lines (heartbeats) skipped.
  async function* sseEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let carry = '';
    for (;;) {
      const { value, done } = await reader.read();
      let text = carry + decoder.decode(value || new Uint8Array(), { stream: !done });
      carry = !done && text.endsWith('\r') ? '\r' : '';
      if (carry) text = text.slice(0, -1);
      buffer += text.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (!line || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let v = colon < 0 ? '' : line.slice(colon + 1);
          if (v.startsWith(' ')) v = v.slice(1);
          if (field === 'event') event = v;
          else if (field === 'data') data.push(v);
        }
        if (data.length) yield [event, JSON.parse(data.join('\n'))];
      }
      if (done) return;
    }
  }

  async function failureText(response) {
    try {
      const body = await response.json();
      if (body && body.message) return body.message;
    } catch (err) { /* not JSON */ }
    return `The server answered HTTP ${response.status}. Try again later.`;
  }

  function setBusy(busy) {
    askButton.disabled = busy;
    clearButton.disabled = busy;
    form.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  async function ask(question) {
    const turn = turns.length;
    const history = turns.filter((t) => t.answer).slice(-HISTORY_TURNS)
      .map((t) => ({ question: t.answer.standalone_question || t.answer.question, answer: t.answer.answer }));
    turns.push({ question, answer: null });
    const bot = el('div', { class: 'msg bot-row', 'data-turn': turn });
    chat.append(el('div', { class: 'msg user-row' }, question), bot);
    const state = { sentences: [], rewrite: '', status: SEARCHING };
    bot.replaceChildren(...streamingNodes(state, question));
    chat.scrollTop = chat.scrollHeight;
    setBusy(true);
    try {
      const headers = { 'Content-Type': 'application/json', Accept: 'text/event-stream' };
      if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
      let response;
      try {
        response = await fetch('v1/ask/stream', { method: 'POST', headers, body: JSON.stringify({ question, history }) });
      } catch (err) {
        throw new Error(`The assistant could not be reached (${err.message}). Check the connection and try again.`);
      }
      if (!response.ok) throw new Error(await failureText(response));
      let answer = null;
      for await (const [event, data] of sseEvents(response)) {
        if (event === 'rewrite') state.rewrite = data.text;
        else if (event === 'queued') state.status = `The model is answering other questions: yours is number ${data.position || 1} in line and starts when those before it are answered…`;
        else if (event === 'sentence') state.sentences.push(data.text);
        else if (event === 'error') throw new Error(data.message || 'Answering failed; try again.');
        else if (event === 'final') { answer = data; break; }
        bot.replaceChildren(...streamingNodes(state, question));
      }
      if (!answer) throw new Error('The answer stopped before it was complete; try again.');
      turns[turn].answer = answer;
      bot.replaceChildren(...answerNodes(answer, turn));
    } catch (err) {
      bot.replaceChildren(errorNode(err.message));
    } finally {
      renderPanel();
      setBusy(false);
      chat.scrollTop = chat.scrollHeight;
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (askButton.disabled) return;
    const question = box.value;
    if (!question.trim()) {
      box.setCustomValidity(EMPTY_QUESTION);
      box.reportValidity();
      return;
    }
    box.value = '';
    ask(question.trim());
  });
  box.addEventListener('input', () => box.setCustomValidity(''));
  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  clearButton.addEventListener('click', () => {
    turns.length = 0;
    chat.replaceChildren();
    renderPanel();
    box.focus();
  });
  document.documentElement.dataset.ready = 'true'; // the form answers from now on (tests wait for it)
})();
