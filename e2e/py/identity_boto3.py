"""Drive every Chime SDK Identity operation through boto3 against a Belfry server.

Run by test/identity-boto3.test.mjs with E2E_ENDPOINT, AWS_* and E2E_REGION/E2E_ACCOUNT set.
Prints one JSON object: {"checks": [{"name", "ok", "detail"}], "operations": [names called]}.
Every check runs even if an earlier one failed, so one run reports every problem.
"""

import json
import os
import uuid

import boto3
import botocore.config
import botocore.exceptions

cfg = botocore.config.Config(retries={'total_max_attempts': 1, 'mode': 'standard'}, connect_timeout=5, read_timeout=10)
client = boto3.session.Session().client(
    'chime-sdk-identity',
    endpoint_url=os.environ['E2E_ENDPOINT'],
    region_name=os.environ['AWS_DEFAULT_REGION'],
    config=cfg,
)
REGION = os.environ['AWS_DEFAULT_REGION']
ACCOUNT = os.environ['E2E_ACCOUNT']
LEX = {'Lex': {'LexBotAliasArn': f'arn:aws:lex:{REGION}:{ACCOUNT}:bot-alias/ABCDEFGHIJ/KLMNOPQRST',
               'LocaleId': 'en_US', 'InvokedBy': {'StandardMessages': 'AUTO', 'TargetedMessages': 'NONE'}}}
PINPOINT = f'arn:aws:mobiletargeting:{REGION}:{ACCOUNT}:apps/abcdef'

checks = []
operations = set()


def check(name, cond, detail=''):
    checks.append({'name': name, 'ok': bool(cond), 'detail': str(detail)[:500]})


def call(op, **kw):
    """Call client.<snake op>(**kw); returns (response, None) or (None, (code, status, message))."""
    operations.add(op)
    snake = ''.join('_' + c.lower() if c.isupper() else c for c in op).lstrip('_')
    try:
        return getattr(client, snake)(**kw), None
    except botocore.exceptions.ClientError as e:
        return None, (e.response['Error'].get('Code'), e.response['ResponseMetadata'].get('HTTPStatusCode'), e.response['Error'].get('Message'))


def ok(name, op, **kw):
    r, err = call(op, **kw)
    check(name, err is None, err)
    return r or {}


def fails(name, op, code, status, **kw):
    r, err = call(op, **kw)
    check(name, err is not None and err[0] == code and err[1] == status, err or f'succeeded: {r}')
    return err


# App instances.
token = str(uuid.uuid4())
r = ok('CreateAppInstance', 'CreateAppInstance', Name='boto', Metadata='m', ClientRequestToken=token, Tags=[{'Key': 'k', 'Value': 'v'}])
app = r.get('AppInstanceArn', 'arn:aws:chime:x:0:app-instance/missing')
check('CreateAppInstance status 201', r.get('ResponseMetadata', {}).get('HTTPStatusCode') == 201, r.get('ResponseMetadata'))
r = ok('CreateAppInstance retry', 'CreateAppInstance', Name='boto', Metadata='m', ClientRequestToken=token, Tags=[{'Key': 'k', 'Value': 'v'}])
check('CreateAppInstance retry returns the same ARN', r.get('AppInstanceArn') == app, r.get('AppInstanceArn'))
fails('CreateAppInstance token reuse → Conflict', 'CreateAppInstance', 'ConflictException', 409, Name='other', ClientRequestToken=token)
r = ok('DescribeAppInstance', 'DescribeAppInstance', AppInstanceArn=app)
ai = r.get('AppInstance', {})
check('DescribeAppInstance fields', ai.get('Name') == 'boto' and ai.get('Metadata') == 'm' and 'CreatedTimestamp' in ai and 'LastUpdatedTimestamp' in ai, ai)
ok('UpdateAppInstance', 'UpdateAppInstance', AppInstanceArn=app, Name='boto2', Metadata='m2')
r = ok('ListAppInstances', 'ListAppInstances', MaxResults=50)
check('ListAppInstances lists it', any(a['AppInstanceArn'] == app and a['Name'] == 'boto2' for a in r.get('AppInstances', [])), r.get('AppInstances'))

# Users and pagination.
users = []
for i in range(12):
    r = ok(f'CreateAppInstanceUser {i}', 'CreateAppInstanceUser', AppInstanceArn=app, AppInstanceUserId=f'u{i:02d}', Name=f'User {i}')
    users.append(r.get('AppInstanceUserArn'))
fails('CreateAppInstanceUser duplicate → Conflict', 'CreateAppInstanceUser', 'ConflictException', 409, AppInstanceArn=app, AppInstanceUserId='u00', Name='dup')
seen, sizes, tok, first_token = [], [], None, None
while True:
    kw = {'AppInstanceArn': app, 'MaxResults': 5}
    if tok:
        kw['NextToken'] = tok
    r = ok('ListAppInstanceUsers page', 'ListAppInstanceUsers', **kw)
    sizes.append(len(r.get('AppInstanceUsers', [])))
    seen += [u['AppInstanceUserArn'] for u in r.get('AppInstanceUsers', [])]
    tok = r.get('NextToken')
    first_token = first_token or tok
    if not tok or len(sizes) > 10:
        break
