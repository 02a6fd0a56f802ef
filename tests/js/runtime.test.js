// Unit tests of the pure parts of territory/static/map/territory-map.js (node --test).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const T = require("../../territory/static/map/territory-map.js");

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test("decode reads Google's reference polyline", () => {
  const pts = T.decode("_p~iF~ps|U_ulLnnqC_mqNvxq`@", 5);
  assert.equal(pts.length, 3);
  [[38.5, -120.2], [40.7, -120.95], [43.252, -126.453]].forEach(([lat, lng], i) => {
    close(pts[i][0], lat, 1e-9);
    close(pts[i][1], lng, 1e-9);
  });
});

test("decodeInto writes Web Mercator metres and returns the next index", () => {
  const X = new Float64Array(4);
  const Y = new Float64Array(4);
  const end = T.decodeInto("_p~iF~ps|U_ulLnnqC", 1e-5, X, Y, 1);
  assert.equal(end, 3);
  const R = 6378137;
  close(X[1], (R * Math.PI * -120.2) / 180, 1e-6);
  const lat = (38.5 * Math.PI) / 180;
  close(Y[1], R * Math.log(Math.tan(Math.PI / 4 + lat / 2)), 1e-6);
  const back = T.unproject(X[2], Y[2]);
  close(back[0], 40.7, 1e-9);
  close(back[1], -120.95, 1e-9);
});

test("fmt: grouping, decimals, units, shares, missing values", () => {
  assert.equal(T.fmt(1234567.4, {format: "num", digits: 0, unit: " 元"}), "1,234,567 元");
  assert.equal(T.fmt(2.5, {format: "num", digits: 2, unit: ""}), "2.50");
  assert.equal(T.fmt(0.256, {format: "pct", digits: 0}), "26%");
  assert.equal(T.fmt("武侯区", {format: "text", digits: 0, unit: ""}), "武侯区");
  for (const v of [null, undefined, ""]) {
    assert.equal(T.fmt(v, {format: "num", digits: 0, unit: ""}), "—");
  }
});

const payload = () => ({
  properties: {
    name: ["玉林街道", "&lt;b&gt;"],
    district: [1, null],
    pop: [42000, 30000],
    zone_id: ["510107", "510108"],
  },
  card: {
    title: "name",
    rows: [
      {label: "区县", key: "district", format: "text", digits: 0, unit: "", lookup: true},
      {label: "人口", key: "pop", format: "num", digits: 0, unit: "", lookup: false},
    ],
    lookups: {district: ["锦江区", "武侯区"]},
    on: "click",
    actions: [],
    id: null,
  },
});

test("card shows the title, looked-up values and formatted numbers", () => {
  const html = T.card(payload(), 0);
  assert.match(html, /territory-card-title">玉林街道</);
  assert.match(html, /<th>区县<\/th><td>武侯区<\/td>/);
  assert.match(html, /<th>人口<\/th><td>42,000<\/td>/);
  assert.doesNotMatch(html, /territory-action/);
  // A missing lookup is a dash; escaped text stays escaped.
  const second = T.card(payload(), 1);
  assert.match(second, /<td>—<\/td>/);
  assert.match(second, /&lt;b&gt;/);
});

test("card actions become buttons that name the action and the row", () => {
  const d = payload();
  d.card.actions = [{action: "set_site", label: "设为外拓点"}];
  d.card.id = "zone_id";
  const html = T.card(d, 1);
  assert.match(html, /<button type="button" class="territory-action" data-action="set_site" data-row="1">设为外拓点<\/button>/);
});

test("emit sends {territory_action: {action, id, n}} through Streamlit when present", () => {
  const calls = [];
  global.window = {Streamlit: {setComponentValue: (v) => calls.push(v)}};
  try {
    const first = T.emit("open_plan", 510107);
    const second = T.emit("open_plan", "510107");
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[0].territory_action.action, "open_plan");
    assert.equal(calls[0].territory_action.id, "510107");
    assert.notEqual(first.territory_action.n, second.territory_action.n); // a second click is new
    assert.equal(T.sent, second);
  } finally {
    delete global.window;
  }
  assert.equal(T.emit("x", "1").territory_action.action, "x"); // outside Streamlit: recorded only
});

