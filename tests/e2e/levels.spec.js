// Lab mode, as a learner and a teacher use it: a challenge solved through the UI only,
// one failed then hinted, narration that advances, a predict round, and a teacher
// verifying a learner's run.
const { test, expect } = require('@playwright/test');
const { fresh, advance, openTab, closeDrawer, openLevel, snap } = require('./helpers');

test('a challenge solved through the UI only: C06, crash without loss', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openLevel(page, 'C06');
  await openTab(page, 'setup');
  await page.getByTestId('commit-mode-after-each-record').check();
  await closeDrawer(page);
  await advance(page, 40);
  await expect(page.getByTestId('goal-status')).toHaveText('Solved!');
  await openTab(page, 'levels');
  await expect(page.locator('[data-level="C06"] .lab-level__state')).toContainText('solved');
  await snap(page, 'level-solved');
});

test('a challenge failed, then its hints one at a time; a setting it does not allow is refused', async ({ page }) => {
  await fresh(page);
  await openLevel(page, 'C06');
  await closeDrawer(page);
  await advance(page, 40);
  await expect(page.getByTestId('goal-status')).toContainText('Goal');
  await expect(page.locator('.lab-goal__item:not(.lab-goal__item--ok)').first()).toBeVisible();
  for (let i = 1; i <= 3; i++) {
    await page.getByTestId('hint').click();
    await expect(page.locator('[data-testid="hints"] li')).toHaveCount(i);
  }
  await expect(page.getByTestId('hint')).toBeDisabled();
  await openTab(page, 'setup');
  // C06 lets the learner change the clients' settings, not the application's speed.
  const field = page.locator('[data-config="processing.ms"]');
  await field.fill('50');
  await field.press('Enter');
  await expect(page.locator('.lab-field__error').first()).toContainText('does not let you change');
});

test("a lesson's narration advances with the run, and its predict round reveals", async ({ page }) => {
  await fresh(page);
  await openLevel(page, 'L13');
  await closeDrawer(page);
  const first = await page.getByTestId('narration').textContent();
  await page.locator('[data-testid="predict"] button').nth(1).click();
  await expect(page.getByTestId('predict')).toContainText('Now play it');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 50);
  const later = await page.getByTestId('narration').textContent();
  expect(later).not.toBe(first);
  await expect(page.getByTestId('reveal')).toContainText('Right.');
  await expect(page.getByTestId('goal-status')).toHaveText('Solved!');
  await snap(page, 'level-lesson');
});

test("a lesson's quiz from seed 003 asks its rounds one at a time, reveals both and keeps the score", async ({ page }) => {
  await fresh(page);
  await openLevel(page, 'L01');
  await closeDrawer(page);
  const predict = page.getByTestId('predict');
  await expect(predict).toContainText('Predict (1 of 2)');
  await predict.getByRole('button', { name: 'All 20 records, from offset 0' }).click();
  await expect(predict).toContainText('Predict (2 of 2)');
  await expect(predict).toContainText('work queue');
  await predict.getByRole('button', { name: /durable log/ }).click();
  await expect(predict).toContainText('All 2 answered');
  // Revealed at the check time (60 s), whether or not the goal was met.
  await advance(page, 60);
  await expect(page.getByTestId('reveal')).toHaveCount(2);
  await expect(page.getByTestId('reveal').nth(0)).toContainText('Right.');
  await expect(page.getByTestId('reveal').nth(1)).toContainText('Right.');
  await snap(page, 'level-quiz');
  await openTab(page, 'levels');
  await expect(page.getByTestId('progress-summary')).toContainText('predictions right: 2 of 2');
});

test('a teacher verifies a learner run: solved, and a run that does nothing is not', async ({ page }) => {
  await fresh(page);
  await openLevel(page, 'L13');
  await closeDrawer(page);
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 30);
  await openTab(page, 'setup');
  await page.getByTestId('export').click();
  const run = await page.getByTestId('session-json').inputValue();
  await openTab(page, 'levels');
  await page.getByTestId('verify-level').selectOption('L13');
  await page.getByTestId('verify-run').fill(run);
  await page.getByTestId('verify').click();
  await expect(page.getByTestId('verdict')).toContainText('L13: solved');
  // The same level's untouched start, as a learner who did nothing would hand it in.
  await page.getByTestId('level-reset').click();
  await openTab(page, 'setup');
  await page.getByTestId('export').click();
  const idle = await page.getByTestId('session-json').inputValue();
  await openTab(page, 'levels');
  await page.getByTestId('verify-run').fill(idle);
  await page.getByTestId('verify').click();
  await expect(page.getByTestId('verdict')).toContainText('not solved');
  await page.getByTestId('verify-run').fill('{"nope": 1}');
  await page.getByTestId('verify').click();
  await expect(page.getByTestId('verdict')).toContainText('cannot grade');
});

