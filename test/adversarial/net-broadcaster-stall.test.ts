/**
 * Issue 8, row 13 (with rows 4 and 8: one peer never holds a slot for ever):
 * a subscriber that answers every iamalive without reading a byte used to
 * keep its connection, and its queue, as long as it liked. Its queued bytes
 * not moving between two iamalives now drops it.
 */
import assert from "node:assert/strict";
import type net from "node:net";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { buildIamalive } from "../../src/vtp/transport";
import { frameOf, longIvornEvent, rawConnect, until } from "./net-peers";

describe("adversarial: broadcaster subscriber that never reads (issue 8, row 13)", function () {
  this.timeout(30_000);

  it("is dropped once its queue has not moved between two iamalives, even though it answers them", async () => {
    const b = new VTPBroadcaster({
      host: "127.0.0.1",
      port: 0,
      localIvo: "ivo://adversarial.test/broadcaster",
      iamaliveIntervalMs: 250,
      maxQueueBytes: 256 * 1024 * 1024, // not the bound under test
    });
    const gone: string[] = [];
    b.on("unsubscribe", (u: { reason: string }) => gone.push(u.reason));
    const { port } = await b.listen();
    let socket: net.Socket | null = null;
    let answering: NodeJS.Timeout | null = null;
    try {
      socket = await rawConnect(port);
      socket.pause(); // never reads
      const s = socket;
      // Answers "iamalive" blindly, often enough never to miss one.
      answering = setInterval(() => s.write(frameOf(buildIamalive("ivo://x/y", "ivo://x/z"))), 50);
      await until(() => b.count === 1, 5000, "subscribed");
      // More than the kernel's buffers hold: the rest waits in the broadcaster's queue.
      const event = longIvornEvent(1, 2000);
      for (let i = 0; i < 8000; i++) b.broadcast(event);
      await until(() => gone.length > 0, 15_000, "the stalled subscriber dropped");
      assert.match(gone[0]!, /not reading: \d+ bytes queued and none taken since the last iamalive/);
      assert.equal(b.count, 0);
    } finally {
      if (answering !== null) clearInterval(answering);
      socket?.destroy();
      await b.close();
    }
  });
});
