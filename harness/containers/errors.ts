// Container-specific failures, as HarnessError subclasses so the CLI maps them to exit 3 (infrastructure).
import { HarnessError } from '../errors.js';

/** Building or importing a local image failed; carries the builder's last output lines. */
export class ContainerImageError extends HarnessError {
  constructor(readonly image: string, readonly detail: string, readonly outputTail: string[] = [], options?: { cause?: unknown }) {
    super(
      `could not build image ${image}: ${detail}` +
        (outputTail.length ? `\n--- last ${outputTail.length} build lines ---\n${outputTail.join('\n')}` : ''),
      options,
    );
  }
}

/** A container did not become ready (its wait strategy failed or timed out); it has been removed. */
export class ContainerNotReady extends HarnessError {
  constructor(
    readonly container: string,
    readonly timeoutMs: number,
    readonly logTail: string[],
    readonly lastError?: string,
    options?: { cause?: unknown },
  ) {
    super(
      `container ${container} was not ready within ${Math.round(timeoutMs / 1000)}s` +
        (lastError ? ` (${lastError})` : '') +
        `\n--- last ${logTail.length} container log lines ---\n${logTail.join('\n')}`,
      options,
    );
  }
}
