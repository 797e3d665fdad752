import { strict as assert } from "node:assert";
import { isValidCidr, parseCidrList, Whitelist } from "../../src/vtp/whitelist";

function allowed(spec: string | readonly string[], address: string | undefined): boolean {
  return new Whitelist(spec).allows(address);
}

function refuses(spec: string, message: string): void {
  assert.throws(
    () => parseCidrList(spec),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.message, message);
      return true;
    },
  );
}

describe("vtp/whitelist", () => {
  describe("parseCidrList", () => {
    it("splits on commas, spaces and newlines, and skips empty entries", () => {
      const list = parseCidrList(" 127.0.0.0/8,::1\n\n10.0.0.0/8 ,, \t192.168.1.0/24\r\n");
      assert.deepEqual(
        list.map((c) => c.text),
        ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "192.168.1.0/24"],
      );
    });

    it("takes an array, whose elements may hold several entries", () => {
      const list = parseCidrList(["127.0.0.1", "10.0.0.0/8, 2001:db8::/32", ""]);
      assert.deepEqual(
        list.map((c) => c.text),
        ["127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32"],
      );
    });

    it("reads a bare address as /32 or /128", () => {
      const [v4, v6] = parseCidrList("192.0.2.7 2001:db8::7");
      assert.equal(v4!.family, 4);
      assert.equal(v4!.prefix, 32);
      assert.equal(v6!.family, 6);
      assert.equal(v6!.prefix, 128);
    });

    it("refuses host bits below the prefix, naming the network address (issue 8, row 17)", () => {
      assert.throws(
        () => parseCidrList("10.1.2.3/8"),
        /^Error: "10.1.2.3\/8": host bits set; did you mean 10.0.0.0\/8\?$/,
      );
      assert.throws(() => parseCidrList("192.168.1.255/23"), /did you mean 192.168.0.0\/23\?/);
      assert.throws(() => parseCidrList("2001:db8:ffff::1/33"), /did you mean 2001:db8:8000::\/33\?/);
      assert.throws(() => parseCidrList("1.2.3.4/0"), /did you mean 0.0.0.0\/0\?/);
      assert.equal(parseCidrList("192.168.0.0/23")[0]!.text, "192.168.0.0/23");
    });

    it("writes IPv6 in canonical form (RFC 5952)", () => {
      const text = (s: string) => parseCidrList(s)[0]!.text;
      assert.equal(text("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1/128");
      assert.equal(text("::"), "::/128");
      assert.equal(text("::/0"), "::/0");
      assert.equal(text("1::"), "1::/128");
      assert.equal(text("1:0:0:2:0:0:0:3"), "1:0:0:2::3/128", "the longest run of zeros");
      assert.equal(text("1:0:0:2:0:0:3:4"), "1::2:0:0:3:4/128", "the first of equal runs");
      assert.equal(text("1:2:3:4:5:6:0:8"), "1:2:3:4:5:6:0:8/128", "a single zero is not compressed");
      assert.equal(text("fe80::1:2"), "fe80::1:2/128");
    });

    it("accepts IPv6 with an embedded IPv4 tail", () => {
      assert.equal(parseCidrList("64:ff9b::192.0.2.33")[0]!.text, "64:ff9b::c000:221/128");
      assert.equal(parseCidrList("::192.0.2.33")[0]!.text, "::c000:221/128");
      assert.equal(parseCidrList("1:2:3:4:5:6:1.2.3.4")[0]!.text, "1:2:3:4:5:6:102:304/128");
    });

    it("turns an IPv4-mapped rule into the IPv4 rule it stands for", () => {
      const [a, b, c] = parseCidrList("::ffff:10.0.0.0/104 ::ffff:127.0.0.1 ::ffff:0:0/96");
      assert.deepEqual([a!.family, a!.text], [4, "10.0.0.0/8"]);
      assert.deepEqual([b!.family, b!.text], [4, "127.0.0.1/32"]);
      assert.deepEqual([c!.family, c!.text], [4, "0.0.0.0/0"]);
      assert.equal(parseCidrList("::fffe:0:0/95")[0]!.family, 6, "wider than the mapped range: IPv6");
    });

    it("exposes the network as words", () => {
      const [v4, v6] = parseCidrList("192.168.1.0/24 2001:db8::/32");
      assert.deepEqual(v4!.words, [0xc0a80100]);
      assert.deepEqual(v6!.words, [0x20010db8, 0, 0, 0]);
    });

    it("returns an empty list for an empty or blank spec", () => {
      assert.deepEqual(parseCidrList(""), []);
      assert.deepEqual(parseCidrList(" \n , "), []);
      assert.deepEqual(parseCidrList([]), []);
    });

    describe("refuses bad entries, saying which and why", () => {
      const cases: Array<[string, string]> = [
        ["10.0.0.0/33", '"10.0.0.0/33": prefix length must be 0–32'],
        ["::1/129", '"::1/129": prefix length must be 0–128'],
        ["::ffff:1.2.3.4/129", '"::ffff:1.2.3.4/129": prefix length must be 0–128'],
        ["10.0.0.0/", '"10.0.0.0/": prefix length missing after "/"'],
        ["10.0.0.0/8/8", '"10.0.0.0/8/8": prefix length "8/8" is not a whole number'],
        ["10.0.0.0/-1", '"10.0.0.0/-1": prefix length "-1" is not a whole number'],
        ["10.0.0.0/ab", '"10.0.0.0/ab": prefix length "ab" is not a whole number'],
        ["/8", '"/8": address missing before the prefix length'],
        ["256.0.0.1", '"256.0.0.1": 256 is not an IPv4 address byte (0–255)'],
        ["1.2.3.1000", '"1.2.3.1000": 1000 is not an IPv4 address byte (0–255)'],
        ["1.2.3", '"1.2.3": an IPv4 address is 4 numbers separated by dots'],
        ["1.2.3.4.5", '"1.2.3.4.5": an IPv4 address is 4 numbers separated by dots'],
        ["1..2.3", '"1..2.3": an IPv4 address is 4 numbers separated by dots'],
        ["1.2.3.4.", '"1.2.3.4.": an IPv4 address is 4 numbers separated by dots'],
        ["010.0.0.1", '"010.0.0.1": leading zeros ("010") are ambiguous (octal?) and not allowed'],
        ["localhost", '"localhost": not an IPv4 or IPv6 address (host names are not accepted)'],
        ["example.org/24", '"example.org/24": not an IPv4 or IPv6 address (host names are not accepted)'],
        ["1:2::3::4", '"1:2::3::4": an IPv6 address may contain "::" only once'],
        ["1:2:3:4:5:6:7", '"1:2:3:4:5:6:7": an IPv6 address has 8 groups, this one 7'],
        ["1:2:3:4:5:6:7:8:9", '"1:2:3:4:5:6:7:8:9": an IPv6 address has 8 groups, this one 9'],
        ["1:2:3:4::5:6:7:8", '"1:2:3:4::5:6:7:8": too many groups for "::" (8 besides it; at most 7)'],
        ["12345::", '"12345::": group "12345" has more than 4 hex digits'],
        ["g::1", '"g::1": group "g" is not hexadecimal'],
        [":1:2:3:4:5:6:7", "\":1:2:3:4:5:6:7\": empty group (a single ':' at the start or end, or ':::')"],
        ["1:2:3:4:5:6:7:", "\"1:2:3:4:5:6:7:\": empty group (a single ':' at the start or end, or ':::')"],
        [":::1", "\":::1\": empty group (a single ':' at the start or end, or ':::')"],
        ["1.2.3.4::", '"1.2.3.4::": an embedded IPv4 address must come last'],
        ["::1.2.3.4:5", '"::1.2.3.4:5": an embedded IPv4 address must come last'],
        ["::1.2.3.256", '"::1.2.3.256": embedded IPv4 address: 256 is not an IPv4 address byte (0–255)'],
        ["fe80::1%eth0", '"fe80::1%eth0": zone ids (%…) are not allowed in a whitelist'],
      ];
      for (const [entry, message] of cases) {
        it(entry, () => refuses(entry, message));
      }

      it("names the bad entry among good ones", () => {
        refuses("127.0.0.0/8, ::1, 10.0.0.0/33, 192.168.0.0/16", '"10.0.0.0/33": prefix length must be 0–32');
      });
    });
  });

  describe("isValidCidr", () => {
    it("says whether one entry is valid", () => {
      for (const ok of [
        "0.0.0.0/0",
        "255.255.255.255/32",
        "10.0.0.0/8",
        "::/0",
        "::1",
        "fe80::/10",
        " ::1 ",
      ]) {
        assert.equal(isValidCidr(ok), true, ok);
      }
      for (const bad of ["", "10.0.0.0/33", "1.2.3", "::1/129", "host", "1.2.3.4, 5.6.7.8", "fe80::1%lo"]) {
        assert.equal(isValidCidr(bad), false, bad);
      }
      assert.equal(isValidCidr(undefined as unknown as string), false);
    });
  });

  describe("Whitelist.allows", () => {
    it("allows nothing when empty", () => {
      const w = new Whitelist("");
      for (const a of ["127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0"])
        assert.equal(w.allows(a), false, a);
    });

    it("allows everything with 0.0.0.0/0, ::/0", () => {
      const w = new Whitelist("0.0.0.0/0, ::/0");
      for (const a of [
        "0.0.0.0",
        "255.255.255.255",
        "8.8.8.8",
        "::",
        "::1",
        "2001:db8::1",
        "::ffff:1.2.3.4",
      ]) {
        assert.equal(w.allows(a), true, a);
      }
    });

    it("keeps the families apart: ::/0 is every IPv6 peer, 0.0.0.0/0 every IPv4 peer", () => {
      assert.equal(allowed("::/0", "127.0.0.1"), false);
      assert.equal(allowed("::/0", "::ffff:127.0.0.1"), false, "a mapped address is an IPv4 peer");
      assert.equal(allowed("::/0", "2001:db8::1"), true);
      assert.equal(allowed("0.0.0.0/0", "::1"), false);
      assert.equal(allowed("0.0.0.0/0", "::ffff:8.8.8.8"), true);
    });

    it("matches IPv4 prefixes at their boundaries", () => {
      const w = new Whitelist("192.168.1.0/24, 10.0.0.0/8, 172.16.0.0/12, 203.0.113.7");
      const cases: Array<[string, boolean]> = [
        ["192.168.1.0", true],
        ["192.168.1.255", true],
        ["192.168.0.255", false],
        ["192.168.2.0", false],
        ["10.0.0.0", true],
        ["10.255.255.255", true],
        ["11.0.0.0", false],
        ["9.255.255.255", false],
        ["172.16.0.1", true],
        ["172.31.255.255", true],
        ["172.32.0.0", false],
        ["172.15.255.255", false],
        ["203.0.113.7", true],
        ["203.0.113.6", false],
        ["203.0.113.8", false],
      ];
      for (const [a, expected] of cases) assert.equal(w.allows(a), expected, a);
    });

    it("handles the extreme IPv4 prefixes and high addresses (sign bit)", () => {
      assert.equal(allowed("128.0.0.0/1", "255.255.255.255"), true);
      assert.equal(allowed("128.0.0.0/1", "127.255.255.255"), false);
      assert.equal(allowed("0.0.0.0/1", "127.255.255.255"), true);
      assert.equal(allowed("255.255.255.255/32", "255.255.255.255"), true);
      assert.equal(allowed("255.255.255.255/32", "255.255.255.254"), false);
      assert.equal(allowed("224.0.0.0/3", "239.1.2.3"), true);
      assert.equal(allowed("224.0.0.0/3", "192.1.2.3"), false);
    });

    it("matches IPv6 prefixes across word boundaries", () => {
      const w = new Whitelist("2001:db8::/32, fe80::/10, 2001:db8:1:2::/64, 2001:db9:0:0:8000::/65, ::1");
      const cases: Array<[string, boolean]> = [
        ["2001:db8::", true],
        ["2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true],
        ["2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false],
        ["2001:db9::", false],
        ["fe80::1", true],
        ["febf:ffff::1", true],
        ["fec0::1", false],
        ["2001:db9::8000:0:0:1", true],
        ["2001:db9::7fff:ffff:ffff:ffff", false],
        ["2001:db9::1:8000:0:0:1", false],
        ["::1", true],
        ["::2", false],
        ["::", false],
        ["0:0:0:0:0:0:0:1", true],
        ["2001:DB8::ABCD", true],
      ];
      for (const [a, expected] of cases) assert.equal(w.allows(a), expected, a);
    });

    it("handles /127 and /128 and /0 for IPv6", () => {
      assert.equal(allowed("2001:db8::/127", "2001:db8::1"), true);
      assert.equal(allowed("2001:db8::/127", "2001:db8::2"), false);
      assert.equal(allowed("2001:db8::1/128", "2001:db8::1"), true);
      assert.equal(allowed("2001:db8::1/128", "2001:db8::"), false);
      assert.equal(
        allowed("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        true,
      );
    });

    it("matches IPv4-mapped IPv6 addresses against IPv4 rules, as dual-stack sockets report them", () => {
      const w = new Whitelist("127.0.0.0/8, ::1");
      assert.equal(w.allows("127.0.0.1"), true);
      assert.equal(w.allows("::ffff:127.0.0.1"), true);
      assert.equal(w.allows("::FFFF:127.0.0.1"), true);
      assert.equal(w.allows("::ffff:7f00:1"), true, "the mapped address in hex");
      assert.equal(w.allows("0:0:0:0:0:ffff:127.1.2.3"), true);
      assert.equal(w.allows("::ffff:128.0.0.1"), false);
      assert.equal(w.allows("::1"), true);
      assert.equal(w.allows("::127.0.0.1"), false, "IPv4-compatible (deprecated) is not mapped");
      assert.equal(w.allows("64:ff9b::127.0.0.1"), false, "NAT64 is IPv6");
    });

    it("matches IPv4 peers against mapped rules", () => {
      const w = new Whitelist("::ffff:192.168.0.0/112");
      assert.equal(w.allows("192.168.3.4"), true);
      assert.equal(w.allows("::ffff:192.168.3.4"), true);
      assert.equal(w.allows("192.169.0.0"), false);
    });

    it("ignores a zone id", () => {
      const w = new Whitelist("fe80::/10, ::1");
      assert.equal(w.allows("fe80::1%eth0"), true);
      assert.equal(w.allows("fe80::abcd:1%25"), true);
      assert.equal(w.allows("::1%lo"), true);
      assert.equal(w.allows("fe00::1%eth0"), false);
    });

    it("refuses what is not an address, without throwing", () => {
      const w = new Whitelist("0.0.0.0/0, ::/0");
      for (const junk of [
        "",
        "localhost",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "01.2.3.4",
        "::g",
        "1::2::3",
        "1.2.3.4/8",
        " 1.2.3.4",
        "[::1]",
        "%eth0",
      ]) {
        assert.equal(w.allows(junk), false, JSON.stringify(junk));
      }
      assert.equal(w.allows(undefined), false, "remoteAddress of a closed socket");
      assert.equal(w.allows(null), false);
      assert.equal(w.allows(42 as unknown as string), false);
    });

    it("works for the receiver's default whitelist", () => {
      const w = new Whitelist("127.0.0.0/8, ::1");
      assert.equal(w.allows("127.0.0.1"), true);
      assert.equal(w.allows("127.255.0.9"), true);
      assert.equal(w.allows("192.168.1.1"), false);
      assert.equal(w.allows("::2"), false);
    });

    it("is fast enough to call on every connection", () => {
      const w = new Whitelist("10.0.0.0/8, 192.168.0.0/16, 2001:db8::/32, ::1");
      let n = 0;
      for (let i = 0; i < 100_000; i++) {
        if (w.allows(`192.168.${i & 255}.${(i >> 8) & 255}`)) n++;
        if (w.allows("::ffff:10.1.2.3")) n++;
        if (w.allows("2001:db8::1")) n++;
      }
      assert.equal(n, 300_000);
    });
  });

  describe("Whitelist", () => {
    it("toString() lists the canonical entries", () => {
      assert.equal(
        new Whitelist("10.0.0.0/8,::1\n::ffff:127.0.0.1").toString(),
        "10.0.0.0/8, ::1/128, 127.0.0.1/32",
      );
      assert.equal(new Whitelist("").toString(), "");
      assert.equal(String(new Whitelist(["::/0"])), "::/0");
    });

    it("throws on a bad spec, naming the entry", () => {
      assert.throws(() => new Whitelist("127.0.0.0/8, nonsense"), /^Error: "nonsense": /);
    });

    it("exposes its entries", () => {
      assert.equal(new Whitelist("127.0.0.0/8 ::1").cidrs.length, 2);
    });
  });
});
