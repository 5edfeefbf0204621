// A document with HTML and template syntax in it (fake model, so the answer quotes it): the markup
// is shown as text in the question, the answer and the sources panel, and nothing runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ask, openBrowser, shot, waitForAnswer } from './helpers.mjs';

const IMG = '<img src=x onerror=alert(1)>';

test('markup in documents and questions is shown as text, never run', async () => {
  const { browser, newPage } = await openBrowser();
  const page = await newPage();
  try {
    await page.evaluate(() => { window.__xss = 0; });
    await ask(page, `What does the harbour report show as its logo ${IMG}?`);
    const answer = await waitForAnswer(page, 1);
    assert.ok((await answer.innerText()).includes(IMG), 'the answer shows the tag as text');
    assert.ok(await answer.locator('a.cite').count() >= 1, 'the answer is cited');
    const question = await page.locator('#chat .user-row').first().innerText();
    assert.ok(question.includes(IMG), 'the question shows the tag as text');
    await answer.locator('a.cite').first().click();
    const card = page.locator('#sources-panel .src-card.active');
    const cardText = await card.innerText();
    assert.ok(cardText.includes(IMG), 'the passage shows the tag as text');
    assert.ok(cardText.includes('<script>window.__xss = 1</script>'));
    assert.ok(cardText.includes('${alert(3)}') && cardText.includes('{{value}}'), 'template syntax is shown as text');
    assert.ok((await card.locator('mark.quote').innerText()).includes(IMG), 'the highlighted quote holds the tag');
    await page.waitForTimeout(500);  // give a stray onerror handler time to fire
    const injected = await page.evaluate(() => document.querySelectorAll(
      '#chat img, #sources-panel img, #sources-panel script, #chat script').length);
    assert.equal(injected, 0, 'no element was created from document text');
    assert.equal(await page.evaluate(() => window.__xss), 0, 'no script from the document ran');
    assert.deepEqual(page.dialogs, [], 'no dialog fired');
    await shot(page, 'markup-shown-as-text');
  } finally {
    await browser.close();
  }
});