check('ListAppInstanceUsers pages 5+5+2 in creation order', sizes == [5, 5, 2] and seen == users, (sizes, seen))
fails('ListAppInstanceUsers forged NextToken → BadRequest', 'ListAppInstanceUsers', 'BadRequestException', 400, AppInstanceArn=app, NextToken='forged')
fails('ListAppInstanceBots with a users NextToken → BadRequest', 'ListAppInstanceBots', 'BadRequestException', 400, AppInstanceArn=app, NextToken=first_token or 'x')
user = users[0]
r = ok('DescribeAppInstanceUser', 'DescribeAppInstanceUser', AppInstanceUserArn=user)
check('DescribeAppInstanceUser fields', r.get('AppInstanceUser', {}).get('Name') == 'User 0', r.get('AppInstanceUser'))
ok('UpdateAppInstanceUser', 'UpdateAppInstanceUser', AppInstanceUserArn=user, Name='Renamed', Metadata='md')
r = ok('PutAppInstanceUserExpirationSettings', 'PutAppInstanceUserExpirationSettings', AppInstanceUserArn=user,
       ExpirationSettings={'ExpirationDays': 3, 'ExpirationCriterion': 'CREATED_TIMESTAMP'})
check('PutAppInstanceUserExpirationSettings echoes', r.get('ExpirationSettings') == {'ExpirationDays': 3, 'ExpirationCriterion': 'CREATED_TIMESTAMP'}, r)
r = ok('DescribeAppInstanceUser after expiration', 'DescribeAppInstanceUser', AppInstanceUserArn=user)
check('DescribeAppInstanceUser shows expiration and update', r.get('AppInstanceUser', {}).get('ExpirationSettings', {}).get('ExpirationDays') == 3
      and r.get('AppInstanceUser', {}).get('Name') == 'Renamed', r.get('AppInstanceUser'))

# Bots.
r = ok('CreateAppInstanceBot', 'CreateAppInstanceBot', AppInstanceArn=app, Name='Bot', Configuration=LEX)
bot = r.get('AppInstanceBotArn', f'{app}/bot/missing')
r = ok('DescribeAppInstanceBot', 'DescribeAppInstanceBot', AppInstanceBotArn=bot)
check('DescribeAppInstanceBot configuration round-trips', r.get('AppInstanceBot', {}).get('Configuration') == LEX, r.get('AppInstanceBot'))
ok('UpdateAppInstanceBot', 'UpdateAppInstanceBot', AppInstanceBotArn=bot, Name='Bot2', Metadata='bm')
r = ok('ListAppInstanceBots', 'ListAppInstanceBots', AppInstanceArn=app)
check('ListAppInstanceBots lists it', [b['AppInstanceBotArn'] for b in r.get('AppInstanceBots', [])] == [bot], r.get('AppInstanceBots'))

# Admins.
r = ok('CreateAppInstanceAdmin', 'CreateAppInstanceAdmin', AppInstanceArn=app, AppInstanceAdminArn=user)
check('CreateAppInstanceAdmin returns the Identity', r.get('AppInstanceAdmin') == {'Arn': user, 'Name': 'Renamed'}, r)
fails('CreateAppInstanceAdmin twice → Conflict', 'CreateAppInstanceAdmin', 'ConflictException', 409, AppInstanceArn=app, AppInstanceAdminArn=user)
ok('CreateAppInstanceAdmin (bot)', 'CreateAppInstanceAdmin', AppInstanceArn=app, AppInstanceAdminArn=bot)
r = ok('DescribeAppInstanceAdmin', 'DescribeAppInstanceAdmin', AppInstanceArn=app, AppInstanceAdminArn=user)
check('DescribeAppInstanceAdmin fields', r.get('AppInstanceAdmin', {}).get('Admin') == {'Arn': user, 'Name': 'Renamed'} and 'CreatedTimestamp' in r.get('AppInstanceAdmin', {}), r)
r = ok('ListAppInstanceAdmins', 'ListAppInstanceAdmins', AppInstanceArn=app)
check('ListAppInstanceAdmins lists both', [a['Admin']['Arn'] for a in r.get('AppInstanceAdmins', [])] == [user, bot], r.get('AppInstanceAdmins'))
ok('DeleteAppInstanceAdmin', 'DeleteAppInstanceAdmin', AppInstanceArn=app, AppInstanceAdminArn=user)
fails('DescribeAppInstanceAdmin after demotion → NotFound', 'DescribeAppInstanceAdmin', 'NotFoundException', 404, AppInstanceArn=app, AppInstanceAdminArn=user)

