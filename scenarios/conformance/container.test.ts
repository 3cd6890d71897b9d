// The provider conformance suite against containers (harness/containers/container-provider.ts on the local dockerd).
import { dockerUnavailable } from '../../harness/containers/test-helpers.js';
import { containerSubject } from './container-subject.js';
import { describeConformance } from './provider-conformance.js';

describeConformance('container', containerSubject, { unavailable: await dockerUnavailable() });
