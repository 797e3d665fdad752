/*
 * The voevent-filter dialog's "Try" panel: pick a sample packet shipped with the package,
 * one of the last events this node saw, or paste one; the runtime evaluates the rules as
 * they stand in the dialog (POST voevent/filter/try, with the package's own engine) and
 * the panel shows, for each rule, whether it matches and why: an XPath rule's value, or the
 * rule's settings beside the packet's value (role, position and distance, Param, GCN type).
 * With rules from context, the deployed node's registry is tried (POST voevent/filter/try/<id>),
 * each verdict under its subscription's name.
 * Everything from a packet or the runtime is shown with .text(), never as markup.
 * The node's dialog calls VOEventFilterTry.attach(node, getRules, useRegistry) from oneditprepare.
 */
/* global RED, $ */
window.VOEventFilterTry =
  window.VOEventFilterTry ||
  (() => {
    const NS = "@voevent/node-red-voevent/voevent-filter:voevent-filter.try.";
    const t = (key) => RED._(NS + key);
    const get = (url) => $.ajax({ url, method: "GET", dataType: "text" });

    function attach(node, getRules, useRegistry) {
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

      function post(url, body) {
        return $.ajax({
          url,
          method: "POST",
          contentType: "application/json",
          dataType: "json",
          data: JSON.stringify(body),
        }).then(null, (xhr) =>
          $.Deferred().resolve(xhr.responseJSON || { ok: false, error: xhr.statusText, results: [] }),
        );
      }

      function run() {
        out.empty();
        const rules = getRules();
        const xml = String(text.val() || "");
        const registry = useRegistry ? useRegistry() : false;
        const fromContext = $("#node-input-rulesFrom").val() === "context";
        if (rules.length === 0 && !registry) {
          $("<div></div>")
            .text(t(fromContext ? "undeployed" : "norules"))
            .appendTo(out);
          return;
        }
        const asked = [];
        if (registry)
          asked.push(
            post(`voevent/filter/try/${encodeURIComponent(node.id)}`, { xml }).then((r) => ({
              r,
              rules: null,
            })),
          );
        if (rules.length > 0)
          asked.push(post("voevent/filter/try", { rules, xml }).then((r) => ({ r, rules })));
        $.when(...asked).done((...answers) => {
          out.empty();
          if (fromContext && !registry)
            $("<div class='voevent-try-note'></div>").text(t("undeployed")).appendTo(out);
          answers.forEach((a, i) => {
            show(a.r, a.rules, i === 0);
          });
          // Make room for the results (the dialog's rule list gives way), and show them.
          if (RED.tray?.resize) RED.tray.resize();
          if (out[0]?.scrollIntoView) out[0].scrollIntoView({ block: "nearest" });
        });
      }

      function line(cls, text, parent) {
        return $(`<div class='${cls}'></div>`)
          .text(text)
          .css({ "font-family": "monospace", "font-size": "0.9em", color: "#555", "white-space": "pre-wrap" })
          .appendTo(parent);
      }

      function show(r, rules, first) {
        if (r.event && first) {
          const type = r.event.gcnType ? ` · ${r.event.gcnType}` : "";
          $("<div class='voevent-try-event'></div>")
            .text(`${r.event.ivorn} (${r.event.role})${type}`)
            .appendTo(out);
        }
        if (!rules) {
          const where = `${$("#node-input-rulesContext").val() || "flow"}.${$("#node-input-rulesKey").val() || ""}`;
          $("<div class='voevent-try-registry' style='margin-top: 4px; font-weight: bold'></div>")
            .text(t("registry").replace("__where__", where))
            .appendTo(out);
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
          if (v.name !== undefined) li.attr("data-name", v.name);
          const rule = rules ? rules[v.rule] || {} : {};
          const label = v.name !== undefined ? v.name : rule.t === "xpath" ? rule.xpath : t(`type.${v.t}`);
          $("<b></b>")
            .text(t(verdict))
            .css("color", v.error ? "#d6615f" : v.matches ? "#2e7d32" : "#777")
            .appendTo(li);
          $("<span></span>").text(` ${label}`).css("font-family", "monospace").appendTo(li);
          if (v.setting !== undefined) line("voevent-try-setting", `${t("rule")} ${v.setting}`, li);
          if (v.value !== undefined) {
            line(
              "voevent-try-value",
              v.setting !== undefined ? `${t("packet")} ${v.value}` : `= ${v.value}`,
              li,
            );
          }
          if (v.error) $("<div></div>").text(v.error).appendTo(li);
        });
        (r.problems || []).forEach((p) => {
          $("<div class='voevent-try-problem' style='color: #b26b00'></div>").text(p).appendTo(out);
        });
      }
    }
    return { attach };
  })();
