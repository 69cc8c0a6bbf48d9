// Typed values in the page: the shop's order events carry their fields (hover a cell), and
// C03 is solved by hand by choosing the field the key is taken from.
const { test, expect } = require('@playwright/test');
const { fresh, advance, openTab, closeDrawer, setConfig, openLevel, snap } = require('./helpers');

test('C03 by hand: keyed by order, a customer goes out of order; keyed by customer, solved', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openLevel(page, 'C03');
  await closeDrawer(page);
  await advance(page, 20);
  // Each cell's hover names its order, customer and event type; the card names the key.
  const title = await page.locator('.lab-cell title').first().textContent();
  expect(title).toMatch(/value \{"order_id": "order-\d+", "customer_id": "customer-\d+", "type": "(created|paid|cancelled)", "amount": \d+\}/);
  expect(title).toMatch(/key order-\d+/);
  await expect(page.locator('.lab-stage')).toContainText('key order_id');
  await snap(page, 'values-keyed-by-order');
  await advance(page, 40);
  await expect(page.getByTestId('goal-status')).not.toHaveText('Solved!');

  await openTab(page, 'setup');
  await setConfig(page, 'key.field', 'customer_id');
  await closeDrawer(page);
  await expect(page.locator('.lab-stage')).toContainText('key customer_id');
  const keyed = await page.locator('.lab-cell title').first().textContent();
  expect(keyed).toMatch(/key customer-\d+/);
  await advance(page, 60);
  await expect(page.getByTestId('goal-status')).toHaveText('Solved!');
  await snap(page, 'values-keyed-by-customer');
  // The application charges each paid order to its customer, whatever the key.
  await openTab(page, 'groups');
  await expect(page.locator('.lab-panel__subtitle').filter({ hasText: 'balance per customer' })).toHaveCount(1);
  await expect(page.locator('[data-testid="effects-table"] tbody tr').first()).toContainText('customer-');
  await page.getByTestId('effects-table').scrollIntoViewIfNeeded();
  await snap(page, 'values-balances');
});

test('values=orders in Setup turns the records into order events keyed by order id', async ({ page }) => {
  await fresh(page);
  await openTab(page, 'setup');
  await setConfig(page, 'values', 'orders');
  await expect(page.locator('[data-config="key.field"]')).toHaveValue('order_id');
  await closeDrawer(page);
  await advance(page, 5);
  const title = await page.locator('.lab-cell title').first().textContent();
  expect(title).toContain('"order_id"');
});

test('C23 by hand: a composite key spreads the big tenant and keeps each order in order', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openLevel(page, 'C23');
  await openTab(page, 'setup');
  await setConfig(page, 'key.field', 'customer_id+order_id');
  await closeDrawer(page);
  await expect(page.locator('.lab-stage')).toContainText('key customer_id+order_id');
  await advance(page, 60);
  await expect(page.getByTestId('goal-status')).toHaveText('Solved!');
  await snap(page, 'values-composite-key');
});
