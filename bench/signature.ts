/**
 * Signed VOEvents, one core: `npx tsx bench/signature.ts [seconds]`.
 *
 * Rows: verifications per second (verifyPacket: find the comment, decode the armour, check the
 * signature over the root element) for an Ed25519 key and an RSA-3072 key, both made by
 * OpenPGP.js here, over a few signed corpus packets; signatures per second (signPacket) for
 * each; and the receiver's per-event work (VTPReceiver.answer on an already-received frame:
 * parse, checks, ack) with signatures absent, `ignore`, `check` and `require`, to show that
 * `ignore` costs nothing (the keyring is never asked for: its call count is printed).
 * Each row runs for `seconds` (default 2) after a warm-up; the best of three is printed.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as openpgp from "openpgp";
import { Keyring, Signer, signPacket, verifyPacket } from "../src/signature";
import type { SignatureMode } from "../src/signature/policy";
import { VTPReceiver } from "../src/vtp/receiver";

const seconds = Number(process.argv[2] ?? 2);
const packetsDir = path.resolve(__dirname, "../../shared/corpus/packets");
const PACKETS = [
  "gwcelery__fermi_grb_gcn.xml",
  "voeventdb__BAT_GRB_Pos_655721-214.xml",
  "voevent-parse__Gaia16aac.xml",
  "gwcelery__G298048-1-Initial.xml",
];

async function rate<T>(items: T[], fn: (item: T) => Promise<unknown>, secs: number): Promise<number> {
  let n = 0;
  const start = performance.now();
  const until = start + secs * 1000;
  while (performance.now() < until) {
    await fn(items[n % items.length]);
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

async function best<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<number> {
  await rate(items, fn, Math.min(0.5, seconds / 4));
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(await rate(items, fn, seconds));
  return Math.max(...runs);
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US").padStart(9);

async function keyOf(kind: "ed25519" | "rsa3072"): Promise<{ keyring: Keyring; signer: Signer }> {
  const k =
    kind === "ed25519"
      ? await openpgp.generateKey({
          type: "ecc",
          curve: "ed25519Legacy",
          userIDs: [{ name: "Bench" }],
          format: "armored",
        })
      : await openpgp.generateKey({
          type: "rsa",
          rsaBits: 3072,
          userIDs: [{ name: "Bench" }],
          format: "armored",
        });
  return { keyring: await Keyring.fromArmour(k.publicKey), signer: await Signer.fromArmour(k.privateKey) };
}

async function main(): Promise<void> {
  console.log(
    `signature bench: node ${process.version}, ${os.cpus()[0]?.model ?? "?"}, ${seconds} s a row, best of 3`,
  );
  const packets = PACKETS.map((f) => readFileSync(path.join(packetsDir, f)));
  console.log(
    `packets: ${packets.length} corpus packets, ${Math.round(packets.reduce((a, p) => a + p.length, 0) / packets.length)} bytes on average`,
  );
  for (const kind of ["ed25519", "rsa3072"] as const) {
    const { keyring, signer } = await keyOf(kind);
    const signed = await Promise.all(packets.map((p) => signPacket(p, signer)));
    for (const s of signed) {
      const v = await verifyPacket(s, keyring);
      if (v.verdict !== "signed") throw new Error(`bench packet not signed: ${v.reason}`);
    }
    const verify = await best(signed, (s) => verifyPacket(s, keyring));
    const sign = await best(packets, (p) => signPacket(p, signer));
    console.log(`${kind.padEnd(8)} verify ${fmt(verify)} /s   sign ${fmt(sign)} /s`);
  }

  // The receiver's per-event path with each setting.
  const { keyring, signer } = await keyOf("ed25519");
  const frame = await signPacket(packets[0], signer);
  let asked = 0;
  const settings: Array<SignatureMode | "absent"> = ["absent", "ignore", "check", "require"];
  for (const mode of settings) {
    const receiver = new VTPReceiver({
      port: 0,
      localIvo: "ivo://bench.example/receiver",
      ...(mode === "absent"
        ? {}
        : {
            signatures: {
              mode,
              keyring: () => {
                asked++;
                return keyring;
              },
            },
          }),
    });
    const before = asked;
    const at = new Date();
    const r = await best([frame], async (f) => receiver.answer(f, "127.0.0.1:1", at));
    const outcome = await receiver.answer(frame, "127.0.0.1:1", at);
    if (!outcome.reply.includes('role="ack"')) throw new Error(`not acked with ${mode}`);
    console.log(
      `receiver, signatures ${mode.padEnd(7)} ${fmt(r)} events/s   keyring asked ${asked - before} times`,
    );
    await receiver.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
