// Belfry console. Every action is a call through the unmodified AWS SDK for JavaScript v3,
// SigV4-signed in the browser with the key pair the user signs in with (kept in sessionStorage
// only, so it is gone when the tab closes); the live chat page is amazon-chime-sdk-js's
// DefaultMessagingSession over wss. Nothing here talks to the server any other way.
import * as I from '@aws-sdk/client-chime-sdk-identity';
import * as M from '@aws-sdk/client-chime-sdk-messaging';
// The messaging-session modules only (the SDK's index pulls in all of meetings); each is a
// CommonJS module whose class is its default export (exports.default, with __esModule: which
// esbuild honours because package.json does not say "type": "module").
import DefaultMessagingSession from 'amazon-chime-sdk-js/build/messagingsession/DefaultMessagingSession';
import MessagingSessionConfiguration from 'amazon-chime-sdk-js/build/messagingsession/MessagingSessionConfiguration';
import ConsoleLogger from 'amazon-chime-sdk-js/build/logger/ConsoleLogger';
import LogLevel from 'amazon-chime-sdk-js/build/logger/LogLevel';

const CRED_KEY = 'belfry.credentials';
const main = document.getElementById('main');
const errorBox = document.getElementById('error');
const statusBox = document.getElementById('status');

// ---- tiny DOM helpers -------------------------------------------------------------------------

/** h('button', { onclick, class: 'x' }, 'text', child…) */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    // An input's value attribute is its default, which form.reset() goes back to.
    else if (k === 'value' && tag !== 'input') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

function showError(err) {
  const status = err?.$metadata?.httpStatusCode;
  errorBox.textContent = `${err?.name ?? 'Error'}${status ? ` (${status})` : ''}: ${err?.message ?? String(err)}`;
}
function clearMessages() {
  errorBox.textContent = '';
  statusBox.textContent = '';
}
function say(text) {
  statusBox.textContent = text;
}

/** Runs an action, showing the API's error instead of throwing. Returns undefined on error. */
async function attempt(fn) {
  clearMessages();
  try {
    return await fn();
  } catch (err) {
    showError(err);
    return undefined;
  }
}

const when = (t) => (t ? new Date(t).toLocaleString() : '');

// ---- credentials and clients ------------------------------------------------------------------

function loadCredentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(CRED_KEY) ?? 'null');
    return c?.accessKeyId && c?.secretAccessKey ? c : null;
  } catch {
    return null;
  }
}

let clients;
function api() {
  if (clients) return clients;
  const c = loadCredentials();
  if (!c) return null;
  const config = {
    region: c.region || 'us-east-1',
    // The console is served by the server it manages: same origin, no CORS.
    endpoint: window.location.origin,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    maxAttempts: 1,
  };
  clients = { identity: new I.ChimeSDKIdentityClient(config), messaging: new M.ChimeSDKMessagingClient(config), region: config.region };
  return clients;
}
const identity = (cmd) => api().identity.send(cmd);
const messaging = (cmd) => api().messaging.send(cmd);

// "Act as": the AppInstanceUser (or bot) sent as x-amz-chime-bearer, per app instance.
const actAsKey = (appArn) => `belfry.actAs.${appArn}`;
const getActAs = (appArn) => sessionStorage.getItem(actAsKey(appArn)) ?? '';
const setActAs = (appArn, arn) => sessionStorage.setItem(actAsKey(appArn), arn);

const appOf = (arn) => arn.split('/').slice(0, 2).join('/');
const link = (path, text) => h('a', { href: `#${path}` }, text);
const enc = encodeURIComponent;

// ---- reusable pieces --------------------------------------------------------------------------

/**
 * A form. fields: [{ name, label, type: text|number|select|checkbox|textarea, options, value,
 * required, placeholder }]. onSubmit(values) may throw; the API's error is shown.
 */
function form({ title, fields, submit, onSubmit, stacked = false }) {
  const inputs = {};
  const f = h('form', { class: stacked ? 'stacked' : '', 'aria-label': title });
  for (const fd of fields) {
    const id = nextId(fd.name);
    let input;
    if (fd.type === 'select') {
      input = h('select', { id, name: fd.name }, fd.options.map((o) => (typeof o === 'string' ? h('option', { value: o }, o) : h('option', { value: o.value }, o.label))));
      if (fd.value !== undefined) input.value = fd.value;
    } else if (fd.type === 'textarea') {
      input = h('textarea', { id, name: fd.name, required: fd.required, placeholder: fd.placeholder, rows: 2 });
      if (fd.value !== undefined) input.value = fd.value;
    } else {
      input = h('input', {
        id, name: fd.name, type: fd.type ?? 'text', required: fd.required, placeholder: fd.placeholder,
        value: fd.value, autocomplete: fd.autocomplete ?? 'off', min: fd.min, max: fd.max, spellcheck: 'false',
      });
      if (fd.type === 'checkbox') input.checked = !!fd.checked;
    }
    inputs[fd.name] = input;
    f.append(fd.type === 'checkbox' ? h('label', { class: 'check', for: id }, input, fd.label) : h('label', { for: id }, fd.label, input));
  }
  const button = h('button', { type: 'submit' }, submit);
  f.append(button);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const values = {};
    for (const [k, el] of Object.entries(inputs)) values[k] = el.type === 'checkbox' ? el.checked : el.value.trim();
    button.disabled = true;
    try {
      const ok = await attempt(() => onSubmit(values));
      if (ok !== undefined) f.reset();
    } finally {
      button.disabled = false;
    }
  });
  return f;
}

/**
 * A paginated table. load(nextToken) → { items, next }. columns: [{ label, value(item) → node|text,
 * cls }]. actions(item, refresh) → [buttons]. Returns { el, refresh }.
 */
