"""Drive elastic channels through boto3 against a Belfry server.

Run by test/elastic-boto3.test.mjs with E2E_ENDPOINT, E2E_ACCOUNT and AWS_* set. Covers
(semantics.md §4.1, §5): a 10 x 6 x 40 elastic channel growing from 0 to 30 members with
BatchCreateChannelMembership and back to 3 with DeleteChannelMembership, ListSubChannels checked
against the memberships listed per sub-channel after every step; the AWS demo's 2 x 4 x 40 taking
8 members and refusing the 9th with nothing written; messages scoped to a sub-channel
(send, list, get, update) and refused to a member of another; bad inputs answered with
BadRequestException naming the field.

Prints one JSON object: {"checks": [{"name", "ok", "detail"}], "operations": [names called]};
exits 1 listing the failed checks if any failed.
"""

from checks import *  # noqa: F403 (the shared harness: clients, check/ok/fails/send/list_all, report)


def app_with_users(name, n):
    app = ok(f'CreateAppInstance {name}', 'CreateAppInstance', client=identity, Name=name).get('AppInstanceArn', 'arn:aws:chime:x:0:app-instance/missing')
    def user(uid):
        return ok(f'CreateAppInstanceUser {uid}', 'CreateAppInstanceUser', client=identity, AppInstanceArn=app,
                  AppInstanceUserId=uid, Name=uid).get('AppInstanceUserArn', f'{app}/user/{uid}')
    mod, admin = user('mod'), user('admin')
    ok('CreateAppInstanceAdmin', 'CreateAppInstanceAdmin', client=identity, AppInstanceArn=app, AppInstanceAdminArn=admin)
    return app, mod, admin, [user(f'u{i:02d}') for i in range(1, n + 1)]


def elastic(app, mod, cfg, **kw):
    mx, target, pct = cfg
    r = ok(f'CreateChannel elastic {cfg}', 'CreateChannel', AppInstanceArn=app, Name='live', ChimeBearer=mod, Mode='RESTRICTED',
           ElasticChannelConfiguration={'MaximumSubChannels': mx, 'TargetMembershipsPerSubChannel': target, 'MinimumMembershipPercentage': pct}, **kw)
    check(f'CreateChannel elastic {cfg}: 201', status_of(r) == 201, r)
    return r.get('ChannelArn', f'{app}/channel/missing')


def sub_channels(ch, bearer):
    out, token = [], None
    for _ in range(100):
        args = dict(ChannelArn=ch, ChimeBearer=bearer, MaxResults=3)
        if token:
            args['NextToken'] = token
        r = ok('ListSubChannels', 'ListSubChannels', **args)
        out += r.get('SubChannels', [])
        token = r.get('NextToken')
        if not token:
            break
    return out


def members_of(ch, sub, bearer):
    out, token = [], None
    for _ in range(100):
        args = dict(ChannelArn=ch, ChimeBearer=bearer, SubChannelId=sub, MaxResults=50)
        if token:
            args['NextToken'] = token
        r = ok('ListChannelMemberships of a sub-channel', 'ListChannelMemberships', **args)
        out += [m['Member']['Arn'] for m in r.get('ChannelMemberships', [])]
        token = r.get('NextToken')
        if not token:
            break
    return out


def invariants(step, ch, mod, joined, target, mx):
    subs = sub_channels(ch, mod)
    where = {}
    good = len(subs) <= mx
    for s in subs:
        ms = members_of(ch, s['SubChannelId'], mod)
        good = good and s.get('MembershipCount') == len(ms) and len(ms) <= target
        for m in ms:
            good = good and m not in where
            where[m] = s['SubChannelId']
    check(f'{step}: ListSubChannels counts equal the listed memberships, none above {target}, each member in one sub-channel',
          good and set(where) == set(joined), {'counts': [s.get('MembershipCount') for s in subs], 'placed': len(where), 'joined': len(joined)})
    return subs, where


