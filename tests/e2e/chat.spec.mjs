// The chat with the fake model (answers by copying the passage sentence that shares the rarest question words, cited) and the real
// MiniLM embeddings over the bundled article. Run by tests/test_ui_browser.py, which then checks
// that the thumbs-down given here is in `assistant feedback export`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ask, botTexts, openBrowser, shot, visibleSections, waitForAnswer } from './helpers.mjs';

test('chat: answer, sources, follow-up, feedback, abstention, clear', async (t) => {
  const { browser, newPage } = await openBrowser();
  const page = await newPage();
  try {
    await t.test('the page shows examples and the settings', async () => {
      assert.ok(await page.locator('#examples').getByText("Who is the junta's investment minister?").isVisible());
      await page.locator('#settings').getByText('Settings').click();
      const settings = await page.locator('#settings-table').innerText();
      assert.match(settings, /scripted-fake/);
      assert.match(settings, /top-k\)?\s*\|?\s*4/);
      await shot(page, 'fake-00-start');
    });

    await t.test('an example question gets a streamed answer with citation markers', async () => {
      await page.locator('#examples').getByText("Who is the junta's investment minister?").click();
      const answer = await waitForAnswer(page, 1);
      const texts = await botTexts(page);
      assert.ok(texts.some((s) => /Searching the documents|Checking the answer/.test(s)),
        `a status was shown while the answer streamed: ${JSON.stringify(texts)}`);
      assert.ok(texts.length >= 2, `the message changed while streaming: ${JSON.stringify(texts)}`);
      const markers = answer.locator('a.cite');
      assert.ok(await markers.count() >= 1, 'the answer has a citation marker');
      assert.match(await markers.first().innerText(), /^\[\d+\]$/);
      assert.equal(await answer.locator('small.rewrite').count(), 0, 'a first question is not rewritten');
      await shot(page, 'fake-01-answer');
    });

    await t.test('a marker opens its source with the supporting span highlighted', async () => {
      const marker = page.locator('#chat .bot-row').last().locator('a.cite').first();
      const href = await marker.getAttribute('href');
      assert.match(href, /^#src-0-\d+$/);
      await marker.click();
      const card = page.locator(href);
      await card.waitFor({ state: 'visible' });
      assert.match(await card.getAttribute('class'), /active/);
      const header = await card.locator('header').innerText();
      assert.match(header, /myanmar-russia-visit\.txt/);
      assert.match(header, /characters [\d,]+–[\d,]+/);
      assert.match(header, /score 0\.\d\d/);
      const quote = (await card.locator('mark.quote').first().innerText()).trim();
      assert.ok(quote.length > 10, 'a quote is highlighted');
      assert.ok((await card.locator('.src-text').innerText()).includes(quote));
      const answerText = await page.locator('#chat .bot-row').last().innerText();
      assert.ok(answerText.includes(quote.replace(/[.!?]$/, '')), 'the highlighted quote supports the answer sentence');
      const uncited = page.locator('#sources-panel details.src-uncited').first();
      assert.match(await uncited.locator('summary').innerText(), /Retrieved but not cited \(\d+\)/);
      assert.equal(await uncited.getAttribute('open'), null, 'passages not cited are collapsed');
      await shot(page, 'fake-02-sources');
    });

    await t.test('a follow-up is rewritten and the rewrite is shown', async () => {
      await ask(page, 'What did he sign?');
      const answer = await waitForAnswer(page, 2);
      const rewrite = await answer.locator('small.rewrite').innerText();
      assert.match(rewrite, /^Searched for: “.+”$/);
      assert.match(rewrite, /investment minister/, 'the rewrite carries the earlier question');
      await shot(page, 'fake-03-follow-up');
    });

    await t.test('a thumbs-down with a comment is stored', async () => {
      await page.locator('#chat button[aria-label="Dislike"]').first().click();
      const box = page.locator("#feedback-box");
      await box.waitFor({ state: 'visible' });
      await page.locator('#feedback-reason').getByText('The answer is wrong').click();
      await page.locator('#feedback-comment textarea').fill('It should name Kan Zaw.');
      await shot(page, 'fake-04-feedback-form');
      await page.locator('#feedback-save').click();
      await page.locator('#feedback-status').getByText('Feedback saved').waitFor();
      await box.waitFor({ state: 'hidden' });
    });

    await t.test('an unanswerable question is an abstention without sources', async () => {
      await ask(page, 'Who won the football World Cup?');
      const answer = await waitForAnswer(page, 3);
      const abstain = answer.locator('div.abstain');
      assert.equal(await abstain.count(), 1, 'the abstention is marked as such');
      assert.match(await abstain.innerText(), /^Not in the documents\. The documents do not contain the answer/);
      assert.equal(await answer.locator('a.cite').count(), 0);
      assert.equal(await visibleSections(page).count(), 0, 'no sources panel for an abstention');
      assert.equal(await page.locator('#chat button[aria-label="Disliked"]').count(), 1,
        'the thumbs-down given earlier is still shown');
      await shot(page, 'fake-05-abstention');
    });

    await t.test('an empty question is explained, as the CLI and API do, and adds no turn', async () => {
      await ask(page, '   ');
      const toast = page.locator('.toast-wrap').getByText('The question is empty. Type a question about the documents.');
      await toast.first().waitFor({ state: 'visible', timeout: 10000 });
      assert.equal(await page.locator('#chat .bot-row').count(), 3, 'no turn was added');
      await shot(page, 'fake-06-empty-question');
    });

    await t.test('an earlier marker still opens its own sources', async () => {
      await page.locator('#chat .bot-row').first().locator('a.cite').first().click();
      assert.equal(await visibleSections(page).count(), 1);
      assert.equal(await visibleSections(page).first().getAttribute('data-turn'), '0');
    });

    await t.test('clear starts a new conversation', async () => {
      await page.locator('#clear').click();
      await page.waitForFunction(() => document.querySelectorAll('#chat .bot-row').length === 0);
      await page.locator('#sources-panel .src-hint').waitFor();
      await shot(page, 'fake-06-cleared');
    });

    assert.deepEqual(page.dialogs, [], 'no dialog opened');
    assert.deepEqual(page.pageErrors, [], 'no script error');
    assert.deepEqual(page.outsideRequests, [], 'no request to any host but 127.0.0.1');
  } finally {
    await browser.close();
  }
});
