"""Drive the core of the Chime SDK Messaging API through boto3 against a Belfry server.

Run by test/messaging-boto3.test.mjs with E2E_ENDPOINT, E2E_ACCOUNT and AWS_* set.
Covers: a private channel, memberships, send/list/get/update/redact/delete of messages, a ban,
the private-channel refusal, BadRequestException for oversize content, NextToken pagination over
120 messages in both orders, time filters, and the ClientRequestToken retry.

Prints one JSON object: {"checks": [{"name", "ok", "detail"}], "operations": [names called]}.
Every check runs even if an earlier one failed, so one run reports every problem; the exit
status is 1 (with the failed checks on stderr) if any check failed.
"""

import concurrent.futures
import uuid

from checks import *  # noqa: F403 (the shared harness: clients, check/ok/fails/send/list_all, report)


# Setup: an app instance, users and an admin (identity API).
app = ok('CreateAppInstance', 'CreateAppInstance', client=identity, Name='boto-msg').get('AppInstanceArn', 'arn:aws:chime:x:0:app-instance/missing')
users = {}
for n in ['alice', 'bob', 'carol', 'dave', 'admin']:
    users[n] = ok(f'CreateAppInstanceUser {n}', 'CreateAppInstanceUser', client=identity, AppInstanceArn=app,
                  AppInstanceUserId=n, Name=n).get('AppInstanceUserArn', f'{app}/user/{n}')
alice, bob, carol, dave, admin = (users[n] for n in ['alice', 'bob', 'carol', 'dave', 'admin'])
ok('CreateAppInstanceAdmin', 'CreateAppInstanceAdmin', client=identity, AppInstanceArn=app, AppInstanceAdminArn=admin)

# A private channel and its memberships.
r = ok('CreateChannel (private)', 'CreateChannel', AppInstanceArn=app, Name='boto private', Privacy='PRIVATE', ChimeBearer=alice,
       Metadata='cm', Tags=[{'Key': 'via', 'Value': 'boto3'}])
ch = r.get('ChannelArn', f'{app}/channel/missing')
check('CreateChannel: 201 and a channel ARN of the app instance', status_of(r) == 201 and ch.startswith(f'{app}/channel/'), r)
c = ok('DescribeChannel', 'DescribeChannel', ChannelArn=ch, ChimeBearer=alice).get('Channel', {})
check('DescribeChannel: Privacy PRIVATE, Mode UNRESTRICTED, CreatedBy alice',
      c.get('Privacy') == 'PRIVATE' and c.get('Mode') == 'UNRESTRICTED' and c.get('CreatedBy') == {'Arn': alice, 'Name': 'alice'}
      and c.get('Name') == 'boto private' and c.get('Metadata') == 'cm', c)
r = ok('CreateChannelMembership bob', 'CreateChannelMembership', ChannelArn=ch, MemberArn=bob, Type='DEFAULT', ChimeBearer=alice)
check('CreateChannelMembership: 201 and the member', status_of(r) == 201 and r.get('Member') == {'Arn': bob, 'Name': 'bob'}, r)
fails('CreateChannelMembership twice → Conflict', 'CreateChannelMembership', 'ConflictException', 409, ChannelArn=ch, MemberArn=bob, Type='DEFAULT', ChimeBearer=alice)
r = ok('BatchCreateChannelMembership carol + missing user', 'BatchCreateChannelMembership', ChannelArn=ch,
       MemberArns=[carol, f'{app}/user/nobody'], Type='DEFAULT', ChimeBearer=alice)
check('BatchCreateChannelMembership: 200, carol added, one error for the missing user',
      status_of(r) == 200 and [m['Arn'] for m in r.get('BatchChannelMemberships', {}).get('Members', [])] == [carol]
      and [e.get('MemberArn') for e in r.get('Errors', [])] == [f'{app}/user/nobody'], r)
r = ok('ListChannelMemberships', 'ListChannelMemberships', ChannelArn=ch, ChimeBearer=bob)
check('ListChannelMemberships: alice, bob, carol', sorted(m['Member']['Arn'] for m in r.get('ChannelMemberships', [])) == sorted([alice, bob, carol]), r.get('ChannelMemberships'))
r = ok('DescribeChannelMembership', 'DescribeChannelMembership', ChannelArn=ch, MemberArn=bob, ChimeBearer=carol)
m = r.get('ChannelMembership', {})
check('DescribeChannelMembership fields', m.get('Member') == {'Arn': bob, 'Name': 'bob'} and m.get('InvitedBy') == {'Arn': alice, 'Name': 'alice'}
      and m.get('Type') == 'DEFAULT', m)
