// The web console in a real browser: Debian's Chromium driven by playwright-core, against the
// console served from Belfry's TLS listener (its live chat is amazon-chime-sdk-js over wss). The
// test does what a newcomer does: sign in, create an app instance, two users and a channel, then
// chats between two pages acting as the two users and sees the message arrive live; and it sees the
// API's own error for bad input.
//
// Chromium: $BELFRY_CHROMIUM or /usr/bin/chromium (.ci/run installs Debian's package). The profile
// is fresh per run, and the test profile ignores certificate errors instead of trusting the
// generated CA (the CA exists only once the server has started).
//
// BELFRY_CONSOLE_SCREENSHOTS=<dir> also saves screenshots of the main pages (docs/console.md's).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CreateAppInstanceCommand, ListAppInstancesCommand } from '@aws-sdk/client-chime-sdk-identity';
import { identityClient, send } from '../lib/aws.mjs';
import { SETUP_TIMEOUT_MS, startBelfry, withServerOutput } from '../lib/server.mjs';

const CHROMIUM = process.env.BELFRY_CHROMIUM ?? '/usr/bin/chromium';
// Skipped without a Chromium, except in CI (.ci/run installs it), where its absence must fail.
const MISSING = fs.existsSync(CHROMIUM) || process.env.CI ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set BELFRY_CHROMIUM)`;
const SHOTS = process.env.BELFRY_CONSOLE_SCREENSHOTS;
/** How long one UI step (a click's API call, a live event) may take. */
const STEP_MS = 10_000;

describe('web console in Chromium', { skip: MISSING }, () => {
  let server;
  let context;
  let profile;
  const withOutput = (fn) => withServerOutput(() => server, fn);

  before(async () => {
    server = await startBelfry();
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'belfry-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
    });
    context.setDefaultTimeout(STEP_MS);
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => {
    await context?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    await server?.stop();
  });

  /** Browser console errors and failed requests, for failure messages. */
  function watch(page, label) {
    const log = [];
    page.on('console', (m) => log.push(`${label} console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`${label} page error: ${e.message}`));
    return log;
  }

  async function shot(page, name) {
    if (!SHOTS) return;
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }

  async function signIn(page) {
    // / sends a browser to the console.
    await page.goto(`${server.tlsEndpoint}/`);
    assert.equal(new URL(page.url()).pathname, '/console/');
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await shot(page, 'sign-in');
    await page.getByLabel('Access key ID').fill(server.credentials.accessKeyId);
    await page.getByLabel('Secret access key').fill(server.credentials.secretAccessKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'App instances' }).waitFor();
    // The key is in this tab's session storage, nowhere else.
    const stored = await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length, cookies: document.cookie }));
    assert.ok(stored.session >= 1 && stored.local === 0 && stored.cookies === '', JSON.stringify(stored));
  }

  test('sign in, create an app instance, two users and a channel, chat live between two pages, see an API error', { timeout: 120_000 }, withOutput(async () => {
    const alicePage = await context.newPage();
    const log = watch(alicePage, 'alice');
    try {
      await signIn(alicePage);

      // An app instance.
      const createApp = alicePage.getByRole('form', { name: 'Create an app instance', exact: true });
      await createApp.getByLabel('Name', { exact: true }).fill('console-e2e');
      await createApp.getByRole('button', { name: 'Create app instance' }).click();
      await alicePage.getByRole('link', { name: 'console-e2e' }).click();
      await alicePage.getByRole('heading', { level: 1, name: 'App instance console-e2e' }).waitFor();

      // Bad input: the API's own error, shown to the user.
      const createUser = alicePage.getByRole('form', { name: 'Create a user', exact: true });
      await createUser.getByLabel('User ID').fill('not valid!');
      await createUser.getByLabel('Name', { exact: true }).fill('Nobody');
      await createUser.getByRole('button', { name: 'Create user' }).click();
      const alert = alicePage.getByRole('alert');
      await alert.filter({ hasText: 'BadRequestException' }).waitFor();
      assert.match(await alert.textContent(), /BadRequestException \(400\): .*AppInstanceUserId/);

      // Two users.
      for (const [id, name] of [['alice', 'Alice'], ['bob', 'Bob']]) {
        await createUser.getByLabel('User ID').fill(id);
        await createUser.getByLabel('Name', { exact: true }).fill(name);
        await createUser.getByRole('button', { name: 'Create user' }).click();
        await alicePage.getByRole('cell', { name, exact: true }).waitFor();
      }
      assert.equal(await alert.textContent(), '', 'the error is cleared by the next action');
      const appArn = (await alicePage.locator('main > p.arn').first().textContent()).trim();
      const aliceArn = `${appArn}/user/alice`;
      const bobArn = `${appArn}/user/bob`;

      // Alice becomes an app instance admin (DeleteChannelMessage is for admins).
      const addAdmin = alicePage.getByRole('form', { name: 'Add an admin', exact: true });
      await addAdmin.getByLabel('User or bot ARN').fill(aliceArn);
      await addAdmin.getByRole('button', { name: 'Add admin' }).click();
      await alicePage.getByRole('region', { name: 'Admins' }).getByRole('cell', { name: 'Alice', exact: true }).waitFor();

      // A channel, created acting as Alice.
      await alicePage.getByLabel('Act as').selectOption(aliceArn);
      const createChannel = alicePage.getByRole('form', { name: 'Create a channel', exact: true });
      await createChannel.getByLabel('Name', { exact: true }).fill('general');
      await createChannel.getByRole('button', { name: 'Create channel' }).click();
      await alicePage.getByRole('link', { name: 'general' }).waitFor();
      await shot(alicePage, 'app-instance');

      // Bob joins, from the channel page.
      await alicePage.getByRole('link', { name: 'general' }).click();
      await alicePage.getByRole('heading', { level: 1, name: 'Channel general' }).waitFor();
      const addMember = alicePage.getByRole('form', { name: 'Add a member', exact: true });
      await addMember.getByLabel('User ARN').fill(bobArn);
      await addMember.getByRole('button', { name: 'Add member' }).click();
      await alicePage.getByRole('cell', { name: 'Bob', exact: true }).waitFor();
      await shot(alicePage, 'channel');

      // Alice's live chat.
      await alicePage.getByRole('link', { name: 'Open live chat' }).click();
      await alicePage.getByRole('heading', { level: 1, name: 'Chat: general' }).waitFor();
      await alicePage.locator('#session-state[data-state="live"]').waitFor();
      const chatUrl = alicePage.url();

      // Bob's page: a tab of its own (own session storage), signed in, acting as Bob.
      const bobPage = await context.newPage();
      log.push(...watch(bobPage, 'bob'));
      await signIn(bobPage);
      await bobPage.goto(chatUrl);
      await bobPage.getByRole('heading', { level: 1, name: 'Chat: general' }).waitFor();
      await bobPage.getByLabel('Act as').selectOption(bobArn);
      await bobPage.locator('#session-state[data-state="live"]', { hasText: 'connected as bob' }).waitFor();

      // Bob sends; Alice's page, never reloaded, shows it from the messaging session.
      await bobPage.getByLabel('Message', { exact: true }).fill('hello from Bob');
      await bobPage.getByRole('button', { name: 'Send', exact: true }).click();
      const aliceMessages = alicePage.getByRole('list', { name: 'Messages' });
      await aliceMessages.getByText('hello from Bob').waitFor();
      assert.match(await aliceMessages.locator('li').last().textContent(), /Bob.*hello from Bob/s);
      await alicePage.getByRole('list', { name: 'Session events' }).getByText('CREATE_CHANNEL_MESSAGE').first().waitFor();

      // And back, with the keyboard: Enter sends.
      await alicePage.getByLabel('Message', { exact: true }).fill('hi Bob');
      await alicePage.getByLabel('Message', { exact: true }).press('Enter');
      const bobMessages = bobPage.getByRole('list', { name: 'Messages' });
      await bobMessages.getByText('hi Bob').waitFor();

      // Alice edits her message (the browser's prompt), then redacts it; Bob sees both live.
      const aliceOwn = aliceMessages.locator('li', { hasText: 'hi Bob' });
      alicePage.once('dialog', (d) => d.accept('hi Bob, edited'));
      await aliceOwn.getByRole('button', { name: /^Edit message/ }).click();
      await bobMessages.getByText('hi Bob, edited').waitFor();
      assert.match(await bobMessages.locator('li', { hasText: 'hi Bob, edited' }).textContent(), /edited/);
      await shot(alicePage, 'chat');
      await aliceMessages.locator('li', { hasText: 'hi Bob, edited' }).getByRole('button', { name: /^Redact message/ }).click();
      await bobMessages.locator('li', { hasText: '(redacted)' }).waitFor();
      assert.equal(await bobMessages.getByText('hi Bob, edited').count(), 0, 'the redacted content is gone from Bob\'s page');

      // Alice, an app instance admin, deletes Bob's message; it leaves Bob's page.
      alicePage.once('dialog', (d) => d.accept());
      await aliceMessages.locator('li', { hasText: 'hello from Bob' }).getByRole('button', { name: 'Delete' }).click();
      await bobMessages.getByText('hello from Bob').waitFor({ state: 'detached' });
      assert.equal(await alicePage.getByRole('alert').textContent(), '', 'no API error along the way');

      // A phone-width view of the chat.
      await bobPage.setViewportSize({ width: 390, height: 844 });
      await shot(bobPage, 'chat-phone');
      await bobPage.close();

      if (SHOTS) {
        await alicePage.goto(`${server.tlsEndpoint}/console/#/instances`);
        await alicePage.getByRole('link', { name: 'console-e2e' }).waitFor();
        await shot(alicePage, 'app-instances');
      }
      assert.deepEqual(log.filter((l) => /page error/.test(l)), [], 'no uncaught errors in the pages');
    } catch (err) {
      for (const p of context.pages()) {
        const state = await p.evaluate(() => `${location.hash} session: ${document.getElementById('session-state')?.textContent} alert: ${document.getElementById('error')?.textContent}`).catch(() => '');
        log.push(`page ${state}`);
      }
      err.message += `\n--- browser log ---\n${log.join('\n')}`;
      throw err;
    } finally {
      await alicePage.close();
    }
  }));

  test('pagination follows the API\'s NextToken: 10 app instances a page, Next page, First page', { timeout: 60_000 }, withOutput(async () => {
    // Made through the SDK from Node: the page under test only reads them.
    const identity = identityClient(server);
    for (let i = 0; i < 12; i++) {
      await send(identity, new CreateAppInstanceCommand({ Name: `paged-${String(i).padStart(2, '0')}` }));
    }
    const page = await context.newPage();
    const log = watch(page, 'pager');
    try {
      await signIn(page);
      const table = page.getByRole('region', { name: 'App instances', exact: true });
      const names = () => table.getByRole('link').allTextContents();
      await table.getByText('Page 1', { exact: true }).waitFor();
      const first = await names();
      assert.equal(first.length, 10, `page 1: ${first}`);
      await table.getByRole('button', { name: 'Next page' }).click();
      await table.getByText('Page 2 (last)').waitFor();
      const second = await names();
      // Everything the API lists, each once, over the two pages (the earlier test made one more).
      const all = [];
      for (let token; ;) {
        const r = await send(identity, new ListAppInstancesCommand({ MaxResults: 50, NextToken: token }));
        all.push(...r.AppInstances.map((a) => a.Name));
        if (!(token = r.NextToken)) break;
      }
      assert.ok(all.length > 10 && all.length <= 20, `${all.length} app instances`);
      assert.equal(second.length, all.length - 10, `page 2: ${second}`);
      assert.deepEqual([...first, ...second].sort(), all.sort());
      assert.ok(await table.getByRole('button', { name: 'Next page' }).isDisabled(), 'no next page after the last');
      await table.getByRole('button', { name: 'First page' }).click();
      await table.getByText('Page 1', { exact: true }).waitFor();
      assert.deepEqual(await names(), first);
    } catch (err) {
      err.message += `\n--- browser log ---\n${log.join('\n')}`;
      throw err;
    } finally {
      await page.close();
    }
  }));
});
