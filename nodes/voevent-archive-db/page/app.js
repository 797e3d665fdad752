/* The VOEvent archive's search page. The form's filters are voeventdb's query-string keys; the
 * results come from <path>/search (rows with positions already projected on the monitor's sky
 * map, and the signature verdict stored with each), a packet's XML from
 * apiv1/packet/xml/<IVORN>. Every string that comes from a packet (or a key's user ID) is put
 * in the page with textContent or as an SVG <title>'s text, never as markup; the only URLs built
 * from a packet's IVORN are this archive's own, with the IVORN percent-encoded. The helpers and
 * the map drawing it shares with the monitor's page are in common.js (nodes/shared/page), which
 * the page loads first. */
(() => {
  const { el, fmtTime, fmtPos, signatureCell, drawFrame, drawMarks } = globalThis.voeventPage;
  const FIELDS = [
    "stream",
    "role",
    "ivorn_contains",
    "ivorn_prefix",
    "authored_since",
    "authored_until",
    "dec_gt",
    "dec_lt",
    "coord",
    "cited",
    "ref_any",
    "ref_contains",
    "ref_exact",
    "order",
    "limit",
  ];
  const state = { rows: [], selected: null, framed: false };

  function form() {
    return document.getElementById("search");
  }

  /** The query string of the form: voeventdb's keys, the cone as its JSON list. */
  function queryOf() {
    const f = form();
    const params = new URLSearchParams();
    FIELDS.forEach((name) => {
      const v = f.elements[name].value.trim();
      if (v !== "") params.append(name, v);
    });
    const ra = f.elements.cone_ra.value.trim();
    const dec = f.elements.cone_dec.value.trim();
    const r = f.elements.cone_radius.value.trim();
    if (ra !== "" || dec !== "" || r !== "") params.append("cone", `[${ra},${dec},${r}]`);
    return params;
  }

  /** Fills the form from a query string (the page's own URL). */
  function fill(params) {
    const f = form();
    FIELDS.forEach((name) => {
      const v = params.get(name);
      if (v !== null) f.elements[name].value = v;
    });
    const cone = params.get("cone");
    if (cone !== null) {
      const parts = cone.replace(/^\[|\]$/g, "").split(",");
      f.elements.cone_ra.value = (parts[0] || "").trim();
      f.elements.cone_dec.value = (parts[1] || "").trim();
      f.elements.cone_radius.value = (parts[2] || "").trim();
    }
  }

  function drawMap() {
    drawMarks(state.rows, (_row, i) => ({
      r: 3.5,
      cls: `point${state.selected === i ? " selected" : ""}`,
      data: { "data-row": i },
      onClick: select.bind(null, i),
    }));
  }

  function drawTable() {
    const body = document.querySelector("#results tbody");
    body.textContent = "";
    state.rows.forEach((row, i) => {
      const tr = el("tr");
      tr.dataset.row = String(i);
      if (state.selected === i) tr.className = "selected";
      tr.appendChild(el("td", fmtTime(row.authored)));
      tr.appendChild(el("td", row.stream));
      tr.appendChild(el("td", row.role));
      tr.appendChild(el("td", fmtPos(row.position)));
      tr.appendChild(signatureCell(row.signature));
      tr.appendChild(el("td", row.ivorn));
      tr.addEventListener("click", select.bind(null, i));
      body.appendChild(tr);
    });
  }

  function select(i) {
    state.selected = i;
    drawMap();
    drawTable();
    const row = state.rows[i];
    const detail = document.getElementById("detail");
    const pre = document.getElementById("xml");
    pre.textContent = "";
    if (!row) {
      detail.hidden = true;
      return;
    }
    detail.hidden = false;
    const encoded = encodeURIComponent(row.ivorn);
    document.getElementById("detail-ivorn").textContent = row.ivorn;
    document.getElementById("detail-description").textContent = row.description || "";
    document.getElementById("detail-synopsis").href = `apiv1/packet/synopsis/${encoded}`;
    document.getElementById("detail-xml-link").href = `apiv1/packet/xml/${encoded}`;
    fetch(`apiv1/packet/xml/${encoded}`, { credentials: "same-origin" })
      .then((r) => r.text().then((t) => (r.ok ? t : `(${r.status}: ${t.trim()})`)))
      .then((text) => {
        if (state.rows[state.selected] === row) pre.textContent = text;
      })
      .catch((err) => {
        pre.textContent = `(could not fetch the XML: ${err})`;
      });
  }

  function run(push) {
    const params = queryOf();
    const qs = params.toString();
    if (push) history.replaceState(null, "", qs === "" ? location.pathname : `?${qs}`);
    document.getElementById("link-rss").href = `feed.rss${qs === "" ? "" : `?${qs}`}`;
    document.getElementById("link-atom").href = `feed.atom${qs === "" ? "" : `?${qs}`}`;
    const message = document.getElementById("message");
    message.textContent = "searching…";
    document.body.dataset.ready = "false";
    return fetch(`search${qs === "" ? "" : `?${qs}`}`, { credentials: "same-origin" })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body: body })))
      .then((answer) => {
        const body = answer.body;
        if (!answer.ok) {
          message.textContent = body?.error ? body.error.message : "the search failed";
          state.rows = [];
        } else {
          message.textContent = "";
          if (!state.framed) {
            state.framed = true;
            drawFrame(body.map);
            if (body.title) {
              document.getElementById("title").textContent = body.title;
              document.title = body.title;
            }
          }
          state.rows = body.rows;
          document.getElementById("count").textContent =
            `${body.total} packet${body.total === 1 ? "" : "s"} match; ${body.rows.length} shown`;
        }
        state.selected = null;
        document.getElementById("detail").hidden = true;
        drawMap();
        drawTable();
      })
      .catch((err) => {
        message.textContent = `the search failed: ${err}`;
      })
      .then(() => {
        document.body.dataset.ready = "true";
      });
  }

  function start() {
    fill(new URLSearchParams(location.search));
    form().addEventListener("submit", (e) => {
      e.preventDefault();
      run(true);
    });
    run(false);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
