// The landing page's figures, charts and map, from the hub's own /graphql statistics and the
// states' outlines it serves (/static/germany.json).
// A few lines of SVG instead of a chart or map library: the page loads nothing from elsewhere.
"use strict";

const QUERY = `query LandingPage {
  cities { totalCount }
  actors { totalCount }
  funders { totalCount }
  fundings { totalCount }
  statistics {
    citiesByState { code count state { name } }
    citiesByStatus { status count }
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

// How the membership figure names each status, e.g. "102 members".
const STATUS_PLURALS = {
  CANDIDATE: "candidates",
  MEMBER: "members",
  FORMER_MEMBER: "former members",
};

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
  const statuses = [...statistics.citiesByStatus].sort((one, other) => other.count - one.count);
  figure(
    "membership",
    `${data.cities.totalCount.toLocaleString("en")} cities: ` +
      statuses.map((group) => `${group.count} ${STATUS_PLURALS[group.status]}`).join(", "),
  );
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

async function graphql(query, variables) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (!body.data) throw new Error(body.errors?.[0]?.message ?? response.statusText);
  return body.data;
}

// ---- The map of Germany: the states' outlines, a dot per city linking to its query.

const MAP_QUERY = `query LandingMap($after: String) {
  states { code name }
  cities(after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { slug name status population latitude longitude } }
  }
}`;
const MAP_WIDTH = 600;
// Screen pixels, whatever the map's width: labels stay readable, dots stay easy to hit.
const LABEL_PIXELS = 13;
const DOT_PIXELS = 4;

// Every city, page after page; and the states' names.
async function mapData() {
  const cities = [];
  let after = null;
  for (;;) {
    const data = await graphql(MAP_QUERY, { after });
    cities.push(...data.cities.edges.map((edge) => edge.node));
    if (!data.cities.pageInfo.hasNextPage) return { states: data.states, cities };
    after = data.cities.pageInfo.endCursor;
  }
}

// An equirectangular projection of the outlines' extent, MAP_WIDTH wide: near enough to
// conformal over Germany when longitudes shrink by the cosine of the middle latitude.
function projection(outlines) {
  const points = Object.values(outlines).flat(2);
  const lons = points.map(([lon]) => lon);
  const lats = points.map(([, lat]) => lat);
  const [west, east] = [Math.min(...lons), Math.max(...lons)];
  const [south, north] = [Math.min(...lats), Math.max(...lats)];
  const shrink = Math.cos((((south + north) / 2) * Math.PI) / 180);
  const scale = MAP_WIDTH / ((east - west) * shrink);
  return {
    width: MAP_WIDTH,
    height: (north - south) * scale,
    project: (lon, lat) => [(lon - west) * shrink * scale, (north - lat) * scale],
  };
}

function outlinePath(rings, project) {
  const ring = (points) =>
    "M" + points.map(([lon, lat]) => project(lon, lat).map((value) => value.toFixed(1))).join("L");
  return rings.map(ring).join("Z") + "Z";
}

function cityLink(query, city) {
  const variables = JSON.stringify({ city: city.slug });
  return `/graphql?q=${encodeURIComponent(query)}&variables=${encodeURIComponent(variables)}`;
}

function drawMap(svg, outlines, states, cities) {
  const { width, height, project } = projection(outlines.states);
  const names = new Map(states.map((state) => [state.code, state.name]));
  svg.setAttribute("viewBox", `0 0 ${width} ${height.toFixed(0)}`);
  svg.replaceChildren();
  for (const [code, rings] of Object.entries(outlines.states)) {
    const path = svgElement("path", { class: "state", d: outlinePath(rings, project) });
    path.append(svgElement("title", {}, names.get(code) ?? code));
    svg.append(path);
  }
  const located = cities.filter((city) => city.latitude !== null && city.longitude !== null);
  // Larger cities last, so that their dots and labels lie on top.
  located.sort((one, other) => (one.population ?? 0) - (other.population ?? 0));
  for (const city of located) {
    const [x, y] = project(city.longitude, city.latitude);
    const status = city.status === "FORMER_MEMBER" ? "former" : "member";
    const link = svgElement("a", {
      class: `city ${status}`,
      href: cityLink(svg.dataset.cityQuery, city),
      "aria-label": `${city.name}: its query in GraphiQL`,
      "data-population": city.population ?? 0,
    });
    link.append(
      svgElement("title", {}, city.name),
      svgElement("circle", { cx: x.toFixed(1), cy: y.toFixed(1) }),
      svgElement("text", { x: x.toFixed(1), y: y.toFixed(1), dy: "0.35em" }, city.name),
    );
    svg.append(link);
  }
  document.querySelector('[data-figure="outlinesCredit"]').textContent = outlines.credit;
  fitToScreen(svg);
  new ResizeObserver(() => fitToScreen(svg)).observe(svg);
}

function overlaps(box, other) {
  return (
    box.x < other.x + other.width &&
    other.x < box.x + box.width &&
    box.y < other.y + other.height &&
    other.y < box.y + box.height
  );
}

// Sizes dots and labels in screen pixels, and labels the largest cities whose names fit
// beside their dot without touching another label; every other name shows on hover and focus.
function fitToScreen(svg) {
  // The map's scale on the screen, whether its width or its height (at most 80vh) sets it.
  const scale = svg.getScreenCTM()?.a;
  if (!scale) return;
  const unitsPerPixel = 1 / scale;
  svg.style.fontSize = `${LABEL_PIXELS * unitsPerPixel}px`;
  const radius = DOT_PIXELS * unitsPerPixel;
  const placed = [];
  const population = (link) => Number(link.dataset.population);
  const links = [...svg.querySelectorAll(".city")];
  links.sort((one, other) => population(other) - population(one));
  for (const link of links) {
    const [circle, text] = [link.querySelector("circle"), link.querySelector("text")];
    circle.setAttribute("r", radius.toFixed(2));
    const x = Number(circle.getAttribute("cx"));
    const labelled = population(link) > 0 && placeLabel(text, x, radius * 1.5, placed);
    link.classList.toggle("labelled", labelled);
    if (!labelled) moveLabel(text, "start", x + radius * 1.5);
  }
  // Labelled cities last, so that no other dot covers their names.
  svg.append(...svg.querySelectorAll(".city.labelled"));
}

function moveLabel(text, anchor, x) {
  text.setAttribute("text-anchor", anchor);
  text.setAttribute("x", x.toFixed(1));
}

// Puts the label right of its dot, else left of it; whether it fits there.
function placeLabel(text, x, gap, placed) {
  const limit = text.ownerSVGElement.viewBox.baseVal.width;
  for (const [anchor, at] of [["start", x + gap], ["end", x - gap]]) {
    moveLabel(text, anchor, at);
    const box = text.getBBox();
    if (box.x >= 0 && box.x + box.width <= limit && !placed.some((other) => overlaps(box, other))) {
      placed.push(box);
      return true;
    }
  }
  return false;
}

async function load() {
  const status = document.getElementById("status");
  try {
    show(await graphql(QUERY));
    status.textContent = "Figures as of now, from the hub's own statistics.";
  } catch (error) {
    status.textContent = `The figures could not be loaded: ${error.message}`;
  }
}

async function loadMap() {
  const svg = document.getElementById("map");
  const credit = document.querySelector('[data-figure="outlinesCredit"]');
  try {
    const [outlines, { states, cities }] = await Promise.all([
      fetch("/static/germany.json").then((response) => response.json()),
      mapData(),
    ]);
    drawMap(svg, outlines, states, cities);
  } catch (error) {
    credit.textContent = `The map could not be drawn: ${error.message}`;
  }
}

document.addEventListener("DOMContentLoaded", load);
document.addEventListener("DOMContentLoaded", loadMap);
