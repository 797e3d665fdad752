/**
 * The monitor's sky map: an all-sky equatorial Hammer–Aitoff projection, drawn as
 * astronomers draw it (RA increasing to the left, RA 180° at the centre, 0h/24h at the
 * edges, north up), and what goes on it: points, error circles projected as circles on
 * the sphere, the RA/Dec grid and the Galactic plane. Pure math, no DOM: the server
 * computes SVG path data in a fixed pixel frame (MAP_WIDTH × MAP_HEIGHT) and the page
 * only draws it.
 *
 * Formulas (λ = 180° − RA, φ = Dec, in radians):
 *   z = √(1 + cos φ · cos(λ/2))
 *   x = 2√2 · cos φ · sin(λ/2) / z        (−2√2 … 2√2)
 *   y = √2 · sin φ / z                     (−√2 … √2)
 *   px = W/2 + x · W/(4√2),  py = H/2 − y · H/(2√2)
 *
 * Decisions:
 * - An error circle is the set of points at angular distance r from the centre,
 *   sampled every 4° of bearing (more for large circles) and projected; where two
 *   consecutive samples fall on opposite sides of the map's edge (RA 0/360) the
 *   outline is split into separate pieces, so a circle across the edge shows as two
 *   arcs, one at each side, and a circle around a pole stays one closed curve.
 * - Radii are clamped to [0, 180]°; a radius of 0 or absent draws only the point.
 */
export const MAP_WIDTH = 800;
export const MAP_HEIGHT = 400;

const DEG = Math.PI / 180;
const SQRT2 = Math.SQRT2;

export interface XY {
  x: number;
  y: number;
}

/** Hammer–Aitoff in projection units (x ∈ [−2√2, 2√2], y ∈ [−√2, √2]); RA and Dec in degrees. */
export function hammer(ra: number, dec: number): XY {
  let lambda = 180 - (((ra % 360) + 360) % 360);
  if (lambda < -180) lambda += 360;
  const l = lambda * DEG;
  const p = Math.max(-90, Math.min(90, dec)) * DEG;
  const z = Math.sqrt(1 + Math.cos(p) * Math.cos(l / 2));
  return { x: (2 * SQRT2 * Math.cos(p) * Math.sin(l / 2)) / z, y: (SQRT2 * Math.sin(p)) / z };
}

/** Pixel position on the map frame (origin top left). */
export function toPixel(ra: number, dec: number, width = MAP_WIDTH, height = MAP_HEIGHT): XY {
  const { x, y } = hammer(ra, dec);
  return { x: width / 2 + (x * width) / (4 * SQRT2), y: height / 2 - (y * height) / (2 * SQRT2) };
}

/** The point at angular distance `r` (degrees) from (ra, dec) along `bearing` (degrees, from north through east). */
export function destination(
  ra: number,
  dec: number,
  r: number,
  bearing: number,
): { ra: number; dec: number } {
  const d1 = dec * DEG;
  const a = r * DEG;
  const b = bearing * DEG;
  const sinD2 = Math.sin(d1) * Math.cos(a) + Math.cos(d1) * Math.sin(a) * Math.cos(b);
  const d2 = Math.asin(Math.max(-1, Math.min(1, sinD2)));
  const y = Math.sin(b) * Math.sin(a) * Math.cos(d1);
  const x = Math.cos(a) - Math.sin(d1) * sinD2;
  const ra2 = ra + Math.atan2(y, x) / DEG;
  return { ra: ((ra2 % 360) + 360) % 360, dec: d2 / DEG };
}

/** Angular distance between two sky positions, degrees (haversine). */
export function separation(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const p1 = dec1 * DEG;
  const p2 = dec2 * DEG;
  const h =
    Math.sin((p2 - p1) / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(((ra2 - ra1) * DEG) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(h)))) / DEG;
}

function fmt(n: number): string {
  return (Math.round(n * 100) / 100).toString();
}

/** Whether the line from RA a to RA b (degrees, shortest way) crosses the map's edge at RA 0h. */
function crossesEdge(a: number, b: number): boolean {
  const ra1 = ((a % 360) + 360) % 360;
  const ra2 = ((b % 360) + 360) % 360;
  return Math.abs(ra1 - ra2) > 180;
}

