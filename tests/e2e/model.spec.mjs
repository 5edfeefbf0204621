// The real default model (SmolLM2-135M via llama.cpp): a question streams to a final answer that is
// either cited with its sources shown or a marked abstention; Stop ends an answer early.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANSWER_TIMEOUT_MS, ask, botTexts, openBrowser, shot, visibleSections, waitForAnswer } from './helpers.mjs';

test('the real model answers through the UI, and Stop stops', async (t) => {
  const { browser, newPage } = await openBrowser();
  const page = await newPage();
  try {
    await t.test('the settings name the model', async () => {
      await page.locator('#settings').getByText('Settings').click();
      assert.match(await page.locator('#settings-table').innerText(), /SmolLM2-135M-Instruct.*llamacpp/);
    });

    await t.test('a question streams to a verified answer or an abstention', async () => {
      await ask(page, 'What did Min Aung Hlaing praise Putin for?');
      const answer = await waitForAnswer(page, 1, ANSWER_TIMEOUT_MS);
      const texts = await botTexts(page);
      assert.ok(texts.some((s) => /Searching the documents|Checking the answer/.test(s)), JSON.stringify(texts));
      const cited = await answer.locator('a.cite').count();
      const abstained = await answer.locator('div.abstain').count();
      assert.equal(Number(cited > 0) + abstained, 1, 'either cited or an abstention');
      if (cited) {
        await answer.locator('a.cite').first().click();
        assert.equal(await visibleSections(page).count(), 1);
        assert.ok((await page.locator('#sources-panel .src-card.active mark.quote').count()) >= 1);
      } else {
        assert.equal(await visibleSections(page).count(), 0);
      }
      await shot(page, 'model-01-answer');
    });

    await t.test('Stop ends the answer and keeps the page usable', async () => {
      await ask(page, 'Who invited Min Aung Hlaing to Russia?');
      await page.locator('#stop').waitFor({ state: 'visible' });
      await page.locator('#stop').click();
      await page.locator('#ask').waitFor({ state: 'visible', timeout: 30000 });
      const last = page.locator('#chat .bot-row').last();
      await last.getByText('Stopped before the answer was complete.').waitFor({ timeout: 30000 });
      assert.equal(await page.locator('#chat .bot-row').count(), 2);
      assert.equal(await last.locator('a.cite').count(), 0, 'a stopped answer has no final citations');
      await shot(page, 'model-02-stopped');
    });
    assert.deepEqual(page.dialogs, []);
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await browser.close();
  }
});
