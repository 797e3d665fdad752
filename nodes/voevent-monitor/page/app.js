/* The VOEvent monitor page. Every string that comes from a packet is put in the page with
 * textContent or as an SVG <title>'s text, never as markup, and no URL is built from one.
 * The map's geometry (projected points, error circles, grid) comes computed from the server.
 * The helpers and the map drawing it shares with the archive's search page are in common.js
 * (nodes/shared/page), which the page loads first. */
(() => {
  const { el, colour, fmtTime, fmtPos, signatureCell, drawFrame, drawMarks } = globalThis.voeventPage;
  const BASE = `${location.pathname.replace(/\/+$/, "")}/`;
  const MAX_ROWS = 1000;
  const state = { events: [], params: [], max: 500, selected: null, lastSeq: 0, streams: {}, roles: {} };

  /** A time of today as hh:mm:ss, another day's as date and time. */
  function fmtShort(iso) {
    if (!iso) return "";
    const today = new Date().toISOString().slice(0, 10);
    return iso.slice(0, 10) === today ? iso.slice(11, 19) : fmtTime(iso);
  }
  function ago(iso) {
    if (!iso) return "never";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 172800) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  }

  function visible(ev) {
    const s = document.getElementById("filter-stream").value;
    const r = document.getElementById("filter-role").value;
    return (s === "" || ev.stream === s) && (r === "" || ev.role === r);
  }

  function addOption(selectId, known, value) {
    if (known[value]) return;
    known[value] = true;
    const o = el("option", value);
    o.value = value;
    document.getElementById(selectId).appendChild(o);
  }

  function drawMap() {
    const shown = state.events.filter(visible).slice(0, MAX_ROWS);
    drawMarks(shown, (ev, i) => ({
      r: i === 0 ? 5 : 3.5,
      cls:
        "point" +
        (i === 0 && ev === state.events[0] ? " newest" : "") +
        (state.selected === ev.seq ? " selected" : ""),
      data: { "data-seq": ev.seq },
      onClick: select.bind(null, ev.seq),
    }));
    const legend = document.getElementById("legend");
    legend.textContent = "";
    Object.keys(state.streams)
      .sort()
      .forEach((s) => {
        const item = el("span", s);
        item.style.setProperty("--c", colour(s));
        legend.appendChild(item);
      });
  }

  function drawTable() {
    const body = document.querySelector("#events tbody");
    body.textContent = "";
    const shown = state.events.filter(visible).slice(0, MAX_ROWS);
    shown.forEach((ev, i) => {
      const tr = el("tr");
      tr.dataset.seq = String(ev.seq);
      if (i === 0 && ev === state.events[0]) tr.className = "newest";
      if (state.selected === ev.seq) tr.className += " selected";
      tr.appendChild(el("td", fmtTime(ev.receivedAt)));
      tr.appendChild(el("td", ev.time || ""));
      tr.appendChild(el("td", ev.stream));
      tr.appendChild(el("td", ev.role));
      tr.appendChild(el("td", ev.gcnType || "", "gcn-type"));
      tr.appendChild(signatureCell(ev.signature));
      tr.appendChild(el("td", ev.importance === null ? "" : String(ev.importance)));
      tr.appendChild(el("td", fmtPos(ev.position)));
      state.params.forEach((p) => {
        const v = ev.params ? ev.params[p] : null;
        tr.appendChild(el("td", v === null || v === undefined ? "" : String(v)));
      });
      tr.appendChild(el("td", ev.ivorn));
      tr.addEventListener("click", select.bind(null, ev.seq));
      body.appendChild(tr);
    });
    document.getElementById("count").textContent =
      state.events.length +
      " event" +
      (state.events.length === 1 ? "" : "s") +
      " kept (at most " +
      state.max +
      ")";
  }

  function drawFeeds(feeds) {
    const body = document.querySelector("#feeds tbody");
    body.textContent = "";
    if (feeds.length === 0) {
      const td = el("td", "No VTP receiver, subscriber or broadcaster is deployed.");
      td.colSpan = 8;
      const tr0 = el("tr");
      tr0.appendChild(td);
      body.appendChild(tr0);
      return;
    }
    feeds.forEach((f) => {
      const tr = el("tr");
      tr.dataset.id = f.id;
      let st = f.state;
      if (f.state === "connected" || f.state === "listening") st += ` since ${fmtShort(f.since)}`;
      if (f.state === "reconnecting" && f.retryAt) {
        st += ` in ${Math.max(0, Math.round((Date.parse(f.retryAt) - Date.now()) / 1000))} s`;
      }
      if (f.peers && f.role !== "subscriber") st += ` · ${f.peers} peer${f.peers === 1 ? "" : "s"}`;
      tr.appendChild(el("td", f.name || f.id, "feed-name"));
      tr.appendChild(el("td", f.role));
      tr.appendChild(el("td", f.where, "where"));
      const stateCell = el("td", st, `state-${f.state} wrap`);
      if (f.detail) stateCell.title = f.detail;
      tr.appendChild(stateCell);
      tr.appendChild(el("td", `${f.eventsLastHour} (${f.events} in all)`));
      tr.appendChild(
        el("td", f.lastEvent ? `${fmtShort(f.lastEvent)} · ${ago(f.lastEvent)}` : "never", "wrap"),
      );
      tr.appendChild(el("td", String(f.naks), "num"));
      tr.appendChild(el("td", String(f.reconnects), "num"));
      body.appendChild(tr);
    });
  }

  /** Links to the archives' search pages (hrefs made by the server from node settings). */
  function drawArchives(archives) {
    const span = document.getElementById("archives");
    span.textContent = "";
    archives.forEach((a) => {
      const link = el("a", `archive ${a.path}`, "archive-link");
      link.href = a.href;
      span.appendChild(link);
    });
  }

  function select(seq) {
    state.selected = seq;
    const ev = state.events.filter((e) => e.seq === seq)[0];
    drawMap();
    drawTable();
    const detail = document.getElementById("detail");
    const pre = document.getElementById("xml");
    pre.hidden = true;
    pre.textContent = "";
    if (!ev) {
      detail.hidden = true;
      return;
    }
    detail.hidden = false;
    document.getElementById("detail-ivorn").textContent = ev.ivorn;
    document.getElementById("detail-gcn").textContent = ev.gcnType ? `GCN notice type ${ev.gcnType}` : "";
    document.getElementById("detail-description").textContent = ev.description || "";
    // The details are below the events: bring them into view (the chosen row stays marked).
    if (detail.scrollIntoView) detail.scrollIntoView({ block: "nearest" });
  }

  function showXml() {
    if (state.selected === null) return;
    const pre = document.getElementById("xml");
    fetch(`${BASE}api/events/${state.selected}/xml`, { credentials: "same-origin" })
      .then((r) => r.text().then((t) => (r.ok ? t : `(${t.trim()})`)))
      .then((text) => {
        pre.textContent = text;
        pre.hidden = false;
      });
  }

  function addEvent(ev) {
    if (ev.seq <= state.lastSeq) return;
    state.lastSeq = ev.seq;
    state.events.unshift(ev);
    if (state.events.length > state.max) state.events.length = state.max;
    addOption("filter-stream", state.streams, ev.stream);
    addOption("filter-role", state.roles, ev.role);
  }

  function redraw() {
    drawMap();
    drawTable();
  }

  function connect() {
    const live = document.getElementById("live");
    const source = new EventSource(`${BASE}events`, { withCredentials: true });
    source.onopen = () => {
      live.textContent = "live";
      live.className = "live on";
      // A fresh snapshot each time the stream (re)opens: nothing missed in between, and a
      // redeployed monitor (whose sequence numbers start again) is picked up whole.
      loadState();
    };
    source.onerror = () => {
      live.textContent = "reconnecting…";
      live.className = "live off";
    };
    source.addEventListener("voevent", (m) => {
      addEvent(JSON.parse(m.data));
      redraw();
    });
    source.addEventListener("feeds", (m) => {
      drawFeeds(JSON.parse(m.data));
    });
  }

  let framed = false;
  function loadState() {
    return fetch(`${BASE}api/state`, { credentials: "same-origin" })
      .then((r) => r.json())
      .then((s) => {
        state.max = s.max;
        if (!framed) {
          framed = true;
          state.params = s.params || [];
          if (s.title) {
            document.getElementById("title").textContent = s.title;
            document.title = s.title;
          }
          const head = document.getElementById("events-head");
          const last = head.lastElementChild;
          state.params.forEach((p) => {
            head.insertBefore(el("th", p), last);
          });
          drawFrame(s.map);
        }
        state.events = [];
        state.lastSeq = 0;
        for (let i = s.events.length - 1; i >= 0; i--) addEvent(s.events[i]);
        redraw();
        drawFeeds(s.feeds);
        drawArchives(s.archives || []);
        document.body.dataset.ready = "true";
      });
  }

  function start() {
    document.getElementById("filter-stream").addEventListener("change", redraw);
    document.getElementById("filter-role").addEventListener("change", redraw);
    document.getElementById("show-xml").addEventListener("click", showXml);
    connect();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
