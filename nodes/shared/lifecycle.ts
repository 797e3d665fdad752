/**
 * Wiring a node's input and close events so nothing throws out of a callback
 * and every error about a message reaches done(err), where Catch nodes see it.
 */
import type { CloseHandler, DoneFn, InputHandler, Node } from "./types";

/** An Error for anything thrown. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Registers an input handler. A synchronous throw or a rejected promise is
 * passed to done(err) (once: a second done is ignored).
 */
export function onInput(node: Node, handler: InputHandler): void {
  node.on("input", (msg, send, done) => {
    let finished = false;
    const once: DoneFn = (err) => {
      if (finished) return;
      finished = true;
      done(err);
    };
    try {
      const result = handler(msg, send, once);
      if (result instanceof Promise) result.then(undefined, (err: unknown) => once(asError(err)));
    } catch (err) {
      once(asError(err));
    }
  });
}

/**
 * Registers a close handler declared with exactly two parameters, so the
 * runtime passes `removed` and waits for `done`. The handler may be async; a
 * failure is logged with node.error and done is still called (a node that
 * never finishes closing would stall every redeploy).
 */
export function onClose(node: Node, handler: CloseHandler): void {
  node.on("close", (removed: boolean, done: () => void) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      done();
    };
    const fail = (err: unknown) => {
      node.error(asError(err).message);
      finish();
    };
    try {
      const result = handler(removed === true);
      if (!(result instanceof Promise)) finish();
      else result.then(finish, fail);
    } catch (err) {
      fail(err);
    }
  });
}