# 10 x 6 x 40: 0 -> 30 -> 3.
app, mod, admin, users = app_with_users('boto-elastic-grow', 30)
ch = elastic(app, mod, (10, 6, 40))
d = ok('DescribeChannel elastic', 'DescribeChannel', ChannelArn=ch, ChimeBearer=mod).get('Channel', {})
check('DescribeChannel: ElasticChannelConfiguration and RESTRICTED',
      d.get('ElasticChannelConfiguration') == {'MaximumSubChannels': 10, 'TargetMembershipsPerSubChannel': 6, 'MinimumMembershipPercentage': 40}
      and d.get('Mode') == 'RESTRICTED', d)
check('no sub-channel before the first member', sub_channels(ch, mod) == [])
fails('the creator is a moderator, not a member', 'DescribeChannelMembership', 'NotFoundException', 404, ChannelArn=ch, MemberArn=mod, ChimeBearer=mod)
joined, grow = set(), []
for i in range(0, 30, 5):
    batch = users[i:i + 5]
    r = ok(f'BatchCreateChannelMembership {i}..{i + 4}', 'BatchCreateChannelMembership', ChannelArn=ch, MemberArns=batch, Type='DEFAULT', ChimeBearer=mod)
    check(f'batch {i}: 5 added, no errors', len(r.get('BatchChannelMemberships', {}).get('Members', [])) == 5 and not r.get('Errors'), r)
    joined.update(batch)
    subs, _ = invariants(f'after {len(joined)} joins', ch, mod, joined, 6, 10)
    grow.append(len(subs))
check('scale-out: the number of sub-channels grows to at least 5', grow[-1] >= 5 and grow == sorted(grow), grow)
shrink = []
for i in range(29, 2, -1):
    r = ok(f'DeleteChannelMembership {users[i]}', 'DeleteChannelMembership', ChannelArn=ch, MemberArn=users[i], ChimeBearer=mod)
    joined.discard(users[i])
    subs, _ = invariants(f'after leave {i}', ch, mod, joined, 6, 10)
    shrink.append(len(subs))
check('scale-in: the number of sub-channels falls', any(b < a for a, b in zip(shrink, shrink[1:])), shrink)
check('3 members end in one sub-channel', [s.get('MembershipCount') for s in sub_channels(ch, mod)] == [3], sub_channels(ch, mod))

# 2 x 4 x 40: 8 fit, the 9th is refused, nothing written.
app, mod, admin, users = app_with_users('boto-elastic-demo', 9)
ch = elastic(app, mod, (2, 4, 40))
for u in users[:8]:
    ok(f'CreateChannelMembership {u}', 'CreateChannelMembership', ChannelArn=ch, MemberArn=u, Type='DEFAULT', ChimeBearer=mod)
before = sub_channels(ch, mod)
check('8 members in two full sub-channels', [s.get('MembershipCount') for s in before] == [4, 4], before)
fails('the 9th member → ResourceLimitExceeded', 'CreateChannelMembership', 'ResourceLimitExceededException', 400,
      ChannelArn=ch, MemberArn=users[8], Type='DEFAULT', ChimeBearer=mod)
r = ok('BatchCreateChannelMembership of the 9th', 'BatchCreateChannelMembership', ChannelArn=ch, MemberArns=[users[8]], Type='DEFAULT', ChimeBearer=mod)
check('batch: one ResourceLimitExceeded error', [e.get('ErrorCode') for e in r.get('Errors', [])] == ['ResourceLimitExceeded'], r)
check('nothing written', sub_channels(ch, mod) == before)

# Messages of one sub-channel (2 x 2 x 40, 3 members: two share a sub-channel).
app, mod, admin, users = app_with_users('boto-elastic-msg', 3)
ch = elastic(app, mod, (2, 2, 40))
for u in users:
    ok(f'CreateChannelMembership {u}', 'CreateChannelMembership', ChannelArn=ch, MemberArn=u, Type='DEFAULT', ChimeBearer=mod)
