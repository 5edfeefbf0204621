// The embeddable chat's launcher (served at /embed.js by assistant/embed.py). On any page,
//   <script src="https://assistant.example.com/embed.js" async></script>
// adds a button at the bottom right that opens the chat page (/embed, next to this script) in an
// iframe. Button and frame live in a shadow root whose styles are !important on the host element, so
// the page's style sheets cannot restyle them and theirs cannot reach the page; the chat itself runs
// in the iframe, on the assistant's own origin. Attributes of the script tag:
//   data-api-key  an API key for the chat to send (only when the assistant has api_keys; README)
//   data-label    the button's text (default "Ask the documents")
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || !script.src || document.querySelector('grounded-assistant-chat')) return; // once per page
  const label = script.dataset.label || 'Ask the documents';
  const page = new URL('embed', script.src);
  if (script.dataset.apiKey) page.hash = `key=${encodeURIComponent(script.dataset.apiKey)}`;

  const CSS = `
    :host { all: initial !important; position: fixed !important; right: 20px !important; bottom: 20px !important;
      z-index: 2147483647 !important; display: flex !important; flex-direction: column !important;
      align-items: flex-end !important; gap: 10px !important; font: 14px/1.4 system-ui, sans-serif !important; }
    .panel { width: min(400px, calc(100vw - 40px)); height: min(600px, calc(100vh - 100px)); border: 1px solid #d1d5db;
      border-radius: 12px; overflow: hidden; background: #fff; box-shadow: 0 8px 30px rgba(0, 0, 0, 0.2); }
    .panel[hidden] { display: none; }
    iframe { display: block; width: 100%; height: 100%; border: 0; }
    .launcher { all: initial; cursor: pointer; font: 600 14px/1 system-ui, sans-serif; color: #fff; background: #2563eb;
      padding: 12px 18px; border-radius: 999px; box-shadow: 0 4px 14px rgba(0, 0, 0, 0.25); }
    .launcher:focus-visible { outline: 3px solid #93c5fd; outline-offset: 2px; }`;

  function mount() {
    const host = document.createElement('grounded-assistant-chat');
    const root = host.attachShadow({ mode: 'open' });
    try { // a constructed style sheet: allowed even where the page's CSP forbids inline <style>
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (err) {
      const style = document.createElement('style');
      style.textContent = CSS;
      root.append(style);
    }
    const panel = document.createElement('div');
    panel.className = 'panel';
    panel.hidden = true;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'launcher';
    button.textContent = label;
    button.setAttribute('aria-expanded', 'false');
    button.addEventListener('click', () => {
      if (!panel.firstChild) { // the chat loads on first open
        const frame = document.createElement('iframe');
        frame.title = label;
        frame.src = page.href;
        panel.append(frame);
      }
      panel.hidden = !panel.hidden;
      button.setAttribute('aria-expanded', String(!panel.hidden));
    });
    root.append(panel, button);
    document.body.append(host);
  }

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
