// Elastic channels through boto3: py/elastic_boto3.py grows a 10 x 6 x 40 channel from 0 to 30
// members and back to 3 checking ListSubChannels at every step, fills the AWS demo's 2 x 4 x 40
// and is refused the 9th member, scopes messages to a sub-channel, and sends bad inputs; it reports
// every check. Without boto3: skipped locally with the reason, a failure when $CI is set.

import { describeBoto3Script } from '../lib/boto3script.mjs';

describeBoto3Script({
  title: 'elastic channels through boto3',
  script: 'elastic_boto3.py',
  minChecks: 80,
  usesTitle: 'the elastic-channel operations',
  uses: ['CreateChannel', 'DescribeChannel', 'ListChannels', 'CreateChannelMembership', 'BatchCreateChannelMembership',
    'DeleteChannelMembership', 'ListChannelMemberships', 'DescribeChannelMembership', 'ListSubChannels', 'SendChannelMessage',
    'GetChannelMessage', 'ListChannelMessages', 'UpdateChannelMessage'],
});
