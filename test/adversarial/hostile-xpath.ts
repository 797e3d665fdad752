/** Hostile XPath filters shared by the adversarial tests (issue 8). */

/** Row 2: nested count(following::…[count(preceding::…)]); each level multiplies the work by the element count. */
export const HOSTILE_FILTER =
  "//*[count(following::*[count(preceding::*[count(following::*[count(preceding::*) > 1]) > 1]) > 0]) > 0]";
