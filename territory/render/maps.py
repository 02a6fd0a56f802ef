"""Folium maps of a workspace: one map to read the environment (seed 000, step 1).

Builders take frames the package has already computed (``analysis.zones``,
``influence.influence_rings``, ``analysis.areas``, ``recommend(...).sites``,
``coverage.choropleth_frames``) and return a :class:`folium.Map`; they
compute nothing about the business. Every map

* links only Leaflet (and leaflet.heat for heat maps): folium's jQuery,
  Bootstrap and icon fonts are dropped, so pass the map through
  :func:`territory.render.assets.localise` (app) or :func:`territory.render.assets.standalone_html`
  (export) and nothing is loaded from a CDN;
* carries its data in compact form: zone outlines simplified in a projected
  CRS (tolerance from ``settings.maps``), coordinates rounded and encoded as
  Google polylines, properties as columns; existing customers only as H3
  hexagon counts (:func:`hex_counts`), cards as one bubble per zone;
* embeds only whitelisted columns, every text passed through
  :func:`safe_text` (HTML-escaped, ``=``, ``$``, backticks and braces as
  entities, phone numbers masked), so a zone called
  ``<img src=x onerror=alert(1)>`` shows as text;
* draws on the tiles chosen with :func:`base_map`: OpenStreetMap, AMap
  (every layer shifted to GCJ-02 with :func:`territory.inputs.coords.from_wgs84`,
  so it lines up with AMap's streets) or none (offline).

Examples
--------
>>> from territory.inputs.demo import demo_path
>>> from territory.inputs.workspace import load_workspace
>>> from territory.analysis.zones import analyse
>>> ws = load_workspace(demo_path(), use_store=False)
>>> m = environment_map(ws, analyse(ws), colour_by="r_value", tiles="none")
>>> html = m.get_root().render()
>>> "territory.polygons" in html, "cdn.jsdelivr.net/npm/bootstrap" in html
(True, False)
"""

from __future__ import annotations

import html as _html
import json
import math
import re
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.elements import ElementAddToElement
from folium.map import Layer
from folium.template import Template

from territory.i18n import check_lang, t
from territory.inputs import coords
from territory.privacy import PHONE_PATTERN, mask_phone
from territory.settings import MapSettings, Settings
from territory.vocab import FORMATS, FORMATS_BY_ZONE_TYPE, POI_TYPES, ZONE_TYPES, label

__all__ = [
    "COLOUR_BY",
    "CUSTOMER_STYLES",
    "TILES",
    "ZONE_COLOURS",
    "add_areas",
    "add_cards",
    "add_customers",
    "add_dealer",
    "add_pois",
    "add_sites",
    "add_zones",
    "base_map",
    "choropleth_map",
    "encode_polyline",
    "environment_map",
    "finish_map",
    "hex_counts",
    "safe_text",
    "sites_map",
    "stable_ids",
    "whitespace_map",
]

#: Tile choices: code -> (URL template or None, attribution, subdomains, coordinate system).
TILES: dict[str, tuple[str | None, str, str | None, str]] = {
    "none": (None, "", None, "wgs84"),
    "osm": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
        None,
        "wgs84",
    ),
    "amap": (
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang={lang}&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "&copy; 高德地图 AutoNavi",
        "1234",
        "gcj02",
    ),
}

#: What zones can be coloured by.
COLOUR_BY: tuple[str, ...] = (
    "zone_type",
    "density_tier",
    "income_tier",
    "r_value",
    "whitespace_score",
)

#: How existing customers can be drawn (always aggregated).
CUSTOMER_STYLES: tuple[str, ...] = ("hexagons", "heat", "off")

#: Fill colour of each zone type.
ZONE_COLOURS: dict[str, str] = {
    "residential": "#4e79a7",
    "commercial": "#f28e2b",
    "enterprise": "#76b7b2",
    "township": "#59a14f",
    "market": "#edc948",
    "driving_school": "#b07aa1",
    "other": "#bab0ac",
}
_NO_DATA = "#d9d9d9"
_SEQUENTIAL = {
    2: ["#fdd49e", "#d7301f"],
    3: ["#fdd49e", "#fc8d59", "#b30000"],
    4: ["#fdd49e", "#fdbb84", "#e34a33", "#b30000"],
    5: ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"],
    6: ["#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"],
    7: ["#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"],
}
_INCOME = {
    k: v
    for k, v in zip(
        range(2, 8),
        (
            ["#c7e9c0", "#238b45"],
            ["#c7e9c0", "#74c476", "#00682b"],
            ["#edf8e9", "#bae4b3", "#74c476", "#238b45"],
            ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"],
            ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#31a354", "#006d2c"],
            ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#005a32"],
        ),
        strict=True,
    )
}
#: R value: too cheap for the income (blue) ... at target (green) ... too dear (red).
_R_COLOURS = ["#2c7bb6", "#abd9e9", "#1a9641", "#fdae61", "#d7191c"]
_WHITESPACE_COLOURS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"]
#: Existing customers: one dark hue, denser hexagons more opaque, so zone colours show through.
_HEX_COLOUR = "#1b1f3b"
_HEX_OPACITY = [0.08, 0.18, 0.3, 0.44, 0.6]
_HEX_COLOURS = ["#e4e5eb", "#bbbdc9", "#8d90a5", "#5c5f7b", "#2c2f4d"]
_POI_COLOURS = {
    "driving_school": "#b07aa1",
    "market": "#c9a800",
    "enterprise": "#3a8c86",
    "commercial": "#e15759",
    "residential": "#4e79a7",
    "street_spot": "#f28e2b",
}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_STABLE_ID = re.compile(r"^t[a-z]+$")
_ENTITIES = str.maketrans(
    {"=": "&#61;", "$": "&#36;", "`": "&#96;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"}
)


# --------------------------------------------------------------------------- text and encoding


