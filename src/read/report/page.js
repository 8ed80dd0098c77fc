// The report page's script: draws the charts from the embedded data with ECharts and makes every
// table sortable. Runs in the browser; every text from the logs reaches the page only as text nodes,
// canvas text or through esc() (tooltips are HTML in ECharts).
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const esc = (s) =>
    String(s).replace(
      /[&<>"']/g,
      (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
    );
  const pct = (v) => (v * 100).toFixed(v < 0.01 && v > 0 ? 2 : 1) + " %";
  const dur = (ms) => {
    const s = ms / 1000;
    if (s < 1) return Math.round(ms) + " ms";
    if (s < 120) return s.toFixed(1) + " s";
    if (s < 7200) return (s / 60).toFixed(1) + " min";
    if (s < 172800) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  };
  const base = { animation: false, textStyle: { fontFamily: "system-ui, sans-serif" } };
  const charts = {};

  function bars(list, value, fmt, name) {
    const top = list.slice(0, 20).reverse();
    return {
      ...base,
      grid: { left: 8, right: 48, top: 8, bottom: 24, containLabel: true },
      tooltip: {
        trigger: "item",
        formatter: (p) => esc(p.name) + "<br>" + esc(name) + ": " + esc(fmt(p.value)),
      },
      xAxis: { type: "value", axisLabel: { formatter: fmt } },
      yAxis: {
        type: "category",
        data: top.map((r) => r.key),
        axisLabel: { width: 260, overflow: "truncate" },
      },
      series: [{
        type: "bar",
        name,
        data: top.map(value),
        label: { show: true, position: "right", formatter: (p) => fmt(p.value) },
      }],
    };
  }

  const builders = {
    ports: () => bars(data.ports, (r) => r.share, pct, "share of observed time"),
    processes: () => bars(data.processes, (r) => r.share, pct, "share of observed time"),
    users: () => bars(data.users, (r) => r.share, pct, "share of observed time"),
    remotes: () => bars(data.remotes, (r) => r.opened, String, "connections"),
    heatmap: () => {
      const h = data.heatmap;
      const cells = [];
      let max = 1;
      h.counts.forEach((row, y) =>
        row.forEach((n, x) => {
          cells.push([x, y, n]);
          if (y > 0 && n > max) max = n;
        })
      );
      return {
        ...base,
        grid: { left: 8, right: 8, top: 8, bottom: 64, containLabel: true },
        tooltip: {
          formatter: (p) =>
            esc(h.ports[p.value[1]]) + ", " + p.value[0] + ":00–" + p.value[0] + ":59: " + p.value[2] +
            " opened",
        },
        xAxis: {
          type: "category",
          data: [...Array(24).keys()].map((i) => String(i).padStart(2, "0")),
          name: "hour (" + data.zone + ")",
          nameLocation: "middle",
          nameGap: 28,
        },
        yAxis: { type: "category", data: h.ports, inverse: true },
        visualMap: {
          min: 0,
          max,
          calculable: true,
          orient: "horizontal",
          left: "center",
          bottom: 0,
          itemHeight: 160,
        },
        series: [{ type: "heatmap", data: cells, label: { show: false } }],
      };
    },
    timeline: () => {
      const t = data.timeline;
      return {
        ...base,
        useUTC: true,
        grid: { left: 8, right: 24, top: 8, bottom: 56, containLabel: true },
        tooltip: {
          formatter: (p) =>
            esc(t.rows[p.value[0]]) + "<br>" + esc(p.value[4]) + " → " + esc(p.value[5]) + " (" +
            dur(p.value[2] - p.value[1]) + ")",
        },
        dataZoom: [{ type: "slider", filterMode: "weakFilter", bottom: 8 }, {
          type: "inside",
          filterMode: "weakFilter",
        }],
        xAxis: { type: "time" },
        yAxis: {
          type: "category",
          data: t.rows,
          inverse: true,
          axisLabel: { width: 300, overflow: "truncate" },
        },
        series: [{
          type: "custom",
          encode: { x: [1, 2], y: 0 },
          data: t.segments,
          renderItem: (params, api) => {
            const start = api.coord([api.value(1), api.value(0)]);
            const end = api.coord([api.value(2), api.value(0)]);
            const height = api.size([0, 1])[1] * 0.6;
            const rect = echarts.graphic.clipRectByRect(
              { x: start[0], y: start[1] - height / 2, width: Math.max(1, end[0] - start[0]), height },
              {
                x: params.coordSys.x,
                y: params.coordSys.y,
                width: params.coordSys.width,
                height: params.coordSys.height,
              },
            );
            return rect &&
              { type: "rect", shape: rect, style: api.style({ fill: api.value(3) ? "#e6a23c" : "#5470c6" }) };
          },
        }],
      };
    },
    durations: () => {
      const d = data.durations;
      return {
        ...base,
        legend: { top: 0 },
        grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: d.labels },
        yAxis: { type: "value", name: "connections" },
        series: [
          { type: "bar", name: "TCP", stack: "n", data: d.tcp },
          { type: "bar", name: "UDP", stack: "n", data: d.udp },
        ],
      };
    },
  };

  for (const el of document.querySelectorAll("[data-chart]")) {
    const kind = el.getAttribute("data-chart");
    const chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(builders[kind]());
    charts[kind] = chart;
  }
  globalThis.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  globalThis.reportCharts = charts;

  // sortable tables: click a header; numbers sort by their data-v value
  for (const table of document.querySelectorAll("table.sortable")) {
    table.querySelectorAll("th").forEach((th, col) => {
      th.tabIndex = 0;
      const sort = () => {
        const body = table.tBodies[0];
        const dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
        table.querySelectorAll("th").forEach((o) => o.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        const key = (tr) => {
          const td = tr.children[col];
          const v = td.getAttribute("data-v");
          return v !== null ? Number(v) : td.textContent.toLowerCase();
        };
        const rows = [...body.rows].sort((a, b) => {
          const x = key(a), y = key(b);
          return (x < y ? -1 : x > y ? 1 : 0) * dir;
        });
        body.append(...rows);
      };
      th.addEventListener("click", sort);
      th.addEventListener(
        "keydown",
        (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), sort()),
      );
    });
  }
})();
