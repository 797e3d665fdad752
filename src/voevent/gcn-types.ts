/**
 * GCN's notice types: the number a GCN (and SVOM) VOEvent carries in its `Packet_Type` Param,
 * and the name GCN gives it (the name pygcn's `gcn.notice_types` and GCN's Kafka topics
 * `gcn.classic.voevent.<NAME>` use), grouped by mission.
 *
 * Where the table comes from:
 * - GCN/TAN's "Internet Socket Packet Definition Doc" (gcn.gsfc.nasa.gov/sock_pkt_def_doc.html,
 *   revised 07 Dec 2021) and GCN's filtering table (gcn.gsfc.nasa.gov/filtering.html), as
 *   transcribed in pygcn (nasa-gcn/pygcn, gcn/notice_types.py) for types 1–174;
 * - the newer GCN Classic types from the same document and GCN's Kafka topic list
 *   (gcn.nasa.gov, "GCN Classic over Kafka"): 105 AGILE_MCAL_ALERT, 159 AMON_ICECUBE_TEST,
 *   163 LVC_EARLY_WARNING, 166 AMON_ICECUBE_CLUSTER, 168 GWHEN_COINC,
 *   170 AMON_ANTARES_FERMILAT_COINC, 172 AMON_NU_EM_COINC, 175 SK_SN, 176 ICECUBE_CASCADE,
 *   188 GECAM_FLT, 189 GECAM_GND;
 * - SVOM's notices (VOEvents from the SVOM French Science Center, relayed by GCN), whose
 *   Packet_Type numbers the FSC documents in its notice levels
 *   (fsc.svom.org/readthedocs/svom/notices_and_circulars/notice_levels.html): 201–219.
 *
 * Decisions:
 * - Spare numbers (38, 50, …) are left out; a number not in the table still matches a rule
 *   that names it by number, and shows as "type N".
 * - Einstein Probe's notices (gcn.notices.einstein_probe.*) are JSON without a Packet_Type,
 *   so they have no entry: filter them by stream or Param instead.
 */

export interface GcnNoticeType {
  /** The Packet_Type number. */
  type: number;
  /** GCN's name, e.g. FERMI_GBM_FLT_POS. */
  name: string;
  /** The mission or source it belongs to, for grouping in a list. */
  mission: string;
}