function table({ title, load, columns, actions, headingLevel = 'h2', extra = [] }) {
  const id = nextId('t');
  const body = h('tbody');
  const pageInfo = h('span', { class: 'muted' });
  const first = h('button', { type: 'button', class: 'secondary', onclick: () => show(undefined, 1) }, 'First page');
  const next = h('button', { type: 'button', class: 'secondary' }, 'Next page');
  let nextToken;
  let page = 1;
  next.addEventListener('click', () => show(nextToken, page + 1));
  async function show(token, p) {
    const res = await attempt(() => load(token));
    if (!res) return;
    page = p;
    nextToken = res.next;
    body.replaceChildren();
    for (const item of res.items) {
      const row = h('tr', {}, columns.map((c) => h('td', { class: c.cls ?? '' }, c.value(item))));
      if (actions) row.append(h('td', {}, h('div', { class: 'actions' }, actions(item, refresh))));
      body.append(row);
    }
    if (res.items.length === 0) body.append(h('tr', {}, h('td', { colspan: columns.length + (actions ? 1 : 0), class: 'muted' }, 'None yet.')));
    pageInfo.textContent = `Page ${page}${nextToken ? '' : ' (last)'}`;
    next.disabled = !nextToken;
    first.disabled = page === 1;
  }
  const refresh = () => show(undefined, 1);
  const el = h('section', { 'aria-labelledby': id },
    h(headingLevel, { id }, title),
    ...extra,
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.cls === 'opt' ? 'opt' : '' }, c.label)), actions ? h('th', { scope: 'col' }, 'Actions') : null)),
      body)),
    h('div', { class: 'pager' }, first, next, pageInfo));
  refresh();
  return { el, refresh };
}

/** A destructive button; confirmText also names it for screen readers ("Delete user Alice?"). */
function danger(label, confirmText, fn) {
  return h('button', {
    type: 'button', class: 'danger', 'aria-label': confirmText.replace(/\?$/, ''), onclick: async () => {
      if (!window.confirm(confirmText)) return;
      await attempt(fn);
    },
  }, label);
}

/** Users and bots of an app instance (first pages), for the "Act as" pickers. */
async function members(appArn) {
  const [u, b] = await Promise.all([
    identity(new I.ListAppInstanceUsersCommand({ AppInstanceArn: appArn, MaxResults: 50 })),
    identity(new I.ListAppInstanceBotsCommand({ AppInstanceArn: appArn, MaxResults: 50 })).catch(() => ({ AppInstanceBots: [] })),
  ]);
  return [
    ...(u.AppInstanceUsers ?? []).map((x) => ({ arn: x.AppInstanceUserArn, name: x.Name, kind: 'user' })),
    ...(b.AppInstanceBots ?? []).map((x) => ({ arn: x.AppInstanceBotArn, name: x.Name, kind: 'bot' })),
  ];
}

/** The "Act as" picker: which AppInstanceUser or bot is the x-amz-chime-bearer. */
async function actAsPicker(appArn, onChange) {
  const id = nextId('actas');
  const select = h('select', { id, name: 'actAs' });
  const label = h('label', { for: id, class: 'actas' }, 'Act as', select);
  // reload() refills the list (after a user is created); it reports a change of the chosen user.
  label.reload = async () => {
    const before = getActAs(appArn);
    const list = (await attempt(() => members(appArn))) ?? [];
    select.replaceChildren(h('option', { value: '' }, list.length ? '— choose a user —' : '— create a user first —'));
    for (const m of list) select.append(h('option', { value: m.arn }, `${m.name} (${m.kind}: ${m.arn.split('/').pop()})`));
    let chosen = '';
    if (before && list.some((m) => m.arn === before)) chosen = before;
    else if (list.length) chosen = list[0].arn;
    select.value = chosen;
    setActAs(appArn, chosen);
    return chosen !== before;
  };
  select.addEventListener('change', () => {
    setActAs(appArn, select.value);
    onChange?.(select.value);
  });
  await label.reload();
  return label;
}

// ---- pages ------------------------------------------------------------------------------------

function page(title, ...content) {
  document.title = `${title} · Belfry console`;
  main.replaceChildren(h('h1', {}, title), ...content.filter(Boolean));
}

function signInPage() {
  page('Sign in',
    h('p', {}, 'Use the root key pair Belfry printed on first start (also in ', h('code', {}, 'belfry-data/root-credential.json'), ') or a key scoped to one user. It is kept in this tab\'s session storage only.'),
    form({
      title: 'Sign in', submit: 'Sign in', stacked: true,
      fields: [
        { name: 'accessKeyId', label: 'Access key ID', required: true, autocomplete: 'username' },
        { name: 'secretAccessKey', label: 'Secret access key', type: 'password', required: true, autocomplete: 'current-password' },
        { name: 'region', label: 'Region', value: 'us-east-1', required: true },
      ],
      onSubmit: async (v) => {
        sessionStorage.setItem(CRED_KEY, JSON.stringify(v));
        clients = undefined;
        try {
          // Any signed call proves the key; a scoped key may not list app instances.
          await identity(new I.ListAppInstancesCommand({ MaxResults: 1 }));
        } catch (err) {
          if (err.name !== 'ForbiddenException') {
            sessionStorage.removeItem(CRED_KEY);
            clients = undefined;
            throw err;
          }
        }
        renderNav();
        location.hash = '#/instances';
        return true;
      },
    }));
}

function instancesPage() {
  const t = table({
    title: 'App instances',
    load: async (token) => {
      const r = await identity(new I.ListAppInstancesCommand({ MaxResults: 10, NextToken: token }));
      return { items: r.AppInstances ?? [], next: r.NextToken };
    },
    columns: [
      { label: 'Name', value: (a) => link(`/app/${enc(a.AppInstanceArn)}`, a.Name) },
      { label: 'ARN', value: (a) => a.AppInstanceArn, cls: 'arn opt' },
    ],
    actions: (a, refresh) => [danger('Delete', `Delete app instance ${a.Name}?`, async () => {
      await identity(new I.DeleteAppInstanceCommand({ AppInstanceArn: a.AppInstanceArn }));
      refresh(); // first: a refresh clears the status line
      say(`Deleted ${a.Name}.`);
    })],
  });
  page('App instances',
    h('section', { 'aria-labelledby': 'new-app' }, h('h2', { id: 'new-app' }, 'Create an app instance'),
      form({
        title: 'Create an app instance', submit: 'Create app instance',
        fields: [{ name: 'name', label: 'Name', required: true }, { name: 'metadata', label: 'Metadata (optional)' }],
        onSubmit: async (v) => {
          const r = await identity(new I.CreateAppInstanceCommand({ Name: v.name, Metadata: v.metadata || undefined }));
          t.refresh();
          say(`Created app instance ${v.name}: ${r.AppInstanceArn}`);
          return r;
        },
      })),
    t.el);
}

