// The embeddable chat on portal pages of other origins (run by tests/test_embed_browser.py).
// UI_URL: `assistant serve` (extractive, api_keys set, embed_origins = PORTAL_URL's origin);
// PORTAL_URL and REFUSED_PORTAL_URL: static servers on other loopback ports serving the same pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { ANSWER_TIMEOUT_MS, shot, UI_URL } from './helpers.mjs';

const PORTAL_URL = process.env.PORTAL_URL;
const REFUSED_PORTAL_URL = process.env.REFUSED_PORTAL_URL;
const WIDGET = 'grounded-assistant-chat';
const HOST_PARTS = ['body', 'h1', 'mark.quote', 'a.cite', 'button.launcher', 'div.panel'];
const STYLE_PROPS = ['font-family', 'font-size', 'color', 'background-color', 'display', 'margin', 'padding',
  'box-sizing', 'width'];

/** Computed styles of the page's own elements (not the widget's). */
async function hostStyles(page) {
  return page.evaluate(([parts, props]) => Object.fromEntries(parts.map((sel) => {
    const cs = getComputedStyle(document.querySelector(sel));
    return [sel, Object.fromEntries(props.map((p) => [p, cs.getPropertyValue(p)]))];
  })), [HOST_PARTS, STYLE_PROPS]);
}

/** Ask in the chat frame and wait for the final answer (no status line left); returns its row. */
async function askInFrame(frame, question, n) {
  await frame.locator('html[data-ready]').waitFor({ state: 'attached' }); // its script has run
  await frame.locator('#question').fill(question);
  await frame.locator('#question').press('Enter');
  const row = frame.locator('#chat .bot-row').nth(n - 1);
  await row.waitFor();
  await row.locator('small.status').waitFor({ state: 'detached', timeout: ANSWER_TIMEOUT_MS });
  return row;
}

/** The first question: a quoted, cited answer whose marker opens its highlighted source. */
async function citedAnswer(frame, name, page) {
  const answer = await askInFrame(frame, "Who is the junta's investment minister?", 1);
  const text = await answer.innerText();
  assert.match(text, /Kan Zaw/);
  assert.match(text, /Quoted from the documents/);
  const marker = answer.locator('a.cite').first();
  assert.match(await marker.innerText(), /^\[\d+\]$/);
  await marker.click();
  const card = frame.locator('#sources-panel .src-card.active');
  await card.waitFor({ state: 'visible' });
  assert.match(await card.getAttribute('id'), /^src-0-\d+$/);
  const header = await card.locator('header').innerText();
  assert.match(header, /myanmar-russia-visit\.txt/);
  assert.match(header, /characters [\d,]+–[\d,]+/);
  assert.match(header, /score 0\.\d\d/);
  assert.match(await card.locator('mark.quote').first().innerText(), /Kan Zaw, the junta’s investment minister/);
  await shot(page, name);
}

