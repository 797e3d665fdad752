/**
 * The parsed VOEvent: `msg.voevent` in the message contract (../../docs: design.md).
 * Absent fields are null or empty, never invented.
 */

export type VOEventRole = "observation" | "prediction" | "utility" | "test";
export const VOEVENT_ROLES: readonly VOEventRole[] = ["observation", "prediction", "utility", "test"];

/** A Param value: a number when dataType says int/float (or, with no dataType, when the text is a plain number), else the string. */
export type ParamValue = string | number | null;

export interface VOEventAuthor {
  ivorn: string | null;
  shortName: string | null;
  contactName: string | null;
  contactEmail: string | null;
}

export interface VOEventPosition {
  /** Right ascension (C1), degrees. */
  ra: number;
  /** Declination (C2), degrees. */
  dec: number;
  /** Error2Radius, degrees; null when absent. */
  error: number | null;
  /** The coord_system_id, e.g. `UTC-FK5-GEO`; null when absent. */
  system: string | null;
}

export interface VOEventInference {
  probability: number | null;
  relation: string | null;
  names: string[];
  concepts: string[];
}

export interface VOEventWhy {
  importance: number | null;
  expires: string | null;
  inferences: VOEventInference[];
  /** Every Concept under Why, including those inside Inferences, in document order. */
  concepts: string[];
}

export interface VOEventCitation {
  ivorn: string;
  /** followup | supersedes | retraction (as written; null when absent). */
  cite: string | null;
}

export interface VOEvent {
  ivorn: string;
  role: VOEventRole;
  /** The version attribute as written ("2.0", "1.1"); null when absent. */
  version: string | null;
  /** The namespace of the root element: '' when it has none. */
  namespace: string;
  /** The IVORN without `#local-id`. */
  stream: string;
  /** Who/Date. */
  date: string | null;
  author: VOEventAuthor;
  /** What/Param outside any Group: name → value. */
  params: Record<string, ParamValue>;
  /** What/Group: group name (or type, or `group<N>`) → params. */
  groups: Record<string, Record<string, ParamValue>>;
  position: VOEventPosition | null;
  /** WhereWhen ISOTime as written (ISO 8601); null when absent. */
  time: string | null;
  why: VOEventWhy;
  citations: VOEventCitation[];
  /** The top-level Description; null when absent. */
  description: string | null;
}
