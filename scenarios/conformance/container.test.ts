// The provider conformance suite against containers (harness/containers/container-provider.ts on the local dockerd).
import { probeDocker } from '../../harness/containers/probe.js';
import { containerSubject } from './container-subject.js';
import { describeConformance } from './provider-conformance.js';

const probe = await probeDocker();
describeConformance('container', containerSubject, { skip: probe.available ? undefined : `${probe.reason}${probe.fix ? ` (fix: ${probe.fix})` : ''}` });