test('the chat embedded in portal pages of other origins', async (t) => {
  assert.ok(UI_URL && PORTAL_URL && REFUSED_PORTAL_URL, 'run through pytest: tests/test_embed_browser.py');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  const newPage = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.pageErrors = [];
    page.consoleErrors = [];
    page.outsideRequests = [];
    page.on('pageerror', (e) => page.pageErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') page.consoleErrors.push(m.text()); });
    page.on('request', (r) => {
      const { hostname, protocol } = new URL(r.url());
      if (hostname !== '127.0.0.1' && !['data:', 'blob:', 'about:', 'chrome-error:'].includes(protocol)) {
        page.outsideRequests.push(r.url());
      }
    });
    return page;
  };
  try {
    await t.test('script tag: the launcher opens the chat, which answers with its cited source', async () => {
      const page = await newPage();
      await page.goto(`${PORTAL_URL}plain.html`);
      const before = await hostStyles(page);
      await page.goto(`${PORTAL_URL}script.html`);
      const launcher = page.locator(`${WIDGET} button.launcher`);
      await launcher.waitFor({ state: 'visible' });
      assert.equal(await launcher.innerText(), 'Ask the documents');
      assert.equal(await page.locator(`${WIDGET} iframe`).count(), 0, 'the chat loads only when opened');
      await launcher.click();
      const frame = page.frameLocator(`${WIDGET} iframe`);
      await citedAnswer(frame, 'embed-01-script-tag', page);

      const abstention = await askInFrame(frame, 'How many jet fighters did Myanmar agree to buy?', 2);
      assert.match(await abstention.locator('div.abstain').innerText(), /^Not in the documents\./);
      assert.equal(await abstention.locator('a.cite').count(), 0);
      assert.equal(await frame.locator('#sources-panel section.src-turn:not([hidden])').count(), 0,
        'no sources for an abstention');
      await shot(page, 'embed-02-abstention');

      assert.deepEqual(await hostStyles(page), before, "the widget's styles do not reach the page's elements");
      assert.deepEqual(page.pageErrors, []);
      assert.deepEqual(page.consoleErrors, []);
      assert.deepEqual(page.outsideRequests, []);
      await page.context().close();
    });

    await t.test("a hostile portal style sheet does not restyle the launcher or the chat", async () => {
      const page = await newPage();
      await page.goto(`${PORTAL_URL}hostile.html`);
      const launcher = page.locator(`${WIDGET} button.launcher`);
      await launcher.waitFor({ state: 'visible' });
      const look = await launcher.evaluate((b) => {
        const cs = getComputedStyle(b);
        return { color: cs.color, background: cs.backgroundColor, font: cs.fontFamily };
      });
      assert.deepEqual({ color: look.color, background: look.background }, { color: 'rgb(255, 255, 255)',
        background: 'rgb(37, 99, 235)' });
      assert.doesNotMatch(look.font, /Courier/);
      await launcher.click();
      const box = await page.locator(`${WIDGET} iframe`).boundingBox();
      assert.ok(box.width >= 300 && box.height >= 300, `the panel keeps its size: ${JSON.stringify(box)}`);
      const frame = page.frameLocator(`${WIDGET} iframe`);
      await citedAnswer(frame, 'embed-03-hostile-css', page);
      const inside = await frame.locator('#chat .bot-row').first().evaluate((row) => {
        const cs = getComputedStyle(row);
        return { color: cs.color, background: cs.backgroundColor, font: cs.fontFamily };
      });
      assert.notEqual(inside.color, 'rgb(255, 0, 0)');
      assert.notEqual(inside.background, 'rgb(0, 255, 0)');
      assert.doesNotMatch(inside.font, /Courier/);
      assert.deepEqual(page.pageErrors, []);
      await page.context().close();
    });

    await t.test('iframe URL: the chat in a plain iframe answers with its cited source', async () => {
      const page = await newPage();
      await page.goto(`${PORTAL_URL}iframe.html`);
      const frame = page.frameLocator('#chat-frame');
      await frame.locator('#question').waitFor();
      await citedAnswer(frame, 'embed-04-iframe', page);
      assert.deepEqual(page.consoleErrors, []);
      assert.deepEqual(page.outsideRequests, []);
      await page.context().close();
    });

    await t.test('without the key, the chat says that an API key is required', async () => {
      const page = await newPage();
      await page.goto(`${PORTAL_URL}iframe-nokey.html`);
      const frame = page.frameLocator('#nokey-frame');
      await frame.locator('html[data-ready]').waitFor({ state: 'attached' });
      await frame.locator('#question').fill("Who is the junta's investment minister?");
      await frame.locator('#question').press('Enter');
      const error = frame.locator('#chat .bot-row div.error');
      await error.waitFor({ timeout: ANSWER_TIMEOUT_MS });
      assert.match(await error.innerText(), /^The assistant could not answer\. An API key is required/);
      await page.context().close();
    });

    for (const [name, file, selector] of [['iframe', 'iframe.html', '#chat-frame'],
      ['script tag', 'script.html', `${WIDGET} iframe`]]) {
      await t.test(`a portal origin not in embed_origins cannot frame the chat (${name})`, async () => {
        const page = await newPage();
        const refusal = page.waitForEvent('console', (m) => /frame-ancestors/.test(m.text()));
        await page.goto(`${REFUSED_PORTAL_URL}${file}`);
        if (file === 'script.html') await page.locator(`${WIDGET} button.launcher`).click();
        const message = (await refusal).text();
        assert.match(message, /violates the following Content Security Policy directive/);
        assert.match(message, new RegExp(`"frame-ancestors 'self' ${PORTAL_URL.replace(/\/$/, '')}".*blocked`));
        const handle = await page.locator(selector).elementHandle();
        const frame = await handle.contentFrame();
        assert.equal(await frame.locator('#question').count(), 0, 'the chat page is not shown');
        assert.doesNotMatch(frame.url(), /\/embed/);
        await shot(page, `embed-05-refused-${name.replace(' ', '-')}`);
        await page.context().close();
      });
    }
  } finally {
    await browser.close();
  }
});
