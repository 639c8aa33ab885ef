// The Identity API through the unmodified AWS SDK for JavaScript v3: every one of its 30
// operations, their error cases (not found, conflict, limits, idempotency, bad NextToken) and
// pagination across pages.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as I from '@aws-sdk/client-chime-sdk-identity';
import { assertAwsError, assertParseableAwsError, identityClient, rejection, send, success } from '../lib/aws.mjs';
import { ACCOUNT_ID, REGION, REQUEST_TIMEOUT_MS, SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, startBelfry, withServerOutput } from '../lib/server.mjs';

const TEST = { timeout: 6 * REQUEST_TIMEOUT_MS };
const LONG_TEST = { timeout: 30 * REQUEST_TIMEOUT_MS };

const NOT_FOUND = { name: 'NotFoundException', status: 404 };
const CONFLICT = { name: 'ConflictException', status: 409 };
const LIMIT = { name: 'ResourceLimitExceededException', status: 400 };
const BAD_REQUEST = { name: 'BadRequestException', status: 400 };

const LEX = {
  Lex: {
    LexBotAliasArn: `arn:aws:lex:${REGION}:${ACCOUNT_ID}:bot-alias/ABCDEFGHIJ/KLMNOPQRST`,
    LocaleId: 'en_US',
    InvokedBy: { StandardMessages: 'MENTIONS', TargetedMessages: 'ALL' },
    WelcomeIntent: 'Welcome',
  },
};
const PINPOINT = `arn:aws:mobiletargeting:${REGION}:${ACCOUNT_ID}:apps/0123456789abcdef`;

