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

  // Days on the x axis ("7 déc." / "Dec 7"), flat, as many as fit: a phone shows a few,
  // a wall all. The labels stay ISO days (YYYY-MM-DD): what a click picks.
  const xAxis = (labels) => ({
    ticks: { maxRotation: 0, autoSkipPadding: 10, callback: (_, i) => I18n.shortDay(labels[i]) },
  });
  // Chart.js formats the y axis' and the tooltips' numbers with Intl, in this locale.
  const locale = () => I18n.locale();

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
      key: "alert", // what a click picks; the label is in the page's language
      label: t("chart.alert"),
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
    const when = I18n.date(item.label);
    if (item.dataset.key !== "alert") return when;
    return `${when}: ${alertsByLabel.get(item.label).join(", ")}`;
  };

  // Mentions per bucket, stacked by sentiment; `pick(label, bucketIndex)`.
  function sentimentBars(canvas, labels, byLabel, alertsByLabel, pick) {
    const names = ["negative", "neutral", "positive"];
    const totals = labels.map((_, i) => names.reduce((sum, n) => sum + byLabel[n][i], 0));
    const datasets = names.map((name) => ({
      type: "bar",
      key: name,
      label: t(`sentiment.${name}`),
      data: byLabel[name],
      backgroundColor: css(`--${name}`),
      stack: "sentiment",
    }));
    datasets.push(alertDataset(labels, alertsByLabel, totals));
    return draw(canvas, {
      data: { labels, datasets },
      options: {
        locale: locale(),
        scales: {
          x: { stacked: true, ...xAxis(labels) },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: {
          legend: { labels: { usePointStyle: true } }, // the alert's triangle, as drawn
          tooltip: { callbacks: { title: alertTitle(alertsByLabel) } },
        },
        ...clicks((d, i) => pick(datasets[d].key, i)),
      },
    });
  }

  // One line per name; `values[name]` per bucket (null: nothing to show); `pick(name, i)`.
  function lines(canvas, labels, values, alertsByLabel, pick, yOptions = {}) {
    const names = Object.keys(values);
    const datasets = names.map((name, k) => ({
      type: "line",
      key: name,
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
        locale: locale(),
        scales: { x: xAxis(labels), y: { beginAtZero: true, ticks: { precision: 0 }, ...yOptions } },
        plugins: {
          legend: { labels: { filter: (item, data) => data.datasets[item.datasetIndex].key !== "alert" } },
          tooltip: { callbacks: { title: alertTitle(alertsByLabel) } },
        },
        ...clicks((d, i) => pick(datasets[d].key, i)),
      },
    });
  }

  return { sentimentBars, lines };
})();
