// The landing page's figures and charts, from the hub's own /graphql statistics.
// A few lines of SVG instead of a chart library: the page loads nothing from elsewhere.
"use strict";

const QUERY = `query LandingPage {
  cities { totalCount }
  actors { totalCount }
  funders { totalCount }
  fundings { totalCount }
  statistics {
    citiesByState { code count state { name } }
    sectorComposition { trisectoralShare multisectoralShare byComposition { composition count } }
    engagedPeople { value year publisher descriptionEn }
  }
  enumLabels { name values { value labelEn } }
}`;

const SVG = "http://www.w3.org/2000/svg";
const BAR_HEIGHT = 18;
const ROW_HEIGHT = 24;
const LABEL_WIDTH = 190;
const CHART_WIDTH = 640;
const VALUE_WIDTH = 50;

function svgElement(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

// A horizontal bar chart of rows {label, value}, one bar per row, each with its figure.
function drawBars(svg, rows) {
  const largest = Math.max(1, ...rows.map((row) => row.value));
  const scale = (CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH) / largest;
  svg.setAttribute("viewBox", `0 0 ${CHART_WIDTH} ${rows.length * ROW_HEIGHT}`);
  svg.replaceChildren();
  rows.forEach((row, index) => {
    const y = index * ROW_HEIGHT;
    const width = row.value * scale;
    const bar = svgElement("g", { class: "bar" });
    bar.append(
      svgElement("title", {}, `${row.label}: ${row.value.toLocaleString("en")}`),
      svgElement("text", { x: LABEL_WIDTH - 8, y: y + 14, "text-anchor": "end" }, row.label),
      svgElement("rect", { x: LABEL_WIDTH, y: y + 2, width, height: BAR_HEIGHT }),
      svgElement("text", { x: LABEL_WIDTH + width + 6, y: y + 14 }, row.value.toLocaleString("en")),
    );
    svg.append(bar);
  });
}

function percent(share) {
  return share === null ? "–" : `${Math.round(share * 100)} %`;
}

function show(data) {
  const figure = (name, text) => {
    document.querySelector(`[data-figure="${name}"]`).textContent = text;
  };
  const { statistics } = data;
  const engaged = statistics.engagedPeople;
  figure("cities", data.cities.totalCount.toLocaleString("en"));
  figure("actors", data.actors.totalCount.toLocaleString("en"));
  figure("funders", data.funders.totalCount.toLocaleString("en"));
  figure("fundings", data.fundings.totalCount.toLocaleString("en"));
  figure(
    "engagedPeople",
    engaged.value.toLocaleString("en", { notation: "compact", compactDisplay: "long" }),
  );
  figure("engagedPeopleSource", engaged.descriptionEn);

  const composition = statistics.sectorComposition;
  figure(
    "shares",
    `(trisectoral ${percent(composition.trisectoralShare)}, ` +
      `multisectoral ${percent(composition.multisectoralShare)})`,
  );
  const labels = new Map(
    data.enumLabels
      .find((labelled) => labelled.name === "SectorComposition")
      .values.map((value) => [value.value, value.labelEn]),
  );
  drawBars(
    document.getElementById("sector-composition-chart"),
    composition.byComposition.map((group) => ({
      label: labels.get(group.composition) ?? group.composition,
      value: group.count,
    })),
  );
  drawBars(
    document.getElementById("cities-by-state-chart"),
    statistics.citiesByState
      .map((group) => ({ label: group.state.name, value: group.count }))
      .sort((one, other) => other.value - one.value),
  );
}

async function load() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ query: QUERY }),
    });
    const body = await response.json();
    if (!body.data) throw new Error(body.errors?.[0]?.message ?? response.statusText);
    show(body.data);
    status.textContent = "Figures as of now, from the hub's own statistics.";
  } catch (error) {
    status.textContent = `The figures could not be loaded: ${error.message}`;
  }
}

document.addEventListener("DOMContentLoaded", load);
