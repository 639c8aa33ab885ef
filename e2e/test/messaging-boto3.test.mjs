// The core of the Messaging API through boto3: py/messaging_boto3.py creates a private channel,
// memberships, a conversation with edit/redact/delete, a ban, the private-channel refusal,
// oversize content, NextToken pagination over 120 messages in both orders and the
// ClientRequestToken retry, and reports every check. Without boto3: skipped locally with the
// reason, a failure when $CI is set.

import { describeBoto3Script } from '../lib/boto3script.mjs';

describeBoto3Script({
  title: 'Messaging API through boto3',
  script: 'messaging_boto3.py',
  minChecks: 100,
  usesTitle: 'the core messaging operations',
  uses: ['CreateChannel', 'DescribeChannel', 'DeleteChannel', 'ListChannels', 'CreateChannelMembership', 'BatchCreateChannelMembership',
    'ListChannelMemberships', 'DescribeChannelMembership', 'SendChannelMessage', 'GetChannelMessage', 'ListChannelMessages',
    'UpdateChannelMessage', 'RedactChannelMessage', 'DeleteChannelMessage', 'CreateChannelBan', 'ListChannelBans', 'DescribeChannelBan',
    'DeleteChannelBan'],
});