r = ok('ListChannelModerators', 'ListChannelModerators', ChannelArn=ch, ChimeBearer=alice)
check('ListChannelModerators: the creator', [x['Moderator']['Arn'] for x in r.get('ChannelModerators', [])] == [alice], r)

# Private-channel refusal.
fails('DescribeChannel by a non-member of a private channel → Forbidden', 'DescribeChannel', 'ForbiddenException', 403, ChannelArn=ch, ChimeBearer=dave)
fails('ListChannelMessages by a non-member of a private channel → Forbidden', 'ListChannelMessages', 'ForbiddenException', 403, ChannelArn=ch, ChimeBearer=dave)
fails('self-join of a private channel → Forbidden', 'CreateChannelMembership', 'ForbiddenException', 403, ChannelArn=ch, MemberArn=dave, Type='DEFAULT', ChimeBearer=dave)
r = ok('ListChannels (dave)', 'ListChannels', AppInstanceArn=app, ChimeBearer=dave)
check('ListChannels without Privacy omits the private channel', all(x['ChannelArn'] != ch for x in r.get('Channels', [])), r.get('Channels'))
fails('ListChannels Privacy=PRIVATE by a non-admin → Forbidden', 'ListChannels', 'ForbiddenException', 403, AppInstanceArn=app, Privacy='PRIVATE', ChimeBearer=alice)
r = ok('ListChannels Privacy=PRIVATE (admin)', 'ListChannels', AppInstanceArn=app, Privacy='PRIVATE', ChimeBearer=admin)
check('admin lists the private channel', [(x['ChannelArn'], x['Privacy']) for x in r.get('Channels', [])] == [(ch, 'PRIVATE')], r.get('Channels'))

# Messages: send, get, list, update, redact, delete.
m1 = send('SendChannelMessage alice', ch, alice, 'hello', Metadata='md')
m2 = send('SendChannelMessage bob', ch, bob, 'hi')
m3 = send('SendChannelMessage carol', ch, carol, 'hey')
g = ok('GetChannelMessage', 'GetChannelMessage', ChannelArn=ch, MessageId=m1, ChimeBearer=bob).get('ChannelMessage', {})
check('GetChannelMessage fields', g.get('Content') == 'hello' and g.get('Metadata') == 'md' and g.get('Type') == 'STANDARD'
      and g.get('Persistence') == 'PERSISTENT' and g.get('Sender') == {'Arn': alice, 'Name': 'alice'} and not g.get('Redacted')
      and 'CreatedTimestamp' in g and 'LastEditedTimestamp' not in g, g)
r = ok('ListChannelMessages', 'ListChannelMessages', ChannelArn=ch, ChimeBearer=carol)
check('ListChannelMessages: newest first', [x['MessageId'] for x in r.get('ChannelMessages', [])] == [m3, m2, m1], r.get('ChannelMessages'))
check('ListChannelMessages: no NextToken on the last page', 'NextToken' not in r, r.get('NextToken'))
r = ok('UpdateChannelMessage', 'UpdateChannelMessage', ChannelArn=ch, MessageId=m1, Content='hello (edited)', ChimeBearer=alice)
check('UpdateChannelMessage echoes the id', r.get('MessageId') == m1, r)
g = ok('GetChannelMessage after edit', 'GetChannelMessage', ChannelArn=ch, MessageId=m1, ChimeBearer=carol).get('ChannelMessage', {})
check('edited: new Content and LastEditedTimestamp', g.get('Content') == 'hello (edited)' and 'LastEditedTimestamp' in g, g)
r = ok('ListChannelMessages after edit', 'ListChannelMessages', ChannelArn=ch, ChimeBearer=carol, SortOrder='ASCENDING')
check('ListChannelMessages shows the latest version', [x.get('Content') for x in r.get('ChannelMessages', [])][:1] == ['hello (edited)'], r.get('ChannelMessages'))
fails("UpdateChannelMessage of another's message → Forbidden", 'UpdateChannelMessage', 'ForbiddenException', 403, ChannelArn=ch, MessageId=m1, Content='x', ChimeBearer=bob)
ok('RedactChannelMessage', 'RedactChannelMessage', ChannelArn=ch, MessageId=m2, ChimeBearer=bob)
g = ok('GetChannelMessage after redact', 'GetChannelMessage', ChannelArn=ch, MessageId=m2, ChimeBearer=alice).get('ChannelMessage', {})
check('redacted: Redacted true, no Content, no Metadata', g.get('Redacted') is True and 'Content' not in g and 'Metadata' not in g, g)
fails('DeleteChannelMessage by a moderator → Forbidden', 'DeleteChannelMessage', 'ForbiddenException', 403, ChannelArn=ch, MessageId=m3, ChimeBearer=alice)
r = ok('DeleteChannelMessage (admin)', 'DeleteChannelMessage', ChannelArn=ch, MessageId=m3, ChimeBearer=admin)
check('DeleteChannelMessage: 204', status_of(r) == 204, r)
fails('GetChannelMessage after delete → NotFound', 'GetChannelMessage', 'NotFoundException', 404, ChannelArn=ch, MessageId=m3, ChimeBearer=alice)
r = ok('ListChannelMessages after delete', 'ListChannelMessages', ChannelArn=ch, ChimeBearer=alice)
lst = r.get('ChannelMessages', [])
check('deleted message absent, redacted one listed as Redacted without Content',
      [x['MessageId'] for x in lst] == [m2, m1] and lst[0].get('Redacted') is True and 'Content' not in lst[0], lst)
