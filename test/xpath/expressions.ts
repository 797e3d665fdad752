/**
 * Expressions for the differential test: every axis, node test, operator and core
 * function, node-set / string / number / boolean results, over VOEvent's own names.
 *
 * Where the oracle (xpath 0.0.34) is wrong, ORACLE_REWRITES gives it an equivalent
 * expression built from the spec's own definitions, and says why.
 */

/** Attributes that are not namespace declarations (xpath lists xmlns="…" as attributes). */
const ATTR = "@*[name() != 'xmlns' and not(starts-with(name(), 'xmlns:'))]";
/** following::N as XPath 1.0 defines it (xpath's following axis loses or adds nodes). */
const following = (from: string, test: string): string =>
  `${from}/ancestor-or-self::node()/following-sibling::node()/descendant-or-self::${test}`;
/** preceding::N as XPath 1.0 defines it (xpath's preceding axis wrongly includes ancestors). */
const preceding = (from: string, test: string): string =>
  `${from}/ancestor-or-self::node()/preceding-sibling::node()/descendant-or-self::${test}`;

export const ORACLE_REWRITES: ReadonlyMap<string, { oracle: string; why: string }> = new Map([
  // xpath lists namespace declarations on the attribute axis; XPath 1.0 (§5.3) does not.
  ["/*/@*", { oracle: `/*/${ATTR}`, why: "xmlns declarations are not attributes" }],
  ["//@*", { oracle: `//${ATTR}`, why: "xmlns declarations are not attributes" }],
  ["count(//@*)", { oracle: `count(//${ATTR})`, why: "xmlns declarations are not attributes" }],
  ["name(//@*[1])", { oracle: `name(//${ATTR}[1])`, why: "xmlns declarations are not attributes" }],
  // xpath's following axis misses siblings after a text node and includes descendants.
  ["//C1/following::*", { oracle: following("//C1", "*"), why: "xpath's following axis is wrong" }],
  [
    "(//C1)[1]/following::*[2]",
    { oracle: `(${following("(//C1)[1]", "*")})[2]`, why: "xpath's following axis is wrong" },
  ],
  // xpath's preceding axis includes the ancestors, which XPath 1.0 §2.2 excludes.
  [
    "//Who/preceding::node()",
    { oracle: preceding("//Who", "node()"), why: "xpath's preceding axis has ancestors" },
  ],
  [
    "(//C1)[1]/preceding::*[1]",
    { oracle: `(${preceding("(//C1)[1]", "*")})[last()]`, why: "xpath's preceding axis has ancestors" },
  ],
  [
    "(//C1)[last()]/preceding::*[3]",
    {
      oracle: `(${preceding("(//C1)[last()]", "*")})[last() - 2]`,
      why: "xpath's preceding axis has ancestors",
    },
  ],
  [
    "(//@ivorn)[1]/preceding::node()",
    { oracle: preceding("(//@ivorn)[1]/..", "node()"), why: "xpath's preceding axis has ancestors" },
  ],
  // After an attribute come its element's children (XPath 1.0 §5: attributes precede the
  // children); xpath yields nothing on the following axis of an attribute.
  [
    "(//@name)[1]/following::*[1]",
    {
      oracle: `((//@name)[1]/../descendant::* | ${following("(//@name)[1]/..", "*")})[1]`,
      why: "xpath has no following axis from attributes",
    },
  ],
  // xpath turns an empty node set into 0 rather than NaN: number(string(…)) is the same by §4.4.
  [
    '//Param[@name = "Packet_Type"]/@value + 1',
    { oracle: 'number(string(//Param[@name = "Packet_Type"]/@value)) + 1', why: "empty node set → NaN" },
  ],
  [
    'number(//Param[@name="Sun_Distance"]/@value) * 2',
    { oracle: 'number(string(//Param[@name="Sun_Distance"]/@value)) * 2', why: "empty node set → NaN" },
  ],
  [
    "//Inference/@probability * 2",
    { oracle: "number(string(//Inference/@probability)) * 2", why: "empty node set → NaN" },
  ],
  ["floor(//C1)", { oracle: "floor(string(//C1))", why: "empty node set → NaN" }],
  ["ceiling(//C2)", { oracle: "ceiling(string(//C2))", why: "empty node set → NaN" }],
  [
    "round(//C1 * 100) div 100",
    { oracle: "round(number(string(//C1)) * 100) div 100", why: "empty node set → NaN" },
  ],
  ["-//C1", { oracle: "-number(string(//C1))", why: "empty node set → NaN" }],
]);

