#!/usr/bin/env node
import { testAlert } from "../voevent/alert";
/**
 * voevent-alert: print a test VOEvent 2.0 packet with a unique IVORN, with the
 * sender in Who/Author/contactName, ready to pipe into voevent-send.
 */
import { VOEVENT_ROLES, type VOEventRole } from "../voevent/model";
import { parse, run, UsageError } from "./common";

const USAGE = `Usage: voevent-alert [--contact NAME] [--role ROLE] [--stream IVORN] [--ra DEG --dec DEG [--error DEG]]

Prints a VOEvent 2.0 test packet with a fresh IVORN on standard output.

  -c, --contact NAME  Who/Author/contactName (default KSK)
  -r, --role ROLE     observation | prediction | utility | test (default test)
  -s, --stream IVORN  the stream the IVORN goes under (default ivo://voevent.example/test)
  --ra DEG, --dec DEG sky position in degrees (default the Crab Nebula);
                      negative values as written: --dec -28.9
  --error DEG         error-circle radius in degrees (default 0.1)
  --description TEXT  the Description
  --help              this text

Examples: voevent-alert --contact KSK | voevent-send --port 8098
          voevent-alert --ra 266.4 --dec -28.9 --error 0.5
`;

function degrees(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be ${min}–${max}, not ${v}`);
  return n;
}

async function main(): Promise<number> {
  const { values, positionals } = parse({
    args: process.argv.slice(2),
    allowPositionals: false,
    options: {
      contact: { type: "string", short: "c" },
      role: { type: "string", short: "r" },
      stream: { type: "string", short: "s" },
      ra: { type: "string" },
      dec: { type: "string" },
      error: { type: "string" },
      description: { type: "string" },
      help: { type: "boolean" },
    },
  });
  void positionals;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const role = values.role ?? "test";
  if (!(VOEVENT_ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`--role must be one of ${VOEVENT_ROLES.join(", ")}, not ${role}`);
  }
  let xml: string;
  try {
    xml = testAlert({
      contactName: values.contact,
      role: role as VOEventRole,
      stream: values.stream,
      ra: degrees("ra", values.ra, 0, 360),
      dec: degrees("dec", values.dec, -90, 90),
      error: degrees("error", values.error, 0, 180),
      description: values.description,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  process.stdout.write(xml.endsWith("\n") ? xml : `${xml}\n`);
  return 0;
}

run("voevent-alert", USAGE, main);
