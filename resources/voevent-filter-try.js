/*
 * The voevent-filter dialog's "Try" panel: pick a sample packet shipped with the package,
 * one of the last events this node saw, or paste one; the runtime evaluates the rules as
 * they stand in the dialog (POST voevent/filter/try, with the package's own engine) and
 * the panel shows, for each rule, whether it matches and, for XPath rules, its value.
 * Everything from a packet or the runtime is shown with .text(), never as markup.
 * The node's dialog calls VOEventFilterTry.attach(node, getRules) from oneditprepare.
 */
/* global RED, $ */
window.VOEventFilterTry =
  window.VOEventFilterTry ||
  (() => {
    const NS = "@voevent/node-red-voevent/voevent-filter:voevent-filter.try.";
    const t = (key) => RED._(NS + key);
    const get = (url) => $.ajax({ url, method: "GET", dataType: "text" });

    function attach(node, getRules) {
      const box = $("#node-input-try");
      if (box.length === 0) return;
      const select = $("#node-input-try-source");
      const text = $("#node-input-try-xml");
      const out = $("#node-input-try-results");
      select.empty();
      $("<option></option>").val("").text(t("pick")).appendTo(select);
      const samples = $("<optgroup></optgroup>").attr("label", t("samples")).appendTo(select);
      const recent = $("<optgroup></optgroup>").attr("label", t("recent")).appendTo(select);
      $("<option></option>").val("paste").text(t("paste")).appendTo(select);
      const recentXml = [];
      $.getJSON("voevent/filter/samples").done((list) => {
        list.forEach((s) => {
          $("<option></option>").val(`sample:${s.id}`).text(s.title).appendTo(samples);
        });
      });
      if (node.id) {
        $.getJSON(`voevent/filter/recent/${encodeURIComponent(node.id)}`).done((list) => {
          list.forEach((e, i) => {
            recentXml.push(e.xml);
            $("<option></option>")
              .val(`recent:${i}`)
              .text(`${e.receivedAt.replace("T", " ").replace(/\.\d+Z$/, "")} ${e.ivorn}`)
              .appendTo(recent);
          });
          if (list.length === 0) $("<option disabled></option>").text(t("none")).appendTo(recent);
        });
      }
      select.on("change", () => {
        const v = String(select.val() || "");
        if (v.startsWith("sample:")) {
          get(`voevent/filter/samples/${encodeURIComponent(v.slice(7))}`).done((xml) => {
            text.val(xml);
            run();
          });
        } else if (v.startsWith("recent:")) {
          text.val(recentXml[Number(v.slice(7))] || "");
          run();
        } else if (v === "paste") {
          text.val("").trigger("focus");
          out.empty();
        }
      });
      $("#node-input-try-run").on("click", (e) => {
        e.preventDefault();
        run();
      });

      function run() {
        out.empty();
        const rules = getRules();
        if (rules.length === 0) {
          $("<div></div>").text(t("norules")).appendTo(out);
          return;
        }
        $.ajax({
          url: "voevent/filter/try",
          method: "POST",
          contentType: "application/json",
          dataType: "json",
          data: JSON.stringify({ rules, xml: String(text.val() || "") }),
        })
          .done((r) => show(r, rules))
          .fail((xhr) => show(xhr.responseJSON || { ok: false, error: xhr.statusText, results: [] }, rules));
      }

      function show(r, rules) {
        out.empty();
        if (r.event) {
          $("<div class='voevent-try-event'></div>").text(`${r.event.ivorn} (${r.event.role})`).appendTo(out);
        }
        if (!r.ok) {
          $("<div class='voevent-try-error' style='color: var(--red-ui-text-color-error, #d6615f)'></div>")
            .text(r.error || "?")
            .appendTo(out);
          return;
        }
        const list = $("<ol class='voevent-try-list' style='margin: 4px 0 0 20px'></ol>").appendTo(out);
        r.results.forEach((v) => {
          const li = $("<li></li>").attr("data-rule", v.rule).appendTo(list);
          const verdict = v.error ? "error" : v.matches ? "match" : "nomatch";
          li.attr("data-verdict", verdict);
          const rule = rules[v.rule] || {};
          const label = rule.t === "xpath" ? rule.xpath : rule.t;
          $("<b></b>")
            .text(t(verdict))
            .css("color", v.error ? "#d6615f" : v.matches ? "#2e7d32" : "#777")
            .appendTo(li);
          $("<span></span>").text(` ${label}`).css("font-family", "monospace").appendTo(li);
          if (v.value !== undefined) {
            $("<div class='voevent-try-value'></div>")
              .text(`= ${v.value}`)
              .css({
                "font-family": "monospace",
                "font-size": "0.9em",
                color: "#555",
                "white-space": "pre-wrap",
              })
              .appendTo(li);
          }
          if (v.error) $("<div></div>").text(v.error).appendTo(li);
        });
        // Make room for the results (the dialog's rule list gives way), and show them.
        if (RED.tray?.resize) RED.tray.resize();
        if (out[0]?.scrollIntoView) out[0].scrollIntoView({ block: "nearest" });
      }
    }
    return { attach };
  })();