fails('SendChannelMessage by a non-member → Forbidden', 'SendChannelMessage', 'ForbiddenException', 403, ChannelArn=ch, ChimeBearer=dave,
      Content='x', Type='STANDARD', Persistence='PERSISTENT')

# Limits.
code, status, msg = fails('SendChannelMessage 4097 bytes → BadRequest', 'SendChannelMessage', 'BadRequestException', 400,
                          ChannelArn=ch, ChimeBearer=alice, Content='a' * 4097, Type='STANDARD', Persistence='PERSISTENT')
check('the oversize message names Content', 'Content' in (msg or ''), msg)
send('SendChannelMessage 4096 bytes', ch, alice, 'a' * 4096)
fails('SendChannelMessage CONTROL 31 bytes → BadRequest', 'SendChannelMessage', 'BadRequestException', 400,
      ChannelArn=ch, ChimeBearer=alice, Content='c' * 31, Type='CONTROL', Persistence='PERSISTENT')
fails('SendChannelMessage CONTROL with Metadata → BadRequest', 'SendChannelMessage', 'BadRequestException', 400,
      ChannelArn=ch, ChimeBearer=alice, Content='c', Metadata='m', Type='CONTROL', Persistence='PERSISTENT')
code, status, msg = fails('ListChannelMessages MaxResults 51 → BadRequest', 'ListChannelMessages', 'BadRequestException', 400, ChannelArn=ch, ChimeBearer=alice, MaxResults=51)
check('the MaxResults error names MaxResults', 'MaxResults' in (msg or ''), msg)
fails('ListChannelMessages forged NextToken → BadRequest', 'ListChannelMessages', 'BadRequestException', 400, ChannelArn=ch, ChimeBearer=alice, NextToken='forged')

# Ban.
fails('CreateChannelBan by a member → Forbidden', 'CreateChannelBan', 'ForbiddenException', 403, ChannelArn=ch, MemberArn=carol, ChimeBearer=bob)
r = ok('CreateChannelBan carol', 'CreateChannelBan', ChannelArn=ch, MemberArn=carol, ChimeBearer=alice)
check('CreateChannelBan: 201 and the member', status_of(r) == 201 and r.get('Member') == {'Arn': carol, 'Name': 'carol'}, r)
r = ok('ListChannelMemberships after ban', 'ListChannelMemberships', ChannelArn=ch, ChimeBearer=alice)
check('the ban removed the membership', carol not in [x['Member']['Arn'] for x in r.get('ChannelMemberships', [])], r.get('ChannelMemberships'))
fails('banned user sends → Forbidden', 'SendChannelMessage', 'ForbiddenException', 403, ChannelArn=ch, ChimeBearer=carol,
      Content='x', Type='STANDARD', Persistence='PERSISTENT')
fails('banned user re-added → Forbidden', 'CreateChannelMembership', 'ForbiddenException', 403, ChannelArn=ch, MemberArn=carol, Type='DEFAULT', ChimeBearer=alice)
fails('ban an AppInstanceAdmin → Forbidden', 'CreateChannelBan', 'ForbiddenException', 403, ChannelArn=ch, MemberArn=admin, ChimeBearer=alice)
fails('ban a moderator → Forbidden', 'CreateChannelBan', 'ForbiddenException', 403, ChannelArn=ch, MemberArn=alice, ChimeBearer=admin)
r = ok('ListChannelBans', 'ListChannelBans', ChannelArn=ch, ChimeBearer=alice)
check('ListChannelBans shows carol', [b['Member'] for b in r.get('ChannelBans', [])] == [{'Arn': carol, 'Name': 'carol'}], r)
r = ok('DescribeChannelBan', 'DescribeChannelBan', ChannelArn=ch, MemberArn=carol, ChimeBearer=alice)
check('DescribeChannelBan fields', r.get('ChannelBan', {}).get('CreatedBy') == {'Arn': alice, 'Name': 'alice'}, r)
r = ok('DeleteChannelBan', 'DeleteChannelBan', ChannelArn=ch, MemberArn=carol, ChimeBearer=alice)
check('DeleteChannelBan: 204', status_of(r) == 204, r)
ok('re-add after DeleteChannelBan', 'CreateChannelMembership', ChannelArn=ch, MemberArn=carol, Type='DEFAULT', ChimeBearer=alice)
send('unbanned user sends', ch, carol, 'back')