def safe_text(value: object) -> str:
    """Text as it may appear in a popup, tooltip or legend: escaped, no phone numbers.

    HTML special characters become entities, and so do ``=``, ``$``,
    backticks, backslashes and braces (so data can never close a tag, start
    an attribute, or be read as a JavaScript template); mainland mobile
    numbers are masked (``138****1234``). None and NA become ``""``.

    Examples
    --------
    >>> safe_text("<img src=x onerror=alert(1)>")
    '&lt;img src&#61;x onerror&#61;alert(1)&gt;'
    >>> safe_text("王府井 13812341234"), safe_text(None)
    ('王府井 138****1234', '')
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = PHONE_PATTERN.sub(lambda match: str(mask_phone(match.group(0))), str(value))
    return _html.escape(text, quote=True).translate(_ENTITIES)


#: ``{`` before ``{``, ``%`` or ``#``: branca compiles rendered scripts as Jinja templates again.
_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def _js(payload: Any) -> str:
    """JSON for a ``<script>``: no NaN; ``<``, ``>``, line separators and Jinja openers escaped.

    Structural JSON never puts ``{`` before ``{``, ``%`` or ``#``, so the
    Jinja escape only ever touches string contents (polylines), where
    ``\\u007b`` decodes back to ``{``.
    """
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = _JINJA_OPEN.sub(r"\\u007b", text)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def encode_polyline(lat: np.ndarray, lon: np.ndarray, *, precision: int = 5) -> str:
    """Encode points with Google's polyline algorithm (deltas of rounded coordinates).

    The characters are ASCII 63–126, so an encoded line never holds ``<``,
    ``=`` or ``$``. Decoded by the map's script.

    Examples
    --------
    >>> encode_polyline(np.array([38.5, 40.7, 43.252]), np.array([-120.2, -120.95, -126.453]))
    '_p~iF~ps|U_ulLnnqC_mqNvxq`@'
    """
    factor = 10**precision
    ints = np.empty(2 * len(lat), dtype=np.int64)
    ints[0::2] = np.round(np.asarray(lat, dtype="float64") * factor)
    ints[1::2] = np.round(np.asarray(lon, dtype="float64") * factor)
    deltas = np.diff(ints.reshape(-1, 2), axis=0, prepend=[[0, 0]]).ravel()
    zigzag = np.where(deltas < 0, ~(deltas << 1), deltas << 1).tolist()
    out: list[str] = []
    append = out.append
    for value in zigzag:
        while value >= 0x20:
            append(chr((0x20 | (value & 0x1F)) + 63))
            value >>= 5
        append(chr(value + 63))
    return "".join(out)


def _quantised_ring(xy: np.ndarray, factor: int) -> np.ndarray | None:
    """Ring vertices rounded to the display grid, consecutive duplicates and closure dropped."""
    q = np.round(xy * factor).astype(np.int64)
    keep = np.ones(len(q), dtype=bool)
    keep[1:] = np.any(q[1:] != q[:-1], axis=1)
    q = q[keep]
    if len(q) > 1 and np.array_equal(q[0], q[-1]):
        q = q[:-1]
    return q if len(q) >= 3 else None


def _encode_ring(q: np.ndarray, precision: int) -> str:
    factor = 10**precision
    return encode_polyline(q[:, 1] / factor, q[:, 0] / factor, precision=precision)


def _tolerance_m(lat: float, ms: MapSettings) -> float:
    metres_per_px = 156_543.03392 * math.cos(math.radians(lat)) / 2**ms.detail_zoom
    return ms.simplify_px * metres_per_px


# --------------------------------------------------------------------------- map and runtime

_RUNTIME_JS = r"""
(function () {
  if (window.territory && window.territory.version === 2) { return; }
  var T = window.territory = {version: 2, layers: []};
  var css = [
    '.territory-legend{background:rgba(255,255,255,.94);padding:8px 10px;border-radius:6px;',
    'box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#222;max-width:230px}',
    '.territory-legend b{display:block;margin-bottom:4px;font-size:12.5px}',
    '.territory-legend i{display:inline-block;width:14px;height:12px;margin-right:6px;vertical-align:-1px;border:1px solid rgba(0,0,0,.25)}',
    '.territory-legend i.line{height:0;border:0;border-top:2px dashed #333;vertical-align:3px}',
    '.territory-legend i.dot{border-radius:50%;width:11px;height:11px}',
    '.territory-legend small{color:#666}',
    '.territory-card{font:12.5px/1.45 system-ui,-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;min-width:210px}',
    '.territory-card-title{font-weight:600;font-size:14px;margin-bottom:4px}',
    '.territory-card table{border-collapse:collapse;width:100%}',
    '.territory-card th{font-weight:normal;color:#666;text-align:left;padding:1px 10px 1px 0;white-space:nowrap;vertical-align:top}',
    '.territory-card td{text-align:right;padding:1px 0}',
    '.territory-site{background:#c0392b;color:#fff;border:2px solid #fff;border-radius:50%;',
    'box-shadow:0 1px 4px rgba(0,0,0,.45);font:bold 13px/24px system-ui,sans-serif;text-align:center}',
    '.territory-label{background:rgba(255,255,255,.85);border-radius:3px;padding:0 4px;',
    'font:bold 11px/16px system-ui,"PingFang SC","Microsoft YaHei",sans-serif;color:#333;white-space:nowrap;',
    'transform:translate(-50%,-50%);display:inline-block;pointer-events:none}',
    '.territory-dealer svg{filter:drop-shadow(0 1px 2px rgba(0,0,0,.5))}'
  ].join('');
  var style = document.createElement('style');
  style.textContent = css;
  document.head.appendChild(style);

  T.decode = function (s, p) {
    var pts = [], i = 0, lat = 0, lng = 0, n = s.length, f = Math.pow(10, -(p || 5));
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
  T.fmt = function (v, c) {
    if (v === null || v === undefined || v === '') { return '—'; }
    if (c[2] === 'num') {
      return Number(v).toLocaleString('en-US', {minimumFractionDigits: c[3], maximumFractionDigits: c[3]}) + (c[4] || '');
    }
    if (c[2] === 'pct') { return (100 * Number(v)).toFixed(c[3]) + '%'; }
    return String(v) + (c[4] || '');
  };
  T.card = function (d, i) {
    var h = '<div class="territory-card"><div class="territory-card-title">' + d.p[d.title][i] + '</div><table>';
    for (var j = 0; j < d.cols.length; j++) {
      var c = d.cols[j], v = d.p[c[1]][i];
      if (c[2] === 'lut') { v = d.lut[c[1]][v]; }
      h += '<tr><th>' + c[0] + '</th><td>' + T.fmt(v, c) + '</td></tr>';
    }
    return h + '</table></div>';
  };
  // One tooltip, one popup and one hover handler per layer group, not per shape:
  // thousands of zones stay cheap to create. Each shape carries its row in _i.
  T.interact = function (group, d, hover) {
    if (d.tip) {
      group.bindTooltip(function (layer) { return d.p[d.tip][layer._i]; }, {sticky: true});
    } else if (d.cols && !d.click) {
      group.bindTooltip(function (layer) { return T.card(d, layer._i); });
    }
    if (d.cols && d.click) {
      group.bindPopup(function (layer) { return T.card(d, layer._i); }, {maxWidth: 360});
    }
    if (hover) {
      group.on('mouseover', function (e) { e.layer.setStyle({weight: hover + 1.5}); });
      group.on('mouseout', function (e) { e.layer.setStyle({weight: hover}); });
    }
  };
  T.polygons = function (d) {
    var group = L.featureGroup(), s = d.style, interactive = s.interactive !== false;
    for (var i = 0; i < d.g.length; i++) {
      var shape = d.g[i].map(function (poly) { return poly.map(function (r) { return T.decode(r, d.q); }); });
      var cls = d.k ? d.k[i] : 0, fill = d.pal[cls];
      var layer = L.polygon(shape, {color: s.color || fill, weight: s.weight, opacity: s.opacity,
        fillColor: fill, fillOpacity: s.fills ? s.fills[cls] : s.fill, dashArray: s.dash || null,
        interactive: interactive});
      layer._i = i;
      group.addLayer(layer);
    }
    if (interactive) { T.interact(group, d, s.weight); }
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
  var R = 6378137, K = 0.5 / (Math.PI * R), D = Math.PI / 180, LAT = 85.0511287798;
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
  T.unproject = function (x, y) {
    return [(2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) / D, x / R / D];
  };
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
  // Shapes per fill/stroke call: a few cut the canvas calls, while paths stay small for the
  // rasteriser (measured: one path with every shape rasterises twice as slowly).
  T.batch = 10;
  T.Shapes = L.Path.extend({
    initialize: function (d, dots) {
      L.setOptions(this, {interactive: d.style.interactive !== false, bubblingMouseEvents: true});
      this.d = d; this.dots = !!dots; this._hit = -1; this._shown = -1; this._grid = null;
      var f = Math.pow(10, -(d.q || 5)), X, Y, box, i, n, v;
      var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      if (dots) {
        X = new Float64Array(d.xy.length >> 1); Y = new Float64Array(d.xy.length >> 1);
        n = T.decodeInto(d.xy, f, X, Y, 0);
        box = new Float64Array(4 * n);
        for (i = 0; i < n; i++) { box[4 * i] = box[4 * i + 2] = X[i]; box[4 * i + 1] = box[4 * i + 3] = Y[i]; }
      } else {
        n = d.g.length;
        var chars = 0, rings = 0, g = d.g, p, r;
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
      for (i = 0; i < n; i++) { var c = d.k ? d.k[i] : 0; (classes[c] || (classes[c] = [])).push(i); }
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
        ctx.fillStyle = d.pal[c]; ctx.strokeStyle = s.color || d.pal[c];
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
            var rad = d.r ? d.r[i] : s.radius;
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
        var rad = (d.r ? d.r[i] : d.style.radius) + 2;
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
    openFeature: function (i) {
      var b = 4 * i, c = T.unproject((this._box[b] + this._box[b + 2]) / 2, (this._box[b + 1] + this._box[b + 3]) / 2);
      this._hit = i;
      if (this.getPopup()) { this.openPopup(c); }
      if (this.getTooltip()) { this.openTooltip(c); }
    }
  });
  T.shapes = function (d, dots) {
    var layer = new T.Shapes(d, dots);
    if (layer.options.interactive) {
      var text = function (i) { return d.cols && !d.click ? T.card(d, i) : d.p[d.tip][i]; };
      if (d.tip || (d.cols && !d.click)) {
        layer.bindTooltip(function (l) { return text(l._hit); }, {sticky: true});
      }
      if (d.cols && d.click) {
        layer.bindPopup(function (l) { return T.card(d, l._hit); }, {maxWidth: 360});
      }
      layer.on('mouseover mousemove', function () {
        if (layer._hit !== layer._shown && layer._hit >= 0) {
          layer._shown = layer._hit;
          if (layer.getTooltip()) { layer.setTooltipContent(text(layer._hit)); }
          layer._highlight();
        }
      });
      layer.on('mouseout', function () { layer._shown = -1; layer._highlight(); });
      layer.on('remove', function () { layer._shown = -1; layer._highlight(); });
    }
    T.layers.push(layer);
    return layer;
  };
  T.dots = function (d) { return T.shapes(d, true); };
  T.labels = function (d) {
    var group = L.layerGroup(), pts = T.decode(d.xy, d.q);
    for (var i = 0; i < pts.length; i++) {
      group.addLayer(L.marker(pts[i], {interactive: false, keyboard: false,
        icon: L.divIcon({className: '', html: '<span class="territory-label">' + d.text[i] + '</span>', iconSize: null})}));
    }
    return group;
  };
  T.sites = function (d) {
    var group = L.featureGroup(), pts = T.decode(d.xy, d.q);
    for (var i = 0; i < pts.length; i++) {
      var m = L.marker(pts[i], {zIndexOffset: 1000, riseOnHover: true,
        icon: L.divIcon({className: 'territory-site', html: String(d.p.rank[i]), iconSize: [28, 28], iconAnchor: [14, 14]})});
      m.bindTooltip(d.p[d.tip][i], {direction: 'top', offset: [0, -12]});
      m.bindPopup(T.card.bind(null, d, i), {maxWidth: 380});
      group.addLayer(m);
    }
    return group;
  };
  T.dealer = function (d) {
    var svg = '<svg xmlns="http://www.w3.org/2000/svg" width="34" height="44" viewBox="0 0 34 44">' +
      '<path d="M17 43C17 43 32 26.5 32 16A15 15 0 0 0 2 16C2 26.5 17 43 17 43Z" fill="#1f3a93" stroke="#fff" stroke-width="2"/>' +
      '<text x="17" y="21" font-family="system-ui,sans-serif" font-size="11" font-weight="700" fill="#fff" text-anchor="middle">' + d.mark + '</text></svg>';
    var m = L.marker([d.lat, d.lng], {zIndexOffset: 2000,
      icon: L.divIcon({className: 'territory-dealer', html: svg, iconSize: [34, 44], iconAnchor: [17, 43]})});
    m.bindTooltip(d.name, {direction: 'top', offset: [0, -40]});
    return m;
  };
  T.legend = function (map, d) {
    var c = L.control({position: d.pos || 'bottomright'});
    c.onAdd = function () {
      var div = L.DomUtil.create('div', 'territory-legend'), h = '<b>' + d.title + '</b>';
      for (var i = 0; i < d.items.length; i++) {
        var it = d.items[i], cls = it[2] ? ' class="' + it[2] + '"' : '';
        h += '<div><i' + cls + ' style="background:' + it[0] + (it[2] === 'line' ? ';border-top-color:' + it[0] : '') + '"></i>' + it[1] + '</div>';
      }
      if (d.note) { h += '<small>' + d.note + '</small>'; }
      div.innerHTML = h;
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    c.addTo(map);
    return c;
  };
  T.ready = function (map, background) {
    if (background) { map.getContainer().style.background = background; }
    requestAnimationFrame(function () { requestAnimationFrame(function () {
      window.territoryMapReady = true;
      document.documentElement.setAttribute('data-territory-ready', '1');
    }); });
  };
})();
"""


class _Runtime(MacroElement):
    """The map's small script library (decoding, cards, legends); added first."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self) -> None:
        super().__init__()
        self._name = "TerritoryRuntime"
        self.code = _RUNTIME_JS


class _Raw(Element):
    """Script text added to the figure as it is: branca would compile it as a Jinja template."""

    def __init__(self, text: str) -> None:
        super().__init__("")
        self.text = text

    def render(self, **kwargs) -> str:
        """Return the text."""
        return self.text


class _DataLayer(Layer):
    """A layer the browser builds from a compact payload with ``territory.<kind>``."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = territory.{{ this.kind }}({{ this.payload }});"
        "{% endmacro %}"
    )

    def __init__(
        self, kind: str, payload: dict, *, name: str, show: bool = True, control: bool = True
    ) -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "TerritoryLayer"
        self.kind = kind
        # JSON.parse of a string literal is parsed faster than the same object literal.
        text = _js(payload).replace("\\", "\\\\").replace("'", "\\'")
        self.payload = f"JSON.parse('{text}')"

    def render(self, **kwargs) -> None:
        """Add the layer's script to the figure without compiling it (it can be megabytes)."""
        if self.show:
            # One "add to map" element for good (folium makes a new one, with a new name, on
            # every render, so a map rendered twice would add the layer twice).
            adder = getattr(self, "_adder", None)
            if adder is None:
                adder = self._adder = ElementAddToElement(
                    element_name=self.get_name(), element_parent_name=self._parent.get_name()
                )
            adder._id = f"{self._id}add"  # named after the layer: the same on every render
            adder.element_name = self.get_name()
            adder.element_parent_name = self._parent.get_name()
            self.add_child(adder, name="territory_add")
        figure = self.get_root()
        figure.script.add_child(
            _Raw(self._template.module.script(self, kwargs)), name=self.get_name()
        )
        for child in self._children.values():
            child.render(**kwargs)


class _Legend(MacroElement):
    _template = Template(
        "{% macro script(this, kwargs) %}"
        "territory.legend({{ this._parent.get_name() }}, {{ this.payload }});"
        "{% endmacro %}"
    )

    def __init__(self, payload: dict) -> None:
        super().__init__()
        self._name = "TerritoryLegend"
        self.payload = _js(payload)


class _Fit(MacroElement):
    """Fit the map to bounds at once (folium's FitBounds animates a pan, which redraws everything)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojson }}, {animate: false});"
        "{% endmacro %}"
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "TerritoryFit"
        self.bounds = bounds


class _Ready(MacroElement):
    _template = Template(
        "{% macro script(this, kwargs) %}"
        "territory.ready({{ this._parent.get_name() }}, {{ this.background|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, background: str | None) -> None:
        super().__init__()
        self._name = "TerritoryReady"
        self.background = background


def _display(m: folium.Map) -> str:
    return getattr(m, "territory_coord_sys", "wgs84")


def _to_display(m: folium.Map, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if _display(m) == "wgs84" or not len(np.atleast_1d(lon)):
        return lon, lat
    x, y = coords.from_wgs84(lon, lat, _display(m))
    return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")


def _ms(m: folium.Map) -> MapSettings:
    return getattr(m, "territory_settings", MapSettings())


def base_map(
    *,
    lon: float,
    lat: float,
    radius_km: float | None = None,
    tiles: str = "none",
    lang: str = "zh",
    zoom: int = 11,
    settings: Settings | None = None,
) -> folium.Map:
    """An empty map centred on the dealer, linking only Leaflet.

    Parameters
    ----------
    lon, lat : float
        Centre (WGS-84), usually the dealer.
    radius_km : float, optional
        When given, the map opens fitted to a circle of this radius.
    tiles : {"none", "osm", "amap"}
        Background tiles; ``"amap"`` switches every layer added with this
        module's ``add_*`` functions to GCJ-02.
    lang : {"zh", "en"}
        Language of AMap's labels.
    settings : Settings, optional
        ``settings.maps`` (detail, hexagons, bands).

    Raises
    ------
    ValueError
        If ``tiles`` is not one of :data:`TILES`.
    """
    if tiles not in TILES:
        raise ValueError(f"unknown tiles {tiles!r}; use one of {', '.join(TILES)}")
    url, attribution, subdomains, system = TILES[tiles]
    m = folium.Map(
        location=[round(float(lat), 6), round(float(lon), 6)],
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
        maxZoom=18,
        zoomSnap=0.5,
    )
    # Only Leaflet: the maps use no jQuery, Bootstrap or icon fonts.
    m.default_js = [(n, u) for n, u in m.default_js if n == "leaflet"]
    m.default_css = [(n, u) for n, u in m.default_css if n == "leaflet_css"]
    m.territory_coord_sys = system
    m.territory_settings = (settings or Settings()).maps
    m.territory_tiles = tiles
    m.add_child(_Runtime(), name="territory_runtime")
    if url is not None:
        folium.TileLayer(
            tiles=url.replace("{lang}", "zh_cn" if check_lang(lang) == "zh" else "en"),
            attr=attribution,
            name=t(f"maps.tiles.{tiles}", lang),
            max_zoom=18,
            subdomains=subdomains or "abc",
            control=False,
        ).add_to(m)
    if radius_km:
        x, y = _to_display(m, [lon], [lat])
        dlat = radius_km / 110.574
        dlon = radius_km / (111.320 * math.cos(math.radians(lat)))
        m.add_child(
            _Fit(
                [
                    [round(float(y[0] - dlat), 6), round(float(x[0] - dlon), 6)],
                    [round(float(y[0] + dlat), 6), round(float(x[0] + dlon), 6)],
                ]
            ),
            name="territory_fit",
        )
    return m


def finish_map(m: folium.Map, *, layer_control: bool = True) -> folium.Map:
    """Add the layer switcher and the ready flag (``window.territoryMapReady``); return ``m``.

    Also gives every element a letters-only id (:func:`stable_ids`).
    """
    if layer_control:
        folium.LayerControl(collapsed=True, position="topright").add_to(m)
    background = "#f3f4f6" if getattr(m, "territory_tiles", "none") == "none" else None
    m.add_child(_Ready(background), name="territory_ready")
    return stable_ids(m)


def _letters(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(97 + r) + out
    return out


def stable_ids(m: folium.Map) -> folium.Map:
    """Replace folium's random hexadecimal element ids with short letters-only ids.

    Random ids such as ``ccdf3e125e4cc779a4143953609275e6`` can hold a run of
    digits that looks like a mobile number (``14395360927``) and differ on
    every render; letters-only ids cannot and do not. Idempotent: elements
    that already have such an id keep it (a map rendered before keeps its
    variable names, so rendering it again replaces its scripts instead of
    adding a second, differently named copy). Returns ``m``.
    """
    elements = []
    stack = [m.get_root(), m]
    seen: set[int] = set()
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        elements.append(element)
        stack.extend(getattr(element, "_children", {}).values())
    used = {e._id for e in elements if _STABLE_ID.match(str(e._id))}
    n = 0
    for element in elements:
        if _STABLE_ID.match(str(element._id)):
            continue
        while "t" + _letters(n) in used:
            n += 1
        element._id = "t" + _letters(n)
        used.add(element._id)
    return m


def _legend(
    m: folium.Map,
    title: str,
    items: list[tuple[str, str, str]],
    *,
    pos: str,
    note: str | None = None,
) -> None:
    for colour, _, _ in items:
        if not _COLOUR.match(colour):  # pragma: no cover - palette guard
            raise ValueError(f"not a colour: {colour!r}")
    m.add_child(
        _Legend(
            {
                "title": safe_text(title),
                "items": [[c, safe_text(text), kind] for c, text, kind in items],
                "pos": pos,
                "note": safe_text(note) if note else None,
            }
        )
    )


# --------------------------------------------------------------------------- geometry


def _encode_geoms(m: folium.Map, geoms: gpd.GeoSeries, *, simplify: bool = True) -> list:
    """Polygons as ``[[ring, hole, ...], ...]`` polylines (simplified, shifted, rounded)."""
    ms = _ms(m)
    geoms = geoms.to_crs("EPSG:4326") if geoms.crs is not None else geoms
    values = geoms.values
    if simplify and len(values):
        centre = shapely.centroid(shapely.envelope(shapely.union_all(shapely.envelope(values))))
        crs = coords.local_crs(centre.x, centre.y)
        projected = gpd.GeoSeries(values, crs="EPSG:4326").to_crs(crs)
        tol = _tolerance_m(centre.y, ms)
        simple = shapely.simplify(projected.values, tol, preserve_topology=True)
        values = gpd.GeoSeries(simple, crs=crs).to_crs("EPSG:4326").values
    if _display(m) != "wgs84":
        system = _display(m)

        def shift(xy: np.ndarray) -> np.ndarray:
            x, y = coords.from_wgs84(xy[:, 0], xy[:, 1], system)
            return np.column_stack([x, y])

        values = shapely.transform(values, shift)
    factor = 10**ms.precision
    out = []
    for geom in values:
        polygons = []
        if geom is not None and not geom.is_empty:
            for part in shapely.get_parts(geom):
                if part.geom_type != "Polygon":
                    continue
                rings = []
                for k, ring in enumerate([part.exterior, *part.interiors]):
                    q = _quantised_ring(np.asarray(ring.coords)[:, :2], factor)
                    if q is None:
                        if k == 0:
                            break
                        continue
                    rings.append(_encode_ring(q, ms.precision))
                if rings:
                    polygons.append(rings)
        out.append(polygons)
    return out


def _encode_points(m: folium.Map, lon: Any, lat: Any) -> str:
    x, y = _to_display(m, lon, lat)
    return encode_polyline(y, x, precision=_ms(m).precision)


def _column(values: Sequence | pd.Series, *, digits: int | None = None) -> list:
    """Numbers rounded (None for NA) or texts made safe."""
    series = pd.Series(values)
    if digits is None:
        return [safe_text(v) for v in series]
    numeric = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    if digits == 0:
        return [None if not np.isfinite(v) else round(v) for v in numeric]
    return [None if not np.isfinite(v) else round(float(v), digits) for v in numeric]


def _nice(value: float) -> float:
    """Round to 1, 2, 3 or 5 times a power of ten."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return min((m * power for m in (1, 2, 3, 5, 10)), key=lambda c: abs(math.log(c / value)))


def _count_classes(values: np.ndarray, n: int = 5) -> tuple[np.ndarray, list[float]]:
    """Class (0..n-1) of each count on a log scale between 1 and the largest count.

    Counts are heavy-tailed (a few cells hold hundreds), so equal steps in
    log space (rounded to 1-2-3-5 numbers) separate the empty edges, the
    suburbs and the dense core.
    """
    finite = values[np.isfinite(values)]
    if not len(finite) or finite.max() <= 1:
        return np.zeros(len(values), dtype=int), []
    top = float(finite.max())
    edges = sorted({_nice(top ** (i / n)) for i in range(1, n)})
    edges = [e for e in edges if e < top]
    return np.searchsorted(np.asarray(edges), values, side="left"), edges


# --------------------------------------------------------------------------- zones


def _zone_classes(
    zones: pd.DataFrame, colour_by: str, *, lang: str, settings: Settings
) -> tuple[list[int], list[str], list[tuple[str, str, str]], str]:
    """Class index per zone, palette, legend items and legend title."""
    len(zones)
    if colour_by == "zone_type":
        codes = list(ZONE_TYPES)
        present = [c for c in codes if c in set(zones["zone_type"])]
        palette = [ZONE_COLOURS[c] for c in codes] + [_NO_DATA]
        index = {c: i for i, c in enumerate(codes)}
        k = [index.get(v, len(codes)) for v in zones["zone_type"]]
        items = [(ZONE_COLOURS[c], label(c, ZONE_TYPES, lang), "") for c in present]
        return k, palette, items, t("maps.legend.zone_type", lang)
    if colour_by in ("density_tier", "income_tier"):
        count = settings.scoring.tier_count
        colours = (_SEQUENTIAL if colour_by == "density_tier" else _INCOME)[count]
        tiers = pd.to_numeric(zones[colour_by], errors="coerce")
        labels = zones.get(f"{colour_by}_label")
        names: dict[int, str] = {}
        if labels is not None:
            for tier, text in zip(tiers, labels, strict=True):
                if pd.notna(tier) and int(tier) not in names:
                    names[int(tier)] = str(text)
        k = [int(v) if pd.notna(v) and 0 <= v < count else count for v in tiers]
        items = [(colours[i], names.get(i, str(i + 1)), "") for i in sorted(names)][::-1]
        return k, [*colours, _NO_DATA], items, t(f"maps.legend.{colour_by}", lang)
    if colour_by == "r_value":
        target = settings.scoring.target_r
        edges = [target * f for f in settings.maps.r_band_factors]
        r = pd.to_numeric(zones["r_value"], errors="coerce").to_numpy(dtype="float64")
        k = [int(np.searchsorted(edges, v, side="right")) if np.isfinite(v) else 5 for v in r]
        e = [f"{v:.1f}" for v in edges]
        texts = [
            t("maps.legend.r_below", lang, hi=e[0]),
            f"{e[0]}–{e[1]}",
            t("maps.legend.r_target", lang, lo=e[1], hi=e[2], target=f"{target:g}"),
            f"{e[2]}–{e[3]}",
            t("maps.legend.r_above", lang, lo=e[3]),
        ]
        items = [(c, text, "") for c, text in zip(_R_COLOURS, texts, strict=True)][::-1]
        return (
            k,
            [*_R_COLOURS, _NO_DATA],
            items,
            t("maps.legend.r_value", lang, target=f"{target:g}"),
        )
    if colour_by == "whitespace_score":
        score = pd.to_numeric(zones["whitespace_score"], errors="coerce").to_numpy(dtype="float64")
        k = [min(int(v * 5), 4) if np.isfinite(v) else 5 for v in score]
        texts = [f"{i / 5:.1f}–{(i + 1) / 5:.1f}" for i in range(5)]
        items = [(c, text, "") for c, text in zip(_WHITESPACE_COLOURS, texts, strict=True)][::-1]
        items.append((_NO_DATA, t("maps.legend.no_data", lang), ""))
        return k, [*_WHITESPACE_COLOURS, _NO_DATA], items, t("maps.legend.whitespace_score", lang)
    raise ValueError(f"unknown colour_by {colour_by!r}; use one of {', '.join(COLOUR_BY)}")


def _zone_columns(zones: pd.DataFrame, lang: str) -> tuple[dict, list, dict]:
    """The whitelisted zone card: properties (columns), card rows and lookups."""
    districts = sorted({str(d) for d in zones["district"].dropna()})
    d_index = {d: i for i, d in enumerate(districts)}
    types = list(ZONE_TYPES)
    t_index = {c: i for i, c in enumerate(types)}
    formats_by_type = [
        safe_text("、" if lang == "zh" else ", ").join(
            safe_text(label(f, FORMATS, lang)) for f in FORMATS_BY_ZONE_TYPE.get(c, ())
        )
        or "—"
        for c in types
    ]
    p = {
        "name": _column(zones["name"].where(zones["name"].notna(), zones["zone_id"])),
        "district": [d_index.get(str(v)) if pd.notna(v) else None for v in zones["district"]],
        "type": [t_index.get(v) for v in zones["zone_type"]],
        "pop": _column(zones["population"], digits=0),
        "density": _column(zones["density"], digits=0) if "density" in zones else None,
        "income": _column(zones["income"], digits=0),
        "r": _column(zones["r_value"], digits=2) if "r_value" in zones else None,
        "customers": _column(zones["customers"], digits=0) if "customers" in zones else None,
        "expected": _column(zones["expected_customers"], digits=0)
        if "expected_customers" in zones
        else None,
        "ws": _column(zones["whitespace_score"], digits=2) if "whitespace_score" in zones else None,
    }
    p["formats"] = p["type"]
    cols = [
        [safe_text(t("maps.card.district", lang)), "district", "lut", 0, ""],
        [safe_text(t("maps.card.zone_type", lang)), "type", "lut", 0, ""],
        [safe_text(t("maps.card.population", lang)), "pop", "num", 0, ""],
        [
            safe_text(t("maps.card.density", lang)),
            "density",
            "num",
            0,
            safe_text(t("maps.unit.density", lang)),
        ],
        [
            safe_text(t("maps.card.income", lang)),
            "income",
            "num",
            0,
            safe_text(t("maps.unit.cny", lang)),
        ],
        [safe_text(t("maps.card.r_value", lang)), "r", "num", 2, ""],
        [safe_text(t("maps.card.customers", lang)), "customers", "num", 0, ""],
        [safe_text(t("maps.card.expected", lang)), "expected", "num", 0, ""],
        [safe_text(t("maps.card.whitespace", lang)), "ws", "num", 2, ""],
        [safe_text(t("maps.card.formats", lang)), "formats", "lut", 0, ""],
    ]
    cols = [c for c in cols if p.get(c[1]) is not None]
    p = {k: v for k, v in p.items() if v is not None}
    lut = {
        "district": [safe_text(d) for d in districts],
        "type": [safe_text(label(c, ZONE_TYPES, lang)) for c in types],
        "formats": formats_by_type,
    }
    return p, cols, lut


def add_zones(
    m: folium.Map,
    zones: gpd.GeoDataFrame,
    *,
    colour_by: str = "zone_type",
    lang: str = "zh",
    settings: Settings | None = None,
    name: str | None = None,
    legend: bool = True,
    legend_position: str = "bottomright",
    opacity: float | None = None,
) -> folium.Map:
    """Zones coloured by ``colour_by`` (see :data:`COLOUR_BY`), with a legend and a card on click.

    ``zones`` is ``analysis.zones`` (or ``ws.zones`` for ``"zone_type"``);
    only the card's columns are embedded: name, district, zone type,
    population, density, income, R, customers, expected customers,
    white-space score and the zone type's formats.
    """
    lang = check_lang(lang)
    settings = settings or Settings()
    k, palette, items, title = _zone_classes(zones, colour_by, lang=lang, settings=settings)
    p, cols, lut = _zone_columns(zones, lang)
    tiles = getattr(m, "territory_tiles", "none")
    fill = opacity if opacity is not None else (0.72 if tiles == "none" else 0.5)
    payload = {
        "g": _encode_geoms(m, zones.geometry),
        "q": _ms(m).precision,
        "k": k,
        "pal": palette,
        "p": p,
        "title": "name",
        "tip": "name",
        "cols": cols,
        "click": True,
        "lut": lut,
        "style": {"color": "#ffffff", "weight": 0.6, "opacity": 0.9, "fill": fill},
    }
    m.add_child(_DataLayer("shapes", payload, name=safe_text(name or t("maps.layer.zones", lang))))
    if legend:
        _legend(m, title, items, pos=legend_position)
    return m


# --------------------------------------------------------------------------- dealer and rings


def add_dealer(
    m: folium.Map,
    *,
    lon: float,
    lat: float,
    name: str,
    rings: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
) -> folium.Map:
    """The dealer's marker and its influence rings (from ``influence.influence_rings``)."""
    lang = check_lang(lang)
    x, y = _to_display(m, [lon], [lat])
    if rings is not None and len(rings):
        radius = rings[rings["is_radius"]]
        other = rings[~rings["is_radius"]]
        for frame, style, key in (
            (
                other,
                {"color": "#1f3a93", "weight": 1.2, "opacity": 0.7, "fill": 0.0, "dash": "4 6"},
                "maps.layer.rings",
            ),
            (
                radius,
                {"color": "#1f3a93", "weight": 2.5, "opacity": 0.9, "fill": 0.0, "dash": "10 6"},
                "maps.layer.influence",
            ),
        ):
            if frame.empty:
                continue
            payload = {
                "g": _encode_geoms(m, frame.geometry, simplify=False),
                "q": _ms(m).precision,
                "pal": ["#1f3a93"],
                "style": {**style, "interactive": False},
            }
            m.add_child(_DataLayer("polygons", payload, name=safe_text(t(key, lang))))
        # Ring labels on each ring's north-east point: clear of the dealer's pin above the centre.
        b = rings.geometry.bounds
        diagonal = np.sqrt(0.5)
        lx = ((b["minx"] + b["maxx"]) / 2 + (b["maxx"] - b["minx"]) / 2 * diagonal).to_numpy()
        ly = ((b["miny"] + b["maxy"]) / 2 + (b["maxy"] - b["miny"]) / 2 * diagonal).to_numpy()
        texts = [
            safe_text(
                t("maps.ring_radius", lang, km=f"{r:g}")
                if is_r
                else t("maps.ring", lang, km=f"{r:g}")
            )
            for r, is_r in zip(rings["ring_km"], rings["is_radius"], strict=True)
        ]
        m.add_child(
            _DataLayer(
                "labels",
                {"xy": _encode_points(m, lx, ly), "q": _ms(m).precision, "text": texts},
                name=safe_text(t("maps.layer.ring_labels", lang)),
                control=False,
            )
        )
    payload = {
        "lat": round(float(y[0]), 6),
        "lng": round(float(x[0]), 6),
        "name": safe_text(name),
        "mark": safe_text(t("maps.dealer_mark", lang)),
    }
    m.add_child(_DataLayer("dealer", payload, name=safe_text(t("maps.layer.dealer", lang))))
    return m


# --------------------------------------------------------------------------- customers


def hex_counts(
    lon: Any,
    lat: Any,
    *,
    max_cells: int = 6000,
    finest: int = 9,
    coarsest: int = 5,
) -> pd.DataFrame:
    """Count points per H3 hexagon at the finest resolution that gives at most ``max_cells`` cells.

    Parameters
    ----------
    lon, lat : array-like
        WGS-84 degrees; NaN points are skipped.

    Returns
    -------
    DataFrame
        ``cell`` (H3 index), ``count``, ``lon``, ``lat`` (cell centre), with
        ``attrs["resolution"]``; most populous cells first.

    Examples
    --------
    >>> frame = hex_counts([104.06, 104.0601, 104.2], [30.66, 30.6601, 30.7])
    >>> frame["count"].tolist(), frame.attrs["resolution"]
    ([2, 1], 9)
    """
    import h3

    x = np.asarray(lon, dtype="float64")
    y = np.asarray(lat, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if not len(x):
        frame = pd.DataFrame(
            {
                "cell": pd.Series([], dtype="str"),
                "count": pd.Series([], dtype="int64"),
                "lon": pd.Series([], dtype="float64"),
                "lat": pd.Series([], dtype="float64"),
            }
        )
        frame.attrs["resolution"] = finest
        return frame
    # Points on the same ~1 m spot (same address) share one lookup.
    offset = 1 << 30  # makes both parts positive (|degrees| x 1e5 < 2^25)
    qy = np.round(y * 1e5).astype(np.int64) + offset
    qx = np.round(x * 1e5).astype(np.int64) + offset
    keys, weights = np.unique((qy << 32) | qx, return_counts=True)
    ky = ((keys >> 32) - offset) / 1e5
    kx = ((keys & 0xFFFFFFFF) - offset) / 1e5
    cells = pd.Series(
        [h3.latlng_to_cell(a, b, finest) for a, b in zip(ky.tolist(), kx.tolist(), strict=True)]
    )
    counts = pd.Series(weights).groupby(cells.to_numpy()).sum()
    resolution = finest
    while len(counts) > max_cells and resolution > coarsest:
        resolution -= 1
        parents = [h3.cell_to_parent(c, resolution) for c in counts.index]
        counts = counts.groupby(parents).sum()
    counts = counts.sort_values(ascending=False, kind="stable")
    centres = np.array([h3.cell_to_latlng(c) for c in counts.index]).reshape(-1, 2)
    frame = pd.DataFrame(
        {
            "cell": counts.index.astype("str"),
            "count": counts.to_numpy(dtype="int64"),
            "lon": centres[:, 1],
            "lat": centres[:, 0],
        }
    )
    frame.attrs["resolution"] = resolution
    return frame


def add_customers(
    m: folium.Map,
    hexes: pd.DataFrame,
    *,
    style: str = "hexagons",
    lang: str = "zh",
    show: bool = True,
) -> folium.Map:
    """Existing customers, aggregated: H3 hexagons with counts, or a heat map of them.

    ``hexes`` is :func:`hex_counts` of the customers' coordinates; no
    individual customer ever reaches the page.
    """
    lang = check_lang(lang)
    if style not in CUSTOMER_STYLES:
        raise ValueError(
            f"unknown customer style {style!r}; use one of {', '.join(CUSTOMER_STYLES)}"
        )
    if style == "off" or hexes.empty:
        return m
    counts = hexes["count"].to_numpy(dtype="float64")
    name = safe_text(t("maps.layer.customers", lang))
    if style == "heat":
        from folium.plugins import HeatMap

        x, y = _to_display(m, hexes["lon"], hexes["lat"])
        top = float(np.quantile(counts, 0.95)) if len(counts) else 1.0
        data = [
            [round(float(b), 5), round(float(a), 5), round(min(float(c) / max(top, 1.0), 1.0), 3)]
            for a, b, c in zip(x, y, counts, strict=True)
        ]
        HeatMap(
            data,
            name=name,
            radius=14,
            blur=18,
            min_opacity=0.25,
            gradient={0.2: "#fdd0a2", 0.45: "#fd8d3c", 0.7: "#d94801", 1.0: "#7f2704"},
        ).add_to(m)
        _legend(
            m,
            t("maps.legend.customers_heat", lang),
            [("#fd8d3c", t("maps.legend.heat_note", lang, n=f"{int(counts.sum()):,}"), "")],
            pos="bottomleft",
        )
        return m
    import h3

    k, edges = _count_classes(counts)
    boundaries = [h3.cell_to_boundary(c) for c in hexes["cell"]]
    g = []
    precision = _ms(m).precision
    factor = 10**precision
    for boundary in boundaries:
        latlng = np.asarray(boundary, dtype="float64")
        x, y = _to_display(m, latlng[:, 1], latlng[:, 0])
        q = _quantised_ring(np.column_stack([x, y]), factor)
        g.append([[_encode_ring(q, precision)]] if q is not None else [])
    payload = {
        "g": g,
        "q": precision,
        "k": [int(v) for v in k],
        "pal": [_HEX_COLOUR] * len(_HEX_OPACITY),
        # Not interactive: a click goes through to the zone underneath (its card has the count).
        "style": {
            "color": _HEX_COLOUR,
            "weight": 0.4,
            "opacity": 0.35,
            "fills": _HEX_OPACITY,
            "interactive": False,
        },
    }
    m.add_child(_DataLayer("shapes", payload, name=name, show=show))
    lows = [1, *[int(e) + 1 for e in edges]]
    highs = [*[int(e) for e in edges], int(counts.max())]
    items = [
        (_HEX_COLOURS[i], f"{lo:,}–{hi:,}" if hi > lo else f"{lo:,}", "")
        for i, (lo, hi) in enumerate(zip(lows, highs, strict=True))
        if hi >= lo
    ][::-1]
    _legend(
        m,
        t("maps.legend.customers", lang),
        items,
        pos="bottomleft",
        note=t(
            "maps.legend.hex_note",
            lang,
            n=f"{int(counts.sum()):,}",
            res=hexes.attrs.get("resolution", ""),
        ),
    )
    return m


# --------------------------------------------------------------------------- cards, POIs


def add_cards(
    m: folium.Map, zones: gpd.GeoDataFrame, *, lang: str = "zh", show: bool = True
) -> folium.Map:
    """A-cards and deposit cards as one pair of bubbles per zone (areas ∝ counts).

    ``zones`` needs ``a_cards`` and ``deposit_cards`` (``analysis.zones``).
    """
    lang = check_lang(lang)
    a = pd.to_numeric(zones["a_cards"], errors="coerce").fillna(0).to_numpy()
    d = pd.to_numeric(zones["deposit_cards"], errors="coerce").fillna(0).to_numpy()
    has = (a + d) > 0
    if not has.any():
        return m
    sub = zones[has]
    points = sub.geometry.representative_point()
    top = max(float(a[has].max()), 1.0)
    scale = _ms(m).max_bubble_px / math.sqrt(top)
    xy = _encode_points(m, points.x, points.y)
    names = _column(sub["name"].where(sub["name"].notna(), sub["zone_id"]))
    a_label, d_label = (
        safe_text(t("maps.card.a_cards", lang)),
        safe_text(t("maps.card.deposit_cards", lang)),
    )
    cols = [[a_label, "a", "num", 0, ""], [d_label, "d", "num", 0, ""]]
    props = {"name": names, "a": [int(v) for v in a[has]], "d": [int(v) for v in d[has]]}
    for _key, values, colour, layer_key in (
        ("a", a[has], "#2f6fb3", "maps.layer.a_cards"),
        ("d", d[has], "#e8702a", "maps.layer.deposit_cards"),
    ):
        radius = [round(max(2.0, scale * math.sqrt(v)), 1) if v > 0 else 0 for v in values]
        payload = {
            "xy": xy,
            "q": _ms(m).precision,
            "r": radius,
            "pal": [colour],
            "p": props,
            "title": "name",
            "cols": cols,
            "style": {"color": "#ffffff", "weight": 0.8, "fill": 0.75},
        }
        m.add_child(_DataLayer("dots", payload, name=safe_text(t(layer_key, lang)), show=show))
    _legend(
        m,
        t("maps.legend.cards", lang),
        [
            ("#2f6fb3", t("maps.card.a_cards", lang), "dot"),
            ("#e8702a", t("maps.card.deposit_cards", lang), "dot"),
        ],
        pos="bottomleft",
        note=t("maps.legend.cards_note", lang),
    )
    return m


def add_pois(
    m: folium.Map,
    pois: pd.DataFrame,
    *,
    lang: str = "zh",
    settings: Settings | None = None,
    show: bool = True,
) -> folium.Map:
    """Points of interest (driving schools, markets, enterprises...) coloured by type."""
    lang = check_lang(lang)
    located = pois[pois.geometry.notna() & ~pois.geometry.is_empty] if len(pois) else pois
    if located is None or not len(located):
        return m
    limit = (settings or Settings()).maps.max_pois
    shown = located.iloc[:limit]
    types = list(POI_TYPES)
    index = {c: i for i, c in enumerate(types)}
    k = [index.get(v, len(types)) for v in shown["poi_type"]]
    palette = [_POI_COLOURS[c] for c in types] + ["#7f7f7f"]
    type_labels = [safe_text(label(c, POI_TYPES, lang)) for c in types] + [
        safe_text(t("maps.legend.other", lang))
    ]
    payload = {
        "xy": _encode_points(m, shown.geometry.x, shown.geometry.y),
        "q": _ms(m).precision,
        "k": k,
        "pal": palette,
        "p": {
            "name": _column(shown["name"].where(shown["name"].notna(), shown["poi_id"])),
            "type": k,
        },
        "title": "name",
        "cols": [[safe_text(t("maps.card.poi_type", lang)), "type", "lut", 0, ""]],
        "lut": {"type": type_labels},
        "style": {"color": "#ffffff", "weight": 1.2, "fill": 0.95, "radius": 5},
    }
    m.add_child(_DataLayer("dots", payload, name=safe_text(t("maps.layer.pois", lang)), show=show))
    present = sorted(set(k))
    note = (
        t("maps.legend.pois_capped", lang, shown=limit, total=len(located))
        if len(located) > limit
        else None
    )
    _legend(
        m,
        t("maps.legend.pois", lang),
        [(palette[i], type_labels[i], "dot") for i in present],
        pos="bottomleft",
        note=note,
    )
    return m


# --------------------------------------------------------------------------- white space, sites


def add_areas(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    *,
    zone_names: dict[str, str] | None = None,
    lang: str = "zh",
) -> folium.Map:
    """White-space candidate areas (``analysis.areas``) outlined and labelled with their rank."""
    lang = check_lang(lang)
    if areas is None or not len(areas):
        return m
    names = zone_names or {}
    sep = "、" if lang == "zh" else ", "

    def zones_text(ids: Sequence[str]) -> str:
        listed = [names.get(str(z), str(z)) for z in list(ids)[:4]]
        more = len(ids) - len(listed)
        return sep.join(listed) + (t("maps.more", lang, n=more) if more > 0 else "")

    p = {
        "title": [
            safe_text(t("maps.area_title", lang, rank=i + 1, area=a))
            for i, a in enumerate(areas["area_id"])
        ],
        "zones": [safe_text(zones_text(ids)) for ids in areas["zone_ids"]],
        "pop": _column(areas["population"], digits=0),
        "customers": _column(areas["customers"], digits=0),
        "expected": _column(areas["expected_customers"], digits=0),
        "shortfall": _column(areas["shortfall"], digits=0)
        if "shortfall" in areas
        else [None] * len(areas),
    }
    cols = [
        [safe_text(t("maps.card.zones", lang)), "zones", "text", 0, ""],
        [safe_text(t("maps.card.population", lang)), "pop", "num", 0, ""],
        [safe_text(t("maps.card.customers", lang)), "customers", "num", 0, ""],
        [safe_text(t("maps.card.expected", lang)), "expected", "num", 0, ""],
        [safe_text(t("maps.card.shortfall", lang)), "shortfall", "num", 0, ""],
    ]
    payload = {
        "g": _encode_geoms(m, areas.geometry),
        "q": _ms(m).precision,
        "pal": ["#6a3d9a"],
        "p": p,
        "title": "title",
        "tip": "title",
        "cols": cols,
        "click": True,
        "style": {"color": "#6a3d9a", "weight": 2.5, "opacity": 1.0, "fill": 0.12, "dash": "6 4"},
    }
    m.add_child(_DataLayer("polygons", payload, name=safe_text(t("maps.layer.areas", lang))))
    centres = areas.geometry.representative_point()
    m.add_child(
        _DataLayer(
            "labels",
            {
                "xy": _encode_points(m, centres.x, centres.y),
                "q": _ms(m).precision,
                "text": [safe_text(str(a)) for a in areas["area_id"]],
            },
            name=safe_text(t("maps.layer.area_labels", lang)),
            control=False,
        )
    )
    _legend(
        m,
        t("maps.legend.areas", lang),
        [("#6a3d9a", t("maps.legend.area_item", lang), "line")],
        pos="topleft",
    )
    return m


def add_sites(m: folium.Map, sites: pd.DataFrame, *, lang: str = "zh") -> folium.Map:
    """Recommended sites (``recommend(...).sites``) as numbered markers with their card."""
    lang = check_lang(lang)
    if sites is None or not len(sites):
        return m
    sep = "、" if lang == "zh" else ", "
    p = {
        "rank": [int(r) for r in sites["rank"]],
        "title": [
            safe_text(f"{int(r)}. {n}") for r, n in zip(sites["rank"], sites["name"], strict=True)
        ],
        "district": _column(sites["district"]),
        "type": [safe_text(label(z, ZONE_TYPES, lang)) for z in sites["zone_type"]],
        "formats": [
            safe_text(sep.join(label(f, FORMATS, lang) for f in fs[:3])) for fs in sites["formats"]
        ],
        "slots": [safe_text(sep.join(s)) for s in sites["time_slots"]],
        "leads": _column(sites["expected_leads"], digits=0),
        "cost": _column(sites["estimated_cost"], digits=0),
        "score": _column(sites["score"], digits=2),
    }
    cols = [
        [safe_text(t("maps.card.district", lang)), "district", "text", 0, ""],
        [safe_text(t("maps.card.zone_type", lang)), "type", "text", 0, ""],
        [safe_text(t("maps.card.formats", lang)), "formats", "text", 0, ""],
        [safe_text(t("maps.card.slots", lang)), "slots", "text", 0, ""],
        [safe_text(t("maps.card.leads", lang)), "leads", "num", 0, ""],
        [
            safe_text(t("maps.card.cost", lang)),
            "cost",
            "num",
            0,
            safe_text(t("maps.unit.cny", lang)),
        ],
        [safe_text(t("maps.card.score", lang)), "score", "num", 2, ""],
    ]
    payload = {
        "xy": _encode_points(m, sites["lon"], sites["lat"]),
        "q": _ms(m).precision,
        "p": p,
        "title": "title",
        "tip": "title",
        "cols": cols,
    }
    m.add_child(_DataLayer("sites", payload, name=safe_text(t("maps.layer.sites", lang))))
    return m


# --------------------------------------------------------------------------- whole maps


def _rings(ws, settings: Settings) -> gpd.GeoDataFrame:
    from territory.analysis.influence import influence_rings

    return influence_rings(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        rings_km=settings.influence.rings_km,
        radius_km=settings.influence.radius_km,
    )


def environment_map(
    ws,
    analysis,
    *,
    colour_by: str = "zone_type",
    tiles: str = "none",
    lang: str = "zh",
    customers: pd.DataFrame | None = None,
    customer_style: str = "hexagons",
    cards: bool = True,
    pois: bool = True,
    areas: bool = False,
    sites: pd.DataFrame | None = None,
) -> folium.Map:
    """The environment map (seed 000 step 1): zones, dealer and rings, customers, cards, POIs.

    Parameters
    ----------
    ws : Workspace
    analysis : Analysis
        ``analyse(ws, ...)``: its zones carry the colouring columns and the card.
    customers : DataFrame, optional
        :func:`hex_counts` of the customers (computed here when None).
    areas : bool
        Also outline the white-space candidate areas.
    sites : DataFrame, optional
        Recommended sites to number on the map.
    """
    settings = analysis.settings
    m = base_map(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        radius_km=settings.influence.radius_km,
        tiles=tiles,
        lang=lang,
        settings=settings,
    )
    add_zones(m, analysis.zones, colour_by=colour_by, lang=lang, settings=settings)
    if customer_style != "off":
        if customers is None:
            located = ws.customers.geometry
            located = located[located.notna() & ~located.is_empty]
            customers = hex_counts(
                located.x,
                located.y,
                max_cells=settings.maps.max_hexagons,
                finest=settings.maps.finest_hex_resolution,
                coarsest=settings.maps.coarsest_hex_resolution,
            )
        add_customers(m, customers, style=customer_style, lang=lang)
    if cards:
        add_cards(m, analysis.zones, lang=lang, show=True)
    if pois:
        add_pois(m, ws.pois, lang=lang, settings=settings)
    if areas:
        add_areas(m, analysis.areas, zone_names=_zone_names(ws), lang=lang)
    add_dealer(
        m,
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        name=ws.dealer.name,
        rings=_rings(ws, settings),
        lang=lang,
    )
    if sites is not None:
        add_sites(m, sites, lang=lang)
    return finish_map(m)


def _zone_names(ws) -> dict[str, str]:
    names = ws.zones["name"].where(ws.zones["name"].notna(), ws.zones["zone_id"])
    return dict(zip(ws.zones["zone_id"].astype(str), names.astype(str), strict=True))


def whitespace_map(ws, analysis, *, tiles: str = "none", lang: str = "zh") -> folium.Map:
    """Zones by white-space score with the candidate areas outlined and labelled."""
    settings = analysis.settings
    m = base_map(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        radius_km=settings.influence.radius_km,
        tiles=tiles,
        lang=lang,
        settings=settings,
    )
    add_zones(m, analysis.zones, colour_by="whitespace_score", lang=lang, settings=settings)
    add_areas(m, analysis.areas, zone_names=_zone_names(ws), lang=lang)
    add_dealer(
        m,
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        name=ws.dealer.name,
        rings=_rings(ws, settings),
        lang=lang,
    )
    return finish_map(m)


def sites_map(
    ws, analysis, sites: pd.DataFrame, *, tiles: str = "none", lang: str = "zh"
) -> folium.Map:
    """Recommended sites numbered on zones coloured by zone type."""
    settings = analysis.settings
    m = base_map(
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        radius_km=settings.influence.radius_km,
        tiles=tiles,
        lang=lang,
        settings=settings,
    )
    add_zones(m, analysis.zones, colour_by="zone_type", lang=lang, settings=settings, opacity=0.45)
    add_dealer(
        m,
        lon=ws.dealer.lon,
        lat=ws.dealer.lat,
        name=ws.dealer.name,
        rings=_rings(ws, settings),
        lang=lang,
    )
    add_sites(m, sites, lang=lang)
    return finish_map(m)


def choropleth_map(
    frame: gpd.GeoDataFrame,
    column: str,
    *,
    lon: float,
    lat: float,
    radius_km: float | None = None,
    tiles: str = "none",
    lang: str = "zh",
    settings: Settings | None = None,
    bounds: Sequence[float] | None = None,
    dealer_name: str | None = None,
    rings: gpd.GeoDataFrame | None = None,
    labels: bool = True,
) -> folium.Map:
    """One coverage measure per district polygon (``coverage.choropleth_frames``).

    With ``dealer_name`` the dealer (at ``lon``/``lat``) and its ``rings``
    are drawn too; ``labels`` writes each district's name on it.

    ``bounds`` (min lon, min lat, max lon, max lat, WGS-84), e.g. of the
    dealer's market, sets the opening view; otherwise ``radius_km`` around
    ``lon``/``lat`` does.

    ``column`` is ``"a_cards_per_10k"`` or ``"deposit_rate"``; five quantile
    classes, a legend, and a card with A-cards, deposit cards, the rate and
    the diagnosis.
    """
    lang = check_lang(lang)
    if column not in ("a_cards_per_10k", "deposit_rate"):
        raise ValueError(f"unknown coverage column {column!r}; use a_cards_per_10k or deposit_rate")
    m = base_map(
        lon=lon,
        lat=lat,
        radius_km=None if bounds is not None else radius_km,
        tiles=tiles,
        lang=lang,
        settings=settings,
    )
    if bounds is not None:
        x, y = _to_display(m, [bounds[0], bounds[2]], [bounds[1], bounds[3]])
        m.add_child(
            _Fit(
                [
                    [round(float(y[0]), 6), round(float(x[0]), 6)],
                    [round(float(y[1]), 6), round(float(x[1]), 6)],
                ]
            ),
            name="territory_fit",
        )
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
    finite = values[np.isfinite(values)]
    palette = (
        _SEQUENTIAL[5]
        if column == "a_cards_per_10k"
        else ["#f7fcf5", "#c7e9c0", "#74c476", "#31a354", "#006d2c"]
    )
    if len(finite):
        edges = np.unique(np.quantile(finite, [0.2, 0.4, 0.6, 0.8]))
        k = [int(np.searchsorted(edges, v, side="right")) if np.isfinite(v) else 5 for v in values]
    else:
        edges = np.array([])
        k = [5] * len(values)
    fmt = (lambda v: f"{v:.1f}") if column == "a_cards_per_10k" else (lambda v: f"{100 * v:.0f}%")
    bounds = [
        float(finite.min()) if len(finite) else 0.0,
        *edges.tolist(),
        float(finite.max()) if len(finite) else 0.0,
    ]
    items = [
        (palette[i], f"{fmt(bounds[i])}–{fmt(bounds[i + 1])}", "") for i in range(len(bounds) - 1)
    ][::-1]
    items.append((_NO_DATA, t("maps.legend.no_data", lang), ""))
    p = {
        "name": _column(frame["label"] if "label" in frame else frame["district"]),
        "pop": _column(frame["population"], digits=0),
        "a": _column(frame["a_cards"], digits=0),
        "d": _column(frame["deposit_cards"], digits=0),
        "per10k": _column(frame["a_cards_per_10k"], digits=1),
        "rate": _column(frame["deposit_rate"], digits=3),
        "diagnosis": _column(frame["diagnosis_label"])
        if "diagnosis_label" in frame
        else [""] * len(frame),
    }
    cols = [
        [safe_text(t("maps.card.population", lang)), "pop", "num", 0, ""],
        [safe_text(t("maps.card.a_cards", lang)), "a", "num", 0, ""],
        [safe_text(t("maps.card.deposit_cards", lang)), "d", "num", 0, ""],
        [safe_text(t("maps.card.a_per_10k", lang)), "per10k", "num", 1, ""],
        [safe_text(t("maps.card.deposit_rate", lang)), "rate", "pct", 0, ""],
        [safe_text(t("maps.card.diagnosis", lang)), "diagnosis", "text", 0, ""],
    ]
    payload = {
        "g": _encode_geoms(m, frame.geometry),
        "q": _ms(m).precision,
        "k": k,
        "pal": [*palette, _NO_DATA],
        "p": p,
        "title": "name",
        "tip": "name",
        "cols": cols,
        "click": True,
        "style": {"color": "#555555", "weight": 0.8, "opacity": 0.8, "fill": 0.75},
    }
    m.add_child(_DataLayer("polygons", payload, name=safe_text(t(f"maps.layer.{column}", lang))))
    if labels and len(frame):
        centres = frame.geometry.representative_point()
        m.add_child(
            _DataLayer(
                "labels",
                {
                    "xy": _encode_points(m, centres.x, centres.y),
                    "q": _ms(m).precision,
                    "text": p["name"],
                },
                name=safe_text(t("maps.layer.area_labels", lang)),
                control=False,
            )
        )
    if dealer_name is not None:
        add_dealer(m, lon=lon, lat=lat, name=dealer_name, rings=rings, lang=lang)
    _legend(m, t(f"maps.legend.{column}", lang), items, pos="bottomright")
    return finish_map(m, layer_control=False)