async function appPage(appArn) {
  const d = await attempt(() => identity(new I.DescribeAppInstanceCommand({ AppInstanceArn: appArn })));
  const name = d?.AppInstance?.Name ?? appArn;
  // The "Act as" picker comes first: the channel table lists as the chosen user.
  const picker = await actAsPicker(appArn, () => channels.refresh());

  const users = table({
    title: 'Users',
    load: async (token) => {
      const r = await identity(new I.ListAppInstanceUsersCommand({ AppInstanceArn: appArn, MaxResults: 10, NextToken: token }));
      return { items: r.AppInstanceUsers ?? [], next: r.NextToken };
    },
    columns: [{ label: 'Name', value: (u) => u.Name }, { label: 'ARN', value: (u) => u.AppInstanceUserArn, cls: 'arn' }],
    actions: (u, refresh) => [danger('Delete', `Delete user ${u.Name}?`, async () => {
      await identity(new I.DeleteAppInstanceUserCommand({ AppInstanceUserArn: u.AppInstanceUserArn }));
      refresh();
    })],
    extra: [form({
      title: 'Create a user', submit: 'Create user',
      fields: [{ name: 'id', label: 'User ID', required: true, placeholder: 'alice' }, { name: 'name', label: 'Name', required: true, placeholder: 'Alice' }],
      onSubmit: async (v) => {
        const r = await identity(new I.CreateAppInstanceUserCommand({ AppInstanceArn: appArn, AppInstanceUserId: v.id, Name: v.name }));
        users.refresh();
        if (await picker.reload()) channels.refresh();
        say(`Created user ${v.name}: ${r.AppInstanceUserArn}`);
        return r;
      },
    })],
  });

  const bots = table({
    title: 'Bots',
    load: async (token) => {
      const r = await identity(new I.ListAppInstanceBotsCommand({ AppInstanceArn: appArn, MaxResults: 10, NextToken: token }));
      return { items: r.AppInstanceBots ?? [], next: r.NextToken };
    },
    columns: [{ label: 'Name', value: (b) => b.Name }, { label: 'ARN', value: (b) => b.AppInstanceBotArn, cls: 'arn' }],
    actions: (b, refresh) => [danger('Delete', `Delete bot ${b.Name}?`, async () => {
      await identity(new I.DeleteAppInstanceBotCommand({ AppInstanceBotArn: b.AppInstanceBotArn }));
      refresh();
    })],
    extra: [form({
      title: 'Create a bot', submit: 'Create bot',
      fields: [
        { name: 'name', label: 'Name', required: true },
        { name: 'lex', label: 'Lex bot alias ARN', required: true, placeholder: 'arn:aws:lex:us-east-1:000000000000:bot-alias/BOT/ALIAS' },
        { name: 'locale', label: 'Locale ID', value: 'en_US', required: true },
        { name: 'standard', label: 'Invoked by standard messages', type: 'select', options: ['AUTO', 'ALL', 'MENTIONS', 'NONE'] },
      ],
      onSubmit: async (v) => {
        const r = await identity(new I.CreateAppInstanceBotCommand({
          AppInstanceArn: appArn, Name: v.name,
          Configuration: { Lex: { LexBotAliasArn: v.lex, LocaleId: v.locale, InvokedBy: { StandardMessages: v.standard, TargetedMessages: 'ALL' } } },
        }));
        bots.refresh();
        say(`Created bot ${v.name}.`);
        return r;
      },
    })],
  });

  const admins = table({
    title: 'Admins',
    load: async (token) => {
      const r = await identity(new I.ListAppInstanceAdminsCommand({ AppInstanceArn: appArn, MaxResults: 10, NextToken: token }));
      return { items: r.AppInstanceAdmins ?? [], next: r.NextToken };
    },
    columns: [{ label: 'Name', value: (a) => a.Admin?.Name ?? '' }, { label: 'ARN', value: (a) => a.Admin?.Arn, cls: 'arn' }],
    actions: (a, refresh) => [danger('Remove', `Remove admin ${a.Admin?.Name}?`, async () => {
      await identity(new I.DeleteAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: a.Admin.Arn }));
      refresh();
    })],
    extra: [form({
      title: 'Add an admin', submit: 'Add admin',
      fields: [{ name: 'arn', label: 'User or bot ARN', required: true }],
      onSubmit: async (v) => {
        const r = await identity(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: v.arn }));
        admins.refresh();
        return r;
      },
    })],
  });

  const channels = table({
    title: 'Channels',
    load: async (token) => {
      const bearer = getActAs(appArn);
      if (!bearer) return { items: [], next: undefined };
      const r = await messaging(new M.ListChannelsCommand({ AppInstanceArn: appArn, ChimeBearer: bearer, MaxResults: 10, NextToken: token }));
      return { items: r.Channels ?? [], next: r.NextToken };
    },
    columns: [
      { label: 'Name', value: (c) => link(`/channel/${enc(c.ChannelArn)}`, c.Name) },
      { label: 'Mode', value: (c) => `${c.Mode ?? ''} ${c.Privacy ?? ''}`, cls: 'opt' },
      { label: 'Last message', value: (c) => when(c.LastMessageTimestamp), cls: 'opt' },
    ],
    actions: (c) => [h('a', { href: `#/chat/${enc(c.ChannelArn)}` }, 'Open chat')],
    extra: [
      h('p', { class: 'muted' }, 'Channels are listed and created as the user chosen in "Act as" (private channels show for app instance admins).'),
      form({
        title: 'Create a channel', submit: 'Create channel',
        fields: [
          { name: 'name', label: 'Name', required: true },
          { name: 'mode', label: 'Mode', type: 'select', options: ['UNRESTRICTED', 'RESTRICTED'] },
          { name: 'privacy', label: 'Privacy', type: 'select', options: ['PUBLIC', 'PRIVATE'] },
          { name: 'elastic', label: 'Elastic', type: 'checkbox' },
          { name: 'maxSub', label: 'Max sub-channels (elastic)', type: 'number', value: '10', min: '2' },
          { name: 'target', label: 'Members per sub-channel (elastic)', type: 'number', value: '100', min: '2' },
          { name: 'minPct', label: 'Minimum membership % (elastic)', type: 'number', value: '25', min: '1', max: '40' },
        ],
        onSubmit: async (v) => {
          const input = { AppInstanceArn: appArn, Name: v.name, Mode: v.mode, Privacy: v.privacy, ChimeBearer: getActAs(appArn) };
          if (v.elastic) {
            input.ElasticChannelConfiguration = {
              MaximumSubChannels: Number(v.maxSub), TargetMembershipsPerSubChannel: Number(v.target), MinimumMembershipPercentage: Number(v.minPct),
            };
          }
          const r = await messaging(new M.CreateChannelCommand(input));
          channels.refresh(); // first: a refresh clears the status line
          say(`Created channel ${v.name}: ${r.ChannelArn}`);
          return r;
        },
      }),
    ],
  });

  const flows = table({
    title: 'Channel flows',
    load: async (token) => {
      const r = await messaging(new M.ListChannelFlowsCommand({ AppInstanceArn: appArn, MaxResults: 10, NextToken: token }));
      return { items: r.ChannelFlows ?? [], next: r.NextToken };
    },
    columns: [
      { label: 'Name', value: (f) => f.Name },
      { label: 'Processor', value: (f) => (f.Processors ?? []).map((p) => `${p.Name}: ${p.Configuration?.Lambda?.ResourceArn} (${p.FallbackAction})`).join('; '), cls: 'arn opt' },
      { label: 'ARN', value: (f) => f.ChannelFlowArn, cls: 'arn' },
    ],
    actions: (f, refresh) => [danger('Delete', `Delete channel flow ${f.Name}?`, async () => {
      await messaging(new M.DeleteChannelFlowCommand({ ChannelFlowArn: f.ChannelFlowArn }));
      refresh();
    })],
    extra: [form({
      title: 'Create a channel flow', submit: 'Create channel flow',
      fields: [
        { name: 'name', label: 'Name', required: true },
        { name: 'processor', label: 'Processor name', value: 'processor', required: true },
        { name: 'lambda', label: 'Lambda function ARN', required: true, placeholder: 'arn:aws:lambda:us-east-1:000000000000:function:moderate' },
        { name: 'fallback', label: 'Fallback action', type: 'select', options: ['CONTINUE', 'ABORT'] },
      ],
      onSubmit: async (v) => {
        const r = await messaging(new M.CreateChannelFlowCommand({
          AppInstanceArn: appArn, Name: v.name,
          Processors: [{ Name: v.processor, ExecutionOrder: 1, FallbackAction: v.fallback, Configuration: { Lambda: { ResourceArn: v.lambda, InvocationType: 'ASYNC' } } }],
        }));
        flows.refresh();
        return r;
      },
    })],
  });

  // Elastic channels cannot be UNRESTRICTED: ticking "Elastic" picks RESTRICTED (the API still
  // answers its own error if it is set back).
  const createChannelForm = channels.el.querySelector('form[aria-label="Create a channel"]');
  createChannelForm.elements.elastic.addEventListener('change', (ev) => {
    if (ev.target.checked) createChannelForm.elements.mode.value = 'RESTRICTED';
  });

  page(`App instance ${name}`,
    h('p', { class: 'arn' }, appArn),
    h('section', { 'aria-label': 'Chime bearer' }, picker),
    h('div', { class: 'grid' }, users.el, channels.el),
    h('div', { class: 'grid' }, bots.el, admins.el),
    flows.el,
    h('div', { class: 'grid' }, await retentionSection(appArn), await streamingSection(appArn)));
}

