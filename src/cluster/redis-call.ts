/**
 * The two script calls on a request's path (admission, settlement), written without ioredis's generic
 * command machinery: the call's RESP text is built here in one pass (EVALSHA, the script's SHA1, the keys
 * and arguments) and handed to the connection as it is. ioredis still owns the connection, so the URL's
 * AUTH, TLS and database, the command timeout, the reply parser, reconnection and the refusal to queue
 * while disconnected are the same as for every other command. A Redis that does not know the script
 * (restarted, SCRIPT FLUSH) answers NOSCRIPT, and the call is sent once more with the script's text (EVAL),
 * which also loads it for the next calls.
 */
import { createHash } from 'node:crypto';
import { Command, type Redis } from 'ioredis';

/** One RESP bulk string. */
const bulk = (value: string): string => `$${Buffer.byteLength(value)}\r\n${value}\r\n`;

/** A command whose bytes are ready: ioredis writes them as they are and parses the reply (as UTF-8 strings). */
class EncodedCommand extends Command {
  private readonly payload: string;

  constructor(name: string, payload: string) {
    super(name, [], { replyEncoding: 'utf8' });
    this.payload = payload;
  }

  override toWritable(): string {
    return this.payload;
  }
}

export class ScriptCall {
  readonly sha: string;
  /** EVALSHA and the SHA1, encoded. */
  private readonly bySha: string;
  /** EVAL and the script, encoded. */
  private readonly byText: string;

  constructor(lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
    this.bySha = `${bulk('evalsha')}${bulk(this.sha)}`;
    this.byText = `${bulk('eval')}${bulk(lua)}`;
  }

  /** Runs the script with these keys and arguments; rejects as ioredis does (timeout, connection, script error). */
  run<T>(redis: Redis, keys: readonly string[], args: readonly string[]): Promise<T> {
    let tail = bulk(String(keys.length));
    for (const key of keys) tail += bulk(key);
    for (const arg of args) tail += bulk(arg);
    const head = `*${3 + keys.length + args.length}\r\n`;
    return (redis.sendCommand(new EncodedCommand('evalsha', head + this.bySha + tail)) as Promise<T>).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.sendCommand(new EncodedCommand('eval', head + this.byText + tail)) as Promise<T>;
    });
  }
}
