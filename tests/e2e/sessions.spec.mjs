// Two browser sessions at once (fake model): each sees only its own conversation, and a follow-up
// is rewritten from its own session's history.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ask, openBrowser, shot, waitForAnswer } from './helpers.mjs';

const A = "Who is the junta's investment minister?";
const B = 'Which Russian officials is Min Aung Hlaing expected to meet?';

test('two sessions at once keep separate conversations', async () => {
  const { browser, newPage } = await openBrowser();
  try {
    const [pa, pb] = await Promise.all([newPage(), newPage()]);
    await Promise.all([ask(pa, A), ask(pb, B)]);
    await Promise.all([waitForAnswer(pa, 1), waitForAnswer(pb, 1)]);
    const [chatA, chatB] = await Promise.all([pa.locator('#chat').innerText(), pb.locator('#chat').innerText()]);
    assert.ok(chatA.includes(A) && !chatA.includes(B), 'session A shows only its question');
    assert.ok(chatB.includes(B) && !chatB.includes(A), 'session B shows only its question');
    for (const p of [pa, pb]) {
      assert.equal(await p.locator('#chat div.error').count(), 0, await p.locator('#chat').innerText());
    }

    await ask(pb, 'What did he say?');
    const followUp = await waitForAnswer(pb, 2);
    const rewrite = await followUp.locator('small.rewrite').innerText();
    assert.ok(rewrite.includes('Russian officials'), `B's follow-up uses B's history: ${rewrite}`);
    assert.ok(!rewrite.includes('investment minister'), `B's follow-up does not use A's history: ${rewrite}`);
    assert.equal(await pa.locator('#chat .bot-row').count(), 1, "B's follow-up did not reach A");
    assert.match(await pa.locator('#sources-panel').innerText(), /Sources for “Who is the junta's investment minister\?”/);
    await shot(pa, 'sessions-a');
    await shot(pb, 'sessions-b');
    for (const p of [pa, pb]) assert.deepEqual(p.dialogs, []);
  } finally {
    await browser.close();
  }
});
