// A minimal QMP client (QEMU Machine Protocol: JSON lines over the monitor socket). Hand-written because the
// protocol is three messages long and no maintained npm package covers it better than these lines do.
import { createConnection, type Socket } from 'node:net';

export interface QmpReply {
  return?: unknown;
  error?: { class: string; desc: string };
}

/** Connects, negotiates capabilities, runs one command, disconnects. */
export async function qmpCommand(socketPath: string, execute: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
  const sock = createConnection(socketPath);
  // The timer lives here, not in the line reader: a generator left suspended at a yield never runs its finally,
  // and a timer it owned would keep the process alive after the command (it did, for 2 s after every run).
  const timer = setTimeout(() => sock.destroy(new Error(`QMP: no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const lines = lineReader(sock);
    await lines.next(); // greeting {"QMP": ...}
    sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
    await replyOf(lines);
    sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
    const reply = await replyOf(lines);
    if (reply.error) throw new Error(`QMP ${execute}: ${reply.error.class}: ${reply.error.desc}`);
    return reply.return;
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
}

/** Skips asynchronous events ({"event": ...}) until a command reply arrives. */
async function replyOf(lines: AsyncGenerator<string>): Promise<QmpReply> {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error('QMP connection closed');
    const msg = JSON.parse(value) as QmpReply & { event?: string };
    if (!msg.event) return msg;
  }
}

async function* lineReader(sock: Socket): AsyncGenerator<string> {
  let buf = '';
  for await (const chunk of sock) {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield line;
    }
  }
}