const GROUPS: ReadonlyArray<readonly [string, ReadonlyArray<readonly [number, string]>]> = [
  [
    "GCN",
    [
      [1, "GRB_COORDS"],
      [2, "TEST_COORDS"],
      [3, "IM_ALIVE"],
      [4, "KILL_SOCKET"],
      [45, "GRB_CNTRPART"],
      [48, "DOW_TOD"],
      [130, "SIMBADNED"],
      [142, "VOE_11_IM_ALIVE"],
      [143, "VOE_20_IM_ALIVE"],
      [145, "COINCIDENCE"],
    ],
  ],
  [
    "CGRO (BATSE, COMPTEL)",
    [
      [11, "MAXBC"],
      [21, "BRAD_COORDS"],
      [22, "GRB_FINAL"],
      [24, "HUNTS_SRC"],
      [30, "COMPTEL_SRC"],
    ],
  ],
  ["ALEXIS", [[25, "ALEXIS_SRC"]]],
  [
    "RXTE",
    [
      [26, "XTE_PCA_ALERT"],
      [27, "XTE_PCA_SRC"],
      [28, "XTE_ASM_ALERT"],
      [29, "XTE_ASM_SRC"],
      [37, "XTE_ASM_TRANS"],
    ],
  ],
  [
    "IPN",
    [
      [31, "IPN_RAW"],
      [32, "IPN_SEG"],
      [39, "IPN_POS"],
    ],
  ],
  [
    "BeppoSAX",
    [
      [33, "SAX_WFC_ALERT"],
      [34, "SAX_WFC_SRC"],
      [35, "SAX_NFI_ALERT"],
      [36, "SAX_NFI_SRC"],
    ],
  ],
  [
    "HETE-2",
    [
      [40, "HETE_ALERT_SRC"],
      [41, "HETE_UPDATE_SRC"],
      [42, "HETE_FINAL_SRC"],
      [43, "HETE_GNDANA_SRC"],
      [44, "HETE_TEST"],
    ],
  ],
  [
    "INTEGRAL",
    [
      [51, "INTEGRAL_POINTDIR"],
      [52, "INTEGRAL_SPIACS"],
      [53, "INTEGRAL_WAKEUP"],
      [54, "INTEGRAL_REFINED"],
      [55, "INTEGRAL_OFFLINE"],
      [56, "INTEGRAL_WEAK"],
    ],
  ],
  [
    "Other observatories",
    [
      [57, "AAVSO"],
      [58, "MILAGRO_POS"],
      [59, "KONUS_LC"],
      [137, "OGLE"],
      [138, "CBAT"],
      [139, "MOA"],
      [148, "SUZAKU_LC"],
    ],
  ],
  [
    "Swift",
    [
      [46, "SWIFT_TOO_FOM"],
      [47, "SWIFT_TOO_SC_SLEW"],
      [60, "SWIFT_BAT_GRB_ALERT"],
      [61, "SWIFT_BAT_GRB_POS_ACK"],
      [62, "SWIFT_BAT_GRB_POS_NACK"],
      [63, "SWIFT_BAT_GRB_LC"],
      [64, "SWIFT_BAT_SCALEDMAP"],
      [65, "SWIFT_FOM_OBS"],
      [66, "SWIFT_SC_SLEW"],
      [67, "SWIFT_XRT_POSITION"],
      [68, "SWIFT_XRT_SPECTRUM"],
      [69, "SWIFT_XRT_IMAGE"],
      [70, "SWIFT_XRT_LC"],
      [71, "SWIFT_XRT_CENTROID"],
      [72, "SWIFT_UVOT_DBURST"],
      [73, "SWIFT_UVOT_FCHART"],
      [76, "SWIFT_BAT_GRB_LC_PROC"],
      [77, "SWIFT_XRT_SPECTRUM_PROC"],
      [78, "SWIFT_XRT_IMAGE_PROC"],
      [79, "SWIFT_UVOT_DBURST_PROC"],
      [80, "SWIFT_UVOT_FCHART_PROC"],
      [81, "SWIFT_UVOT_POS"],
      [82, "SWIFT_BAT_GRB_POS_TEST"],
      [83, "SWIFT_POINTDIR"],
      [84, "SWIFT_BAT_TRANS"],
      [85, "SWIFT_XRT_THRESHPIX"],
      [86, "SWIFT_XRT_THRESHPIX_PROC"],
      [87, "SWIFT_XRT_SPER"],
      [88, "SWIFT_XRT_SPER_PROC"],
      [89, "SWIFT_UVOT_POS_NACK"],
      [90, "SWIFT_BAT_ALARM_SHORT"],
      [91, "SWIFT_BAT_ALARM_LONG"],
      [92, "SWIFT_UVOT_EMERGENCY"],
      [93, "SWIFT_XRT_EMERGENCY"],
      [94, "SWIFT_FOM_PPT_ARG_ERR"],
      [95, "SWIFT_FOM_SAFE_POINT"],
      [96, "SWIFT_FOM_SLEW_ABORT"],
      [97, "SWIFT_BAT_QL_POS"],
      [98, "SWIFT_BAT_SUB_THRESHOLD"],
      [99, "SWIFT_BAT_SLEW_POS"],
      [103, "SWIFT_ACTUAL_POINTDIR"],
      [133, "SWIFT_BAT_MONITOR"],
      [140, "SWIFT_BAT_SUBSUB"],
      [141, "SWIFT_BAT_KNOWN_SRC"],
    ],
  ],
  [
    "AGILE",
    [
      [100, "AGILE_GRB_WAKEUP"],
      [101, "AGILE_GRB_GROUND"],
      [102, "AGILE_GRB_REFINED"],
      [105, "AGILE_MCAL_ALERT"],
      [107, "AGILE_POINTDIR"],
      [108, "AGILE_TRANS"],
      [109, "AGILE_GRB_POS_TEST"],
    ],
  ],
  [
    "Fermi",
    [
      [110, "FERMI_GBM_ALERT"],
      [111, "FERMI_GBM_FLT_POS"],
      [112, "FERMI_GBM_GND_POS"],
      [113, "FERMI_GBM_LC"],
      [114, "FERMI_GBM_GND_INTERNAL"],
      [115, "FERMI_GBM_FIN_POS"],
      [116, "FERMI_GBM_ALERT_INTERNAL"],
      [117, "FERMI_GBM_FLT_INTERNAL"],
      [118, "FERMI_GBM_TRANS"],
      [119, "FERMI_GBM_POS_TEST"],
      [120, "FERMI_LAT_POS_INI"],
      [121, "FERMI_LAT_POS_UPD"],
      [122, "FERMI_LAT_POS_DIAG"],
      [123, "FERMI_LAT_TRANS"],
      [124, "FERMI_LAT_POS_TEST"],
      [125, "FERMI_LAT_MONITOR"],
      [126, "FERMI_SC_SLEW"],
      [127, "FERMI_LAT_GND"],
      [128, "FERMI_LAT_OFFLINE"],
      [129, "FERMI_POINTDIR"],
      [131, "FERMI_GBM_SUBTHRESH"],
      [144, "FERMI_SC_SLEW_INTERNAL"],
      [146, "FERMI_GBM_FIN_INTERNAL"],
    ],
  ],
  [
    "MAXI",
    [
      [134, "MAXI_UNKNOWN"],
      [135, "MAXI_KNOWN"],
      [136, "MAXI_TEST"],
    ],
  ],
  [
    "Supernova neutrinos",
    [
      [149, "SNEWS"],
      [175, "SK_SN"],
    ],
  ],
  [
    "LIGO/Virgo/KAGRA",
    [
      [150, "LVC_PRELIMINARY"],
      [151, "LVC_INITIAL"],
      [152, "LVC_UPDATE"],
      [153, "LVC_TEST"],
      [154, "LVC_COUNTERPART"],
      [163, "LVC_EARLY_WARNING"],
      [164, "LVC_RETRACTION"],
    ],
  ],
  [
    "AMON, IceCube, HAWC",
    [
      [157, "AMON_ICECUBE_COINC"],
      [158, "AMON_ICECUBE_HESE"],
      [159, "AMON_ICECUBE_TEST"],
      [166, "AMON_ICECUBE_CLUSTER"],
      [168, "GWHEN_COINC"],
      [169, "AMON_ICECUBE_EHE"],
      [170, "AMON_ANTARES_FERMILAT_COINC"],
      [171, "HAWC_BURST_MONITOR"],
      [172, "AMON_NU_EM_COINC"],
      [173, "ICECUBE_ASTROTRACK_GOLD"],
      [174, "ICECUBE_ASTROTRACK_BRONZE"],
      [176, "ICECUBE_CASCADE"],
    ],
  ],
  [
    "CALET",
    [
      [160, "CALET_GBM_FLT_LC"],
      [161, "CALET_GBM_GND_LC"],
    ],
  ],
  [
    "GECAM",
    [
      [188, "GECAM_FLT"],
      [189, "GECAM_GND"],
    ],
  ],
  [
    "SVOM",
    [
      [201, "SVOM_GRM_TRIGGER"],
      [202, "SVOM_ECLAIRS_WAKEUP"],
      [203, "SVOM_ECLAIRS_CATALOG"],
      [204, "SVOM_ECLAIRS_SLEWING"],
      [205, "SVOM_ECLAIRS_NOT_SLEWING"],
      [209, "SVOM_MXT_INITIAL"],
      [210, "SVOM_MXT_UPDATE"],
      [211, "SVOM_VT_CANDIDATE"],
      [219, "SVOM_RETRACTION"],
    ],
  ],
];

