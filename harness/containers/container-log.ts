// A container's output, line by line, to three places: the event bus (vm.log, stream 'container'), a log file
// (the 'container-log' artifact), and a short in-memory tail for error messages. Each complete line is redacted
// (harness/redact.ts) before it goes anywhere, so a secret split across two chunks of the stream is still caught;
// a partial line waits for its newline (or the end of the stream).
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { EmittedEvent } from '../events.js';
import { LineRedactor } from '../redact.js';

const TAIL_LINES = 200;
/** A partial line longer than this is let through (redacted as it stands) so a newline-less flood cannot grow memory. */
const MAX_PARTIAL = 64 * 1024;

export class ContainerLog {
  private readonly file: WriteStream;
  private readonly tail: string[] = [];
  private partial = '';
  private readonly redactor = new LineRedactor();
  private ended!: () => void;
  /** Resolves once the followed log stream has ended and the file is flushed. */
  readonly closed: Promise<void>;

  constructor(readonly name: string, readonly path: string, private readonly emit: (e: EmittedEvent) => void) {
    this.file = createWriteStream(path, { flags: 'a' });
    this.file.on('error', () => undefined); // a lost log file must not crash the run; the bus still has the lines
    const streamEnded = new Promise<void>((r) => (this.ended = r));
    this.closed = streamEnded.then(() => new Promise<void>((r) => this.file.end(r)));
  }

  /** Follows `stream` (testcontainers' demuxed, utf8 log stream) until it ends. */
  attach(stream: Readable): void {
    stream.on('data', (chunk: string | Buffer) => this.write(chunk.toString()));
    stream.on('end', () => this.finish());
    stream.on('close', () => this.finish());
    stream.on('error', () => this.finish());
  }

  /** The last `n` complete lines seen. */
  lastLines(n = 30): string[] {
    return this.tail.slice(-n);
  }

  /** Stops waiting for the stream (e.g. it was never attached); idempotent. */
  finish(): void {
    if (this.partial) this.line(this.partial, '');
    this.partial = '';
    this.ended();
  }

  private write(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const l of parts) this.line(l, '\n');
    if (this.partial.length > MAX_PARTIAL) {
      this.line(this.partial, '');
      this.partial = '';
    }
  }

  /** One line (CR kept in the file, dropped elsewhere), redacted once for all three places. */
  private line(raw: string, eol: string): void {
    const cr = raw.endsWith('\r') ? '\r' : '';
    const line = this.redactor.line('container', cr ? raw.slice(0, -1) : raw);
    this.file.write(line + cr + eol);
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.emit({ type: 'vm.log', vm: this.name, stream: 'container', line });
  }
}
