// A container's output, line by line, to three places: the event bus (vm.log, stream 'container'), a log file
// (the 'container-log' artifact), and a short in-memory tail for error messages.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { EmittedEvent } from '../events.js';

const TAIL_LINES = 200;

export class ContainerLog {
  private readonly file: WriteStream;
  private readonly tail: string[] = [];
  private partial = '';
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
    if (this.partial) this.line(this.partial);
    this.partial = '';
    this.ended();
  }

  private write(text: string): void {
    this.file.write(text);
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const l of parts) this.line(l.replace(/\r$/, ''));
  }

  private line(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.emit({ type: 'vm.log', vm: this.name, stream: 'container', line });
  }
}
