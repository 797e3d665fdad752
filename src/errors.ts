/**
 * One error type for everything that can be wrong with input: XML, VOEvent,
 * IVORN, Transport messages, frames. `code` is stable (tests and nodes switch
 * on it); `message` says in words what is wrong.
 */
export type VOEventErrorCode =
  | "TOO_LARGE" // input larger than the configured limit (checked before parsing)
  | "NOT_XML" // empty, binary junk, text that is not XML at all
  | "MALFORMED" // not well-formed XML (truncated, mismatched tags, bad syntax)
  | "DTD_FORBIDDEN" // a DOCTYPE / DTD / entity declaration: refused, never processed
  | "ENTITY" // a reference to an entity that is not one of XML's five predefined ones
  | "ENCODING" // bytes that are not valid in their encoding, an unsupported or contradicted declaration
  | "TOO_DEEP" // elements nested deeper than the parser's maxDepth
  | "TOO_MANY_ATTRIBUTES" // an element with more attributes than the parser's maxAttributes
  | "NAME_TOO_LONG" // a name longer than the parser's maxNameLength
  | "TOO_MANY_ELEMENTS" // a document with more elements than the parser's maxElements
  | "WRONG_ROOT" // a root element that is not VOEvent (or Transport, where one is expected)
  | "NO_IVORN" // a VOEvent without an ivorn attribute
  | "BAD_IVORN" // an ivorn that is not an IVORN
  | "BAD_ROLE" // a role that is not one of the roles the spec allows
  | "BAD_TRANSPORT" // a Transport message missing what it must have
  | "BAD_FRAME" // a VTP frame with a zero or hostile length
  | "SCHEMA" // fails XML Schema validation
  | "BAD_XPATH" // an XPath expression that does not compile
  | "LIMIT" // a limit of ours refused it (connections, queue); the message names the limit
  | "TIMEOUT" // a peer or a worker missed a deadline; the message names the limit
  | "XPATH_BUDGET" // an XPath evaluation that needed more work than its budget allows
  | "KEY"; // an OpenPGP key or keyring that cannot be used (not readable, over a limit, wrong passphrase)

export class VOEventError extends Error {
  readonly code: VOEventErrorCode;
  /** For LIMIT and TIMEOUT: the option that set the limit (`replyTimeoutMs`…), so a node can name its own setting. */
  readonly limit: string | undefined;
  constructor(code: VOEventErrorCode, message: string, limit?: string) {
    super(message);
    this.name = "VOEventError";
    this.code = code;
    this.limit = limit;
  }
}

export function isVOEventError(err: unknown): err is VOEventError {
  return err instanceof VOEventError;
}
