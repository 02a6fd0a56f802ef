/**
 * Territory's map runtime: builds the layers of a map from typed JSON payloads.
 *
 * Loaded after Leaflet, as a file served by the app (or inlined in a standalone
 * export). Python (territory/render/_payloads.py) builds one payload per layer with
 * one function per layer kind; this file turns each payload into Leaflet layers:
 *
 *   var layer = territory.layer('shapes', payload);   // then layer.addTo(map)
 *   territory.legend(map, legendPayload);
 *   territory.ready(map, background);
 *
 * Every text in a payload is already HTML-escaped by the server (safe_text), so it is
 * inserted as HTML; nothing here builds markup from anything else.
 *
 * A new layer kind: add its payload dataclass and builder in _payloads.py, then
 * `T.kinds.<kind> = function (payload) { return aLeafletLayer; }` below, and a unit test in
 * tests/js/. See docs/architecture.md, "Maps: adding a layer kind or a card action".
 *
 * The pure parts (polyline decoding, number formats, cards, hit-test grid, label
 * placement) run in Node for the unit tests (module.exports); the Leaflet parts are
 * defined only when Leaflet is present.
 */

/**
 * @typedef {Object} CardRow
 * @property {string} label      row heading (escaped)
 * @property {string} key        property column of the value
 * @property {string} format     'num' | 'pct' | 'text'
 * @property {number} digits     decimals for 'num' and 'pct'
 * @property {string} unit       appended to the value (escaped)
 * @property {boolean} lookup    the value is an index into card.lookups[key]
 */

/**
 * @typedef {Object} CardAction
 * @property {string} action     code sent back to the app (e.g. 'open_plan')
 * @property {string} label      button text (escaped)
 */

/**
 * @typedef {Object} Card
 * @property {string} title      property column of the card's title
 * @property {CardRow[]} rows
 * @property {Object<string, string[]>} lookups
 * @property {string} on         'click' (a popup) or 'hover' (in the tooltip)
 * @property {CardAction[]} actions  buttons under the rows; a click sends {action, id}
 * @property {?string} id        property column of the feature id sent with an action
 */

/**
 * @typedef {Object} Style
 * @property {?string} stroke    outline colour; null: the fill colour
 * @property {number} weight     outline width in px (0: none)
 * @property {number} opacity    outline opacity
 * @property {number} fill       fill opacity
 * @property {?number[]} fills   fill opacity per class (overrides fill)
 * @property {?string} dash      outline dash pattern
 * @property {boolean} interactive
 * @property {?number} radius    dot radius in px (dots without radii)
 */

/**
 * @typedef {Object} PolygonLayer  kinds 'shapes' (canvas, thousands) and 'polygons' (vector)
 * @property {string[][][]} geometry  per feature, per polygon, encoded rings (outer first)
 * @property {number} precision  decimals of the encoded coordinates
 * @property {?number[]} classes  palette index per feature (null: 0)
 * @property {string[]} palette
 * @property {Object<string, Array>} properties  columns, one value per feature
 * @property {?Card} card
 * @property {?string} tooltip   property column shown on hover
 * @property {Style} style
 */

/**
 * @typedef {Object} DotLayer  kind 'dots'
 * @property {string} points     encoded points
 * @property {number} precision
 * @property {?number[]} radii   px per dot (null: style.radius)
 * @property {?number[]} classes
 * @property {string[]} palette
 * @property {Object<string, Array>} properties
 * @property {?Card} card
 * @property {?string} tooltip
 * @property {Style} style
 */

/**
 * @typedef {Object} LabelLayer  kind 'labels'
 * @property {string} points     encoded anchor points
 * @property {number} precision
 * @property {string[]} texts    escaped
 * @property {string} anchor     'centre' (text centred on the point) or 'north-east' (text
 *                               starts right of the point, above it)
 * @property {string} css        extra CSS class of the label
 * @property {?string[]} alternatives  per label, encoded points it may move to (in order of
 *                               preference) when its own place is hidden or off the map
 * @property {boolean} fixed     a label the legends must keep clear of (they change corner)
 */

/**
 * @typedef {Object} SiteLayer  kind 'sites'
 * @property {string} points
 * @property {number} precision
 * @property {number[]} ranks
 * @property {string[]} ids      zone ids (sent with a click action)
 * @property {Object<string, Array>} properties
 * @property {Card} card
 * @property {string} tooltip    property column shown on hover
 * @property {?string} click_action  action sent on a marker click (null: open the card)
 */

/**
 * @typedef {Object} DealerLayer  kind 'dealer'
 * @property {number} lat
 * @property {number} lng
 * @property {string} name       escaped
 * @property {string} mark       escaped, two characters at most
 */

/**
 * @typedef {Object} LegendItem
 * @property {string} colour     #rrggbb
 * @property {string} text       escaped
 * @property {string} symbol     '' (box), 'line' or 'dot'
 */

/**
 * @typedef {Object} Legend
 * @property {string} title      escaped
 * @property {LegendItem[]} items
 * @property {string} position   'topleft' | 'topright' | 'bottomleft' | 'bottomright'
 * @property {?string} note      escaped
 */

