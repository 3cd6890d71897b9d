// The timeline entry of a forced teardown: what the second signal's force path killed, as the record keeps it.
import { describe, expect, it } from 'vitest';
import type { HarnessEvent } from '../events.js';
import { timelineEntryFor } from './timeline.js';

const forced = (killedPids: number[], killedContainers: string[]): HarnessEvent => ({
  type: 'teardown.forced', runId: 'r1', at: 1000, vm: 'vm1', policy: 'destroy', signal: 'SIGINT', killedPids, killedContainers,
});

describe('timelineEntryFor teardown.forced', () => {
  it('names each pid and container the force path killed, with them in its details', () => {
    expect(timelineEntryFor(forced([4242], ['0123456789abcdef0123']))).toEqual({
      at: 1000, vm: 'vm1', type: 'UserAction', severity: 'Warning',
      message: 'teardown forced by a second SIGINT (destroy): SIGKILL to pid 4242, container 0123456789ab killed at once',
      details: { forced: true, policy: 'destroy', signal: 'SIGINT', killedPids: [4242], killedContainers: ['0123456789abcdef0123'] },
    });
  });

  it('says so when nothing was left running to kill', () => {
    expect(timelineEntryFor(forced([], []))?.message).toBe('teardown forced by a second SIGINT (destroy): nothing was left running');
  });
});