async function retentionSection(appArn) {
  const id = nextId('ret');
  const current = h('p', {});
  const show = async () => {
    try {
      const r = await identity(new I.GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: appArn }));
      const days = r?.AppInstanceRetentionSettings?.ChannelRetentionSettings?.RetentionDays;
      current.textContent = days ? `Channel messages are kept ${days} days.` : 'Channel messages are kept forever (no retention set).';
    } catch (err) {
      current.textContent = `${err.name}: ${err.message}`;
    }
  };
  await show();
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, 'Retention'), current, form({
    title: 'Set retention', submit: 'Save retention',
    fields: [{ name: 'days', label: 'Retention days (1–5475)', type: 'number', required: true, min: '1', max: '5475' }],
    onSubmit: async (v) => {
      const r = await identity(new I.PutAppInstanceRetentionSettingsCommand({
        AppInstanceArn: appArn, AppInstanceRetentionSettings: { ChannelRetentionSettings: { RetentionDays: Number(v.days) } },
      }));
      await show();
      return r;
    },
  }));
}

async function streamingSection(appArn) {
  const id = nextId('str');
  const list = h('ul', {});
  const show = async () => {
    list.replaceChildren();
    try {
      const r = await messaging(new M.GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: appArn }));
      for (const s of r.StreamingConfigurations ?? []) list.append(h('li', {}, `${s.DataType} → `, h('span', { class: 'arn' }, s.ResourceArn)));
    } catch (err) {
      // Shown here rather than in the page's alert: the rest of the page works.
      if (err.name !== 'NotFoundException') list.append(h('li', { class: 'muted' }, `${err.name}: ${err.message}`));
    }
    // NotFoundException is the API's way of saying there is nothing configured, not an error.
    if (!list.children.length) list.append(h('li', { class: 'muted' }, 'None configured.'));
  };
  await show();
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, 'Streaming'), list, form({
    title: 'Set streaming', submit: 'Save streaming',
    fields: [
      { name: 'type', label: 'Data type', type: 'select', options: ['Channel', 'ChannelMessage'] },
      { name: 'arn', label: 'Kinesis stream ARN', required: true, placeholder: 'arn:aws:kinesis:us-east-1:000000000000:stream/chime-messaging-events' },
    ],
    onSubmit: async (v) => {
      let existing = [];
      try {
        existing = (await messaging(new M.GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: appArn }))).StreamingConfigurations ?? [];
      } catch (err) {
        if (err.name !== 'NotFoundException') throw err;
      }
      const configs = [...existing.filter((s) => s.DataType !== v.type), { DataType: v.type, ResourceArn: v.arn }];
      const r = await messaging(new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: appArn, StreamingConfigurations: configs }));
      await show();
      return r;
    },
  }), danger('Delete streaming', 'Delete streaming configurations (all of them)?', async () => {
    await messaging(new M.DeleteMessagingStreamingConfigurationsCommand({ AppInstanceArn: appArn }));
    await show();
  }));
}

