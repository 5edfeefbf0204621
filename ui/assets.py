"""The chat page's style sheet and script, kept as strings so they ship with the ``ui`` package.

The style sheet goes in a ``<style>`` element of the page header (``gr.mount_gradio_app`` replaces a
``Blocks`` object's own ``css``); the script runs once, as the sources panel's ``js_on_load``.
"""

CSS = """
<style>
#chat a.cite { text-decoration: none; font-weight: 600; font-size: 0.78em; vertical-align: super;
  padding: 0 1px; color: var(--color-accent); cursor: pointer; }
#chat a.cite:hover { text-decoration: underline; }
#chat small.rewrite { display: block; color: var(--body-text-color-subdued); font-size: 0.8em; }
#chat small.status { color: var(--body-text-color-subdued); font-style: italic; }
#chat div.abstain { border-left: 4px solid #9ca3af; padding: 4px 10px; background: var(--background-fill-secondary);
  border-radius: 4px; }
#chat div.error { border-left: 4px solid #dc2626; padding: 4px 10px; }
#sources-panel .src-for { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 0 0 6px; }
#sources-panel .src-hint { color: var(--body-text-color-subdued); font-size: 0.9em; }
#sources-panel .src-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 10px; margin: 0 0 8px; background: var(--background-fill-primary); }
#sources-panel .src-card.active { outline: 2px solid var(--color-accent); outline-offset: 1px; }
#sources-panel .src-card header { display: flex; flex-wrap: wrap; gap: 2px 10px; font-size: 0.8em;
  color: var(--body-text-color-subdued); }
#sources-panel .src-num { font-weight: 700; color: var(--color-accent); }
#sources-panel .src-name { font-weight: 600; color: var(--body-text-color); }
#sources-panel .src-text { white-space: pre-wrap; font-size: 0.9em; line-height: 1.45; margin: 6px 0 0; }
#sources-panel mark.quote { background: #fde68a; color: #111827; border-radius: 2px; padding: 0 1px; }
#sources-panel details.src-uncited > summary { cursor: pointer; font-size: 0.85em;
  color: var(--body-text-color-subdued); margin: 4px 0 8px; }
#sources-panel details.src-uncited .src-card { opacity: 0.85; }
#feedback-box { border: 1px solid var(--border-color-primary); border-radius: 8px; }
</style>
"""

#: Citation markers are ``<a class="cite" href="#src-<turn>-<passage>">``; clicking one shows that
#: turn's section of the sources panel, opens the "not cited" list if needed, and marks the card.
CITE_JS = """
if (!window.__groundedCite) {
  window.__groundedCite = true;
  document.addEventListener('click', (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest('a.cite') : null;
    if (!a) return;
    const m = /^#src-(\\d+)-(\\d+)$/.exec(a.getAttribute('href') || '');
    if (!m) return;
    ev.preventDefault();
    const panel = document.getElementById('sources-panel');
    if (!panel) return;
    panel.querySelectorAll('section.src-turn').forEach((s) => { s.hidden = s.dataset.turn !== m[1]; });
    const card = document.getElementById('src-' + m[1] + '-' + m[2]);
    if (!card) return;
    const details = card.closest('details');
    if (details) details.open = true;
    panel.querySelectorAll('.src-card.active').forEach((c) => c.classList.remove('active'));
    card.classList.add('active');
    card.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  }, true);
}
"""