/** Joins sky points into SVG path data, starting a new piece where the line crosses the map's edge (RA 0h). */
export function skyPath(points: ReadonlyArray<{ ra: number; dec: number }>, closed: boolean): string {
  const pieces: XY[][] = [];
  let piece: XY[] = [];
  for (let i = 0; i < points.length; i++) {
    if (i > 0 && crossesEdge(points[i - 1].ra, points[i].ra)) {
      pieces.push(piece);
      piece = [];
    }
    piece.push(toPixel(points[i].ra, points[i].dec));
  }
  if (piece.length > 0) pieces.push(piece);
  const split = pieces.length > 1;
  // A closed outline that was never split closes itself; a split one joins its last piece to its
  // first when the closing segment does not cross the edge (the outline started inside an arc).
  if (closed && split && !crossesEdge(points[points.length - 1].ra, points[0].ra)) {
    const last = pieces.pop() as XY[];
    pieces[0] = [...last, ...pieces[0]];
  }
  return pieces
    .map((pc) => `M${pc.map((p) => `${fmt(p.x)},${fmt(p.y)}`).join("L")}${closed && !split ? "Z" : ""}`)
    .join("");
}

/** The outline of a circle of radius `r` degrees around (ra, dec) on the sphere, as SVG path data. */
export function circlePath(ra: number, dec: number, r: number): string {
  const radius = Math.max(0, Math.min(180, r));
  if (!(radius > 0)) return "";
  const steps = radius > 20 ? 180 : 90;
  const points: Array<{ ra: number; dec: number }> = [];
  for (let i = 0; i < steps; i++) points.push(destination(ra, dec, radius, (360 * i) / steps));
  return skyPath(points, true);
}

/** The Galactic plane (b = 0) in equatorial J2000 coordinates, sampled every 2° of longitude. */
export function galacticPlane(): Array<{ ra: number; dec: number }> {
  // North Galactic pole and the ascending node, J2000.
  const raNgp = 192.85948 * DEG;
  const decNgp = 27.12825 * DEG;
  const lNcp = 122.93192 * DEG;
  const out: Array<{ ra: number; dec: number }> = [];
  for (let l = 0; l <= 360; l += 2) {
    const lr = l * DEG;
    const sinDec = Math.cos(decNgp) * Math.cos(lNcp - lr); // b = 0
    const dec = Math.asin(sinDec);
    const y = Math.sin(lNcp - lr);
    const x = -Math.sin(decNgp) * Math.cos(lNcp - lr);
    const ra = raNgp + Math.atan2(y, x);
    out.push({ ra: (((ra / DEG) % 360) + 360) % 360, dec: dec / DEG });
  }
  return out;
}

export interface MapFrame {
  width: number;
  height: number;
  /** The map's outline (the sky's edge). */
  outline: string;
  /** RA meridians and Dec parallels. */
  grid: string[];
  /** Labels of the grid in pixels: RA in hours along the equator, Dec in degrees at the left edge. */
  labels: Array<{ x: number; y: number; text: string; anchor: "start" | "middle" | "end" }>;
  galactic: string;
}

/** Everything fixed on the map: outline, grid, labels and the Galactic plane. */
export function mapFrame(): MapFrame {
  const grid: string[] = [];
  for (let ra = 30; ra < 360; ra += 30) {
    const pts: Array<{ ra: number; dec: number }> = [];
    for (let dec = -90; dec <= 90; dec += 3) pts.push({ ra, dec });
    grid.push(skyPath(pts, false));
  }
  for (let dec = -60; dec <= 60; dec += 30) {
    const pts: Array<{ ra: number; dec: number }> = [];
    for (let ra = 359.999; ra >= 0; ra -= 3) pts.push({ ra, dec });
    pts.push({ ra: 0.0001, dec });
    grid.push(skyPath(pts, false));
  }
  const edge: Array<{ ra: number; dec: number }> = [];
  for (let dec = -90; dec <= 90; dec += 2) edge.push({ ra: 0.0001, dec });
  for (let dec = 90; dec >= -90; dec -= 2) edge.push({ ra: 359.9999, dec });
  const e = edge.map((p) => toPixel(p.ra, p.dec));
  const outline = `M${e.map((p) => `${fmt(p.x)},${fmt(p.y)}`).join("L")}Z`;
  const labels: MapFrame["labels"] = [];
  for (let h = 0; h < 24; h += 2) {
    if (h === 0) continue;
    const p = toPixel(h * 15, 0);
    labels.push({ x: p.x, y: p.y + 12, text: `${h}h`, anchor: "middle" });
  }
  for (let dec = -60; dec <= 60; dec += 30) {
    if (dec === 0) continue;
    const p = toPixel(359.999, dec);
    labels.push({ x: p.x - 4, y: p.y + 4, text: `${dec > 0 ? "+" : ""}${dec}°`, anchor: "end" });
  }
  return {
    width: MAP_WIDTH,
    height: MAP_HEIGHT,
    outline,
    grid,
    labels,
    galactic: skyPath(galacticPlane(), false),
  };
}
