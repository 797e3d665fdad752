/*
 * Checks shared by the VOEvent nodes' edit dialogs. Each node's .html loads this file with
 * <script src="resources/@voevent/node-red-voevent/voevent-editor.js">, and Node-RED runs it
 * before the node's own script; it defines window.VOEventEditor once. Messages stay in each
 * node's own catalogue: these functions say what is wrong, the nodes say it in words.
 */
/* global RED, $ */
window.VOEventEditor =
  window.VOEventEditor ||
  (() => {
    // --- addresses: the same rules as src/vtp/whitelist.ts (the runtime checks again, exactly) ---
    const ipv4Ok = (s) => {
      const parts = s.split(".");
      if (parts.length !== 4) return false;
      return parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
    };
    const ipv6Ok = (s) => {
      if (s.indexOf(":::") >= 0) return false;
      const gap = s.indexOf("::");
      if (gap >= 0 && s.indexOf("::", gap + 1) >= 0) return false;
      const head = gap < 0 ? s.split(":") : s.slice(0, gap) === "" ? [] : s.slice(0, gap).split(":");
      const tail = gap < 0 ? [] : s.slice(gap + 2) === "" ? [] : s.slice(gap + 2).split(":");
      const parts = head.concat(tail);
      let groups = 0;
      for (let i = 0; i < parts.length; i++) {
        if (parts[i].indexOf(".") >= 0) {
          if (i !== parts.length - 1 || (gap >= 0 && i < head.length) || !ipv4Ok(parts[i])) return false;
          groups += 2;
        } else if (/^[0-9a-fA-F]{1,4}$/.test(parts[i])) {
          groups += 1;
        } else {
          return false;
        }
      }
      return gap < 0 ? groups === 8 : groups <= 7;
    };
    /** The address as bits ("0"/"1", 32 or 128 of them); the address is known to be well-formed. */
    const addressBits = (s, v6) => {
      const byte = (n, width) => Number(n).toString(2).padStart(width, "0");
      if (!v6)
        return s
          .split(".")
          .map((p) => byte(p, 8))
          .join("");
      const gap = s.indexOf("::");
      const groupsOf = (part) => {
        const out = [];
        for (const g of part === "" ? [] : part.split(":")) {
          if (g.indexOf(".") >= 0) out.push(addressBits(g, false));
          else out.push(byte(Number.parseInt(g, 16), 16));
        }
        return out.join("");
      };
      if (gap < 0) return groupsOf(s);
      const head = groupsOf(s.slice(0, gap));
      const tail = groupsOf(s.slice(gap + 2));
      return head + "0".repeat(128 - head.length - tail.length) + tail;
    };
    const cidrOk = (entry) => {
      if (entry.indexOf("%") >= 0) return false;
      const slash = entry.indexOf("/");
      const address = slash < 0 ? entry : entry.slice(0, slash);
      const v6 = address.indexOf(":") >= 0;
      if (!(v6 ? ipv6Ok(address) : ipv4Ok(address))) return false;
      if (slash < 0) return true;
      const prefix = entry.slice(slash + 1);
      if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > (v6 ? 128 : 32)) return false;
      // Host bits below the prefix are refused, as the runtime refuses them ("did you mean …?").
      return addressBits(address, v6).slice(Number(prefix)).indexOf("1") < 0;
    };
    /**
     * A whitelist: entries split by commas, spaces or new lines, each an IPv4 or IPv6 address,
     * optionally /prefix. Returns null when it is good, "" when it is empty, else the first bad entry.
     */
    const whitelistProblem = (v) => {
      const entries = String(v || "")
        .split(/[\s,]+/)
        .filter((e) => e !== "");
      if (entries.length === 0) return "";
      const bad = entries.find((e) => !cidrOk(e));
      return bad === undefined ? null : bad;
    };
    /** A TCP port given as a number or digits: 1 to 65535. */
    const portOk = (v) => {
      const s = String(v === undefined || v === null ? "" : v).trim();
      return /^[0-9]+$/.test(s) && Number(s) >= 1 && Number(s) <= 65535;
    };

    // --- signatures: the same rule as nodes/shared/signatures.ts (signatureSetting) ---
    /**
     * The `signatures` setting of a receiver or subscriber with its `keyring`: "check" and
     * "require" need a voevent-keyring configuration node (anything else is "ignore", as the
     * runtime reads it). `lookup(id)` finds a node of the workspace (RED.nodes.node). Returns null
     * when good, "none" when no keyring is chosen, "missing" when the chosen one is not a
     * voevent-keyring of the workspace (deleted, or another type).
     */
    const signaturesProblem = (mode, keyring, lookup) => {
      if (mode !== "check" && mode !== "require") return null;
      const id = typeof keyring === "string" ? keyring.trim() : "";
      if (id === "" || id === "_ADD_") return "none";
      const found = lookup(id);
      return found && found.type === "voevent-keyring" ? null : "missing";
    };
    /**
     * The value of setting `name` of `node`: the open edit dialog's field while that dialog is
     * this node's (`editing` is the node whose dialog is open, or null), else the saved value.
     */
    const settingOf = (node, editing, name) => {
      if (editing !== null && editing === node) {
        const field = $(`#node-input-${name}`);
        if (field.length > 0) return field.val();
      }
      return node[name];
    };

    // --- XPath: a quick syntax check here, the real compiler on the server ---
    /** Balanced quotes, brackets and parentheses: catches most typing slips at once. null, or what is wrong. */
    const xpathSyntax = (expr) => {
      const s = String(expr || "").trim();
      if (!s) return "the XPath expression is empty";
      const stack = [];
      let quote = null;
      for (let i = 0; i < s.length; i++) {
        const c = s.charAt(i);
        if (quote) {
          if (c === quote) quote = null;
          continue;
        }
        if (c === '"' || c === "'") {
          quote = c;
        } else if (c === "(" || c === "[") {
          stack.push(c);
        } else if (c === ")" || c === "]") {
          const open = stack.pop();
          if ((c === ")" && open !== "(") || (c === "]" && open !== "[")) {
            return `XPath syntax error at column ${i + 1}: unexpected '${c}'`;
          }
        }
      }
      if (quote) return `XPath syntax error: a string is not closed (${quote})`;
      if (stack.length) return `XPath syntax error: '${stack.pop()}' is not closed`;
      return null;
    };

    // expression -> { error: string|null, unknown?: true } once the runtime has answered; "pending" meanwhile.
    // One cache for every node type: the runtime compiles an expression once per editor session.
    const checked = {};
    const waiting = {};
    const revalidated = {};
    /** Node types whose nodes are validated again (and redrawn if that changed them) when a verdict arrives. */
    const revalidateOnXPathVerdict = (type) => {
      revalidated[type] = true;
    };
    const revalidate = () => {
      let changed = false;
      RED.nodes.eachNode((n) => {
        if (!revalidated[n.type]) return;
        const was = n.valid;
        RED.editor.validateNode(n);
        changed = changed || was !== n.valid;
      });
      if (changed) RED.view.redraw(true);
    };
    /**
     * The runtime's verdict on an expression (POST voevent/xpath/check, the package's own
     * compiler): returned at once when known, else null; `callback`, if given, gets it when it is.
     * A runtime that cannot answer (no permission, down) gives { error: null, unknown: true }.
     */
    const xpathCheck = (expr, callback) => {
      const cached = checked[expr];
      if (cached && cached !== "pending") {
        if (callback) callback(cached);
        return cached;
      }
      if (callback) {
        if (!waiting[expr]) waiting[expr] = [];
        waiting[expr].push(callback);
      }
      if (cached === "pending") return null;
      checked[expr] = "pending";
      $.ajax({
        url: "voevent/xpath/check",
        type: "POST",
        contentType: "application/json",
        data: JSON.stringify({ xpath: expr }),
        dataType: "json",
      })
        .done((res) => {
          checked[expr] = { error: res?.ok === false ? String(res.error) : null };
        })
        .fail((xhr) => {
          // 400 carries the compiler's answer; anything else: no verdict.
          const res = xhr.responseJSON;
          checked[expr] = { error: res?.ok === false ? String(res.error) : null, unknown: !res };
        })
        .always(() => {
          const callbacks = waiting[expr] || [];
          delete waiting[expr];
          for (const cb of callbacks) cb(checked[expr]);
          revalidate();
        });
      return null;
    };
    /** null when the expression is good or not yet judged by the runtime; else what is wrong. */
    const xpathProblem = (expr) => {
      const syntax = xpathSyntax(expr);
      if (syntax) return syntax;
      const verdict = xpathCheck(String(expr));
      return verdict?.error ? verdict.error : null;
    };

    // --- numbers: the same rules as nodes/shared/net-config.ts (intSetting, secondsSetting) ---
    const blank = (v) => v === undefined || v === null || String(v).trim() === "";
    /** A whole number of at least `min` (default 1), or blank (the runtime's default). */
    const countOk = (v, min) => {
      if (blank(v)) return true;
      const n = Number(String(v).trim());
      return Number.isSafeInteger(n) && n >= (min === undefined ? 1 : min);
    };
    /** The longest delay a timer keeps, in seconds (2^31 - 1 ms). */
    const MAX_SECONDS = (2 ** 31 - 1) / 1000;
    /** A number of seconds of at least 1 ms (or 0, when `allowZero`), at most MAX_SECONDS, or blank. */
    const secondsOk = (v, allowZero) => {
      if (blank(v)) return true;
      const s = Number(String(v).trim());
      if (!Number.isFinite(s) || s < 0 || s > MAX_SECONDS) return false;
      return Math.round(s * 1000) > 0 || (s === 0 && !!allowZero);
    };

    // --- sizes: a byte count shown as a number and a unit (bytes, KiB, MiB) ---
    const UNITS = [
      ["MiB", 1048576],
      ["KiB", 1024],
      ["B", 1],
    ];
    /**
     * Shows the byte-count field `input` (its value stays a number of bytes, as the node stores
     * it) as a number and a unit select, in the largest unit that divides it exactly.
     * `labels` gives each unit's words ({ B, KiB, MiB }) from the node's catalogue.
     */
    const sizeField = (input, labels) => {
      const field = $(input);
      if (field.data("voevent-size")) return;
      field.data("voevent-size", true);
      const bytes = Number(field.val());
      let factor = 1;
      for (const [, f] of UNITS) {
        if (Number.isSafeInteger(bytes) && bytes > 0 && bytes % f === 0) {
          factor = f;
          break;
        }
      }
      const number = $('<input type="text" class="voevent-size-number">')
        .css({ width: "90px" })
        .val(
          Number.isFinite(bytes) && String(field.val()).trim() !== "" ? String(bytes / factor) : field.val(),
        );
      const unit = $('<select class="voevent-size-unit"></select>').css({
        width: "90px",
        "margin-left": "4px",
      });
      for (const [name, f] of UNITS.slice().reverse()) {
        $("<option></option>")
          .val(String(f))
          .text(labels[name] || name)
          .appendTo(unit);
      }
      unit.val(String(factor));
      const sync = () => {
        const text = String(number.val()).trim();
        const n = Number(text);
        field.val(text !== "" && Number.isFinite(n) ? String(Math.round(n * Number(unit.val()))) : text);
        field.trigger("change");
      };
      number.on("input change", sync);
      unit.on("change", sync);
      const shown = field.parent().hasClass("ui-spinner") ? field.parent() : field;
      shown.hide();
      shown.after(unit).after(number);
    };

    return {
      signaturesProblem,
      settingOf,
      sizeField,
      cidrOk,
      whitelistProblem,
      portOk,
      countOk,
      secondsOk,
      xpathSyntax,
      xpathCheck,
      xpathProblem,
      revalidateOnXPathVerdict,
    };
  })();