describe('Identity API through the JS SDK v3', () => {
  let server;
  let client;
  const withOutput = (fn) => withServerOutput(() => server, fn);
  const ok = (cmd, what = cmd.constructor.name) => success(send(client, cmd), what);
  async function fails(cmd, expected, what = cmd.constructor.name) {
    const err = await rejection(send(client, cmd), what);
    assertParseableAwsError(err, what);
    assertAwsError(err, expected, what);
    return err;
  }
  const newAppInstance = async (Name = `app-${crypto.randomUUID().slice(0, 8)}`) =>
    (await ok(new I.CreateAppInstanceCommand({ Name }))).AppInstanceArn;
  const newUser = async (AppInstanceArn, AppInstanceUserId, extra = {}) =>
    (await ok(new I.CreateAppInstanceUserCommand({ AppInstanceArn, AppInstanceUserId, Name: AppInstanceUserId, ...extra }))).AppInstanceUserArn;

  before(async () => {
    server = await startBelfry();
    client = identityClient(server);
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => { await server?.stop(); }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  test('app instances: create, idempotency, describe, update, list, delete', TEST, withOutput(async () => {
    const token = crypto.randomUUID();
    const create = await ok(new I.CreateAppInstanceCommand({ Name: 'first', Metadata: 'm1', ClientRequestToken: token, Tags: [{ Key: 'env', Value: 'test' }] }));
    assert.equal(create.$metadata.httpStatusCode, 201);
    const arn = create.AppInstanceArn;
    assert.match(arn, new RegExp(`^arn:aws:chime:${REGION}:${ACCOUNT_ID}:app-instance/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`));

    const again = await ok(new I.CreateAppInstanceCommand({ Name: 'first', Metadata: 'm1', ClientRequestToken: token, Tags: [{ Key: 'env', Value: 'test' }] }), 'retry with the same token');
    assert.equal(again.AppInstanceArn, arn, 'same token and parameters must return the same ARN');
    const err = await fails(new I.CreateAppInstanceCommand({ Name: 'other', ClientRequestToken: token }), CONFLICT, 'same token, other parameters');
    assert.match(err.message, /ClientRequestToken/);

    const { AppInstance: ai } = await ok(new I.DescribeAppInstanceCommand({ AppInstanceArn: arn }));
    assert.equal(ai.AppInstanceArn, arn);
    assert.equal(ai.Name, 'first');
    assert.equal(ai.Metadata, 'm1');
    assert.ok(ai.CreatedTimestamp instanceof Date && Math.abs(ai.CreatedTimestamp - Date.now()) < 60_000, `CreatedTimestamp ${ai.CreatedTimestamp}`);
    assert.equal(ai.LastUpdatedTimestamp.getTime(), ai.CreatedTimestamp.getTime());

    const up = await ok(new I.UpdateAppInstanceCommand({ AppInstanceArn: arn, Name: 'renamed', Metadata: 'm2' }));
    assert.equal(up.AppInstanceArn, arn);
    const { AppInstance: ai2 } = await ok(new I.DescribeAppInstanceCommand({ AppInstanceArn: arn }));
    assert.equal(ai2.Name, 'renamed');
    assert.equal(ai2.Metadata, 'm2');
    assert.ok(ai2.LastUpdatedTimestamp >= ai2.CreatedTimestamp);

    const list = await ok(new I.ListAppInstancesCommand({}));
    assert.ok(list.AppInstances.some((a) => a.AppInstanceArn === arn && a.Name === 'renamed' && a.Metadata === 'm2'), JSON.stringify(list.AppInstances));

    const tags = await ok(new I.ListTagsForResourceCommand({ ResourceARN: arn }));
    assert.deepEqual(tags.Tags, [{ Key: 'env', Value: 'test' }]);

    const del = await ok(new I.DeleteAppInstanceCommand({ AppInstanceArn: arn }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    const nf = await fails(new I.DescribeAppInstanceCommand({ AppInstanceArn: arn }), NOT_FOUND, 'describe after delete');
    assert.ok(nf.message.includes(arn), `message should name the app instance: ${nf.message}`);
    await fails(new I.DeleteAppInstanceCommand({ AppInstanceArn: arn }), NOT_FOUND, 'delete twice');
    await fails(new I.UpdateAppInstanceCommand({ AppInstanceArn: arn, Name: 'x', Metadata: '' }), NOT_FOUND, 'update deleted');
    // A user ARN where an app instance ARN is expected.
    await fails(new I.DescribeAppInstanceCommand({ AppInstanceArn: `${arn}/user/u` }), BAD_REQUEST, 'wrong ARN type');
  }));

  test('users: create, duplicate, idempotency, describe, update, expiration, delete', TEST, withOutput(async () => {
    const app = await newAppInstance();
    const token = crypto.randomUUID();
    const params = { AppInstanceArn: app, AppInstanceUserId: 'alice@example.com', Name: 'Alice', Metadata: 'meta', ClientRequestToken: token,
      ExpirationSettings: { ExpirationDays: 7, ExpirationCriterion: 'CREATED_TIMESTAMP' }, Tags: [{ Key: 'k', Value: 'v' }] };
    const created = await ok(new I.CreateAppInstanceUserCommand(params));
    assert.equal(created.$metadata.httpStatusCode, 201);
    const arn = created.AppInstanceUserArn;
    assert.equal(arn, `${app}/user/alice@example.com`);
    assert.equal((await ok(new I.CreateAppInstanceUserCommand(params), 'retry')).AppInstanceUserArn, arn);
    await fails(new I.CreateAppInstanceUserCommand({ ...params, Name: 'Other' }), CONFLICT, 'same token, other name');
    const dup = await fails(new I.CreateAppInstanceUserCommand({ ...params, ClientRequestToken: crypto.randomUUID() }), CONFLICT, 'duplicate id');
    assert.ok(dup.message.includes(arn), dup.message);

    const { AppInstanceUser: u } = await ok(new I.DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn }));
    assert.equal(u.AppInstanceUserArn, arn);
    assert.equal(u.Name, 'Alice');
    assert.equal(u.Metadata, 'meta');
    assert.deepEqual(u.ExpirationSettings, { ExpirationDays: 7, ExpirationCriterion: 'CREATED_TIMESTAMP' });
    assert.ok(u.CreatedTimestamp instanceof Date && u.LastUpdatedTimestamp instanceof Date);

    assert.equal((await ok(new I.UpdateAppInstanceUserCommand({ AppInstanceUserArn: arn, Name: 'Alice B', Metadata: 'm2' }))).AppInstanceUserArn, arn);
    const { AppInstanceUser: u2 } = await ok(new I.DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn }));
    assert.equal(u2.Name, 'Alice B');
    assert.equal(u2.Metadata, 'm2');

    const put = await ok(new I.PutAppInstanceUserExpirationSettingsCommand({ AppInstanceUserArn: arn, ExpirationSettings: { ExpirationDays: 30, ExpirationCriterion: 'CREATED_TIMESTAMP' } }));
    assert.equal(put.AppInstanceUserArn, arn);
    assert.deepEqual(put.ExpirationSettings, { ExpirationDays: 30, ExpirationCriterion: 'CREATED_TIMESTAMP' });
    const removed = await ok(new I.PutAppInstanceUserExpirationSettingsCommand({ AppInstanceUserArn: arn }), 'remove expiration');
    assert.equal(removed.ExpirationSettings, undefined);
    const { AppInstanceUser: u3 } = await ok(new I.DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn }));
    assert.equal(u3.ExpirationSettings, undefined);

    await fails(new I.CreateAppInstanceUserCommand({ AppInstanceArn: `${app.slice(0, -4)}ffff`, AppInstanceUserId: 'x', Name: 'x' }), NOT_FOUND, 'user in a missing app instance');
    await ok(new I.DeleteAppInstanceUserCommand({ AppInstanceUserArn: arn }));
    await fails(new I.DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn }), NOT_FOUND, 'describe deleted user');
    await fails(new I.DeleteAppInstanceUserCommand({ AppInstanceUserArn: arn }), NOT_FOUND, 'delete deleted user');
    await fails(new I.UpdateAppInstanceUserCommand({ AppInstanceUserArn: arn, Name: 'x', Metadata: '' }), NOT_FOUND, 'update deleted user');
    await fails(new I.PutAppInstanceUserExpirationSettingsCommand({ AppInstanceUserArn: arn }), NOT_FOUND, 'expiration of deleted user');
    // The token belonged to the deleted user: a retry now creates the user afresh.
    assert.equal((await ok(new I.CreateAppInstanceUserCommand(params), 'retry after delete')).AppInstanceUserArn, arn);
  }));

  test('pagination: 120 users with MaxResults=50 → 50 + 50 + 20, no repeats, no gaps; forged and foreign tokens refused', LONG_TEST, withOutput(async () => {
    const app = await newAppInstance();
    const ids = [];
    for (let i = 0; i < 120; i++) ids.push(await newUser(app, `user-${String(i).padStart(3, '0')}`));
    const seen = [];
    const sizes = [];
    let NextToken;
    let firstToken;
    do {
      const page = await ok(new I.ListAppInstanceUsersCommand({ AppInstanceArn: app, MaxResults: 50, NextToken }));
      assert.equal(page.AppInstanceArn, app);
      sizes.push(page.AppInstanceUsers.length);
      seen.push(...page.AppInstanceUsers.map((u) => u.AppInstanceUserArn));
      NextToken = page.NextToken;
      firstToken ??= NextToken;
      if (sizes.length === 1) ids.push(await newUser(app, 'added-between-pages'));
    } while (NextToken);
    assert.deepEqual(sizes, [50, 50, 21], 'the user added between pages appears on the last page');
    assert.equal(new Set(seen).size, seen.length, 'no repeats');
    assert.deepEqual(seen, ids, 'creation order, no gaps');

    const dflt = await ok(new I.ListAppInstanceUsersCommand({ AppInstanceArn: app }));
    assert.equal(dflt.AppInstanceUsers.length, 50, 'default MaxResults is 50');
    assert.ok(dflt.NextToken);

    const bad = (NextToken, what) => fails(new I.ListAppInstanceUsersCommand({ AppInstanceArn: app, NextToken }), BAD_REQUEST, what);
    assert.match((await bad('forged', 'forged token')).message, /Invalid NextToken/);
    await bad(firstToken.slice(0, -3), 'truncated token');
    await bad(`${firstToken.slice(0, -1)}${firstToken.endsWith('A') ? 'B' : 'A'}`, 'altered token');
    await fails(new I.ListAppInstanceBotsCommand({ AppInstanceArn: app, NextToken: firstToken }), BAD_REQUEST, 'users token on ListAppInstanceBots');
    const other = await newAppInstance();
    await fails(new I.ListAppInstanceUsersCommand({ AppInstanceArn: other, NextToken: firstToken }), BAD_REQUEST, 'token of another app instance');
    await fails(new I.ListAppInstancesCommand({ NextToken: firstToken }), BAD_REQUEST, 'users token on ListAppInstances');
  }));

  test('admins: promote users and bots, conflict, describe, list, demote', TEST, withOutput(async () => {
    const app = await newAppInstance();
    const user = await newUser(app, 'admin-user');
    const { AppInstanceBotArn: bot } = await ok(new I.CreateAppInstanceBotCommand({ AppInstanceArn: app, Name: 'Bot', Configuration: LEX }));
    const created = await ok(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }));
    assert.equal(created.$metadata.httpStatusCode, 201);
    assert.deepEqual(created.AppInstanceAdmin, { Arn: user, Name: 'admin-user' });
    assert.equal(created.AppInstanceArn, app);
    await ok(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: bot }), 'promote bot');
    await fails(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }), CONFLICT, 'promote twice');
    await fails(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: `${app}/user/nobody` }), NOT_FOUND, 'promote missing user');
    const other = await newAppInstance();
    await fails(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: other, AppInstanceAdminArn: user }), BAD_REQUEST, 'user of another app instance');

    const { AppInstanceAdmin: d } = await ok(new I.DescribeAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }));
    assert.deepEqual(d.Admin, { Arn: user, Name: 'admin-user' });
    assert.equal(d.AppInstanceArn, app);
    assert.ok(d.CreatedTimestamp instanceof Date);

    const p1 = await ok(new I.ListAppInstanceAdminsCommand({ AppInstanceArn: app, MaxResults: 1 }));
    assert.equal(p1.AppInstanceArn, app);
    assert.deepEqual(p1.AppInstanceAdmins, [{ Admin: { Arn: user, Name: 'admin-user' } }]);
    const p2 = await ok(new I.ListAppInstanceAdminsCommand({ AppInstanceArn: app, MaxResults: 1, NextToken: p1.NextToken }));
    assert.deepEqual(p2.AppInstanceAdmins, [{ Admin: { Arn: bot, Name: 'Bot' } }]);
    assert.equal(p2.NextToken, undefined);

    await ok(new I.DeleteAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }));
    await fails(new I.DescribeAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }), NOT_FOUND, 'describe demoted');
    await fails(new I.DeleteAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }), NOT_FOUND, 'demote twice');
    await ok(new I.DescribeAppInstanceUserCommand({ AppInstanceUserArn: user }), 'the demoted user stays');
    // Deleting the bot demotes it.
    await ok(new I.DeleteAppInstanceBotCommand({ AppInstanceBotArn: bot }));
    assert.deepEqual((await ok(new I.ListAppInstanceAdminsCommand({ AppInstanceArn: app }))).AppInstanceAdmins, []);
  }));

  test('admins: at most 100 per app instance', LONG_TEST, withOutput(async () => {
    const app = await newAppInstance();
    for (let i = 0; i < 101; i++) {
      const user = await newUser(app, `a${i}`);
      const cmd = new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user });
      if (i < 100) await ok(cmd);
      else await fails(cmd, LIMIT, '101st admin');
    }
  }));

  test('bots: create, idempotency, describe, update, list, delete', TEST, withOutput(async () => {
    const app = await newAppInstance();
    const token = crypto.randomUUID();
    const created = await ok(new I.CreateAppInstanceBotCommand({ AppInstanceArn: app, Name: 'Helper', Metadata: 'bm', Configuration: LEX, ClientRequestToken: token }));
    assert.equal(created.$metadata.httpStatusCode, 201);
    const arn = created.AppInstanceBotArn;
    assert.match(arn, new RegExp(`^${app}/bot/[0-9a-f-]{36}$`));
    assert.equal((await ok(new I.CreateAppInstanceBotCommand({ AppInstanceArn: app, Name: 'Helper', Metadata: 'bm', Configuration: LEX, ClientRequestToken: token }))).AppInstanceBotArn, arn);
    await fails(new I.CreateAppInstanceBotCommand({ AppInstanceArn: app, Name: 'Other', Configuration: LEX, ClientRequestToken: token }), CONFLICT, 'same token, other name');
    const noInvoke = { Lex: { LexBotAliasArn: LEX.Lex.LexBotAliasArn, LocaleId: 'en_US' } };
    await fails(new I.CreateAppInstanceBotCommand({ AppInstanceArn: app, Configuration: noInvoke }), BAD_REQUEST, 'Lex without InvokedBy or RespondsTo');

    const { AppInstanceBot: b } = await ok(new I.DescribeAppInstanceBotCommand({ AppInstanceBotArn: arn }));
    assert.equal(b.AppInstanceBotArn, arn);
    assert.equal(b.Name, 'Helper');
    assert.equal(b.Metadata, 'bm');
    assert.deepEqual(b.Configuration, LEX);
    assert.ok(b.CreatedTimestamp instanceof Date && b.LastUpdatedTimestamp instanceof Date);

    const newCfg = { Lex: { ...LEX.Lex, InvokedBy: { StandardMessages: 'ALL', TargetedMessages: 'NONE' }, WelcomeIntent: undefined, RespondsTo: 'STANDARD_MESSAGES' } };
    delete newCfg.Lex.WelcomeIntent;
    await ok(new I.UpdateAppInstanceBotCommand({ AppInstanceBotArn: arn, Name: 'Helper 2', Metadata: 'bm2', Configuration: newCfg }));
    const { AppInstanceBot: b2 } = await ok(new I.DescribeAppInstanceBotCommand({ AppInstanceBotArn: arn }));
    assert.equal(b2.Name, 'Helper 2');
    assert.deepEqual(b2.Configuration, newCfg);
    await ok(new I.UpdateAppInstanceBotCommand({ AppInstanceBotArn: arn, Name: 'Helper 3', Metadata: '' }), 'update without configuration');
    assert.deepEqual((await ok(new I.DescribeAppInstanceBotCommand({ AppInstanceBotArn: arn }))).AppInstanceBot.Configuration, newCfg);

    const list = await ok(new I.ListAppInstanceBotsCommand({ AppInstanceArn: app }));
    assert.equal(list.AppInstanceArn, app);
    assert.deepEqual(list.AppInstanceBots, [{ AppInstanceBotArn: arn, Name: 'Helper 3' }]);

    await ok(new I.DeleteAppInstanceBotCommand({ AppInstanceBotArn: arn }));
    await fails(new I.DescribeAppInstanceBotCommand({ AppInstanceBotArn: arn }), NOT_FOUND, 'describe deleted bot');
    await fails(new I.DeleteAppInstanceBotCommand({ AppInstanceBotArn: arn }), NOT_FOUND, 'delete deleted bot');
    await fails(new I.UpdateAppInstanceBotCommand({ AppInstanceBotArn: arn, Name: 'x', Metadata: '' }), NOT_FOUND, 'update deleted bot');
  }));

  test('endpoints: register, idempotency, duplicate device, limit, describe, update, list, deregister', LONG_TEST, withOutput(async () => {
    const app = await newAppInstance();
    const user = await newUser(app, 'phone-owner');
    const other = await newUser(app, 'someone-else');
    const token = crypto.randomUUID();
    const reg = { AppInstanceUserArn: user, Name: 'iPhone', Type: 'APNS', ResourceArn: PINPOINT,
      EndpointAttributes: { DeviceToken: 'device-0', VoipDeviceToken: 'voip-0' }, ClientRequestToken: token };
    const r = await ok(new I.RegisterAppInstanceUserEndpointCommand(reg));
    assert.equal(r.$metadata.httpStatusCode, 201);
    assert.equal(r.AppInstanceUserArn, user);
    assert.ok(r.EndpointId);
    assert.equal((await ok(new I.RegisterAppInstanceUserEndpointCommand(reg), 'retry')).EndpointId, r.EndpointId);
    await fails(new I.RegisterAppInstanceUserEndpointCommand({ ...reg, Name: 'x' }), CONFLICT, 'same token, other name');
    await fails(new I.RegisterAppInstanceUserEndpointCommand({ ...reg, ClientRequestToken: crypto.randomUUID() }), CONFLICT, 'same device token again');
    await fails(new I.RegisterAppInstanceUserEndpointCommand({ ...reg, AppInstanceUserArn: other, ClientRequestToken: crypto.randomUUID() }), CONFLICT, 'same device token, other user');

    const { AppInstanceUserEndpoint: e } = await ok(new I.DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId: r.EndpointId }));
    assert.equal(e.EndpointId, r.EndpointId);
    assert.equal(e.AppInstanceUserArn, user);
    assert.equal(e.Name, 'iPhone');
    assert.equal(e.Type, 'APNS');
    assert.equal(e.ResourceArn, PINPOINT);
    assert.deepEqual(e.EndpointAttributes, { DeviceToken: 'device-0', VoipDeviceToken: 'voip-0' });
    assert.equal(e.AllowMessages, 'ALL');
    assert.deepEqual(e.EndpointState, { Status: 'ACTIVE' });
    assert.ok(e.CreatedTimestamp instanceof Date && e.LastUpdatedTimestamp instanceof Date);

    const upd = await ok(new I.UpdateAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId: r.EndpointId, Name: 'Work phone', AllowMessages: 'NONE' }));
    assert.equal(upd.EndpointId, r.EndpointId);
    assert.equal(upd.AppInstanceUserArn, user);
    const { AppInstanceUserEndpoint: e2 } = await ok(new I.DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId: r.EndpointId }));
    assert.equal(e2.Name, 'Work phone');
    assert.equal(e2.AllowMessages, 'NONE');

    for (let i = 1; i < 10; i++) {
      await ok(new I.RegisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, Type: 'GCM', ResourceArn: PINPOINT, EndpointAttributes: { DeviceToken: `device-${i}` } }));
    }
    await fails(new I.RegisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, Type: 'GCM', ResourceArn: PINPOINT, EndpointAttributes: { DeviceToken: 'device-10' } }), LIMIT, '11th endpoint');

    const p1 = await ok(new I.ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: user, MaxResults: 6 }));
    const p2 = await ok(new I.ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: user, MaxResults: 6, NextToken: p1.NextToken }));
    assert.equal(p1.AppInstanceUserEndpoints.length, 6);
    assert.equal(p2.AppInstanceUserEndpoints.length, 4);
    assert.equal(p2.NextToken, undefined);
    assert.deepEqual(p1.AppInstanceUserEndpoints[0], { AppInstanceUserArn: user, EndpointId: r.EndpointId, Name: 'Work phone', Type: 'APNS', AllowMessages: 'NONE', EndpointState: { Status: 'ACTIVE' } });
    await fails(new I.ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: other, NextToken: p1.NextToken }), BAD_REQUEST, "another user's token");

    assert.equal((await ok(new I.DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId: r.EndpointId }))).$metadata.httpStatusCode, 204);
    await fails(new I.DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId: r.EndpointId }), NOT_FOUND, 'describe deregistered');
    await fails(new I.DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId: r.EndpointId }), NOT_FOUND, 'deregister twice');
    await fails(new I.UpdateAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId: r.EndpointId, Name: 'x' }), NOT_FOUND, 'update deregistered');
    await fails(new I.RegisterAppInstanceUserEndpointCommand({ ...reg, AppInstanceUserArn: `${app}/user/nobody` }), NOT_FOUND, 'register for a missing user');
    // Deregistering freed the device token.
    await ok(new I.RegisterAppInstanceUserEndpointCommand({ ...reg, AppInstanceUserArn: other, ClientRequestToken: crypto.randomUUID() }), 're-register freed token');
  }));

  test('retention settings: get empty, put, get, disable', TEST, withOutput(async () => {
    const app = await newAppInstance();
    const empty = await ok(new I.GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: app }));
    assert.equal(empty.InitiateDeletionTimestamp, undefined);
    const put = await ok(new I.PutAppInstanceRetentionSettingsCommand({ AppInstanceArn: app, AppInstanceRetentionSettings: { ChannelRetentionSettings: { RetentionDays: 60 } } }));
    assert.deepEqual(put.AppInstanceRetentionSettings, { ChannelRetentionSettings: { RetentionDays: 60 } });
    const days30 = 30 * 24 * 3600 * 1000;
    assert.ok(Math.abs(put.InitiateDeletionTimestamp - Date.now() - days30) < 60_000, `InitiateDeletionTimestamp ${put.InitiateDeletionTimestamp}`);
    const got = await ok(new I.GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: app }));
    assert.deepEqual(got.AppInstanceRetentionSettings, put.AppInstanceRetentionSettings);
    assert.equal(got.InitiateDeletionTimestamp.getTime(), put.InitiateDeletionTimestamp.getTime());
    const off = await ok(new I.PutAppInstanceRetentionSettingsCommand({ AppInstanceArn: app, AppInstanceRetentionSettings: { ChannelRetentionSettings: {} } }));
    assert.equal(off.InitiateDeletionTimestamp, undefined);
    await ok(new I.DeleteAppInstanceCommand({ AppInstanceArn: app }));
    await fails(new I.GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: app }), NOT_FOUND, 'get of a deleted app instance');
    await fails(new I.PutAppInstanceRetentionSettingsCommand({ AppInstanceArn: app, AppInstanceRetentionSettings: {} }), NOT_FOUND, 'put on a deleted app instance');
  }));

  test('tags: tag, re-tag, untag, list on app instances, users and bots; 50 at most', TEST, withOutput(async () => {
    const app = await newAppInstance();
    const user = await newUser(app, 'tagged');
    const { AppInstanceBotArn: bot } = await ok(new I.CreateAppInstanceBotCommand({ AppInstanceArn: app, Configuration: LEX }));
    for (const arn of [app, user, bot]) {
      const r = await ok(new I.TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: 'b', Value: '1' }, { Key: 'a', Value: '2' }] }));
      assert.equal(r.$metadata.httpStatusCode, 204);
      await ok(new I.TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: 'a', Value: '3' }] }), 're-tag');
      assert.deepEqual((await ok(new I.ListTagsForResourceCommand({ ResourceARN: arn }))).Tags, [{ Key: 'a', Value: '3' }, { Key: 'b', Value: '1' }]);
      await ok(new I.UntagResourceCommand({ ResourceARN: arn, TagKeys: ['b', 'absent'] }));
      assert.deepEqual((await ok(new I.ListTagsForResourceCommand({ ResourceARN: arn }))).Tags, [{ Key: 'a', Value: '3' }]);
    }
    const many = Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await ok(new I.TagResourceCommand({ ResourceARN: app, Tags: many }), '50 tags');
    const err = await fails(new I.TagResourceCommand({ ResourceARN: app, Tags: [{ Key: 'one-more', Value: 'v' }] }), LIMIT, '51st tag');
    assert.match(err.message, /TooManyTags/);
    const missing = `${app}/user/ghost`;
    await fails(new I.TagResourceCommand({ ResourceARN: missing, Tags: [{ Key: 'a', Value: 'b' }] }), NOT_FOUND, 'tag missing resource');
    await fails(new I.UntagResourceCommand({ ResourceARN: missing, TagKeys: ['a'] }), NOT_FOUND, 'untag missing resource');
    await fails(new I.ListTagsForResourceCommand({ ResourceARN: missing }), NOT_FOUND, 'list tags of missing resource');
    // Deleting the user deletes its tags: a new user of the same id starts untagged.
    await ok(new I.DeleteAppInstanceUserCommand({ AppInstanceUserArn: user }));
    await newUser(app, 'tagged');
    assert.deepEqual((await ok(new I.ListTagsForResourceCommand({ ResourceARN: user }))).Tags, []);
  }));

  test('deleting an app instance deletes everything in it', TEST, withOutput(async () => {
    const app = await newAppInstance();
    const user = await newUser(app, 'gone');
    const { AppInstanceBotArn: bot } = await ok(new I.CreateAppInstanceBotCommand({ AppInstanceArn: app, Configuration: LEX }));
    await ok(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }));
    const { EndpointId } = await ok(new I.RegisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, Type: 'GCM', ResourceArn: PINPOINT, EndpointAttributes: { DeviceToken: 'shared-device' } }));
    await ok(new I.DeleteAppInstanceCommand({ AppInstanceArn: app }));
    await fails(new I.DescribeAppInstanceUserCommand({ AppInstanceUserArn: user }), NOT_FOUND, 'user of deleted app instance');
    await fails(new I.DescribeAppInstanceBotCommand({ AppInstanceBotArn: bot }), NOT_FOUND, 'bot of deleted app instance');
    await fails(new I.DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId }), NOT_FOUND, 'endpoint of deleted app instance');
    await fails(new I.ListAppInstanceUsersCommand({ AppInstanceArn: app }), NOT_FOUND, 'list users of deleted app instance');
    await fails(new I.ListAppInstanceBotsCommand({ AppInstanceArn: app }), NOT_FOUND, 'list bots of deleted app instance');
    await fails(new I.ListAppInstanceAdminsCommand({ AppInstanceArn: app }), NOT_FOUND, 'list admins of deleted app instance');
    await fails(new I.ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: user }), NOT_FOUND, 'list endpoints of deleted user');
    await fails(new I.DescribeAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }), NOT_FOUND, 'admin of deleted app instance');
    // The device token is free again in a new app instance.
    const app2 = await newAppInstance();
    const user2 = await newUser(app2, 'gone');
    await ok(new I.RegisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: user2, Type: 'GCM', ResourceArn: PINPOINT, EndpointAttributes: { DeviceToken: 'shared-device' } }));
  }));

  // Last: it fills the account to its quota.
  test('app instances: at most 100 per account', LONG_TEST, withOutput(async () => {
    let count = 0;
    let NextToken;
    do {
      const page = await ok(new I.ListAppInstancesCommand({ NextToken }));
      count += page.AppInstances.length;
      NextToken = page.NextToken;
    } while (NextToken);
    for (; count < 100; count++) await newAppInstance(`fill-${count}`);
    const err = await fails(new I.CreateAppInstanceCommand({ Name: 'one too many' }), LIMIT, '101st app instance');
    assert.match(err.message, /100/);
  }));
});
