import assert from "node:assert/strict";
import { angularDistance, coneProblem, conesOverlap, inCone, normalizeRa } from "../../src/voevent/sky";

const close = (actual: number, expected: number, tol = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);

describe("sky: angularDistance", () => {
  it("is 0 for the same point and symmetric", () => {
    close(angularDistance({ ra: 74.7412, dec: -9.3137 }, { ra: 74.7412, dec: -9.3137 }), 0);
    const a = { ra: 10, dec: 20 };
    const b = { ra: 200, dec: -35 };
    close(angularDistance(a, b), angularDistance(b, a));
  });

  it("along the equator is the RA difference; along a meridian the Dec difference", () => {
    close(angularDistance({ ra: 10, dec: 0 }, { ra: 40, dec: 0 }), 30);
    close(angularDistance({ ra: 123, dec: -10 }, { ra: 123, dec: 25 }), 35);
  });

  it("wraps RA at 0/360: 359.5 and 0.5 are one degree apart, not 359", () => {
    close(angularDistance({ ra: 359.5, dec: 0 }, { ra: 0.5, dec: 0 }), 1);
    close(angularDistance({ ra: -0.5, dec: 0 }, { ra: 360.5, dec: 0 }), 1);
    close(angularDistance({ ra: 350, dec: 10 }, { ra: 710, dec: 10 }), 0);
  });

  it("shrinks RA differences towards the poles", () => {
    // 180° apart in RA at Dec 80: over the pole, 20° apart.
    close(angularDistance({ ra: 0, dec: 80 }, { ra: 180, dec: 80 }), 20);
    close(angularDistance({ ra: 45, dec: -89 }, { ra: 225, dec: -89 }), 2);
  });

  it("treats every RA at a pole as the same point", () => {
    close(angularDistance({ ra: 0, dec: 90 }, { ra: 123.4, dec: 90 }), 0);
    close(angularDistance({ ra: 17, dec: 90 }, { ra: 300, dec: 60 }), 30);
    close(angularDistance({ ra: 0, dec: 90 }, { ra: 0, dec: -90 }), 180);
  });

  it("is accurate for antipodes and for tiny separations", () => {
    close(angularDistance({ ra: 10, dec: 20 }, { ra: 190, dec: -20 }), 180, 1e-9);
    const arcsec = 1 / 3600;
    close(angularDistance({ ra: 100, dec: 0 }, { ra: 100 + arcsec, dec: 0 }), arcsec, 1e-12);
  });

  it("matches the haversine formula on a known pair", () => {
    // Swift BAT (74.7412, -9.3137) to the Crab (83.6331, 22.0145).
    const a = { ra: 74.7412, dec: -9.3137 };
    const b = { ra: 83.6331, dec: 22.0145 };
    const r = Math.PI / 180;
    const h =
      Math.sin(((b.dec - a.dec) * r) / 2) ** 2 +
      Math.cos(a.dec * r) * Math.cos(b.dec * r) * Math.sin(((b.ra - a.ra) * r) / 2) ** 2;
    close(angularDistance(a, b), (2 * Math.asin(Math.sqrt(h))) / r, 1e-9);
  });
});

describe("sky: cones", () => {
  it("inCone counts the edge as inside", () => {
    assert.equal(inCone({ ra: 10, dec: 0 }, { ra: 12, dec: 0, radius: 2 }), true);
    assert.equal(inCone({ ra: 10, dec: 0 }, { ra: 12.001, dec: 0, radius: 2 }), false);
  });

  it("inCone across RA 0/360 and over a pole", () => {
    assert.equal(inCone({ ra: 0.2, dec: 4 }, { ra: 359.7, dec: 4, radius: 1 }), true);
    assert.equal(inCone({ ra: 222.7167, dec: 81.1667 }, { ra: 42.7167, dec: 81.1667, radius: 18 }), true);
    assert.equal(inCone({ ra: 222.7167, dec: 81.1667 }, { ra: 42.7167, dec: 81.1667, radius: 17 }), false);
    assert.equal(inCone({ ra: 5, dec: -89.5 }, { ra: 185, dec: -89.5, radius: 1.01 }), true);
  });

  it("conesOverlap adds the point's radius; a negative radius counts as 0", () => {
    const cone = { ra: 268.87, dec: -20, radius: 0.3 };
    const p = { ra: 268.87, dec: -20.3153 };
    assert.equal(inCone(p, cone), false);
    assert.equal(conesOverlap(p, 0.05, cone), true);
    assert.equal(conesOverlap(p, 0.01, cone), false);
    assert.equal(conesOverlap(p, -5, cone), false);
  });

  it("normalizeRa folds into [0, 360)", () => {
    assert.equal(normalizeRa(0), 0);
    assert.equal(normalizeRa(360), 0);
    assert.equal(normalizeRa(-90), 270);
    assert.equal(normalizeRa(725), 5);
  });

  it("coneProblem refuses unusable cones", () => {
    assert.equal(coneProblem({ ra: 10, dec: -90, radius: 180 }), null);
    assert.match(String(coneProblem({ ra: Number.NaN, dec: 0, radius: 1 })), /RA/);
    assert.match(String(coneProblem({ ra: 0, dec: 91, radius: 1 })), /Dec/);
    assert.match(String(coneProblem({ ra: 0, dec: 0, radius: -1 })), /radius/);
    assert.match(String(coneProblem({ ra: 0, dec: 0, radius: 181 })), /radius/);
  });
});
