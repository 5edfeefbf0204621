// Shared steps of the browser tests: open headless Chromium, ask, wait for the answer, screenshot.
// Environment: UI_URL (the running `assistant ui`), SCREENSHOT_DIR, CHROMIUM_PATH (default
// /usr/bin/chromium), ANSWER_TIMEOUT_MS (default 60000).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const UI_URL = process.env.UI_URL;
export const ANSWER_TIMEOUT_MS = Number(process.env.ANSWER_TIMEOUT_MS || 60000);
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || 'artifacts/screenshots';

if (!UI_URL) throw new Error('UI_URL is not set: run the browser tests through pytest (tests/test_ui_browser.py)');

/** Launch Chromium; returns {browser, newPage}. newPage() opens a fresh browser context (a new session). */
export async function openBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  const newPage = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.dialogs = [];
    page.pageErrors = [];
    page.on('dialog', async (d) => { page.dialogs.push(d.message()); await d.dismiss(); });
    page.on('pageerror', (e) => page.pageErrors.push(String(e)));
    // Every request the page makes must stay on this machine (no fonts, analytics or CDNs outside).
    page.outsideRequests = [];
    page.on('request', (r) => {
      const { protocol, hostname } = new URL(r.url());
      const local = ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
      if (!local && !['data:', 'blob:', 'about:'].includes(protocol)) page.outsideRequests.push(r.url());
    });
    await page.goto(UI_URL);
    await page.locator('#question textarea').waitFor();
    await page.evaluate(recordBotTexts);
    return page;
  };
  return { browser, newPage };
}

/** In the page: remember every distinct text the newest assistant message shows (to see streaming). */
function recordBotTexts() {
  window.__botTexts = [];
  const observer = new MutationObserver(() => {
    const rows = document.querySelectorAll('#chat .bot-row');
    const text = rows.length ? rows[rows.length - 1].innerText.trim() : '';
    const seen = window.__botTexts;
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  });
  observer.observe(document.body, { subtree: true, childList: true, characterData: true });
}

/** Type a question and press Enter. */
export async function ask(page, question) {
  const box = page.locator('#question textarea');
  await box.fill(question);
  await box.press('Enter');
}

/** Wait until the newest answer is final: no status line left in it and the Ask button is back. */
export async function waitForAnswer(page, botCount, timeout = ANSWER_TIMEOUT_MS) {
  await page.waitForFunction((n) => {
    const rows = document.querySelectorAll('#chat .bot-row');
    return rows.length >= n && !rows[rows.length - 1].querySelector('small.status')
      && document.querySelector('#ask') && !document.querySelector('#stop');
  }, botCount, { timeout, polling: 200 });
  return page.locator('#chat .bot-row').last();
}

/** The texts the newest assistant message went through (see recordBotTexts). */
export async function botTexts(page) {
  return page.evaluate(() => window.__botTexts.slice());
}

/** Save a full-page screenshot as SCREENSHOT_DIR/<name>.png. */
export async function shot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Sections of the sources panel that are shown. */
export function visibleSections(page) {
  return page.locator('#sources-panel section.src-turn:not([hidden])');
}