export const EXPRESSIONS: readonly string[] = [
  // The filters of docs/voevent.md.
  '//Who/Author[contactName="KSK"]',
  '/*[@role="observation"]',
  '//Param[@name="Sun_Distance" and @value > 40]',
  '//Param[@name="Packet_Type" and (@value=61 or @value=115)]',
  'starts-with(/*/@ivorn, "ivo://gwnet/")',
  "//Why[@importance > 0.5]",
  'count(//Citations/EventIVORN[@cite="retraction"]) > 0',
  '/voe:VOEvent[@role="test"]',
  // Child, attribute, descendant, abbreviations.
  "/*",
  "/voe:VOEvent/@ivorn",
  "/*/*",
  "/*/@*",
  "//@*",
  "//Param",
  "//Param/@name",
  "//Group/Param[1]",
  "//Param[last()]",
  "//What/*[position() > 2 and position() <= 5]",
  "//Group[@name]/Param[@name][2]/@value",
  "//*[@name][2]",
  "//Group//Param",
  "//Group/descendant::*[2]",
  "//Group/descendant-or-self::*",
  "/descendant::*[3]",
  "/descendant-or-self::node()[self::Who or self::How]",
  "//text()[normalize-space()]",
  "//node()",
  "/child::node()",
  "//comment()",
  "//processing-instruction()",
  "//Description/text()",
  "//self::Param",
  "//Param/self::node()",
  "//*[self::C1 or self::C2]",
  "//*[not(*)]",
  "//*[count(*) > 3]",
  "//*[starts-with(local-name(), 'Obs')]",
  "//*[contains(@name, '_')][3]/@name",
  // Parent and ancestors (reverse axes count backwards).
  "//Param/parent::Group",
  "//Param/..",
  "//@name/..",
  "//@value/parent::*/self::Param",
  "//Param/ancestor::*",
  "//Param/ancestor-or-self::*[1]",
  "//Param[1]/ancestor::*[last()]",
  "//C1/ancestor::*[2]",
  "//@ivorn/ancestor::node()",
  // Siblings, following, preceding.
  "//Who/following-sibling::*",
  "//How/preceding-sibling::*[1]",
  '//Param[@name="Packet_Type"]/following-sibling::Param[1]/@name',
  "//Group[1]/Param[2]/preceding-sibling::node()",
  "//Group[1]/Param[2]/following-sibling::node()[2]",
  "//C1/following::*",
  "(//C1)[1]/following::*[2]",
  "(//C1)[1]/preceding::*[1]",
  "(//C1)[last()]/preceding::*[3]",
  "//Who/preceding::node()",
  "(//@name)[1]/following::*[1]",
  "(//@ivorn)[1]/preceding::node()",
  "//Param[3]/@*/following-sibling::*",
  // Filter expressions and unions.
  "(//Param)[2]",
  "(//Param)[last()]/@name",
  "(//Param/@name)[position() mod 5 = 0]",
  "(//Group | //Param)[3]",
  "//Param | //Group",
  "//Who | //What | /*",
  "//Param[@name = 'Packet_Type']/@value | //Param[@name = 'Sun_Distance']/@value",
  // Comparisons.
  "//C1 > //C2",
  "//C1 <= //C2",
  "//Param/@value = 61",
  "//Param/@value != 61",
  '//Param/@value < "5"',
  '"61" = //Param/@value',
  "//Param/@name = //Group/@name",
  "//Param/@name != //Group/@name",
  "//Param = true()",
  "//Nothing = false()",
  "//Nothing != //Param",
  "1 < 2 < 3",
  '"abc" < "abd"',
  '"10" = 10.0',
  "true() > false()",
  "count(//Param[@value > 100])",
  "count(//*[. = 'RA'])",
  'string(//Param[@name="Packet_Type"]/@value) = "61"',
  // Numbers and arithmetic.
  "count(//*)",
  "count(//@*)",
  "count(//text())",
  "count(/descendant::node()) - count(//node())",
  "sum(//C1 | //C2)",
  '//Param[@name = "Packet_Type"]/@value + 1',
  'number(//Param[@name="Sun_Distance"]/@value) * 2',
  "floor(//C1)",
  "ceiling(//C2)",
  "round(//C1 * 100) div 100",
  "-//C1",
  "//Inference/@probability * 2",
  "7 mod 3",
  "-7 mod 3",
  "7 mod -3",
  "5.5 mod 2",
  "1 div 0",
  "-1 div 0",
  "0 div 0",
  "round(2.5)",
  "round(-2.5)",
  "position() + last()",
  // Number formatting.
  "string(-0)",
  "string(1 div 3)",
  "string(1000000 * 1000000 * 1000000 * 1000000)",
  "string(0.000001 div 10)",
  "string(2 div 0)",
  "string(0 div 0)",
  "string(12.50)",
  "concat(1.0, '|', 3 * 0.1, '|', -0.5)",
  // Strings.
  "string(//ISOTime)",
  "normalize-space(//Description)",
  "string-length(string(/*/@ivorn))",
  "string-length()",
  'substring-before(/*/@ivorn, "#")',
  'substring-after(/*/@ivorn, "#")',
  "substring(/*/@ivorn, 7, 12)",
  "substring(/*/@ivorn, 0)",
  'substring("12345", 1.5, 2.6)',
  'substring("12345", 0, 3)',
  'substring("12345", 0 div 0, 3)',
  'substring("12345", 1, 0 div 0)',
  'substring("12345", -42, 1 div 0)',
  'substring("12345", -1 div 0, 1 div 0)',
  'translate(/*/@role, "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")',
  'translate("--aaa--", "a-", "b")',
  'concat(name(/*), "|", local-name(/*), "|", namespace-uri(/*))',
  "name(//@*[1])",
  "local-name(//*[@*][last()])",
  "namespace-uri(//Param[1])",
  "local-name(//Param[1]/@*[2])",
  "name(//*[last()])",
  "string(//Param[string-length(@name) > 10][1]/@name)",
  // Booleans.
  "boolean(//Citations)",
  "not(//Citations)",
  "true() = 1",
  'false() = ""',
  "boolean(0.0)",
  "not(0 div 0)",
  'lang("en")',
  "//*[lang('en')]",
];
