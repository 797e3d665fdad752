#!/usr/bin/env node
/**
 * voevent-listen: subscribe to a VTP broker and print each event's IVORN (or
 * the whole packet with --xml). Acks every event and answers iamalive and
 * authenticate like any subscriber; reconnects with backoff until stopped.
 */
import { VTPSubscriber } from "../vtp/subscriber";
import { parse, port, positiveNumber, run, TLS_HELP, TLS_OPTIONS, tlsFromArgs, UsageError } from "./common";

const USAGE = `Usage: voevent-listen [--host H] [--port P] [options]

Subscribes to a VTP broker and prints one line per event: the time it arrived,
its role and its IVORN (or, with --xml, each whole packet followed by a blank line).

  -h, --host H        broker host (default localhost)
  -p, --port P        broker port (default 8099)
  --local-ivo IVORN   our identity, sent in acks (default ivo://voevent.example/listen)
  -f, --filter XPATH  ask the broker to send only events matching XPATH (Comet's
                      authenticate extension); may be given several times
  --xml               print each whole packet
  -n, --count N       exit after N events
  --watchdog S        reconnect after S seconds of silence (default 150)
${TLS_HELP}
  --help              this text

Example: voevent-listen --port 8099 --filter '//Who/Author[contactName="KSK"]'
`;

async function main(): Promise<number> {
  const { values } = parse({
    args: process.argv.slice(2),
    allowPositionals: false,
    options: {
      host: { type: "string", short: "h" },
      port: { type: "string", short: "p" },
      "local-ivo": { type: "string" },
      filter: { type: "string", short: "f", multiple: true },
      xml: { type: "boolean" },
      count: { type: "string", short: "n" },
      watchdog: { type: "string" },
      help: { type: "boolean" },
      ...TLS_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const limit = values.count === undefined ? Number.POSITIVE_INFINITY : Number(values.count);
  if (!(limit >= 1) || (Number.isFinite(limit) && !Number.isInteger(limit))) {
    throw new UsageError(`--count must be a whole number ≥ 1, not ${values.count}`);
  }
  let sub: VTPSubscriber;
  try {
    sub = new VTPSubscriber({
      host: values.host ?? "localhost",
      port: port(values.port, 8099),
      localIvo: values["local-ivo"] ?? "ivo://voevent.example/listen",
      filters: values.filter ?? [],
      watchdogMs: positiveNumber("watchdog", values.watchdog, 150) * 1000,
      tls: tlsFromArgs(values),
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const where = `${sub.host}:${sub.port}`;
  return new Promise<number>((resolve) => {
    let seen = 0;
    const stop = (code: number) => {
      sub.close().then(
        () => resolve(code),
        () => resolve(code),
      );
    };
    sub.on("connect", () => process.stderr.write(`voevent-listen: connected to ${where}\n`));
    sub.on("disconnect", (info: { reason?: string }) =>
      process.stderr.write(`voevent-listen: disconnected from ${where}: ${info?.reason ?? "closed"}\n`),
    );
    sub.on("reconnecting", (info: { delayMs: number }) =>
      process.stderr.write(`voevent-listen: reconnecting in ${(info.delayMs / 1000).toFixed(1)} s\n`),
    );
    sub.on("warning", (info: { message?: string }) =>
      process.stderr.write(`voevent-listen: warning: ${info?.message ?? String(info)}\n`),
    );
    sub.on("event", (ev: { xml: string; voevent: { ivorn: string; role: string }; receivedAt: Date }) => {
      // trimEnd, not replace(/\s+$/): that regex is quadratic on a long run of inner white space.
      if (values.xml) process.stdout.write(`${ev.xml.trimEnd()}\n\n`);
      else process.stdout.write(`${ev.receivedAt.toISOString()} ${ev.voevent.role} ${ev.voevent.ivorn}\n`);
      seen++;
      if (seen >= limit) stop(0);
    });
    process.once("SIGINT", () => stop(0));
    process.once("SIGTERM", () => stop(0));
    sub.start();
  });
}

run("voevent-listen", USAGE, main);