test('files: a run downloaded and dropped on Verify is graded; progress goes out and comes back as a file', async ({ page }) => {
  await fresh(page);
  await openLevel(page, 'L13');
  await closeDrawer(page);
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 50);
  await expect(page.getByTestId('goal-status')).toHaveText('Solved!');
  // The learner downloads the run.
  await openTab(page, 'setup');
  const [runDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('run-download').click()]);
  expect(runDownload.suggestedFilename()).toBe('kafka-lab-run.json');
  const runText = require('fs').readFileSync(await runDownload.path(), 'utf8');
  expect(JSON.parse(runText).commands.length).toBeGreaterThan(0);
  // The teacher drops it on the Verify box.
  await openTab(page, 'levels');
  await page.getByTestId('verify-level').selectOption('L13');
  const dataTransfer = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'kafka-lab-run.json', { type: 'application/json' }));
    return dt;
  }, runText);
  await page.getByTestId('verify-run').dispatchEvent('drop', { dataTransfer });
  await expect(page.getByTestId('verdict')).toContainText('L13: solved');
  // A file that is not a run is refused by the picker too, with the reason.
  await page.getByTestId('verify-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await expect(page.getByTestId('verdict')).toContainText('cannot grade');
  // Progress out as a file, then back into a fresh browser.
  const [progressDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('progress-download').click()]);
  const progress = require('fs').readFileSync(await progressDownload.path(), 'utf8');
  expect(JSON.parse(progress).done).toContain('L13');
  await fresh(page);
  await openTab(page, 'levels');
  // Every shipped level file is on the map.
  const levelCount = require('fs').readdirSync(require('path').join(__dirname, '../../src/lab/levels')).filter((f) => f.endsWith('.json')).length;
  await expect(page.getByTestId('progress-summary')).toContainText(`0 of ${levelCount} solved`);
  await page.getByTestId('progress-file').setInputFiles({ name: 'kafka-lab-progress.json', mimeType: 'application/json', buffer: Buffer.from(progress) });
  await expect(page.getByTestId('progress-summary')).toContainText(`1 of ${levelCount} solved`);
  await page.getByTestId('progress-file').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"done": 7}') });
  await expect(page.getByTestId('progress-error')).toContainText('nothing changed');
  await expect(page.getByTestId('progress-summary')).toContainText(`1 of ${levelCount} solved`);
  // The run file opens in the setup panel and replays to the same moment.
  await openTab(page, 'setup');
  await page.getByTestId('run-file').setInputFiles({ name: 'kafka-lab-run.json', mimeType: 'application/json', buffer: Buffer.from(runText) });
  await expect(page.getByTestId('time')).toHaveText('t = 60.0 s');
});

