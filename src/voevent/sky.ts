/**
 * Sky geometry for cone rules: great-circle distances on the celestial sphere,
 * in degrees. RA wraps at 0/360 and the poles need no special case because the
 * distance is computed on the sphere, never as a flat difference of coordinates.
 */

const DEG = Math.PI / 180;

/** A point on the sky, degrees: RA any real (taken modulo 360), Dec in [-90, 90]. */
export interface SkyPoint {
  ra: number;
  dec: number;
}

/** A circle on the sky: centre and radius, degrees. */
export interface SkyCone extends SkyPoint {
  radius: number;
}

/** RA folded into [0, 360). */
export function normalizeRa(ra: number): number {
  const r = ra % 360;
  return r < 0 ? r + 360 : r;
}

/**
 * Angular distance between two points, degrees in [0, 180]. Uses the Vincenty
 * form of the great-circle formula (atan2 of the cross and dot products), which
 * stays accurate for tiny separations and for antipodal points alike.
 */
export function angularDistance(a: SkyPoint, b: SkyPoint): number {
  const dRa = (b.ra - a.ra) * DEG;
  const d1 = a.dec * DEG;
  const d2 = b.dec * DEG;
  const sinD1 = Math.sin(d1);
  const cosD1 = Math.cos(d1);
  const sinD2 = Math.sin(d2);
  const cosD2 = Math.cos(d2);
  const cosDRa = Math.cos(dRa);
  const x = cosD2 * Math.sin(dRa);
  const y = cosD1 * sinD2 - sinD1 * cosD2 * cosDRa;
  const z = sinD1 * sinD2 + cosD1 * cosD2 * cosDRa;
  return Math.atan2(Math.hypot(x, y), z) / DEG;
}

/** Whether the point lies in the cone (on the edge counts as inside). */
export function inCone(point: SkyPoint, cone: SkyCone): boolean {
  return angularDistance(point, cone) <= cone.radius;
}

/**
 * Whether a circle of radius `pointRadius` round the point overlaps the cone
 * (touching counts): the event's error circle meets the region of interest.
 */
export function conesOverlap(point: SkyPoint, pointRadius: number, cone: SkyCone): boolean {
  return angularDistance(point, cone) <= cone.radius + Math.max(0, pointRadius);
}

/** Why a cone is unusable, or null when it is fine: finite numbers, |Dec| ≤ 90, 0 ≤ radius ≤ 180. */
export function coneProblem(cone: SkyCone): string | null {
  if (!Number.isFinite(cone.ra)) return "RA must be a number of degrees";
  if (!Number.isFinite(cone.dec) || cone.dec < -90 || cone.dec > 90) {
    return "Dec must be a number of degrees from -90 to 90";
  }
  if (!Number.isFinite(cone.radius) || cone.radius < 0 || cone.radius > 180) {
    return "the radius must be a number of degrees from 0 to 180";
  }
  return null;
}
