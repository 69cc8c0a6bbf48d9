// Shared steps for the end-to-end specs: driven like a teacher would, with buttons that
// advance virtual time, so every run shows the same thing.
const { expect } = require('@playwright/test');

const shots = '../../target/e2e';
const SESSION_KEY = 'kafka-lab/session/v2';
const PREFS_KEY = 'kafka-lab/prefs/v1';

async function fresh(page, size) {
  if (size) await page.setViewportSize(size);
  await page.goto('/');
  await page.evaluate(() => localStorage.clear());
  await page.goto('/');
  await expect(page.getByTestId('stage')).toBeVisible();
}

async function advance(page, seconds) {
  for (let i = 0; i < seconds / 10; i++) await page.getByTestId('advance-10s').click();
}

async function openTab(page, tab) {
  if ((await page.getByTestId('drawer').count()) === 0) await page.getByTestId('drawer-toggle').click();
  await page.getByTestId(`tab-${tab}`).click();
}

async function closeDrawer(page) {
  if ((await page.getByTestId('drawer').count()) > 0) await page.getByTestId('drawer-close').click();
}

async function commitMode(page, mode) {
  await openTab(page, 'setup');
  await page.getByTestId(`commit-mode-${mode}`).check();
  await closeDrawer(page);
}

async function count(page, name) {
  return Number(await page.getByTestId(`count-${name}-value`).textContent());
}

// The owner of each partition on the stage, from the drawn links: { p0: 'c1', ... }.
async function owners(page) {
  const links = await page.locator('[data-link]').evaluateAll((els) => els.map((e) => e.dataset.link).filter(Boolean));
  return Object.fromEntries(links.map((l) => l.split('-')));
}

// Sets one Setup field as a teacher would: pick it, or type it and press Enter.
async function setConfig(page, name, value) {
  const field = page.locator(`[data-config="${name}"]`);
  if ((await field.evaluate((el) => el.tagName)) === 'SELECT') {
    await field.selectOption(value);
  } else {
    await field.fill(value);
    await field.press('Enter');
    await field.blur();
  }
  await expect(field).toHaveValue(value);
}

// Opens a level from the Levels panel and waits for its strip.
async function openLevel(page, id) {
  await openTab(page, 'levels');
  await page.locator(`[data-level="${id}"]`).click();
  await expect(page.getByTestId('level-strip')).toHaveAttribute('data-level', id);
}

const snap = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, animations: 'disabled' });

module.exports = { shots, SESSION_KEY, PREFS_KEY, fresh, advance, openTab, closeDrawer, commitMode, count, owners, setConfig, openLevel, snap };