(function (root, factory) {
  'use strict';
  var T = factory(root && root.L);
  if (typeof module === 'object' && module.exports) {
    module.exports = T;
  } else if (!root.territory || root.territory.version !== T.version) {
    root.territory = T;
  }
}(typeof self !== 'undefined' ? self : this, function (L) {
  'use strict';

  var T = {version: 3, layers: [], kinds: {}};

  // ------------------------------------------------------------------ pure helpers

  /** Decode a Google polyline into [[lat, lng], ...]. */
  T.decode = function (s, precision) {
    var pts = [], i = 0, lat = 0, lng = 0, n = s.length, f = Math.pow(10, -(precision || 5));
    while (i < n) {
      var b, shift = 0, r = 0;
      do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lat += (r & 1) ? ~(r >> 1) : (r >> 1);
      shift = 0; r = 0;
      do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lng += (r & 1) ? ~(r >> 1) : (r >> 1);
      pts.push([lat * f, lng * f]);
    }
    return pts;
  };

  /** A value as a card shows it: '—' for none, numbers with grouping, shares in percent. */
  T.fmt = function (v, row) {
    if (v === null || v === undefined || v === '') { return '—'; }
    if (row.format === 'num') {
      return Number(v).toLocaleString('en-US',
        {minimumFractionDigits: row.digits, maximumFractionDigits: row.digits}) + (row.unit || '');
    }
    if (row.format === 'pct') { return (100 * Number(v)).toFixed(row.digits) + '%'; }
    return String(v) + (row.unit || '');
  };

  /** The HTML of feature i's card (texts are escaped by the server). */
  T.card = function (d, i) {
    var c = d.card, p = d.properties;
    var h = '<div class="territory-card"><div class="territory-card-title">' + p[c.title][i] +
      '</div><table>';
    for (var j = 0; j < c.rows.length; j++) {
      var row = c.rows[j], v = p[row.key][i];
      if (row.lookup) { v = v === null || v === undefined ? null : c.lookups[row.key][v]; }
      h += '<tr><th>' + row.label + '</th><td>' + T.fmt(v, row) + '</td></tr>';
    }
    h += '</table>';
    if (c.actions && c.actions.length && c.id) {
      h += '<div class="territory-card-actions">';
      for (var a = 0; a < c.actions.length; a++) {
        h += '<button type="button" class="territory-action" data-action="' + c.actions[a].action +
          '" data-row="' + i + '">' + c.actions[a].label + '</button>';
      }
      h += '</div>';
    }
    return h + '</div>';
  };

  var sent = 0;
  /**
   * Tell the app that the user asked for `action` on feature `id`: the value of the map's
   * Streamlit component becomes {territory_action: {action, id, n}} (n: a fresh number, so
   * the same action twice is two requests). Outside Streamlit (an exported file) this only
   * records the request in T.sent.
   */
  T.emit = function (action, id) {
    var value = {territory_action: {action: action, id: String(id), n: Date.now() * 1000 + (++sent % 1000)}};
    T.sent = value;
    var S = typeof window !== 'undefined' && window.Streamlit;
    if (S && typeof S.setComponentValue === 'function') { S.setComponentValue(value); }
    return value;
  };

  /** Hook a card's action buttons (delegated: popups are built on demand). */
  T.bindActions = function (container, d) {
    if (!d.card || !d.card.actions || !d.card.actions.length || !container) { return; }
    container.addEventListener('click', function (e) {
      var b = e.target && e.target.closest ? e.target.closest('button.territory-action') : null;
      if (!b) { return; }
      var i = Number(b.getAttribute('data-row'));
      T.emit(b.getAttribute('data-action'), d.properties[d.card.id][i]);
    });
  };

  /** Grid of bounding boxes (x0, y0, x1, y1 per item) for hit testing. */
  T.grid = function (box, n, x0, y0, x1, y1) {
    var i, size = Math.max(Math.sqrt(Math.max((x1 - x0) * (y1 - y0), 1) / Math.max(n, 1)), 1);
    var nx = Math.max(1, Math.ceil((x1 - x0) / size) + 1), ny = Math.max(1, Math.ceil((y1 - y0) / size) + 1);
    var cells = new Array(nx * ny);
    for (i = 0; i < n; i++) {
      var a = Math.floor((box[4 * i] - x0) / size), b = Math.floor((box[4 * i + 1] - y0) / size);
      var c = Math.floor((box[4 * i + 2] - x0) / size), e = Math.floor((box[4 * i + 3] - y0) / size);
      for (var gy = b; gy <= e; gy++) {
        for (var gx = a; gx <= c; gx++) {
          var k = gy * nx + gx;
          (cells[k] || (cells[k] = [])).push(i);
        }
      }
    }
    return {x0: x0, y0: y0, size: size, nx: nx, ny: ny, cells: cells};
  };

  /** Whether two boxes {left, top, right, bottom} overlap (touching edges do not). */
  T.overlaps = function (a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  };

  /** Area of the intersection of two boxes (0 when they do not overlap). */
  T.overlapArea = function (a, b) {
    var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    return w > 0 && h > 0 ? w * h : 0;
  };

  /** Whether box a lies inside box b, `margin` px from its edges. */
  T.inside = function (a, b, margin) {
    var m = margin || 0;
    return a.left >= b.left + m && a.top >= b.top + m && a.right <= b.right - m && a.bottom <= b.bottom - m;
  };

  /** A box moved by (dx, dy). */
  T.shift = function (a, dx, dy) {
    return {left: a.left + dx, top: a.top + dy, right: a.right + dx, bottom: a.bottom + dy};
  };

  /**
   * The first of `places` (candidate boxes of one label or legend) that lies inside `bounds`
   * and overlaps none of `obstacles`; when none does, the one hiding the least (area outside
   * the bounds counts as hidden). Returns its index.
   */
  T.choose = function (places, obstacles, bounds, margin) {
    var best = 0, bestCost = Infinity;
    for (var i = 0; i < places.length; i++) {
      var b = places[i], cost = 0;
      for (var j = 0; j < obstacles.length; j++) { cost += T.overlapArea(b, obstacles[j]); }
      var area = (b.right - b.left) * (b.bottom - b.top);
      cost += area - T.overlapArea(b, {left: bounds.left + (margin || 0), top: bounds.top + (margin || 0),
        right: bounds.right - (margin || 0), bottom: bounds.bottom - (margin || 0)});
      if (cost === 0) { return i; }
      if (cost < bestCost) { best = i; bestCost = cost; }
    }
    return best;
  };

  /**
   * The smallest move (dx, dy) that takes box `a` clear of every box in `obstacles` while it
   * stays inside `bounds` (tries each side of each obstacle); {dx: 0, dy: 0} when clear.
   */
  T.clearance = function (a, obstacles, bounds, gap) {
    var g = gap === undefined ? 6 : gap, hits = obstacles.filter(function (o) { return T.overlapArea(a, o) > 0; });
    if (!hits.length) { return {dx: 0, dy: 0}; }
    var moves = [{dx: 0, dy: 0}];
    hits.forEach(function (o) {
      moves.push({dx: o.right + g - a.left, dy: 0}, {dx: o.left - g - a.right, dy: 0},
        {dx: 0, dy: o.bottom + g - a.top}, {dx: 0, dy: o.top - g - a.bottom});
    });
    var best = null, bestLen = Infinity;
    moves.forEach(function (mv) {
      var b = T.shift(a, mv.dx, mv.dy);
      if (!T.inside(b, bounds, 0)) { return; }
      if (obstacles.some(function (o) { return T.overlapArea(b, o) > 0; })) { return; }
      var len = Math.abs(mv.dx) + Math.abs(mv.dy);
      if (len < bestLen) { best = mv; bestLen = len; }
    });
    return best || {dx: 0, dy: 0};
  };

  // Web Mercator (metres) of the canvas layers.
  var R = 6378137, K = 0.5 / (Math.PI * R), D = Math.PI / 180, LAT = 85.0511287798;

  /** Decode a polyline straight into Web Mercator metres in X, Y from index `at`; return the end. */
  T.decodeInto = function (s, f, X, Y, at) {
    var i = 0, lat = 0, lng = 0, n = s.length, b, shift, r, la, sn;
    while (i < n) {
      shift = 0; r = 0;
      do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lat += (r & 1) ? ~(r >> 1) : (r >> 1);
      shift = 0; r = 0;
      do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lng += (r & 1) ? ~(r >> 1) : (r >> 1);
      la = lat * f; la = la > LAT ? LAT : (la < -LAT ? -LAT : la); sn = Math.sin(la * D);
      X[at] = R * D * lng * f; Y[at] = R * 0.5 * Math.log((1 + sn) / (1 - sn)); at++;
    }
    return at;
  };

  /** [lat, lng] of Web Mercator metres. */
  T.unproject = function (x, y) {
    return [(2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) / D, x / R / D];
  };

  /** Build a layer of `kind` from its payload (T.kinds holds one builder per kind). */
  T.layer = function (kind, payload) {
    var make = Object.prototype.hasOwnProperty.call(T.kinds, kind) ? T.kinds[kind] : null;
    if (!make) { throw new Error('territory: unknown layer kind ' + kind); }
    return make(payload);
  };

  if (!L) { return T; }

  // ------------------------------------------------------------------ Leaflet layers

  /** The tooltip text of feature i, or its card when the card opens on hover. */
  function hoverText(d, i) {
    if (d.card && d.card.on === 'hover') { return T.card(d, i); }
    return d.tooltip ? d.properties[d.tooltip][i] : '';
  }

  function bindCard(layer, d, card) {
    if (d.tooltip || (d.card && d.card.on === 'hover')) {
      layer.bindTooltip(function (l) { return hoverText(d, l._hit !== undefined ? l._hit : l._i); }, {sticky: true});
    }
    if (d.card && d.card.on === 'click') {
      layer.bindPopup(function (l) { return card(l._hit !== undefined ? l._hit : l._i); }, T.popupOptions(360));
      layer.on('popupopen', function (e) { T.bindActions(e.popup.getElement(), d); });
    }
  }

  /** Vector polygons (a few: rings, candidate areas, districts), one Leaflet polygon each. */
  T.kinds.polygons = function (d) {
    var group = L.featureGroup(), s = d.style, interactive = s.interactive !== false;
    for (var i = 0; i < d.geometry.length; i++) {
      var shape = d.geometry[i].map(function (poly) {
        return poly.map(function (r) { return T.decode(r, d.precision); });
      });
      var cls = d.classes ? d.classes[i] : 0, fill = d.palette[cls];
      var layer = L.polygon(shape, {color: s.stroke || fill, weight: s.weight, opacity: s.opacity,
        fillColor: fill, fillOpacity: s.fills ? s.fills[cls] : s.fill, dashArray: s.dash || null,
        interactive: interactive});
      layer._i = i;
      group.addLayer(layer);
    }
    if (interactive) {
      bindCard(group, d, function (k) { return T.card(d, k); });
      group.on('mouseover', function (e) { e.layer.setStyle({weight: s.weight + 1.5}); });
      group.on('mouseout', function (e) { e.layer.setStyle({weight: s.weight}); });
    }
    T.layers.push(group);
    return group;
  };

  // --- Big layers (zones, hexagons, bubbles) on the canvas ------------------------------------
  // Polylines are decoded straight into Web Mercator metres in typed arrays (no array per
  // vertex, so little garbage); drawing converts them with two multiplications, skips shapes
  // outside the view and vertices closer than a pixel, and fills and strokes a batch of shapes
  // of one colour at once (each fill or stroke is one rasterisation, and thousands of them are
  // what a software canvas spends its time on). Hit testing uses a grid of bounding boxes,
  // built on the first pointer event.
  // Shapes per fill/stroke call: a few cut the canvas calls, while paths stay small for the
  // rasteriser (measured: one path with every shape rasterises twice as slowly).
  T.batch = 10;
  T.Shapes = L.Path.extend({
    initialize: function (d, dots) {
      L.setOptions(this, {interactive: d.style.interactive !== false, bubblingMouseEvents: true});
      this.d = d; this.dots = !!dots; this._hit = -1; this._shown = -1; this._grid = null;
      var f = Math.pow(10, -(d.precision || 5)), X, Y, box, i, n, v;
      var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      if (dots) {
        X = new Float64Array(d.points.length >> 1); Y = new Float64Array(d.points.length >> 1);
        n = T.decodeInto(d.points, f, X, Y, 0);
        box = new Float64Array(4 * n);
        for (i = 0; i < n; i++) { box[4 * i] = box[4 * i + 2] = X[i]; box[4 * i + 1] = box[4 * i + 3] = Y[i]; }
      } else {
        var g = d.geometry, p, r, chars = 0, rings = 0;
        n = g.length;
        for (i = 0; i < n; i++) {
          for (p = 0; p < g[i].length; p++) {
            rings += g[i][p].length;
            for (r = 0; r < g[i][p].length; r++) { chars += g[i][p][r].length; }
          }
        }
        // Every vertex takes at least two characters.
        X = new Float64Array(chars >> 1); Y = new Float64Array(chars >> 1);
        var ring = new Int32Array(rings + 1), feat = new Int32Array(n + 1), at = 0, k = 0;
        box = new Float64Array(4 * n);
        for (i = 0; i < n; i++) {
          var first = at;
          for (p = 0; p < g[i].length; p++) {
            for (r = 0; r < g[i][p].length; r++) { at = T.decodeInto(g[i][p][r], f, X, Y, at); ring[++k] = at; }
          }
          feat[i + 1] = k;
          var bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
          for (v = first; v < at; v++) {
            if (X[v] < bx0) { bx0 = X[v]; } if (X[v] > bx1) { bx1 = X[v]; }
            if (Y[v] < by0) { by0 = Y[v]; } if (Y[v] > by1) { by1 = Y[v]; }
          }
          box[4 * i] = bx0; box[4 * i + 1] = by0; box[4 * i + 2] = bx1; box[4 * i + 3] = by1;
        }
        this._ring = ring; this._feat = feat;
      }
      for (i = 0; i < n; i++) {
        if (box[4 * i] < x0) { x0 = box[4 * i]; } if (box[4 * i + 1] < y0) { y0 = box[4 * i + 1]; }
        if (box[4 * i + 2] > x1) { x1 = box[4 * i + 2]; } if (box[4 * i + 3] > y1) { y1 = box[4 * i + 3]; }
      }
      this._X = X; this._Y = Y; this._box = box; this._n = n;
      this._ext = [x0, y0, x1, y1];
      var classes = [];
      for (i = 0; i < n; i++) { var c = d.classes ? d.classes[i] : 0; (classes[c] || (classes[c] = [])).push(i); }
      this._classes = classes;
    },
    _empty: function () { return !this._n; },
    _project: function () {
      var map = this._map, o = map.getPixelOrigin();
      this._sc = 256 * Math.pow(2, map.getZoom()); this._ox = o.x; this._oy = o.y;
      var g = this._ext, pad = this.dots ? 40 : 2;
      this._pxBounds = L.bounds(
        [this._sc * (K * g[0] + 0.5) - this._ox - pad, this._sc * (-K * g[3] + 0.5) - this._oy - pad],
        [this._sc * (K * g[2] + 0.5) - this._ox + pad, this._sc * (-K * g[1] + 0.5) - this._oy + pad]);
    },
    _update: function () {},
    _toMercator: function (px, py) {
      return [((px + this._ox) / this._sc - 0.5) / K, -((py + this._oy) / this._sc - 0.5) / K];
    },
    _updatePath: function () {
      var ren = this._renderer, ctx = ren._ctx, d = this.d, s = d.style;
      var sc = this._sc, ox = this._ox, oy = this._oy, X = this._X, Y = this._Y, box = this._box;
      var rb = ren._redrawBounds || ren._bounds, m = this.dots ? 40 : 0;
      var lo = this._toMercator(rb.min.x - m, rb.max.y + m), hi = this._toMercator(rb.max.x + m, rb.min.y - m);
      var stroke = s.weight > 0, alpha = s.opacity === undefined ? 1 : s.opacity, batch = T.batch;
      ctx.setLineDash([]); ctx.lineJoin = 'round'; ctx.lineCap = 'round'; ctx.lineWidth = s.weight;
      for (var c = 0; c < this._classes.length; c++) {
        var list = this._classes[c];
        if (!list) { continue; }
        var fill = s.fills ? s.fills[c] : s.fill, open = 0;
        ctx.fillStyle = d.palette[c]; ctx.strokeStyle = s.stroke || d.palette[c];
        ctx.beginPath();
        for (var j = 0; j <= list.length; j++) {
          if (open && (j === list.length || open >= batch)) {
            if (fill > 0) { ctx.globalAlpha = fill; ctx.fill('evenodd'); }
            if (stroke) { ctx.globalAlpha = alpha; ctx.stroke(); }
            ctx.beginPath(); open = 0;
          }
          if (j === list.length) { break; }
          var i = list[j], b = 4 * i;
          if (box[b] > hi[0] || box[b + 2] < lo[0] || box[b + 1] > hi[1] || box[b + 3] < lo[1]) { continue; }
          if (this.dots) {
            var rad = d.radii ? d.radii[i] : s.radius;
            if (!(rad > 0)) { continue; }
            var cx = sc * (K * X[i] + 0.5) - ox, cy = sc * (-K * Y[i] + 0.5) - oy;
            ctx.moveTo(cx + rad, cy);
            ctx.arc(cx, cy, rad, 0, 2 * Math.PI);
          } else {
            for (var r = this._feat[i]; r < this._feat[i + 1]; r++) {
              var a = this._ring[r], e = this._ring[r + 1];
              var px = sc * (K * X[a] + 0.5) - ox, py = sc * (-K * Y[a] + 0.5) - oy;
              ctx.moveTo(px, py);
              for (var v = a + 1; v < e; v++) {
                var qx = sc * (K * X[v] + 0.5) - ox, qy = sc * (-K * Y[v] + 0.5) - oy;
                if (v === e - 1 || Math.abs(qx - px) + Math.abs(qy - py) > 0.8) { ctx.lineTo(qx, qy); px = qx; py = qy; }
              }
              ctx.closePath();
            }
          }
          open++;
        }
      }
      ctx.globalAlpha = 1;
    },
    _containsPoint: function (p) {
      if (!this._grid && !this.dots) {
        this._grid = T.grid(this._box, this._n, this._ext[0], this._ext[1], this._ext[2], this._ext[3]);
      }
      var xy = this._toMercator(p.x, p.y);
      this._hit = this.dots ? this._findDot(p) : this._find(xy[0], xy[1]);
      return this._hit >= 0;
    },
    _find: function (x, y) {
      var g = this._grid, gx = Math.floor((x - g.x0) / g.size), gy = Math.floor((y - g.y0) / g.size);
      if (gx < 0 || gy < 0 || gx >= g.nx || gy >= g.ny) { return -1; }
      var cell = g.cells[gy * g.nx + gx] || [], box = this._box;
      for (var j = cell.length - 1; j >= 0; j--) {
        var i = cell[j], b = 4 * i;
        if (x < box[b] || x > box[b + 2] || y < box[b + 1] || y > box[b + 3]) { continue; }
        if (this._inside(i, x, y)) { return i; }
      }
      return -1;
    },
    _inside: function (i, x, y) {
      var X = this._X, Y = this._Y, inside = false;
      for (var r = this._feat[i]; r < this._feat[i + 1]; r++) {
        var a = this._ring[r], e = this._ring[r + 1];
        for (var v = a, w = e - 1; v < e; w = v++) {
          if ((Y[v] > y) !== (Y[w] > y) && x < (X[w] - X[v]) * (y - Y[v]) / (Y[w] - Y[v]) + X[v]) { inside = !inside; }
        }
      }
      return inside;
    },
    _findDot: function (p) {
      var best = -1, bestD = Infinity, X = this._X, Y = this._Y, d = this.d;
      for (var i = 0; i < this._n; i++) {
        var rad = (d.radii ? d.radii[i] : d.style.radius) + 2;
        var dx = this._sc * (K * X[i] + 0.5) - this._ox - p.x, dy = this._sc * (-K * Y[i] + 0.5) - this._oy - p.y;
        var dd = dx * dx + dy * dy;
        if (dd <= rad * rad && dd < bestD) { best = i; bestD = dd; }
      }
      return best;
    },
    _latlngs: function (i) {
      var out = [];
      for (var r = this._feat[i]; r < this._feat[i + 1]; r++) {
        var ring = [];
        for (var v = this._ring[r]; v < this._ring[r + 1]; v++) { ring.push(T.unproject(this._X[v], this._Y[v])); }
        out.push(ring);
      }
      return out;
    },
    _highlight: function () {
      if (this._lit) { this._lit.remove(); this._lit = null; }
      if (this.dots || this._shown < 0 || !this._map) { return; }
      this._lit = L.polygon(this._latlngs(this._shown), {color: '#111', weight: 2.2, fill: false,
        interactive: false, renderer: this._renderer}).addTo(this._map);
    },
    /** Open feature i's popup (or tooltip) at the middle of its bounding box. */
    openFeature: function (i) {
      var b = 4 * i, c = T.unproject((this._box[b] + this._box[b + 2]) / 2, (this._box[b + 1] + this._box[b + 3]) / 2);
      this._hit = i;
      if (this.getPopup()) { this.openPopup(c); }
      if (this.getTooltip()) { this.openTooltip(c); }
    }
  });

  function canvasLayer(d, dots) {
    var layer = new T.Shapes(d, dots);
    if (layer.options.interactive) {
      bindCard(layer, d, function (i) { return T.card(d, i); });
      layer.on('mouseover mousemove', function () {
        if (layer._hit !== layer._shown && layer._hit >= 0) {
          layer._shown = layer._hit;
          if (layer.getTooltip()) { layer.setTooltipContent(hoverText(d, layer._hit)); }
          layer._highlight();
        }
      });
      layer.on('mouseout', function () { layer._shown = -1; layer._highlight(); });
      layer.on('remove', function () { layer._shown = -1; layer._highlight(); });
    }
    T.layers.push(layer);
    return layer;
  }

  /** Many polygons drawn on the canvas (zones, hexagons). */
  T.kinds.shapes = function (d) { return canvasLayer(d, false); };
  /** Many circles drawn on the canvas (card bubbles, points of interest). */
  T.kinds.dots = function (d) { return canvasLayer(d, true); };

  /**
   * Text labels at points; 'north-east' labels start right of and above their point. Labels
   * with alternatives move to the first place that is on the map and clear of the legends,
   * the other controls, the dealer's pin, the sites and the labels placed before them.
   */
  T.kinds.labels = function (d) {
    var group = L.layerGroup(), pts = T.decode(d.points, d.precision);
    var cls = 'territory-label territory-label-' + (d.anchor || 'centre') + (d.css ? ' ' + d.css : '');
    group.labels = [];
    for (var i = 0; i < pts.length; i++) {
      var marker = L.marker(pts[i], {interactive: false, keyboard: false,
        icon: L.divIcon({className: 'territory-label-icon', html: '<span class="' + cls + '">' + d.texts[i] + '</span>', iconSize: null})});
      var places = [pts[i]].concat(d.alternatives && d.alternatives[i] ? T.decode(d.alternatives[i], d.precision) : []);
      group.labels.push({marker: marker, places: places, fixed: !!d.fixed});
      group.addLayer(marker);
    }
    return group;
  };

  /** Numbered site markers; a click opens the card, or sends click_action with the site's id. */
  T.kinds.sites = function (d) {
    var group = L.featureGroup(), pts = T.decode(d.points, d.precision);
    var markers = [];
    for (var i = 0; i < pts.length; i++) {
      var m = L.marker(pts[i], {zIndexOffset: 1000, riseOnHover: true, title: '',
        icon: L.divIcon({className: 'territory-site', html: String(d.ranks[i]), iconSize: [28, 28], iconAnchor: [14, 14]})});
      m._i = i;
      if (d.click_action) {
        m.bindTooltip(T.card(d, i), {direction: 'top', offset: [0, -12], className: 'territory-site-tip'});
        m.on('click', (function (id) { return function () { T.emit(d.click_action, id); }; }(d.ids[i])));
      } else {
        m.bindTooltip(d.properties[d.tooltip][i], {direction: 'top', offset: [0, -12]});
        m.bindPopup(T.card.bind(null, d, i), T.popupOptions(380));
        m.on('popupopen', function (e) { T.bindActions(e.popup.getElement(), d); });
      }
      group.addLayer(m);
      markers.push(m);
    }
    group.markers = markers;
    return group;
  };

  /** The dealer's pin. */
  T.kinds.dealer = function (d) {
    var svg = '<svg xmlns="http://www.w3.org/2000/svg" width="34" height="44" viewBox="0 0 34 44">' +
      '<path d="M17 43C17 43 32 26.5 32 16A15 15 0 0 0 2 16C2 26.5 17 43 17 43Z" fill="#1f3a93" stroke="#fff" stroke-width="2"/>' +
      '<text x="17" y="21" font-family="system-ui,sans-serif" font-size="11" font-weight="700" fill="#fff" text-anchor="middle">' + d.mark + '</text></svg>';
    var m = L.marker([d.lat, d.lng], {zIndexOffset: 2000,
      icon: L.divIcon({className: 'territory-dealer', html: svg, iconSize: [34, 44], iconAnchor: [17, 43]})});
    m.bindTooltip(d.name, {direction: 'top', offset: [0, -40]});
    return m;
  };

  /** A legend box in a corner of the map. */
  T.legend = function (map, d) {
    var c = L.control({position: d.position || 'bottomright'});
    c.onAdd = function () {
      var div = L.DomUtil.create('div', 'territory-legend'), h = '<b>' + d.title + '</b>';
      for (var i = 0; i < d.items.length; i++) {
        var it = d.items[i], cls = it.symbol ? ' class="' + it.symbol + '"' : '';
        h += '<div><i' + cls + ' style="background:' + it.colour +
          (it.symbol === 'line' ? ';border-top-color:' + it.colour : '') + '"></i>' + it.text + '</div>';
      }
      if (d.note) { h += '<small>' + d.note + '</small>'; }
      div.innerHTML = h;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    c.addTo(map);
    (map._territoryLegends || (map._territoryLegends = [])).push(c);
    return c;
  };

  // ------------------------------------------------------------------ layout: nothing hidden

  function boxOf(el, origin) {
    var r = el.getBoundingClientRect();
    return {left: r.left - origin.left, top: r.top - origin.top, right: r.right - origin.left, bottom: r.bottom - origin.top};
  }

  function boxes(container, selector, origin) {
    var out = [], els = container.querySelectorAll(selector);
    for (var i = 0; i < els.length; i++) {
      var b = boxOf(els[i], origin);
      if (b.right > b.left && b.bottom > b.top) { out.push(b); }
    }
    return out;
  }

  var CORNERS = ['bottomright', 'bottomleft', 'topleft', 'topright'];

  /**
   * Put a control in a corner, unless it is there: Leaflet's setPosition takes the control out
   * of the page and puts it back even then, and the next box read lays the whole map out again.
   */
  function moveControl(control, corner) {
    if (control.getPosition() !== corner) { control.setPosition(corner); }
  }

  /**
   * Move each legend to a corner where it hides no site, no dealer pin and no fixed label
   * (its own corner first); then place the labels (see T.kinds.labels). Run once the map is
   * drawn; the labels again after every move or zoom.
   */
  T.layout = function (map) {
    var container = map.getContainer(), origin = container.getBoundingClientRect();
    if (container.clientWidth < 50 || container.clientHeight < 50) { return; } // hidden: later
    var important = boxes(container, '.territory-site, .territory-dealer svg', origin);
    map.eachLayer(function (layer) {
      (layer.labels || []).forEach(function (l) {
        var el = l.fixed && l.marker.getElement() && l.marker.getElement().firstChild;
        if (el) { important.push(boxOf(el, origin)); }
      });
    });
    (map._territoryLegends || []).forEach(function (legend) {
      var home = legend.getPosition(), costs = [];
      var order = [home].concat(CORNERS.filter(function (c) { return c !== home; }));
      for (var k = 0; k < order.length; k++) {
        moveControl(legend, order[k]);
        var b = boxOf(legend.getContainer(), origin), cost = 0;
        important.forEach(function (o) { cost += T.overlapArea(b, o); });
        if (cost === 0) { return; }
        costs.push(cost);
      }
      moveControl(legend, order[costs.indexOf(Math.min.apply(null, costs))]);
    });
    T.placeLabels(map);
  };

  /** Put every label where it is on the map and hides / is hidden by nothing (see above). */
  T.placeLabels = function (map) {
    var container = map.getContainer(), origin = container.getBoundingClientRect();
    if (container.clientWidth < 50 || container.clientHeight < 50) { return; } // hidden: later
    if (!stylesLoaded(map)) { return; } // boxes mean nothing yet: the page's load event lays out
    var bounds = {left: 0, top: 0, right: container.clientWidth, bottom: container.clientHeight};
    var inner = {left: 2, top: 2, right: bounds.right - 2, bottom: bounds.bottom - 2};
    // Controls and pins are never covered; labels avoid each other when they can.
    var hard = boxes(container, '.leaflet-control, .territory-site, .territory-dealer svg', origin);
    // Every label back at its own place, then every box read, then every label moved: box reads
    // between moves would lay the page out once per label (labels never move one another).
    var labels = [];
    map.eachLayer(function (layer) {
      (layer.labels || []).forEach(function (l) {
        var el = l.marker.getElement() && l.marker.getElement().firstChild;
        if (!el) { return; }
        if (!l.marker.getLatLng().equals(l.places[0])) { l.marker.setLatLng(l.places[0]); }
        labels.push({l: l, el: el});
      });
    });
    labels.forEach(function (item) { item.here = boxOf(item.el, origin); });
    var placed = [];
    labels.forEach(function (item) {
      var l = item.l, here = item.here, base = map.latLngToContainerPoint(l.places[0]);
      var candidates = l.places.map(function (p) {
        var q = map.latLngToContainerPoint(p);
        return T.shift(here, q.x - base.x, q.y - base.y);
      });
      var all = hard.concat(placed);
      var i = T.choose(candidates, all, bounds, 2), chosen = candidates[i];
      var place = map.latLngToContainerPoint(l.places[i]);
      if (!T.inside(chosen, inner, 0)) {
        // Pull it onto the map first.
        var pull = {dx: Math.max(0, inner.left - chosen.left) + Math.min(0, inner.right - chosen.right),
          dy: Math.max(0, inner.top - chosen.top) + Math.min(0, inner.bottom - chosen.bottom)};
        chosen = T.shift(chosen, pull.dx, pull.dy);
        place = {x: place.x + pull.dx, y: place.y + pull.dy};
      }
      var mv = T.clearance(chosen, all, inner);
      if (!mv.dx && !mv.dy && hard.some(function (o) { return T.overlapArea(chosen, o) > 0; })) {
        mv = T.clearance(chosen, hard, inner);
      }
      l.marker.setLatLng(map.containerPointToLatLng([place.x + mv.dx, place.y + mv.dy]));
      placed.push(T.shift(chosen, mv.dx, mv.dy));
    });
  };

  /**
   * Pan the map so an open popup is on the map and clear of the legends and controls (the
   * runtime's popups have Leaflet's own auto-pan off: it knows nothing of the legends).
   */
  T.clearPopup = function (map, popup) {
    var container = map.getContainer(), el = popup.getElement();
    if (!el) { return; }
    for (var round = 0; round < 3; round++) {
      var origin = container.getBoundingClientRect(), b = boxOf(el, origin), m = 8;
      var bounds = {left: 0, top: 0, right: container.clientWidth, bottom: container.clientHeight};
      var into = {dx: Math.max(0, m - b.left) + Math.min(0, bounds.right - m - b.right),
        dy: Math.max(0, m - b.top) + Math.min(0, bounds.bottom - m - b.bottom)};
      var mv = T.clearance(T.shift(b, into.dx, into.dy), boxes(container, '.leaflet-control', origin), bounds, m);
      mv = {dx: mv.dx + into.dx, dy: mv.dy + into.dy};
      if (!mv.dx && !mv.dy) { return; }
      map.panBy([-mv.dx, -mv.dy], {animate: false});
    }
  };
  /** Options of the runtime's popups. */
  T.popupOptions = function (maxWidth) { return {maxWidth: maxWidth, autoPan: false}; };

  /** While a tooltip overlaps a legend, the legend fades (it never hides the tooltip). */
  T.fadeUnder = function (map, tooltip) {
    var container = map.getContainer(), el = tooltip.getElement();
    if (!el) { return; }
    var origin = container.getBoundingClientRect(), b = boxOf(el, origin);
    (map._territoryLegends || []).forEach(function (legend) {
      var box = boxOf(legend.getContainer(), origin);
      L.DomUtil[T.overlapArea(b, box) > 0 ? 'addClass' : 'removeClass'](legend.getContainer(), 'territory-legend-faded');
    });
  };

  function unfade(map) {
    (map._territoryLegends || []).forEach(function (legend) {
      L.DomUtil.removeClass(legend.getContainer(), 'territory-legend-faded');
    });
  }

  /**
   * Both style sheets are in: the runtime's (a legend's rounded corner) and Leaflet's (its panes
   * are absolutely positioned). Before Leaflet's arrives, markers sit in the page's flow and every
   * box read for the layout is hundreds of pixels off.
   */
  function stylesLoaded(map) {
    if (map._territoryStyled) { return true; } // style sheets, once in, stay in
    if (window.getComputedStyle(map.getPane('markerPane')).position !== 'absolute') { return false; }
    var probe = document.createElement('div');
    probe.className = 'territory-legend';
    probe.style.position = 'absolute';
    probe.style.visibility = 'hidden';
    document.body.appendChild(probe);
    var ok = window.getComputedStyle(probe).borderTopLeftRadius === '6px';
    document.body.removeChild(probe);
    map._territoryStyled = ok;
    return ok;
  }

  /** A metric-only scale bar (no miles) in the bottom-left corner. */
  T.scale = function (map) {
    return L.control.scale({metric: true, imperial: false, position: 'bottomleft'}).addTo(map);
  };

  /** A one-line note at the top of the map (e.g. why there is no basemap). */
  T.notice = function (map, d) {
    var c = L.control({position: d.position || 'topright'});
    c.onAdd = function () {
      var div = L.DomUtil.create('div', 'territory-notice');
      div.innerHTML = d.text;
      return div;
    };
    c.addTo(map);
    return c;
  };

  /**
   * Leaflet focuses the map on every mouse press (for its arrow keys); inside an iframe that
   * is partly off screen the page then scrolls between press and release, and the click is
   * lost (a site marker would not open its plan). Focus without scrolling instead.
   */
  T.focusWithoutScroll = function (map) {
    var keyboard = map.keyboard;
    if (!keyboard || !keyboard._onMouseDown) { return; }
    var on = keyboard.enabled();
    if (on) { keyboard.disable(); }
    keyboard._onMouseDown = function () {
      if (this._focused) { return; }
      this._map.getContainer().focus({preventScroll: true});
    };
    if (on) { keyboard.enable(); }
  };

  /**
   * Lay the map out (T.layout) once its style sheet is in, then mark it drawn
   * (window.territoryMapReady, data-territory-ready) two frames on.
   */
  T.ready = function (map, background) {
    if (background) { map.getContainer().style.background = background; }
    T.focusWithoutScroll(map);
    map.on('popupopen', function (e) { T.clearPopup(map, e.popup); });
    map.on('tooltipopen', function (e) { T.fadeUnder(map, e.tooltip); });
    map.on('tooltipclose', function () { unfade(map); });
    map.on('zoomend moveend', function () { T.placeLabels(map); });
    // Lay out again whenever Leaflet sees the map's box change size (the app sizes its frame
    // after the first paint).
    var pending = false, again = function () {
      if (pending) { return; }
      pending = true;
      requestAnimationFrame(function () { pending = false; safeLayout(map); });
    };
    map.on('resize', again);
    // And once every style sheet and font of the page is in (a slow sheet outlives the wait below).
    if (document.readyState !== 'complete') { window.addEventListener('load', again); }
    var tries = 0;
    (function start() {
      if (!stylesLoaded(map) && tries++ < 200) { setTimeout(start, 30); return; }
      requestAnimationFrame(function () {
        safeLayout(map);
        requestAnimationFrame(function () {
          window.territoryMapReady = true;
          document.documentElement.setAttribute('data-territory-ready', '1');
        });
      });
    }());
  };

  function safeLayout(map) {
    try {
      T.layout(map);
    } catch (e) {
      if (window.console) { window.console.error('territory layout:', e); }
    }
  }

  return T;
}));
