/**
 * The archive's feeds (the eSTAR broker offered its events as RSS): RSS 2.0 and Atom 1.0 made
 * with the `feed` package from stored packets, newest first. One item per packet: its IVORN as the
 * id (RSS guid, Atom id), the stream, role and key Params in the title, Why/Description (or the
 * first Why/Inference/Name) as the summary, the author's time (Who/Date; the received time when
 * there is none), a link to its synopsis and its XML as an enclosure.
 *
 * Decisions:
 * - Every string from a packet is escaped as HTML text before it goes in (Atom's title and
 *   summary are `type="html"` and RSS readers render descriptions as HTML), so a packet's
 *   `<script>` reaches a reader as text; characters XML 1.0 cannot carry (C0 controls, lone
 *   surrogates) are dropped. The feed library writes the CDATA sections; with `<` and `>` escaped
 *   no `]]>` can occur in them.
 * - Key Params: the ones named in `KEY_PARAMS` that the packet has (GCN's Packet_Type and trigger
 *   number, LIGO's GraceID and AlertType, …), else its first top-level Params, at most
 *   `FEED_DEFAULTS.titleParams` of them.
 * - A packet stored with a signature verdict (issue 17) has it as the summary's last line
 *   (`Signature: signed (key …, user ID)`); one without has no such line.
 * - Limits (`FEED_DEFAULTS`): 50 items unless `limit` asks otherwise, at most 500; a summary is cut
 *   at 2,000 characters.
 */
import { Feed } from "feed";
import type { VOEvent } from "../voevent/model";
import { parseVOEvent } from "../voevent/parse";
import type { ArchiveSignature, StoredPacket } from "./types";

export const FEED_DEFAULTS = {
  /** Items in a feed unless `limit` asks for another number. */
  items: 50,
  /** The most items a feed gives (a larger `limit` is cut to it). */
  maxItems: 500,
  /** Params shown in an item's title. */
  titleParams: 3,
  /** Longest summary, in characters. */
  maxSummary: 2000,
} as const;

export type FeedFormat = "rss" | "atom";

/** Params that say most about a packet, by the streams that use them. */
export const KEY_PARAMS = [
  "Packet_Type",
  "TrigID",
  "Trigger_ID",
  "GraceID",
  "AlertType",
  "Group",
  "FAR",
  "Sun_Distance",
  "Most_Likely_Index",
];

export interface FeedContext {
  title: string;
  /** The archive's URL with a trailing slash (links are `apiv1/…` under it). */
  base: string;
  /** The feed's own URL. */
  self: string;
  /** The newest change of the archive (the feed's updated time). */
  updated: Date;
}

/** Characters XML 1.0 cannot carry: C0 controls but tab, LF and CR; U+FFFE, U+FFFF; lone surrogates. */
function notXmlChar(code: number, prev: number, next: number): boolean {
  if (code < 0x20) return code !== 0x09 && code !== 0x0a && code !== 0x0d;
  if (code === 0xfffe || code === 0xffff) return true;
  if (code >= 0xd800 && code <= 0xdbff) return !(next >= 0xdc00 && next <= 0xdfff);
  if (code >= 0xdc00 && code <= 0xdfff) return !(prev >= 0xd800 && prev <= 0xdbff);
  return false;
}