/** A sub-channel ID (64 hex digits) short enough for a picker; the full one is in the tables. */
const shortSub = (id) => (id && id.length > 16 ? `${id.slice(0, 12)}…` : id ?? '');

/** Every sub-channel of an elastic channel (ListSubChannels: moderators and admins only). */
async function listSubChannels(channelArn, bearer) {
  const all = [];
  for (let token; ;) {
    const r = await messaging(new M.ListSubChannelsCommand({ ChannelArn: channelArn, ChimeBearer: bearer, MaxResults: 50, NextToken: token }));
    all.push(...(r.SubChannels ?? []));
    if (!(token = r.NextToken)) return all;
  }
}

/** The sub-channel the bearer is a member of, or undefined (not a member, or a moderator without one). */
async function ownSubChannel(channelArn, bearer) {
  try {
    if (bearer.includes('/user/')) {
      const r = await messaging(new M.DescribeChannelMembershipForAppInstanceUserCommand({ ChannelArn: channelArn, AppInstanceUserArn: bearer, ChimeBearer: bearer }));
      return r.ChannelMembership?.AppInstanceUserMembershipSummary?.SubChannelId;
    }
    const r = await messaging(new M.DescribeChannelMembershipCommand({ ChannelArn: channelArn, MemberArn: bearer, ChimeBearer: bearer }));
    return r.ChannelMembership?.SubChannelId;
  } catch (err) {
    if (err.name === 'NotFoundException' || err.name === 'ForbiddenException') return undefined;
    throw err;
  }
}

