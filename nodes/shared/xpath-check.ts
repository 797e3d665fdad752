/**
 * An admin HTTP endpoint that compiles an XPath expression with the package's
 * own engine, so the editor can mark a bad filter red before deploy (the
 * browser cannot run the TypeScript engine). POST {"xpath": "…"} to
 * /voevent/xpath/check → {"ok": true} or {"ok": false, "error": "…"}.
 * The filter node registers it; the subscriber (brokerFilters) can call it too.
 */
import type { NodeAPI } from "node-red";
import { checkXPath } from "../../src/filter/rules";

export const XPATH_CHECK_PATH = "/voevent/xpath/check";

/** Apps the endpoint is already on (registering twice would be harmless but untidy). */
const registered = new WeakSet<object>();

export interface XPathCheckResult {
  ok: boolean;
  error?: string;
}

/** Compiles an expression: ok, or the compiler's message. */
export function checkXPathText(xpath: unknown): XPathCheckResult {
  if (typeof xpath !== "string") return { ok: false, error: "xpath must be a string" };
  try {
    checkXPath(xpath);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Adds POST /voevent/xpath/check to the admin app, guarded by `permission` (e.g. "voevent-filter.write"). */
export function registerXPathCheck(RED: NodeAPI, permission: string): void {
  const app = RED.httpAdmin;
  if (!app || registered.has(app)) return;
  registered.add(app);
  app.post(XPATH_CHECK_PATH, RED.auth.needsPermission(permission), (req, res) => {
    const body: unknown = req.body;
    const xpath =
      body !== null && typeof body === "object" ? (body as Record<string, unknown>).xpath : undefined;
    const result = checkXPathText(xpath);
    res.status(typeof xpath === "string" ? 200 : 400).json(result);
  });
}
