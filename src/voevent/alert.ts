/**
 * The seed demo's test alert: a small, valid VOEvent 2.0 packet with role
 * "test", a fresh IVORN, the sender in Who/Author/contactName (what the demo's
 * filter `//Who/Author[contactName="KSK"]` matches), two params and a position.
 */
import { buildVOEvent, type VOEventInput } from "./build";
import { newIvorn, parseIvorn } from "./ivorn";
import type { VOEventRole } from "./model";

export const DEFAULT_TEST_STREAM = "ivo://voevent.example/test";
/** The seed demo's sender. */
export const DEFAULT_TEST_SENDER = "KSK";

export interface TestAlertOptions {
  /** Who/Author/contactName. Default "KSK". */
  contactName?: string;
  /** The stream IVORN (no `#`) the new event's IVORN goes under. Default ivo://voevent.example/test. */
  stream?: string;
  /** Default "test". */
  role?: VOEventRole;
  /** Sky position, degrees; default the Crab Nebula (83.6331, 22.0145), error 0.1. */
  ra?: number;
  dec?: number;
  error?: number;
  /** Default a sentence naming the sender. */
  description?: string;
  /** The clock, for Who/Date and ISOTime. Default now. */
  now?: Date;
}

let sequence = 0;

/** The model of a new test alert (each call a new IVORN and a higher Alert_Number). */
export function testAlertModel(options: TestAlertOptions = {}): VOEventInput {
  const sender = options.contactName ?? DEFAULT_TEST_SENDER;
  const ivorn = newIvorn(options.stream ?? DEFAULT_TEST_STREAM);
  const stream = parseIvorn(ivorn).stream;
  const now = (options.now ?? new Date()).toISOString();
  sequence++;
  return {
    ivorn,
    role: options.role ?? "test",
    date: now,
    author: { ivorn: stream, shortName: "node-red-voevent", contactName: sender, contactEmail: null },
    params: { Alert_Number: sequence, Sender: sender },
    groups: {},
    position: {
      ra: options.ra ?? 83.6331,
      dec: options.dec ?? 22.0145,
      error: options.error ?? 0.1,
      system: "UTC-ICRS-TOPO",
    },
    time: now,
    citations: [],
    description:
      options.description ??
      `Test alert from ${sender}, sent with @voevent/node-red-voevent. Not a real event.`,
  };
}

/** A new test alert as VOEvent 2.0 XML. */
export function testAlert(options: TestAlertOptions = {}): string {
  return buildVOEvent(testAlertModel(options));
}