test('a share link round-trips to the same ledger', async ({ page }) => {
  await fresh(page);
  await openLevel(page, 'L16');
  await closeDrawer(page);
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click().catch(() => {});
  await advance(page, 20);
  const counts = async (p) => Promise.all(['once', 'duplicate', 'lost', 'pending'].map((c) => p.getByTestId(`count-${c}-value`).textContent()));
  const before = await counts(page);
  await openTab(page, 'setup');
  await page.getByTestId('share-link').click();
  const link = await page.getByTestId('session-json').inputValue();
  // Versioned and compact: the format number first, then base64url, no percent-escapes.
  expect(link).toMatch(/#run=2\.[A-Za-z0-9_-]+$/);
  expect(link.length).toBeLessThan(1500);
  const page2 = await page.context().newPage();
  await page2.goto(link);
  await expect(page2.getByTestId('time')).toHaveText(await page.getByTestId('time').textContent());
  expect(await counts(page2)).toEqual(before);
  // The link opens in its level.
  await expect(page2.getByTestId('level-strip')).toHaveAttribute('data-level', 'L16');
  // A link from a newer lab is refused with the reason; the run stays.
  await page2.goto(link.split('#')[0] + '#run=9.e30');
  await page2.reload();
  await expect(page2.getByTestId('notice')).toContainText('newer Kafka Lab');
  expect(await counts(page2)).toEqual(before);
  // A well-formed link to a run too heavy for a tab (10,000 records/s for 24 h) is refused
  // before any replay (a replay would take minutes), and the page stays as it was.
  const heavy = Buffer.from(JSON.stringify({ s: [['rate', '10000']], a: [], n: 86400000, f: 0 })).toString('base64url');
  await page2.goto(link.split('#')[0] + '#run=2.' + heavy);
  await page2.reload();
  await expect(page2.getByTestId('notice')).toContainText('more than a browser tab opens');
  expect(await counts(page2)).toEqual(before);
});

test('L02 played by hand: the seek control on a consumer moves analytics back to offset 2', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openLevel(page, 'L02');
  await closeDrawer(page);
  await advance(page, 10);
  await openTab(page, 'groups');
  const groups = page.getByTestId('group-select');
  await groups.selectOption({ label: 'analytics' });
  await closeDrawer(page);
  // The stage now shows analytics; its consumer's card has the seek button.
  await page.getByRole('button', { name: /^seek c1/ }).click();
  const dialog = page.getByTestId('seek-dialog');
  await expect(dialog).toContainText('Seek c1 (analytics)');
  await dialog.getByTestId('seek-offset').check();
  // Bad input gets a message, not a seek.
  await dialog.getByTestId('seek-number').fill('two');
  await dialog.getByTestId('seek-go').click();
  await expect(dialog.getByTestId('seek-problem')).toContainText('whole number');
  await dialog.getByTestId('seek-number').fill('2');
  await snap(page, 'seek-dialog');
  await dialog.getByTestId('seek-go').click();
  await expect(dialog).toHaveCount(0);
  await advance(page, 20);
  await expect(page.getByTestId('goal-status')).toHaveText('Solved!');
  await snap(page, 'seek-solved');
});

test("a challenge's known wrong answer shows its feedback in the page: C10 with roundrobin", async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openLevel(page, 'C10');
  await openTab(page, 'setup');
  await page.locator('[data-config="partition.assignment.strategy"]').selectOption('roundrobin');
  await closeDrawer(page);
  await advance(page, 60);
  await expect(page.getByTestId('goal-status')).toContainText('Goal');
  await expect(page.getByTestId('wrong-answer')).toContainText('roundrobin is eager too');
  await snap(page, 'wrong-answer');
});

test("L35's eight questions are graded: too few right answers do not pass, even with the goal met", async ({ page }) => {
  await fresh(page);
  await openLevel(page, 'L35');
  await closeDrawer(page);
  const predict = page.getByTestId('predict');
  // Always the last choice: not enough right answers.
  for (let i = 1; i <= 8; i++) {
    await expect(predict).toContainText(`Predict (${i} of 8)`);
    await predict.getByRole('button').last().click();
  }
  await expect(page.getByTestId('quiz')).toContainText('6 are needed');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 50);
  await expect(page.getByTestId('goal-status')).not.toHaveText('Solved!');
  await snap(page, 'quiz-failed');
  // Again, with the answers the level file holds: passed and solved.
  const level = JSON.parse(require('fs').readFileSync('../../src/lab/levels/L35-cheat-sheet-review.json', 'utf8'));
  await page.getByTestId('level-reset').click();
  for (const round of level.predict) await predict.getByRole('button').nth(round.answer).click();
  await expect(page.getByTestId('quiz')).toContainText('8 of 8 right');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 50);
  await expect(page.getByTestId('goal-status')).toHaveText('Solved!');
});

test('the level files arrive after the first paint; if they cannot, the Levels panel says so and the sandbox still runs', async ({ page }) => {
  await page.route('**/levels/*.json', (route) => route.fulfill({ status: 404, body: 'gone' }));
  await fresh(page);
  await openTab(page, 'levels');
  await expect(page.getByTestId('levels-problem')).toContainText('could not be loaded');
  await closeDrawer(page);
  await advance(page, 10);
  await expect(page.getByTestId('time')).toHaveText('t = 10.0 s');
});