/** Every notice type, ordered by number. */
export const GCN_NOTICE_TYPES: readonly GcnNoticeType[] = GROUPS.flatMap(([mission, types]) =>
  types.map(([type, name]) => ({ type, name, mission })),
).sort((a, b) => a.type - b.type);

const BY_NUMBER = new Map(GCN_NOTICE_TYPES.map((t) => [t.type, t]));
const BY_NAME = new Map(GCN_NOTICE_TYPES.map((t) => [t.name, t]));

/** The notice type of a number (or numeral), if GCN names it. */
export function gcnNoticeType(type: number | string): GcnNoticeType | undefined {
  const n = typeof type === "number" ? type : /^\s*\d{1,6}\s*$/.test(type) ? Number(type) : Number.NaN;
  return BY_NUMBER.get(n);
}

/** The notice type of a name, as GCN writes it (case and surrounding space ignored). */
export function gcnNoticeTypeByName(name: string): GcnNoticeType | undefined {
  return BY_NAME.get(name.trim().toUpperCase());
}

/** "FERMI_GBM_FLT_POS (111)", or "type 999" for a number GCN does not name. */
export function gcnTypeLabel(type: number): string {
  const known = BY_NUMBER.get(type);
  return known ? `${known.name} (${type})` : `type ${type}`;
}

/**
 * The Packet_Type of a parsed VOEvent (its top-level Param, else the first in a Group), as an
 * integer; null when it has none or it is not a whole number.
 */
export function packetTypeOf(voevent: {
  params?: Record<string, unknown>;
  groups?: Record<string, Record<string, unknown>>;
}): number | null {
  const candidates: unknown[] = [];
  if (voevent.params && Object.hasOwn(voevent.params, "Packet_Type"))
    candidates.push(voevent.params.Packet_Type);
  for (const group of Object.values(voevent.groups ?? {}))
    if (Object.hasOwn(group, "Packet_Type")) candidates.push(group.Packet_Type);
  for (const value of candidates) {
    const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : "";
    if (/^\d{1,6}$/.test(text)) return Number(text);
  }
  return null;
}
