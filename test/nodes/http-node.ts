/**
 * RED.httpNode for node tests: node-red-node-test-helper gives the nodes an express app but does
 * not serve it, so a test keeps the app the nodes saw and serves it on a loopback port per request.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { NodeAPI } from "node-red";
import type { NodeInit } from "../helpers/nodered";

type HttpApp = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** RED.httpNode as the nodes saw it. */
let httpNode: HttpApp | undefined;

/** A node set's init that also keeps RED.httpNode (give it one node set whose init runs). */
export function keepingHttpNode(init: NodeInit): NodeInit {
  return (RED: NodeAPI) => {
    httpNode = RED.httpNode as unknown as HttpApp;
    return init(RED);
  };
}

/** GET on RED.httpNode through a real loopback server: the status and the body's bytes. */
export async function httpNodeGet(pathAndQuery: string): Promise<{ status: number; body: Buffer }> {
  const app = httpNode;
  assert.ok(app, "the nodes saw RED.httpNode");
  const server = http.createServer((req, res) => app(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${pathAndQuery}`);
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}