async function channelPage(channelArn) {
  const appArn = appOf(channelArn);
  const bearer = () => getActAs(appArn);
  const picker = await actAsPicker(appArn, () => location.reload());
  const d = await attempt(() => messaging(new M.DescribeChannelCommand({ ChannelArn: channelArn, ChimeBearer: bearer() })));
  const c = d?.Channel;
  const memberForm = (title, submit, fn, extraFields = []) => form({
    title, submit, fields: [{ name: 'arn', label: 'User ARN', required: true }, ...extraFields],
    onSubmit: fn,
  });

  const elastic = c?.ElasticChannelConfiguration;
  // Elastic channels: memberships are listed per sub-channel ("" lists what the API lists without
  // one: a member's own sub-channel, the whole channel for moderators and admins).
  let memberSub = '';
  // ListChannelMemberships returns one type per call (DEFAULT unless asked for HIDDEN), and its
  // summaries carry no type: the page's type is the one asked for.
  let memberType = 'DEFAULT';
  const subPickers = []; // the "Sub-channel" selects to refill when the sub-channel list changes
  const subSelect = (label, firstOption, onChange) => {
    const id = nextId('sub');
    // aria-label: a wrapping label would add the chosen option's text to the name.
    const select = h('select', { id, name: 'subChannel', 'aria-label': label }, h('option', { value: '' }, firstOption));
    select.firstLabel = firstOption;
    if (onChange) select.addEventListener('change', () => onChange(select.value));
    subPickers.push(select);
    return { select, label: h('label', { for: id }, label, select) };
  };
  const fillSubPickers = (subs) => {
    for (const select of subPickers) {
      const before = select.value;
      select.replaceChildren(h('option', { value: '' }, select.firstLabel),
        ...subs.map((sc) => h('option', { value: sc.SubChannelId }, `${shortSub(sc.SubChannelId)} (${sc.MembershipCount ?? 0} members)`)));
      select.value = subs.some((sc) => sc.SubChannelId === before) ? before : '';
    }
  };
  const memberFilter = elastic ? subSelect('Sub-channel', 'All (as the API lists them)', (v) => {
    memberSub = v;
    memberships.refresh();
  }) : null;

  const memberships = table({
    title: 'Members',
    load: async (token) => {
      const r = await messaging(new M.ListChannelMembershipsCommand({
        ChannelArn: channelArn, ChimeBearer: bearer(), MaxResults: 10, NextToken: token, SubChannelId: memberSub || undefined,
        Type: elastic ? undefined : memberType,
      }));
      const type = elastic ? 'DEFAULT' : memberType;
      return { items: (r.ChannelMemberships ?? []).map((m) => ({ ...m, Type: type })), next: r.NextToken };
    },
    columns: [{ label: 'Name', value: (m) => m.Member?.Name ?? '' }, { label: 'Type', value: (m) => m.Type ?? '', cls: 'opt' }, { label: 'ARN', value: (m) => m.Member?.Arn, cls: 'arn' }],
    actions: (m, refresh) => [danger('Remove', `Remove ${m.Member?.Name}?`, async () => {
      // With the sub-channel shown: that membership only. Without: a member's one
      // membership, or all of a moderator's.
      await messaging(new M.DeleteChannelMembershipCommand({
        ChannelArn: channelArn, MemberArn: m.Member.Arn, SubChannelId: memberSub || undefined, ChimeBearer: bearer(),
      }));
      refresh();
      subChannels?.refresh();
    })],
    extra: [
      memberFilter?.label,
      elastic ? null : (() => {
        const id = nextId('mt');
        const select = h('select', { id }, h('option', { value: 'DEFAULT' }, 'Default members'), h('option', { value: 'HIDDEN' }, 'Hidden members'));
        select.addEventListener('change', () => {
          memberType = select.value;
          memberships.refresh();
        });
        return h('label', { for: id }, 'Showing', select);
      })(),
      elastic ? memberForm('Add a member', 'Add member', async (v) => {
        // A member is placed by the service; a moderator (or admin) chooses the sub-channel.
        const r = await messaging(new M.CreateChannelMembershipCommand({
          ChannelArn: channelArn, MemberArn: v.arn, Type: 'DEFAULT', SubChannelId: v.subChannel || undefined, ChimeBearer: bearer(),
        }));
        memberships.refresh();
        subChannels.refresh();
        say(`Added ${v.arn.split('/').pop()} to sub-channel ${r.SubChannelId ?? '(none)'}.`);
        return r;
      }, [{ name: 'subChannel', label: 'Sub-channel (moderators only)', type: 'select', options: [{ value: '', label: 'Placed by the service' }] }])
        : memberForm('Add a member', 'Add member', async (v) => {
          const r = await messaging(new M.CreateChannelMembershipCommand({ ChannelArn: channelArn, MemberArn: v.arn, Type: v.type, ChimeBearer: bearer() }));
          memberships.refresh();
          return r;
        }, [{ name: 'type', label: 'Type', type: 'select', options: ['DEFAULT', 'HIDDEN'] }]),
    ],
  });
  if (elastic) {
    const addSelect = memberships.el.querySelector('form[aria-label="Add a member"] select[name="subChannel"]');
    addSelect.firstLabel = 'Placed by the service';
    subPickers.push(addSelect);
  }

  // Sub-channels: ListSubChannels is for moderators and admins; a member acting sees its own.
  const subNote = h('p', { class: 'muted' });
  const subChannels = elastic ? table({
    title: 'Sub-channels',
    load: async (token) => {
      subNote.textContent = '';
      let r;
      try {
        r = await messaging(new M.ListSubChannelsCommand({ ChannelArn: channelArn, ChimeBearer: bearer(), MaxResults: 10, NextToken: token }));
      } catch (err) {
        if (err.name !== 'ForbiddenException') throw err;
        const own = await ownSubChannel(channelArn, bearer());
        subNote.textContent = own
          ? `Only moderators and app instance admins list sub-channels; ${bearer().split('/').pop()} is a member of ${own}.`
          : `Only moderators and app instance admins list sub-channels (${err.message}).`;
        return { items: own ? [{ SubChannelId: own }] : [], next: undefined };
      }
      const items = r.SubChannels ?? [];
      // Every sub-channel for the pickers, not only this page.
      listSubChannels(channelArn, bearer()).then(fillSubPickers, () => {});
      return { items, next: r.NextToken };
    },
    columns: [
      { label: 'Sub-channel ID', value: (sc) => sc.SubChannelId, cls: 'arn' },
      { label: 'Members', value: (sc) => (sc.MembershipCount === undefined ? '' : String(sc.MembershipCount)) },
    ],
    actions: (sc) => [h('button', {
      type: 'button', class: 'secondary', 'aria-label': `Show members of sub-channel ${sc.SubChannelId}`, onclick: () => {
        memberFilter.select.value = sc.SubChannelId;
        memberSub = sc.SubChannelId;
        memberships.refresh();
        memberships.el.querySelector('h2').scrollIntoView();
      },
    }, 'Show members')],
    extra: [subNote],
  }) : null;
  const elasticSection = elastic ? (() => {
    const id = nextId('ecc');
    return h('section', { 'aria-labelledby': id }, h('h2', { id }, 'Elastic channel configuration'),
      h('dl', { class: 'pairs' },
        h('dt', {}, 'Maximum sub-channels'), h('dd', {}, String(elastic.MaximumSubChannels)),
        h('dt', {}, 'Target memberships per sub-channel'), h('dd', {}, String(elastic.TargetMembershipsPerSubChannel)),
        h('dt', {}, 'Minimum membership percentage'), h('dd', {}, `${elastic.MinimumMembershipPercentage}%`)),
      h('p', { class: 'muted' }, 'Members are placed in a sub-channel by the service; a moderator\'s membership names one. Messages belong to one sub-channel.'));
  })() : null;

  const moderators = table({
    title: 'Moderators',
    load: async (token) => {
      const r = await messaging(new M.ListChannelModeratorsCommand({ ChannelArn: channelArn, ChimeBearer: bearer(), MaxResults: 10, NextToken: token }));
      return { items: r.ChannelModerators ?? [], next: r.NextToken };
    },
    columns: [{ label: 'Name', value: (m) => m.Moderator?.Name ?? '' }, { label: 'ARN', value: (m) => m.Moderator?.Arn, cls: 'arn' }],
    actions: (m, refresh) => [danger('Remove', `Remove moderator ${m.Moderator?.Name}?`, async () => {
      await messaging(new M.DeleteChannelModeratorCommand({ ChannelArn: channelArn, ChannelModeratorArn: m.Moderator.Arn, ChimeBearer: bearer() }));
      refresh();
    })],
    extra: [memberForm('Add a moderator', 'Add moderator', async (v) => {
      const r = await messaging(new M.CreateChannelModeratorCommand({ ChannelArn: channelArn, ChannelModeratorArn: v.arn, ChimeBearer: bearer() }));
      moderators.refresh();
      return r;
    })],
  });
  const bans = table({
    title: 'Bans',
    load: async (token) => {
      const r = await messaging(new M.ListChannelBansCommand({ ChannelArn: channelArn, ChimeBearer: bearer(), MaxResults: 10, NextToken: token }));
      return { items: r.ChannelBans ?? [], next: r.NextToken };
    },
    columns: [{ label: 'Name', value: (m) => m.Member?.Name ?? '' }, { label: 'ARN', value: (m) => m.Member?.Arn, cls: 'arn' }],
    actions: (m, refresh) => [danger('Unban', `Unban ${m.Member?.Name}?`, async () => {
      await messaging(new M.DeleteChannelBanCommand({ ChannelArn: channelArn, MemberArn: m.Member.Arn, ChimeBearer: bearer() }));
      refresh();
    })],
    extra: [memberForm('Ban a member', 'Ban', async (v) => {
      const r = await messaging(new M.CreateChannelBanCommand({ ChannelArn: channelArn, MemberArn: v.arn, ChimeBearer: bearer() }));
      bans.refresh();
      return r;
    })],
  });
  const flowId = nextId('flow');
  const flowSection = h('section', { 'aria-labelledby': flowId }, h('h2', { id: flowId }, 'Channel flow'),
    h('p', {}, c?.ChannelFlowArn ? ['Associated: ', h('span', { class: 'arn' }, c.ChannelFlowArn)] : 'No channel flow associated.'),
    form({
      title: 'Associate a channel flow', submit: 'Associate flow', fields: [{ name: 'arn', label: 'Channel flow ARN', required: true }],
      onSubmit: async (v) => {
        const r = await messaging(new M.AssociateChannelFlowCommand({ ChannelArn: channelArn, ChannelFlowArn: v.arn, ChimeBearer: bearer() }));
        say('Channel flow associated.');
        return r;
      },
    }),
    c?.ChannelFlowArn ? danger('Disassociate flow', 'Disassociate flow from this channel?', async () => {
      await messaging(new M.DisassociateChannelFlowCommand({ ChannelArn: channelArn, ChannelFlowArn: c.ChannelFlowArn, ChimeBearer: bearer() }));
      say('Channel flow disassociated.');
    }) : null);

  page(`Channel ${c?.Name ?? ''}`,
    h('p', {}, link(`/app/${enc(appArn)}`, '← App instance'), ' · ', link(`/chat/${enc(channelArn)}`, 'Open live chat')),
    h('p', { class: 'arn' }, channelArn),
    c ? h('p', {}, `${c.Mode} · ${c.Privacy}${c.ElasticChannelConfiguration ? ` · elastic (max ${c.ElasticChannelConfiguration.MaximumSubChannels} sub-channels)` : ''} · created ${when(c.CreatedTimestamp)} by ${c.CreatedBy?.Name ?? ''}`) : null,
    h('section', { 'aria-label': 'Chime bearer' }, picker),
    elastic ? h('div', { class: 'grid' }, elasticSection, subChannels.el) : null,
    h('div', { class: 'grid' }, memberships.el, moderators.el),
    h('div', { class: 'grid' }, bans.el, flowSection),
    danger('Delete channel', 'Delete channel and its messages?', async () => {
      await messaging(new M.DeleteChannelCommand({ ChannelArn: channelArn, ChimeBearer: bearer() }));
      location.hash = `#/app/${enc(appArn)}`;
    }));
}