# Pagination: 120 messages in a fresh channel, 50 per page, both orders.
pch = ok('CreateChannel (pagination)', 'CreateChannel', AppInstanceArn=app, Name='pages', ChimeBearer=alice).get('ChannelArn', ch)
with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
    sent = list(pool.map(lambda i: send(f'page message {i}', pch, alice, f'#{i}'), range(120)))
check('120 distinct MessageIds', len(set(sent)) == 120, len(set(sent)))
desc, sizes = list_all('ListChannelMessages DESCENDING', pch, bob, MaxResults=50)
check('DESCENDING pages 50+50+20', sizes == [50, 50, 20], sizes)
check('DESCENDING: 120 unique ids, exactly the sent ones', len(desc) == 120 and {m['MessageId'] for m in desc} == set(sent), len(desc))
check('DESCENDING: CreatedTimestamp never increases', ordered(desc, True), [m['CreatedTimestamp'].isoformat() for m in desc][:5])
asc, sizes = list_all('ListChannelMessages ASCENDING', pch, bob, MaxResults=50, SortOrder='ASCENDING')
check('ASCENDING pages 50+50+20', sizes == [50, 50, 20], sizes)
check('ASCENDING: 120 unique ids, exactly the sent ones', len(asc) == 120 and {m['MessageId'] for m in asc} == set(sent), len(asc))
check('ASCENDING: CreatedTimestamp never decreases', ordered(asc, False), [m['CreatedTimestamp'].isoformat() for m in asc][:5])
if len(asc) == 120:
    lo, hi = asc[20]['CreatedTimestamp'], asc[99]['CreatedTimestamp']
    want = {m['MessageId'] for m in asc if lo <= m['CreatedTimestamp'] <= hi}
    for order in ['ASCENDING', 'DESCENDING']:
        got, _ = list_all(f'ListChannelMessages {order} NotBefore/NotAfter', pch, bob, MaxResults=50, SortOrder=order, NotBefore=lo, NotAfter=hi)
        ids = [m['MessageId'] for m in got]
        check(f'{order} [NotBefore, NotAfter] inclusive: exactly the messages in range', len(ids) == len(want) and set(ids) == want,
              {'want': len(want), 'got': len(ids), 'missing': len(want - set(ids)), 'extra': len(set(ids) - want)})
        check(f'{order} filtered walk ordered', ordered(got, order == 'DESCENDING'))

# Idempotency: a retry with the same ClientRequestToken returns the same MessageId.
token = str(uuid.uuid4())
first = send('SendChannelMessage with a token', pch, alice, 'once', ClientRequestToken=token)
retry = send('SendChannelMessage retry with the same token', pch, alice, 'once', ClientRequestToken=token)
check('the retry returns the same MessageId', first == retry, (first, retry))
desc, _ = list_all('ListChannelMessages after retry', pch, alice, MaxResults=50)
check('one stored message for the token', [m['MessageId'] for m in desc].count(first) == 1 and len(desc) == 121, len(desc))
fails('same token, other content → Conflict', 'SendChannelMessage', 'ConflictException', 409, ChannelArn=pch, ChimeBearer=alice,
      Content='twice', Type='STANDARD', Persistence='PERSISTENT', ClientRequestToken=token)

# Tags and deletion.
r = ok('ListTagsForResource (channel)', 'ListTagsForResource', ResourceARN=ch)
check('channel tags from CreateChannel', r.get('Tags') == [{'Key': 'via', 'Value': 'boto3'}], r)
fails('DeleteChannel by a member → Forbidden', 'DeleteChannel', 'ForbiddenException', 403, ChannelArn=ch, ChimeBearer=bob)
r = ok('DeleteChannel', 'DeleteChannel', ChannelArn=ch, ChimeBearer=alice)
check('DeleteChannel: 204', status_of(r) == 204, r)
fails('DescribeChannel after delete → NotFound', 'DescribeChannel', 'NotFoundException', 404, ChannelArn=ch, ChimeBearer=alice)

report()
