/**
 * The XML parser's limits, in one place: each is an option of parseXml with its default here,
 * and each is refused with a VOEventError whose code names it (TOO_LARGE, TOO_DEEP,
 * TOO_MANY_ATTRIBUTES, NAME_TOO_LONG, TOO_MANY_ELEMENTS) and whose message gives the option and its value, so a
 * receiver's nak tells the author which limit the packet broke.
 *
 * Every other cost of parsing is linear in the input: namespace bindings live in one map with
 * an undo list per open element, duplicate attributes are found by a set, every character is
 * looked at a bounded number of times.
 */
export interface XmlLimits {
  /** Largest input accepted, in bytes (UTF-8 for a string), checked before anything is parsed. */
  maxBytes: number;
  /** Deepest element nesting accepted: the root is at depth 1 (libxml2's default is 256 too). */
  maxDepth: number;
  /** Most attributes on one element, namespace declarations included. */
  maxAttributes: number;
  /** Longest element, attribute, prefix, entity or processing-instruction name, in characters. */
  maxNameLength: number;
  /**
   * Most elements in one document. Real packets have at most a few hundred (the largest in the
   * corpus, a Swift BAT position, 123); libxml2 has no such limit. It keeps the cost of a
   * hostile 1 MiB frame of empty elements (262,144 of them, about 0.5 µs each) in milliseconds.
   */
  maxElements: number;
}

export const XML_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 256,
  maxAttributes: 256,
  maxNameLength: 1024,
  maxElements: 10_000,
});