// ---- live chat --------------------------------------------------------------------------------

let session; // the open DefaultMessagingSession, stopped when the page changes

function stopSession() {
  if (session) {
    session.stop();
    session = undefined;
  }
}

async function chatPage(channelArn) {
  const appArn = appOf(channelArn);
  const list = h('ol', { class: 'messages', 'aria-label': 'Messages', 'aria-live': 'polite' });
  const events = h('ol', { class: 'events', 'aria-label': 'Session events' });
  const conn = h('p', { class: 'muted', id: 'session-state' }, 'Not connected.');
  const byId = new Map();
  // Elastic channels: every message belongs to one sub-channel, chosen here ('' on a standard channel).
  let elastic = false;
  let sub = '';
  const subId = nextId('chatsub');
  const subSelect = h('select', { id: subId, name: 'subChannel', 'aria-label': 'Sub-channel' });
  const subLabel = h('label', { for: subId, class: 'actas', hidden: true }, 'Sub-channel', subSelect);
  const subNote = h('p', { class: 'muted', id: 'sub-channel-note' });
  const subArgs = (m) => ((m?.SubChannelId ?? sub) ? { SubChannelId: m?.SubChannelId ?? sub } : {});

  const render = (m) => {
    const status = m.Status?.Value;
    const li = byId.get(m.MessageId) ?? h('li', { 'data-message-id': m.MessageId });
    const content = m.Redacted ? '(redacted)' : (m.Content ?? '');
    li.replaceChildren(...[
      h('div', { class: 'meta' }, `${m.Sender?.Name ?? m.Sender?.Arn ?? ''} · ${when(m.CreatedTimestamp)}${m.LastEditedTimestamp ? ' · edited' : ''}${m.SubChannelId ? ` · sub-channel ${shortSub(m.SubChannelId)}` : ''}`,
        status && status !== 'SENT' ? h('span', { class: `badge ${status}` }, status.toLowerCase()) : null,
        m.Redacted ? h('span', { class: 'badge redacted' }, 'redacted') : null),
      h('div', { class: 'content' }, content),
      status === 'DENIED' || status === 'FAILED' ? h('div', { class: 'muted' }, m.Status?.Detail ?? '') : null,
      h('div', { class: 'actions' },
        h('button', {
          type: 'button', class: 'secondary', 'aria-label': `Edit message ${m.MessageId}`, onclick: async () => {
            const text = window.prompt('New content', m.Content ?? '');
            if (text === null) return;
            await attempt(() => messaging(new M.UpdateChannelMessageCommand({ ChannelArn: channelArn, MessageId: m.MessageId, Content: text, ChimeBearer: getActAs(appArn), ...subArgs(m) })));
          },
        }, 'Edit'),
        h('button', {
          type: 'button', class: 'secondary', 'aria-label': `Redact message ${m.MessageId}`, onclick: () => attempt(() => messaging(new M.RedactChannelMessageCommand({ ChannelArn: channelArn, MessageId: m.MessageId, ChimeBearer: getActAs(appArn), ...subArgs(m) }))),
        }, 'Redact'),
        danger('Delete', `Delete message ${m.MessageId}?`, () => messaging(new M.DeleteChannelMessageCommand({ ChannelArn: channelArn, MessageId: m.MessageId, ChimeBearer: getActAs(appArn), ...subArgs(m) })))),
    ].filter(Boolean)); // replaceChildren would write a null as the text "null"
    if (!byId.has(m.MessageId)) {
      byId.set(m.MessageId, li);
      list.append(li);
    }
    list.scrollTop = list.scrollHeight;
  };

  const loadHistory = async () => {
    list.replaceChildren();
    byId.clear();
    if (elastic && !sub) return; // nothing to show: no sub-channel to read
    const r = await attempt(() => messaging(new M.ListChannelMessagesCommand({ ChannelArn: channelArn, ChimeBearer: getActAs(appArn), SortOrder: 'DESCENDING', MaxResults: 50, ...subArgs() })));
    for (const m of [...(r?.ChannelMessages ?? [])].reverse()) render(m);
  };

  const logEvent = (text) => {
    events.prepend(h('li', {}, `${new Date().toLocaleTimeString()} ${text}`));
    while (events.children.length > 100) events.lastChild.remove();
  };

  const connect = async () => {
    stopSession();
    conn.dataset.state = 'connecting';
    const userArn = getActAs(appArn);
    if (!userArn) {
      conn.textContent = 'Choose a user to act as.';
      return;
    }
    await chooseSubChannel(userArn);
    await loadHistory();
    events.replaceChildren();
    const config = new MessagingSessionConfiguration(userArn, `console-${crypto.randomUUID()}`, undefined, api().messaging);
    const s = new DefaultMessagingSession(config, new ConsoleLogger('belfry-console', LogLevel.WARN));
    session = s;
    s.addObserver({
      messagingSessionDidStartConnecting: (reconnecting) => {
        if (session !== s) return;
        conn.textContent = reconnecting ? 'Reconnecting…' : 'Connecting…';
        conn.dataset.state = 'connecting';
      },
      messagingSessionDidStart: () => {
        if (session !== s) return;
        conn.textContent = `Live: connected as ${userArn.split('/').pop()}.`;
        conn.dataset.state = 'live';
      },
      messagingSessionDidStop: (ev) => {
        if (session !== s) return;
        conn.textContent = `Disconnected (${ev?.code ?? ''} ${ev?.reason ?? ''}).`;
        conn.dataset.state = 'stopped';
      },
      messagingSessionDidReceiveMessage: (msg) => {
        if (session !== s) return;
        let p;
        try {
          p = msg.payload ? JSON.parse(msg.payload) : undefined;
        } catch {
          p = undefined;
        }
        logEvent(p?.SubChannelId ? `${msg.type} · sub-channel ${shortSub(p.SubChannelId)}` : msg.type);
        if (!p || p.ChannelArn !== channelArn || !p.MessageId) return;
        // Another sub-channel's message (a moderator holding several memberships) stays in the log.
        if (elastic && p.SubChannelId && p.SubChannelId !== sub) return;
        if (msg.type === 'DELETE_CHANNEL_MESSAGE') {
          byId.get(p.MessageId)?.remove();
          byId.delete(p.MessageId);
        } else if (/CHANNEL_MESSAGE$/.test(msg.type)) {
          render(p);
        }
      },
    });
    try {
      await s.start();
    } catch (err) {
      showError(err);
    }
  };

  // Which sub-channel to read and send in: a member's own (DescribeChannelMembershipForAppInstanceUser);
  // for moderators and admins any of ListSubChannels, their own membership's first.
  async function chooseSubChannel(userArn) {
    if (!elastic) return;
    const before = sub;
    const [own, all] = await Promise.all([
      attempt(() => ownSubChannel(channelArn, userArn)),
      listSubChannels(channelArn, userArn).catch((err) => (err.name === 'ForbiddenException' ? undefined : Promise.reject(err))),
    ]).catch((err) => {
      showError(err);
      return [undefined, undefined];
    });
    const subs = all ?? (own ? [{ SubChannelId: own }] : []);
    subSelect.replaceChildren(...subs.map((sc) => h('option', { value: sc.SubChannelId },
      `${shortSub(sc.SubChannelId)}${sc.MembershipCount !== undefined ? ` (${sc.MembershipCount} members)` : ''}${sc.SubChannelId === own ? ' · yours' : ''}`)));
    if (!subs.length) subSelect.append(h('option', { value: '' }, all ? '— no sub-channels yet —' : '— not a member —'));
    sub = own ?? (subs.some((sc) => sc.SubChannelId === before) ? before : subs[0]?.SubChannelId ?? '');
    subSelect.value = sub;
    subSelect.disabled = subs.length < 2;
    subNote.textContent = all
      ? (own ? '' : 'A moderator reads any sub-channel, but sends only where it holds a membership.')
      : (own ? 'A member reads and sends in its own sub-channel only.' : 'Not a member of this channel: nothing to read.');
  }
  subSelect.addEventListener('change', async () => {
    sub = subSelect.value;
    await loadHistory();
  });

  const picker = await actAsPicker(appArn, () => connect());
  const composer = form({
    title: 'Send a message', submit: 'Send',
    fields: [{ name: 'content', label: 'Message', type: 'textarea', required: true }],
    onSubmit: async (v) => {
      const r = await messaging(new M.SendChannelMessageCommand({
        ChannelArn: channelArn, Content: v.content, Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: getActAs(appArn), ...subArgs(),
      }));
      if (r.Status?.Value && r.Status.Value !== 'SENT') say(`Message ${r.MessageId}: ${r.Status.Value.toLowerCase()} (a channel flow is processing it).`);
      return r;
    },
  });
  composer.classList.add('composer');
  // Enter sends, Shift+Enter is a new line.
  composer.querySelector('textarea').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      composer.requestSubmit();
    }
  });
  const d = await attempt(() => messaging(new M.DescribeChannelCommand({ ChannelArn: channelArn, ChimeBearer: getActAs(appArn) })));
  elastic = !!d?.Channel?.ElasticChannelConfiguration;
  subLabel.hidden = !elastic;
  page(`Chat: ${d?.Channel?.Name ?? channelArn.split('/').pop()}`,
    h('p', {}, link(`/channel/${enc(channelArn)}`, '← Channel settings')),
    h('section', { 'aria-label': 'Chime bearer' }, h('div', { class: 'pickers' }, picker, subLabel), elastic ? subNote : null, conn),
    h('div', { class: 'chat' },
      h('section', { 'aria-labelledby': 'msgs-h' }, h('h2', { id: 'msgs-h' }, 'Messages'), list, composer),
      h('section', { 'aria-labelledby': 'ev-h' }, h('h2', { id: 'ev-h' }, 'Live events'), events)));
  await connect();
}

// ---- navigation -------------------------------------------------------------------------------

function renderNav() {
  const nav = document.getElementById('nav');
  nav.replaceChildren();
  if (!loadCredentials()) {
    nav.append(h('li', {}, link('/', 'Sign in')));
    return;
  }
  nav.append(
    h('li', {}, link('/instances', 'App instances')),
    h('li', {}, h('a', {
      href: '#/', onclick: () => {
        sessionStorage.clear();
        clients = undefined;
        stopSession();
      },
    }, 'Sign out')));
}

async function route() {
  stopSession();
  clearMessages();
  renderNav();
  const hash = location.hash.replace(/^#/, '') || '/';
  const [, pageName, arg] = hash.match(/^\/([^/]*)\/?(.*)$/) ?? [];
  if (!api()) {
    signInPage();
    return;
  }
  const arn = arg ? decodeURIComponent(arg) : '';
  try {
    if (pageName === 'app' && arn) await appPage(arn);
    else if (pageName === 'channel' && arn) await channelPage(arn);
    else if (pageName === 'chat' && arn) await chatPage(arn);
    else instancesPage();
  } catch (err) {
    showError(err);
  }
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', route);
route();
