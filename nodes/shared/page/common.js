/* What the package's two pages share: the monitor's (nodes/voevent-monitor/page) and the
 * archive's search page (nodes/voevent-archive-db/page). Each page loads this script before its
 * own app.js (both deferred, so they run in that order) and takes what it uses from
 * `voeventPage`: element makers, a stream's colour, the formatting of numbers, times, positions
 * and signature verdicts, and the sky map (its frame, and the packets on it with their error
 * circles). The map's geometry comes computed from the server (src/monitor/projection.ts).
 *
 * Decisions:
 * - Every string that comes from a packet is put in the page with textContent or as an SVG
 *   <title>'s text, never as markup, and no URL is built here.
 * - The map draws into the page's #frame, #circles and #points groups (the same SVG in both
 *   pages' index.html); the last item is drawn first, so the first is on top.
 * - What the two pages do differently (their rows, selection, fetching) stays in their app.js. */
(() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  const COLOURS = ["#4fc3f7", "#ff8a65", "#aed581", "#ba68c8", "#ffd54f", "#4db6ac", "#f06292", "#90a4ae"];

  function el(name, text, cls) {
    const e = document.createElement(name);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function svg(name, attrs) {
    const e = document.createElementNS(SVGNS, name);
    for (const k in attrs) if (Object.hasOwn(attrs, k)) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  /** A stream's colour, the same on every page and every load. */
  function colour(stream) {
    let h = 0;
    for (let i = 0; i < stream.length; i++) h = (h * 31 + stream.charCodeAt(i)) >>> 0;
    return COLOURS[h % COLOURS.length];
  }
  function fmtNum(n, digits) {
    return typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "";
  }
  /** An ISO time in UTC as "yyyy-mm-dd hh:mm:ss" (no fraction, no Z or +00:00). */
  function fmtTime(iso) {
    return iso
      ? String(iso)
          .replace("T", " ")
          .replace(/(\.\d+)?(\+00:00|Z)$/, "")
      : "";
  }
  function fmtPos(p) {
    if (!p) return "";
    return `${fmtNum(p.ra, 3)}, ${fmtNum(p.dec, 3)}${p.error !== null ? ` (${fmtNum(p.error, 3)}°)` : ""}`;
  }
  /* The signature's verdict, the key ID and user ID as its tooltip; blank when none was checked. */
  function signatureCell(sig) {
    const td = el("td", sig ? sig.verdict : "");
    if (sig) {
      td.className = `sig sig-${sig.verdict === "signed" ? "ok" : sig.verdict === "unsigned" ? "none" : "bad"}`;
      td.title = [sig.keyId, sig.userId].filter(Boolean).join(" ");
    }
    return td;
  }

  /** The map's frame: the sky's outline, the grid, the galactic plane and the labels (RA's: "ra"). */
  function drawFrame(map) {
    const g = document.getElementById("frame");
    g.textContent = "";
    g.appendChild(svg("path", { d: map.outline, class: "sky" }));
    map.grid.forEach((d) => {
      g.appendChild(svg("path", { d: d, class: "grid" }));
    });
    const gal = svg("path", { d: map.galactic, class: "galactic" });
    const t = svg("title", {});
    t.textContent = "Galactic plane";
    gal.appendChild(t);
    g.appendChild(gal);
    map.labels.forEach((l) => {
      const text = svg("text", {
        x: l.x,
        y: l.y,
        "text-anchor": l.anchor,
        class: `label${/h$/.test(l.text) ? " ra" : ""}`,
      });
      text.textContent = l.text;
      g.appendChild(text);
    });
  }

  /**
   * The packets on the map, in place of those drawn before: each with a position (`item.map`)
   * gets its error circle (if any) and a dot in its stream's colour, with its IVORN and role as
   * the dot's tooltip. `mark(item, i)` gives the dot's radius `r`, its class `cls`, the data-*
   * attributes of the dot and its circle (`data`) and what a click on the dot does (`onClick`).
   */
  function drawMarks(items, mark) {
    const points = document.getElementById("points");
    const circles = document.getElementById("circles");
    points.textContent = "";
    circles.textContent = "";
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i];
      if (!item.map) continue;
      const m = mark(item, i);
      const c = colour(item.stream);
      if (item.map.circle) {
        circles.appendChild(
          svg("path", { d: item.map.circle, class: "circle", stroke: c, fill: c, ...m.data }),
        );
      }
      const dot = svg("circle", { cx: item.map.x, cy: item.map.y, r: m.r, fill: c, class: m.cls, ...m.data });
      const title = svg("title", {});
      title.textContent = `${item.ivorn} (${item.role})`;
      dot.appendChild(title);
      dot.addEventListener("click", m.onClick);
      points.appendChild(dot);
    }
  }

  globalThis.voeventPage = Object.freeze({
    el,
    colour,
    fmtTime,
    fmtPos,
    signatureCell,
    drawFrame,
    drawMarks,
  });
})();