/** The string without the characters XML 1.0 cannot carry. */
export function xmlChars(s: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if ((code < 0x20 || code >= 0xd800) && notXmlChar(code, s.charCodeAt(i - 1), s.charCodeAt(i + 1))) {
      out += s.slice(from, i);
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

/** Text safe inside the feed: XML-valid characters, HTML-escaped. */
export function feedText(s: string): string {
  return xmlChars(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A URL (percent-encoded by us) as an XML/HTML attribute value. */
function attr(url: string): string {
  return url.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** The item's title before escaping: `stream · role · name=value, …`. */
export function itemTitle(packet: StoredPacket, voevent: VOEvent | null): string {
  const parts = [packet.stream.replace(/^ivo:\/\//, ""), packet.role];
  if (voevent !== null) {
    const names = Object.keys(voevent.params);
    const chosen = KEY_PARAMS.filter((n) => Object.hasOwn(voevent.params, n));
    for (const n of names)
      if (chosen.length < FEED_DEFAULTS.titleParams && !chosen.includes(n)) chosen.push(n);
    const shown = chosen
      .slice(0, FEED_DEFAULTS.titleParams)
      .map((n) => `${n}=${String(voevent.params[n] ?? "")}`);
    if (shown.length > 0) parts.push(shown.join(", "));
  }
  return clip(parts.join(" · "), 300);
}

/** The item's summary before escaping: Description, else Why's concepts and inference names. */
export function itemSummary(voevent: VOEvent | null): string {
  if (voevent === null) return "";
  if (voevent.description !== null && voevent.description.trim() !== "") {
    return clip(voevent.description.trim(), FEED_DEFAULTS.maxSummary);
  }
  const why = [
    ...voevent.why.concepts,
    ...voevent.why.inferences.flatMap((i) => [...i.names, ...i.concepts]),
  ];
  return clip(why.join("; "), FEED_DEFAULTS.maxSummary);
}

/** The stored signature verdict in words, e.g. `Signature: signed (key 8C3F2A71D0E4B95A, Ann <a@b>)`. */
export function signatureLine(sig: ArchiveSignature | null | undefined): string {
  if (sig === null || sig === undefined) return "";
  const who = [sig.keyId === null ? "" : `key ${sig.keyId}`, sig.userId ?? ""].filter((w) => w !== "");
  return `Signature: ${sig.verdict}${who.length === 0 ? "" : ` (${who.join(", ")})`}`;
}

/** The feed's text in the format asked for. */
export function renderFeed(format: FeedFormat, packets: StoredPacket[], ctx: FeedContext): string {
  const feed = new Feed({
    id: ctx.self,
    title: xmlChars(ctx.title),
    description: "VOEvent packets stored in this archive, newest first",
    link: ctx.base,
    updated: ctx.updated,
    generator: "@voevent/node-red-voevent",
    feedLinks: format === "rss" ? { rss: ctx.self } : { atom: ctx.self },
    copyright: "",
  });
  const enclosures: Array<[string, string]> = [];
  for (const packet of packets) {
    let voevent: VOEvent | null = null;
    try {
      voevent = parseVOEvent(packet.xml).voevent;
    } catch {
      // stored bytes that no longer parse: the item keeps what the row says
    }
    const encoded = encodeURIComponent(packet.ivorn);
    const synopsis = `${ctx.base}apiv1/packet/synopsis/${encoded}`;
    const xml = `${ctx.base}apiv1/packet/xml/${encoded}`;
    enclosures.push([synopsis, xml]);
    // The summary, and the signature verdict as its last line when one was stored.
    const text = itemSummary(voevent);
    const sig = signatureLine(packet.signature);
    const summary = sig === "" ? text : text === "" ? sig : `${text}\n${sig}`;
    feed.addItem({
      title: feedText(itemTitle(packet, voevent)),
      id: xmlChars(packet.ivorn),
      link: synopsis,
      date: packet.authorDatetime ?? packet.receivedAt,
      description: summary === "" ? undefined : feedText(summary),
      content:
        `${text === "" ? "" : `<p>${feedText(text)}</p>`}` +
        `${sig === "" ? "" : `<p>${feedText(sig)}</p>`}` +
        `<p><a href="${attr(synopsis)}">synopsis</a> · <a href="${attr(xml)}">XML</a></p>`,
      enclosure: { url: xml, type: "text/xml", length: packet.xml.length },
    });
  }
  if (format === "rss") return feed.rss2();
  // The library's Atom has one link per entry: the XML goes beside it as rel="enclosure".
  let atom = feed.atom1();
  for (const [synopsis, xml] of enclosures) {
    const link = `<link href="${attr(synopsis)}"/>`;
    atom = atom.split(link).join(`${link}<link rel="enclosure" type="text/xml" href="${attr(xml)}"/>`);
  }
  return atom;
}
