#!/usr/bin/env node
/**
 * voevent-send: publish one VOEvent to a VTP receiver (a broker's author port)
 * and wait for its reply. The equivalent of Comet's comet-sendvo, with a timeout.
 * Exit 0 on ack; 1 on nak (the reason on stderr), timeout or refusal; 2 on bad usage.
 */
import { parseVOEvent } from "../voevent/parse";
import { SendError, sendEvent } from "../vtp/sender";
import {
  parse,
  port,
  positiveNumber,
  readInput,
  run,
  TLS_HELP,
  TLS_OPTIONS,
  tlsFromArgs,
  UsageError,
} from "./common";

const USAGE = `Usage: voevent-send [--host H] [--port P] [options] [FILE]

Publishes one VOEvent packet (FILE, or standard input) to a VTP receiver and
waits for its ack or nak.

  -h, --host H        receiver host (default localhost)
  -p, --port P        receiver port (default 8098)
  --timeout S         seconds to wait for a reply, per attempt (default 20)
  --retries N         further attempts when no reply comes (default 3; a nak is never retried)
  --no-check          send even what does not parse as a VOEvent locally
  -q, --quiet         print nothing on success
${TLS_HELP}
  --help              this text

Exit status: 0 ack, 1 nak / timeout / refused, 2 usage.
Example: voevent-alert --contact KSK | voevent-send --port 8098
`;

async function main(): Promise<number> {
  const { values, positionals } = parse({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      host: { type: "string", short: "h" },
      port: { type: "string", short: "p" },
      timeout: { type: "string" },
      retries: { type: "string" },
      "no-check": { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean" },
      ...TLS_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError("give at most one FILE");
  const payload = await readInput(positionals[0]);
  if (payload.length === 0) throw new UsageError(`${positionals[0]} is empty`);
  let ivorn = "(unparsed)";
  if (!values["no-check"]) {
    try {
      ivorn = parseVOEvent(payload).voevent.ivorn;
    } catch (err) {
      process.stderr.write(
        `voevent-send: not sent: ${(err as Error).message} (use --no-check to send it anyway)\n`,
      );
      return 1;
    }
  }
  const host = values.host ?? "localhost";
  const p = port(values.port, 8098);
  try {
    const result = await sendEvent({
      host,
      port: p,
      payload,
      timeoutMs: positiveNumber("timeout", values.timeout, 20) * 1000,
      retries: Math.floor(positiveNumber("retries", values.retries, 3)),
      tls: tlsFromArgs(values),
    });
    if (result.reply === "ack") {
      if (!values.quiet) process.stdout.write(`ack ${ivorn} from ${host}:${p}\n`);
      return 0;
    }
    process.stderr.write(`voevent-send: nak from ${host}:${p}: ${result.reason ?? "(no reason given)"}\n`);
    return 1;
  } catch (err) {
    if (err instanceof SendError) {
      process.stderr.write(`voevent-send: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

run("voevent-send", USAGE, main);