test("grid puts every box in each cell it touches", () => {
  const boxes = new Float64Array([0, 0, 10, 10, 50, 50, 60, 70, 5, 5, 55, 55]);
  const g = T.grid(boxes, 3, 0, 0, 60, 70);
  for (let i = 0; i < 3; i++) {
    const [x0, y0, x1, y1] = boxes.slice(4 * i, 4 * i + 4);
    for (const [x, y] of [[x0, y0], [x1, y1], [(x0 + x1) / 2, (y0 + y1) / 2]]) {
      const cell = g.cells[Math.floor((y - g.y0) / g.size) * g.nx + Math.floor((x - g.x0) / g.size)];
      assert.ok(cell && cell.includes(i), `box ${i} missing at ${x},${y}`);
    }
  }
});

test("overlaps: shared edges do not count", () => {
  const a = {left: 0, top: 0, right: 10, bottom: 10};
  assert.equal(T.overlaps(a, {left: 5, top: 5, right: 15, bottom: 15}), true);
  assert.equal(T.overlaps(a, {left: 10, top: 0, right: 20, bottom: 10}), false);
  assert.equal(T.overlaps(a, {left: 0, top: 11, right: 10, bottom: 20}), false);
});

test("layer: a registered kind builds; an unknown kind is an error", () => {
  T.kinds.test_kind = (d) => ({made: d.value});
  try {
    assert.deepEqual(T.layer("test_kind", {value: 3}), {made: 3});
    assert.throws(() => T.layer("nope", {}), /unknown layer kind nope/);
    assert.throws(() => T.layer("toString", {}), /unknown layer kind/);
  } finally {
    delete T.kinds.test_kind;
  }
});

const box = (left, top, right, bottom) => ({left, top, right, bottom});

test("choose: the first place on the map and clear of obstacles, else the least hidden", () => {
  const bounds = box(0, 0, 400, 300);
  const legend = box(250, 200, 400, 300); // bottom-right corner
  const label = (x, y) => box(x, y, x + 120, y + 16);
  // The preferred place runs off the right edge, the second is under the legend: the third.
  assert.equal(T.choose([label(330, 50), label(260, 220), label(100, 220)], [legend], bounds, 2), 2);
  // Nowhere clear: the place hiding the least (here: 10 px under the legend vs off the map).
  assert.equal(T.choose([label(390, 10), label(130, 190)], [legend], bounds, 2), 1);
  assert.equal(T.choose([label(10, 10)], [], bounds), 0);
});

test("clearance: the shortest move off every obstacle that stays on the map", () => {
  const bounds = box(0, 0, 400, 300);
  const legend = box(0, 0, 150, 120); // top-left
  const popup = box(100, 50, 300, 150);
  const mv = T.clearance(popup, [legend], bounds, 8);
  assert.deepEqual(mv, {dx: 58, dy: 0}); // right of the legend (8 px gap) beats below it (78)
  assert.equal(T.overlapArea(T.shift(popup, mv.dx, mv.dy), legend), 0);
  assert.deepEqual(T.clearance(box(200, 200, 220, 210), [legend], bounds), {dx: 0, dy: 0});
  // No clear place on the map: no move.
  assert.deepEqual(T.clearance(box(0, 0, 400, 300), [legend], bounds), {dx: 0, dy: 0});
});

test("inside and overlapArea", () => {
  assert.equal(T.inside(box(5, 5, 10, 10), box(0, 0, 20, 20), 2), true);
  assert.equal(T.inside(box(1, 5, 10, 10), box(0, 0, 20, 20), 2), false);
  assert.equal(T.overlapArea(box(0, 0, 10, 10), box(5, 5, 20, 20)), 25);
  assert.equal(T.overlapArea(box(0, 0, 10, 10), box(10, 0, 20, 10)), 0);
});