# Endpoints.
r = ok('RegisterAppInstanceUserEndpoint', 'RegisterAppInstanceUserEndpoint', AppInstanceUserArn=user, Name='phone', Type='GCM',
       ResourceArn=PINPOINT, EndpointAttributes={'DeviceToken': 'boto-device'})
eid = r.get('EndpointId', 'missing')
fails('RegisterAppInstanceUserEndpoint same device → Conflict', 'RegisterAppInstanceUserEndpoint', 'ConflictException', 409,
      AppInstanceUserArn=user, Type='GCM', ResourceArn=PINPOINT, EndpointAttributes={'DeviceToken': 'boto-device'})
r = ok('DescribeAppInstanceUserEndpoint', 'DescribeAppInstanceUserEndpoint', AppInstanceUserArn=user, EndpointId=eid)
e = r.get('AppInstanceUserEndpoint', {})
check('DescribeAppInstanceUserEndpoint fields', e.get('Type') == 'GCM' and e.get('ResourceArn') == PINPOINT and e.get('EndpointState') == {'Status': 'ACTIVE'}
      and e.get('AllowMessages') == 'ALL', e)
ok('UpdateAppInstanceUserEndpoint', 'UpdateAppInstanceUserEndpoint', AppInstanceUserArn=user, EndpointId=eid, AllowMessages='NONE')
r = ok('ListAppInstanceUserEndpoints', 'ListAppInstanceUserEndpoints', AppInstanceUserArn=user)
check('ListAppInstanceUserEndpoints shows the update', [(x['EndpointId'], x['AllowMessages']) for x in r.get('AppInstanceUserEndpoints', [])] == [(eid, 'NONE')], r)
ok('DeregisterAppInstanceUserEndpoint', 'DeregisterAppInstanceUserEndpoint', AppInstanceUserArn=user, EndpointId=eid)
fails('DescribeAppInstanceUserEndpoint after deregister → NotFound', 'DescribeAppInstanceUserEndpoint', 'NotFoundException', 404, AppInstanceUserArn=user, EndpointId=eid)

# Retention.
r = ok('PutAppInstanceRetentionSettings', 'PutAppInstanceRetentionSettings', AppInstanceArn=app,
       AppInstanceRetentionSettings={'ChannelRetentionSettings': {'RetentionDays': 10}})
check('PutAppInstanceRetentionSettings returns InitiateDeletionTimestamp', 'InitiateDeletionTimestamp' in r, r)
r = ok('GetAppInstanceRetentionSettings', 'GetAppInstanceRetentionSettings', AppInstanceArn=app)
check('GetAppInstanceRetentionSettings', r.get('AppInstanceRetentionSettings') == {'ChannelRetentionSettings': {'RetentionDays': 10}}, r)

# Tags.
ok('TagResource', 'TagResource', ResourceARN=user, Tags=[{'Key': 'team', 'Value': 'a'}])
ok('UntagResource', 'UntagResource', ResourceARN=app, TagKeys=['k'])
r = ok('ListTagsForResource', 'ListTagsForResource', ResourceARN=user)
check('ListTagsForResource', r.get('Tags') == [{'Key': 'team', 'Value': 'a'}], r)
ok('TagResource 50', 'TagResource', ResourceARN=bot, Tags=[{'Key': f'k{i}', 'Value': 'v'} for i in range(50)])
fails('TagResource 51st → ResourceLimitExceeded', 'TagResource', 'ResourceLimitExceededException', 400, ResourceARN=bot, Tags=[{'Key': 'x', 'Value': 'v'}])
fails('ListTagsForResource of a missing resource → NotFound', 'ListTagsForResource', 'NotFoundException', 404, ResourceARN=f'{app}/bot/nope')

# Deletes.
ok('DeleteAppInstanceBot', 'DeleteAppInstanceBot', AppInstanceBotArn=bot)
fails('DescribeAppInstanceBot after delete → NotFound', 'DescribeAppInstanceBot', 'NotFoundException', 404, AppInstanceBotArn=bot)
ok('DeleteAppInstanceUser', 'DeleteAppInstanceUser', AppInstanceUserArn=user)
fails('DescribeAppInstanceUser after delete → NotFound', 'DescribeAppInstanceUser', 'NotFoundException', 404, AppInstanceUserArn=user)
ok('DeleteAppInstance', 'DeleteAppInstance', AppInstanceArn=app)
fails('DescribeAppInstance after delete → NotFound', 'DescribeAppInstance', 'NotFoundException', 404, AppInstanceArn=app)
fails('DescribeAppInstanceUser of deleted app instance → NotFound', 'DescribeAppInstanceUser', 'NotFoundException', 404, AppInstanceUserArn=users[1])

print(json.dumps({'checks': checks, 'operations': sorted(operations)}))
