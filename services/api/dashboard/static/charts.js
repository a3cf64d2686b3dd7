// The dashboard's charts, drawn with Chart.js (vendor/, served from Veille itself).
// Chart.js draws on a canvas and styles through the CSSOM only, so it runs under the
// page's strict Content Security Policy. Every chart calls back `pick` with what was
// clicked, so that each number leads to the mentions behind it.
"use strict";

const Charts = (() => {
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const PALETTE = ["#1f6feb", "#d97706", "#7c3aed", "#0d9488", "#db2777", "#65a30d"];
  const ALERT = "#b91c1c";

  Chart.defaults.animation = false; // a wall screen redraws often; tests need no waiting
  Chart.defaults.maintainAspectRatio = false; // the height comes from the stylesheet
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

  // Days on the x axis as MM-DD, flat, as many as fit: a phone shows a few, a wall all.
  const xAxis = (labels) => ({
    ticks: { maxRotation: 0, autoSkipPadding: 10, callback: (_, i) => labels[i].slice(5) },
  });

  function draw(canvas, config) {
    const previous = Chart.getChart(canvas);
    if (previous) previous.destroy();
    return new Chart(canvas, config);
  }

  // Click on a bar or a point: `pick(datasetIndex, index)`, only for the element hit.
  const clicks = (pick) => ({
    onClick: (event, elements, chart) => {
      const hit = chart.getElementsAtEventForMode(event, "nearest", { intersect: true }, false)[0];
      if (hit) pick(hit.datasetIndex, hit.index);
    },
    onHover: (event, elements) => {
      event.native.target.style.cursor = elements.length ? "pointer" : "default";
    },
  });

  // Alerts fired on a bucket's day, drawn as triangles above its value (their own dataset).
  function alertDataset(labels, alertsByLabel, top) {
    return {
      type: "scatter",
      label: "alert",
      data: labels.map((label, i) =>
        alertsByLabel.has(label) ? { x: label, y: top[i] } : { x: label, y: null },
      ),
      pointStyle: "triangle",
      pointRadius: 8,
      pointHoverRadius: 10,
      backgroundColor: ALERT,
      borderColor: ALERT,
      clip: 10,
      order: -1,
    };
  }

  const alertTitle = (alertsByLabel) => (items) => {
    const item = items[0];
    if (item.dataset.label !== "alert") return item.label;
    return `${item.label}: ${alertsByLabel.get(item.label).join(", ")}`;
  };

  // Mentions per bucket, stacked by sentiment; `pick(label, bucketIndex)`.
  function sentimentBars(canvas, labels, byLabel, alertsByLabel, pick) {
    const names = ["negative", "neutral", "positive"];
    const totals = labels.map((_, i) => names.reduce((sum, n) => sum + byLabel[n][i], 0));
    const datasets = names.map((name) => ({
      type: "bar",
      label: name,
      data: byLabel[name],
      backgroundColor: css(`--${name}`),
      stack: "sentiment",
    }));
    datasets.push(alertDataset(labels, alertsByLabel, totals));
    return draw(canvas, {
      data: { labels, datasets },
      options: {
        scales: {
          x: { stacked: true, ...xAxis(labels) },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: {
          legend: { labels: { usePointStyle: true } }, // the alert's triangle, as drawn
          tooltip: { callbacks: { title: alertTitle(alertsByLabel) } },
        },
        ...clicks((d, i) => pick(datasets[d].label, i)),
      },
    });
  }

  // One line per name; `values[name]` per bucket (null: nothing to show); `pick(name, i)`.
  function lines(canvas, labels, values, alertsByLabel, pick, yOptions = {}) {
    const names = Object.keys(values);
    const datasets = names.map((name, k) => ({
      type: "line",
      label: name,
      data: values[name],
      borderColor: PALETTE[k % PALETTE.length],
      backgroundColor: PALETTE[k % PALETTE.length],
      pointRadius: 3,
      pointHoverRadius: 6,
      spanGaps: true,
      clip: 6, // a point on the axis' end (a net sentiment of +1) is drawn whole
    }));
    const top = labels.map((_, i) => Math.max(0, ...names.map((n) => values[n][i] ?? 0)));
    datasets.push(alertDataset(labels, alertsByLabel, top));
    return draw(canvas, {
      data: { labels, datasets },
      options: {
        scales: { x: xAxis(labels), y: { beginAtZero: true, ticks: { precision: 0 }, ...yOptions } },
        plugins: {
          legend: { labels: { filter: (item) => item.text !== "alert" } },
          tooltip: { callbacks: { title: alertTitle(alertsByLabel) } },
        },
        ...clicks((d, i) => pick(datasets[d].label, i)),
      },
    });
  }

  return { sentimentBars, lines };
})();