subs, where = invariants('three members', ch, mod, set(users), 2, 2)
pair = [u for u in users if list(where.values()).count(where.get(u)) == 2]
other = next((u for u in users if u not in pair), users[-1])
sender = pair[0] if pair else users[0]
sub, other_sub = where.get(sender, 'missing'), where.get(other, 'missing')
r = send('SendChannelMessage with SubChannelId', ch, sender, 'hello sub', SubChannelId=sub)
r2 = ok('ListChannelMessages of the sub-channel', 'ListChannelMessages', ChannelArn=ch, ChimeBearer=sender, SubChannelId=sub)
check('listed in its sub-channel, with SubChannelId', [m['MessageId'] for m in r2.get('ChannelMessages', [])] == [r] and r2.get('SubChannelId') == sub, r2)
r3 = ok('ListChannelMessages of the other sub-channel (moderator)', 'ListChannelMessages', ChannelArn=ch, ChimeBearer=mod, SubChannelId=other_sub)
check('not listed in the other sub-channel', r3.get('ChannelMessages') == [], r3)
u = ok('UpdateChannelMessage with SubChannelId', 'UpdateChannelMessage', ChannelArn=ch, MessageId=r, SubChannelId=sub, Content='edited', ChimeBearer=sender)
check('UpdateChannelMessage answers the SubChannelId', u.get('SubChannelId') == sub, u)
g = ok('GetChannelMessage (admin)', 'GetChannelMessage', ChannelArn=ch, MessageId=r, SubChannelId=sub, ChimeBearer=admin).get('ChannelMessage', {})
check('the edit is visible, SubChannelId set', g.get('Content') == 'edited' and g.get('SubChannelId') == sub, g)
fails('member of another sub-channel lists → Forbidden', 'ListChannelMessages', 'ForbiddenException', 403, ChannelArn=ch, ChimeBearer=other, SubChannelId=sub)
fails('member of another sub-channel gets → Forbidden', 'GetChannelMessage', 'ForbiddenException', 403, ChannelArn=ch, MessageId=r, SubChannelId=sub, ChimeBearer=other)
fails('asked of the wrong sub-channel → NotFound', 'GetChannelMessage', 'NotFoundException', 404, ChannelArn=ch, MessageId=r, SubChannelId=other_sub, ChimeBearer=other)

# Bad inputs.
def bad(name, field, op, **kw):
    err = fails(name, op, 'BadRequestException', 400, **kw)
    check(f'{name}: the message names {field}', field in (err[2] or ''), err)

bad('send without SubChannelId', 'SubChannelId', 'SendChannelMessage', ChannelArn=ch, ChimeBearer=sender, Content='x', Type='STANDARD', Persistence='PERSISTENT')
bad('member placed by hand', 'SubChannelId', 'CreateChannelMembership', ChannelArn=ch, MemberArn=other, Type='DEFAULT', SubChannelId=sub, ChimeBearer=mod)
std = ok('CreateChannel standard', 'CreateChannel', AppInstanceArn=app, Name='std', ChimeBearer=mod).get('ChannelArn', f'{app}/channel/missing')
bad('SubChannelId on a standard channel', 'SubChannelId', 'ListChannelMessages', ChannelArn=std, ChimeBearer=mod, SubChannelId=sub)
for field, cfg in [('MaximumSubChannels', (101, 4, 40)), ('TargetMembershipsPerSubChannel', (2, 1001, 40)), ('MinimumMembershipPercentage', (2, 4, 41))]:
    mx, target, pct = cfg
    bad(f'out-of-range {field}', field, 'CreateChannel', AppInstanceArn=app, Name='bad', ChimeBearer=mod,
        ElasticChannelConfiguration={'MaximumSubChannels': mx, 'TargetMembershipsPerSubChannel': target, 'MinimumMembershipPercentage': pct})
bad('MemberArns on an elastic channel', 'MemberArns', 'CreateChannel', AppInstanceArn=app, Name='bad', ChimeBearer=mod, MemberArns=[users[0]],
    ElasticChannelConfiguration={'MaximumSubChannels': 2, 'TargetMembershipsPerSubChannel': 4, 'MinimumMembershipPercentage': 40})
r = ok('ListChannels', 'ListChannels', AppInstanceArn=app, ChimeBearer=admin)
check('refused creates wrote nothing', sorted(c['Name'] for c in r.get('Channels', [])) == ['live', 'std'], r.get('Channels'))

report()
