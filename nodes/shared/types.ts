/**
 * Types shared by the node adapters. Every node of the package is written as
 *
 *   const init: NodeInitializer = (RED) => {
 *     function XNode(this: Node, config: XNodeDef) {
 *       RED.nodes.createNode(this, config);
 *       onInput(this, (msg, send, done) => { … done(); });   // ./lifecycle.ts
 *       onClose(this, (removed) => { … });                    // exactly two params underneath
 *     }
 *     RED.nodes.registerType("voevent-x", XNode);
 *   };
 *   export = init;
 */
import type { Node, NodeMessage, NodeMessageInFlow } from "node-red";

/** The `send` argument of an input handler. */
export type SendFn = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
/** The `done` argument of an input handler: done(err) reports err against the message (Catch nodes see it). */
export type DoneFn = (err?: Error) => void;
/** An input handler; a rejected promise or a throw goes to done(err). */
export type InputHandler = (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => void | Promise<void>;
/** A close handler; `removed` is true when the node is deleted, false on a redeploy or stop. */
export type CloseHandler = (removed: boolean) => void | Promise<void>;

export type { Node, NodeMessage, NodeMessageInFlow };
