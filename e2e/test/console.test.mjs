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

      // Streaming: nothing configured is "None configured." (the API's NotFoundException is no error);
      // a configuration saved is listed, and deleted again.
      const streaming = alicePage.getByRole('region', { name: 'Streaming', exact: true });
      await streaming.getByText('None configured.').waitFor();
      const streamArn = 'arn:aws:kinesis:us-east-1:000000000000:stream/chime-messaging-console';
      await streaming.getByLabel('Data type').selectOption('ChannelMessage');
      await streaming.getByLabel('Kinesis stream ARN').fill(streamArn);
      await streaming.getByRole('button', { name: 'Save streaming' }).click();
      await streaming.getByText(streamArn).waitFor();
      assert.match(await streaming.getByRole('listitem').first().textContent(), /^ChannelMessage → /);
      alicePage.once('dialog', (d) => d.accept());
      await streaming.getByRole('button', { name: /^Delete streaming/ }).click();
      await streaming.getByText('None configured.').waitFor();
      assert.equal(await alert.textContent(), '', 'no API error from the streaming settings');

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
      // The list shows one membership type at a time, and says which.
      const channelMembers = alicePage.getByRole('region', { name: 'Members', exact: true });
      await channelMembers.getByRole('row', { name: /Bob/ }).getByRole('cell', { name: 'DEFAULT', exact: true }).waitFor();
      await channelMembers.getByLabel('Showing').selectOption('HIDDEN');
      await channelMembers.getByRole('cell', { name: 'None yet.' }).waitFor();
      await channelMembers.getByLabel('Showing').selectOption('DEFAULT');
      await channelMembers.getByRole('cell', { name: 'Bob', exact: true }).waitFor();
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

  test('elastic channel: configuration, members placed in a sub-channel, counts, a moderator\'s membership, live chat within the sub-channel', { timeout: 120_000 }, withOutput(async () => {
    const miaPage = await context.newPage();
    const log = watch(miaPage, 'mia');
    try {
      await signIn(miaPage);
      const createApp = miaPage.getByRole('form', { name: 'Create an app instance', exact: true });
      await createApp.getByLabel('Name', { exact: true }).fill('elastic-e2e');
      await createApp.getByRole('button', { name: 'Create app instance' }).click();
      await miaPage.getByRole('link', { name: 'elastic-e2e' }).click();
      await miaPage.getByRole('heading', { level: 1, name: 'App instance elastic-e2e' }).waitFor();
      const createUser = miaPage.getByRole('form', { name: 'Create a user', exact: true });
      for (const [id, name] of [['mia', 'Mia'], ['ann', 'Ann'], ['ben', 'Ben']]) {
        await createUser.getByLabel('User ID').fill(id);
        await createUser.getByLabel('Name', { exact: true }).fill(name);
        await createUser.getByRole('button', { name: 'Create user' }).click();
        await miaPage.getByRole('cell', { name, exact: true }).waitFor();
      }
      const appArn = (await miaPage.locator('main > p.arn').first().textContent()).trim();
      const [miaArn, annArn, benArn] = ['mia', 'ann', 'ben'].map((u) => `${appArn}/user/${u}`);

      // An elastic channel, 2 sub-channels × 4 members, 40 %, created by Mia (its moderator).
      // Ticking "Elastic" picks RESTRICTED, the only mode an elastic channel may have.
      await miaPage.getByLabel('Act as').selectOption(miaArn);
      const createChannel = miaPage.getByRole('form', { name: 'Create a channel', exact: true });
      await createChannel.getByLabel('Name', { exact: true }).fill('crowd');
      await createChannel.getByLabel('Elastic', { exact: true }).check();
      assert.equal(await createChannel.getByLabel('Mode').inputValue(), 'RESTRICTED');
      await createChannel.getByLabel('Max sub-channels (elastic)').fill('2');
      await createChannel.getByLabel('Members per sub-channel (elastic)').fill('4');
      await createChannel.getByLabel('Minimum membership % (elastic)').fill('40');
      await createChannel.getByRole('button', { name: 'Create channel' }).click();
      await miaPage.getByRole('status').filter({ hasText: 'Created channel crowd' }).waitFor();
      await miaPage.getByRole('link', { name: 'crowd', exact: true }).click();
      await miaPage.getByRole('heading', { level: 1, name: 'Channel crowd' }).waitFor();

      // The configuration; no sub-channel before the first join.
      const config = miaPage.getByRole('region', { name: 'Elastic channel configuration' });
      assert.match(await config.textContent(), /Maximum sub-channels\s*2.*Target memberships per sub-channel\s*4.*Minimum membership percentage\s*40%/s);
      const subs = miaPage.getByRole('region', { name: 'Sub-channels', exact: true });
      await subs.getByText('None yet.').waitFor();

      // Members are placed by the service: the status says where.
      const addMember = miaPage.getByRole('form', { name: 'Add a member', exact: true });
      const status = miaPage.getByRole('status');
      let subId;
      for (const [arn, id] of [[annArn, 'ann'], [benArn, 'ben']]) {
        await addMember.getByLabel('User ARN').fill(arn);
        await addMember.getByRole('button', { name: 'Add member' }).click();
        await status.filter({ hasText: `Added ${id} to sub-channel` }).waitFor();
        const placed = (await status.textContent()).match(/sub-channel ([0-9a-f]{64})\./)?.[1];
        assert.ok(placed, await status.textContent());
        subId ??= placed;
        assert.equal(placed, subId, 'both fill the one sub-channel below its target');
      }
      const subRow = subs.getByRole('row').filter({ hasText: subId });
      await subRow.getByRole('cell', { name: '2', exact: true }).waitFor();

      // A moderator's membership names its sub-channel (the picker lists them with their counts).
      await addMember.getByLabel('User ARN').fill(miaArn);
      await addMember.getByLabel('Sub-channel (moderators only)').selectOption(subId);
      await addMember.getByRole('button', { name: 'Add member' }).click();
      await status.filter({ hasText: `Added mia to sub-channel ${subId}` }).waitFor();
      await subRow.getByRole('cell', { name: '3', exact: true }).waitFor();
      assert.equal(await subs.getByRole('row').count(), 2, 'a header and one sub-channel');

      // The members of that sub-channel (ListChannelMemberships with SubChannelId).
      await subRow.getByRole('button', { name: `Show members of sub-channel ${subId}` }).click();
      const members = miaPage.getByRole('region', { name: 'Members', exact: true });
      assert.equal(await members.getByLabel('Sub-channel', { exact: true }).inputValue(), subId);
      for (const name of ['Ann', 'Ben', 'Mia']) await members.getByRole('cell', { name, exact: true }).waitFor();
      assert.equal(await miaPage.getByRole('alert').textContent(), '', 'no API error on the channel page');
      await miaPage.evaluate(() => window.scrollTo(0, 0));
      await shot(miaPage, 'channel-elastic');
      // At phone width the page folds to one column: nothing wider than the screen.
      await miaPage.setViewportSize({ width: 390, height: 844 });
      assert.ok(await miaPage.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal scrolling at phone width');
      await miaPage.setViewportSize({ width: 1280, height: 900 });
      const channelArn = (await miaPage.locator('main > p.arn').first().textContent()).trim();
      assert.match(channelArn, /\/channel\//);
      const chatUrl = `${server.tlsEndpoint}/console/#/chat/${encodeURIComponent(channelArn)}`;

      // Ann and Ben chat in their sub-channel, each on a page of their own.
      async function chatAs(userArn, label) {
        const p = await context.newPage();
        log.push(...watch(p, label));
        await signIn(p);
        await p.goto(chatUrl);
        await p.getByRole('heading', { level: 1, name: 'Chat: crowd' }).waitFor();
        await p.getByLabel('Act as').selectOption(userArn);
        await p.locator('#session-state[data-state="live"]', { hasText: `connected as ${userArn.split('/').pop()}` }).waitFor();
        // A member's sub-channel is its own (DescribeChannelMembershipForAppInstanceUser).
        assert.equal(await p.getByLabel('Sub-channel', { exact: true }).inputValue(), subId);
        return p;
      }
      const annPage = await chatAs(annArn, 'ann');
      const benPage = await chatAs(benArn, 'ben');
      await annPage.getByLabel('Message', { exact: true }).fill('hello, sub-channel');
      await annPage.getByRole('button', { name: 'Send', exact: true }).click();
      const benMessages = benPage.getByRole('list', { name: 'Messages' });
      await benMessages.getByText('hello, sub-channel').waitFor();
      assert.match(await benMessages.locator('li').last().textContent(), new RegExp(`Ann.*sub-channel ${subId.slice(0, 12)}.*hello, sub-channel`, 's'));
      await benPage.getByRole('list', { name: 'Session events' }).getByText(`CREATE_CHANNEL_MESSAGE · sub-channel ${subId.slice(0, 12)}`).first().waitFor();

      // Edits and redactions carry the SubChannelId too; Ben sees both live.
      const annMessages = annPage.getByRole('list', { name: 'Messages' });
      annPage.once('dialog', (d) => d.accept('hello, sub-channel (edited)'));
      await annMessages.locator('li', { hasText: 'hello, sub-channel' }).getByRole('button', { name: /^Edit message/ }).click();
      await benMessages.getByText('hello, sub-channel (edited)').waitFor();
      await benPage.getByLabel('Message', { exact: true }).fill('hi Ann');
      await benPage.getByLabel('Message', { exact: true }).press('Enter');
      await annMessages.getByText('hi Ann').waitFor();
      await shot(benPage, 'chat-elastic');
      await annMessages.locator('li', { hasText: '(edited)' }).getByRole('button', { name: /^Redact message/ }).click();
      await benMessages.locator('li', { hasText: '(redacted)' }).waitFor();

      // The history of the sub-channel (ListChannelMessages with SubChannelId) on a fresh page.
      await benPage.reload();
      await benPage.locator('#session-state[data-state="live"]', { hasText: 'connected as ben' }).waitFor();
      await benMessages.getByText('hi Ann').waitFor();
      // Mia, a moderator, picks from ListSubChannels (with counts) and sends where she holds a membership.
      await miaPage.goto(chatUrl);
      await miaPage.locator('#session-state[data-state="live"]', { hasText: 'connected as mia' }).waitFor();
      const miaSub = miaPage.getByLabel('Sub-channel', { exact: true });
      assert.equal(await miaSub.inputValue(), subId);
      assert.match(await miaSub.locator('option:checked').textContent(), /\(3 members\) · yours/);
      await miaPage.getByRole('list', { name: 'Messages' }).getByText('hi Ann').waitFor();
      await miaPage.getByLabel('Message', { exact: true }).fill('moderator here');
      await miaPage.getByRole('button', { name: 'Send', exact: true }).click();
      await benMessages.getByText('moderator here').waitFor();
      for (const p of [miaPage, annPage, benPage]) assert.equal(await p.getByRole('alert').textContent(), '', 'no API error along the way');
      await annPage.close();
      await benPage.close();
      assert.deepEqual(log.filter((l) => /page error/.test(l)), [], 'no uncaught errors in the pages');
    } catch (err) {
      for (const p of context.pages()) {
        const state = await p.evaluate(() => `${location.hash} session: ${document.getElementById('session-state')?.textContent} alert: ${document.getElementById('error')?.textContent} status: ${document.getElementById('status')?.textContent}`).catch(() => '');
        log.push(`page ${state}`);
      }
      err.message += `\n--- browser log ---\n${log.join('\n')}`;
      throw err;
    } finally {
      await miaPage.close();
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
      // Everything the API lists, each once, over the two pages (the earlier tests made two more).
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
