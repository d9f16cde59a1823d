/* cibscan report: draws the account graph and fills the account view.
 *
 * Safety rules this file keeps: data comes only from the JSON block (JSON.parse, never eval);
 * data is written to the page only with textContent and DOM APIs, never innerHTML; no value
 * from the data becomes a URL, an attribute handler or a style; nothing is fetched.
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("cibscan-data").textContent);
  var nodes = data.nodes;
  var N = nodes.x.length;
  var E = data.edges.s.length;
  var container = document.getElementById("graph");
  var DIM = "#e8ecf0";
  var DIM_EDGE = "rgba(200,208,216,0.25)";

  var state = { colourBy: "network", net: -1, node: -1, hover: -1 };

  // Adjacency, for highlighting an account's partners.
  var neighbours = [];
  for (var i = 0; i < N; i++) neighbours.push([]);
  for (var k = 0; k < E; k++) {
    neighbours[data.edges.s[k]].push(data.edges.t[k]);
    neighbours[data.edges.t[k]].push(data.edges.s[k]);
  }
  var focusSet = null; // nodes kept bright; null = all

  function recomputeFocus() {
    if (state.node >= 0) {
      focusSet = new Set(neighbours[state.node]);
      focusSet.add(state.node);
    } else if (state.net >= 0) {
      focusSet = new Set();
      for (var i = 0; i < N; i++) if (nodes.net[i] === state.net) focusSet.add(i);
    } else {
      focusSet = null;
    }
  }

  function baseColour(i) {
    if (state.colourBy === "signal") {
      var s = nodes.sig[i];
      return s >= 0 ? data.signals[s].colour : data.background.colour;
    }
    var n = nodes.net[i];
    if (n >= 0) return data.networks[n].colour;
    return nodes.tier[i] === 1 ? data.background.linked : data.background.colour;
  }

  function nodeColour(i) {
    if (focusSet && !focusSet.has(i)) return DIM;
    return baseColour(i);
  }

  function hexToRgba(hex, alpha) {
    var v = parseInt(hex.slice(1), 16);
    return "rgba(" + ((v >> 16) & 255) + "," + ((v >> 8) & 255) + "," + (v & 255) + "," + alpha + ")";
  }

  function edgeColour(k) {
    var s = data.edges.s[k];
    var t = data.edges.t[k];
    if (focusSet && !(focusSet.has(s) && focusSet.has(t))) return DIM_EDGE;
    if (state.colourBy === "signal") {
      var g = data.edges.sig[k];
      return hexToRgba(g >= 0 ? data.signals[g].colour : "#888888", 0.55);
    }
    var n = nodes.net[s];
    if (n >= 0 && n === nodes.net[t]) return hexToRgba(data.networks[n].colour, 0.7);
    return "rgba(140,150,160,0.35)";
  }

  function labelOf(i) {
    return nodes.label[i];
  }

  function showLabel(i) {
    if (i === state.hover || i === state.node) return true;
    return state.net >= 0 && nodes.net[i] === state.net && (!focusSet || focusSet.has(i));
  }

  /* ---------------------------------------------------------------- WebGL (sigma.js) */

  function webglAvailable() {
    try {
      var probe = document.createElement("canvas");
      return !!(probe.getContext("webgl2") || probe.getContext("webgl"));
    } catch (err) {
      return false;
    }
  }

  function sigmaRenderer(handlers) {
    var Graph = window.graphology.Graph || window.graphology;
    var graph = new Graph({ type: "undirected", multi: false, allowSelfLoops: false });
    for (var i = 0; i < N; i++) {
      graph.addNode(String(i), {
        x: nodes.x[i],
        y: nodes.y[i],
        size: nodes.size[i],
        label: labelOf(i),
        color: baseColour(i)
      });
    }
    for (var k = 0; k < E; k++) {
      var a = String(data.edges.s[k]);
      var b = String(data.edges.t[k]);
      var inside = nodes.net[data.edges.s[k]] >= 0 && nodes.net[data.edges.s[k]] === nodes.net[data.edges.t[k]];
      if (!graph.hasEdge(a, b)) graph.addEdgeWithKey("e" + k, a, b, { size: inside ? 1.6 : 0.8, color: edgeColour(k) });
    }
    var renderer = new window.Sigma(graph, container, {
      renderEdgeLabels: false,
      enableEdgeEvents: false,
      zIndex: true,
      hideEdgesOnMove: E > 20000,
      labelRenderedSizeThreshold: 9,
      labelDensity: 0.5,
      labelFont: "system-ui, sans-serif",
      labelSize: 12,
      minCameraRatio: 0.01,
      maxCameraRatio: 4,
      nodeReducer: function (node, attrs) {
        var i = +node;
        var out = Object.assign({}, attrs);
        out.color = nodeColour(i);
        var bright = !focusSet || focusSet.has(i);
        out.zIndex = bright ? (nodes.net[i] >= 0 ? 2 : 1) : 0;
        if (!bright) out.label = "";
        if (showLabel(i)) out.forceLabel = true;
        if (i === state.hover || i === state.node) out.highlighted = true;
        return out;
      },
      edgeReducer: function (edge, attrs) {
        var out = Object.assign({}, attrs);
        out.color = edgeColour(+edge.slice(1));
        return out;
      }
    });
    renderer.on("enterNode", function (e) { handlers.hover(+e.node); });
    renderer.on("leaveNode", function () { handlers.hover(-1); });
    renderer.on("clickNode", function (e) { handlers.click(+e.node); });
    renderer.on("clickStage", function () { handlers.click(-1); });
    return {
      kind: "webgl",
      refresh: function () { renderer.refresh(); },
      reset: function () { renderer.getCamera().animatedReset({ duration: 300 }); },
      focus: function (members) {
        if (!members.length) return;
        var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
        members.forEach(function (i) {
          var d = renderer.getNodeDisplayData(String(i));
          if (!d) return;
          x0 = Math.min(x0, d.x); x1 = Math.max(x1, d.x);
          y0 = Math.min(y0, d.y); y1 = Math.max(y1, d.y);
        });
        if (!isFinite(x0)) return;
        var ratio = Math.min(1.2, Math.max(0.05, 1.3 * Math.max(x1 - x0, y1 - y0)));
        renderer.getCamera().animate({ x: (x0 + x1) / 2, y: (y0 + y1) / 2, ratio: ratio }, { duration: 400 });
      }
    };
  }

  /* ---------------------------------------------------------------- canvas 2D fallback */

  function canvasRenderer(handlers) {
    var canvas = document.createElement("canvas");
    canvas.className = "fallback";
    container.appendChild(canvas);
    var ctx = canvas.getContext("2d");
    var dpr = window.devicePixelRatio || 1;
    var width = 0, height = 0;
    var minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (var i = 0; i < N; i++) {
      minX = Math.min(minX, nodes.x[i]); maxX = Math.max(maxX, nodes.x[i]);
      minY = Math.min(minY, nodes.y[i]); maxY = Math.max(maxY, nodes.y[i]);
    }
    if (!N) { minX = minY = -1; maxX = maxY = 1; }
    var home = { cx: (minX + maxX) / 2, cy: (minY + maxY) / 2, scale: 1 };
    var view = { cx: home.cx, cy: home.cy, scale: 1 };
    var moving = false;
    var pending = false;

    function fit() {
      var spanX = Math.max(maxX - minX, 1e-6);
      var spanY = Math.max(maxY - minY, 1e-6);
      home.scale = 0.92 * Math.min(width / spanX, height / spanY);
    }
    function resize() {
      width = container.clientWidth;
      height = container.clientHeight;
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.width = width + "px";
      canvas.style.height = height + "px";
      var first = view.scale === 1 && home.scale === 1;
      fit();
      if (first) { view.cx = home.cx; view.cy = home.cy; view.scale = home.scale; }
      draw();
    }
    function sx(x) { return (x - view.cx) * view.scale + width / 2; }
    function sy(y) { return height / 2 - (y - view.cy) * view.scale; }
    function radius(i) {
      var zoom = Math.sqrt(view.scale / home.scale);
      return Math.max(1, nodes.size[i] * Math.min(zoom, 4) * 0.8);
    }
    function draw() {
      pending = false;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, width, height);
      if (!moving || E <= 20000) {
        ctx.lineWidth = 0.7;
        for (var k = 0; k < E; k++) {
          var s = data.edges.s[k], t = data.edges.t[k];
          ctx.strokeStyle = edgeColour(k);
          ctx.beginPath();
          ctx.moveTo(sx(nodes.x[s]), sy(nodes.y[s]));
          ctx.lineTo(sx(nodes.x[t]), sy(nodes.y[t]));
          ctx.stroke();
        }
      }
      // Dimmed and background nodes first, so flagged and focused ones sit on top.
      for (var pass = 0; pass < 3; pass++) {
        for (var i = 0; i < N; i++) {
          var bright = !focusSet || focusSet.has(i);
          var layer = !bright ? 0 : (nodes.net[i] >= 0 ? 2 : 1);
          if (layer !== pass) continue;
          var x = sx(nodes.x[i]), y = sy(nodes.y[i]);
          if (x < -20 || y < -20 || x > width + 20 || y > height + 20) continue;
          ctx.fillStyle = nodeColour(i);
          ctx.beginPath();
          ctx.arc(x, y, radius(i), 0, 2 * Math.PI);
          ctx.fill();
        }
      }
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillStyle = "#1f2933";
      for (var j = 0; j < N; j++) {
        if (!showLabel(j)) continue;
        var r = radius(j);
        if (j === state.hover || j === state.node) {
          ctx.strokeStyle = "#1f2933";
          ctx.lineWidth = 1.5;
          ctx.beginPath();
          ctx.arc(sx(nodes.x[j]), sy(nodes.y[j]), r + 2, 0, 2 * Math.PI);
          ctx.stroke();
        }
        ctx.fillText(labelOf(j), sx(nodes.x[j]) + r + 3, sy(nodes.y[j]) + 4);
      }
    }
    function schedule() {
      if (!pending) { pending = true; window.requestAnimationFrame(draw); }
    }
    function hit(px, py) {
      var best = -1, bestD = Infinity;
      for (var i = 0; i < N; i++) {
        var dx = sx(nodes.x[i]) - px, dy = sy(nodes.y[i]) - py;
        var d = dx * dx + dy * dy;
        var r = radius(i) + 3;
        if (d <= r * r && d < bestD) { best = i; bestD = d; }
      }
      return best;
    }
    var drag = null;
    canvas.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var rect = canvas.getBoundingClientRect();
      var px = ev.clientX - rect.left, py = ev.clientY - rect.top;
      var wx = (px - width / 2) / view.scale + view.cx;
      var wy = (height / 2 - py) / view.scale + view.cy;
      var factor = Math.exp(-ev.deltaY * 0.0015);
      view.scale = Math.min(home.scale * 80, Math.max(home.scale * 0.2, view.scale * factor));
      view.cx = wx - (px - width / 2) / view.scale;
      view.cy = wy - (height / 2 - py) / view.scale;
      schedule();
    }, { passive: false });
    canvas.addEventListener("mousedown", function (ev) {
      drag = { x: ev.clientX, y: ev.clientY, cx: view.cx, cy: view.cy, moved: false };
    });
    window.addEventListener("mouseup", function (ev) {
      if (!drag) return;
      var wasClick = !drag.moved;
      drag = null;
      if (moving) { moving = false; schedule(); }
      if (wasClick && ev.target === canvas) {
        var rect = canvas.getBoundingClientRect();
        handlers.click(hit(ev.clientX - rect.left, ev.clientY - rect.top));
      }
    });
    canvas.addEventListener("mousemove", function (ev) {
      if (drag) {
        var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; moving = true; }
        view.cx = drag.cx - dx / view.scale;
        view.cy = drag.cy + dy / view.scale;
        schedule();
        return;
      }
      var rect = canvas.getBoundingClientRect();
      var found = hit(ev.clientX - rect.left, ev.clientY - rect.top);
      if (found !== state.hover) handlers.hover(found);
    });
    canvas.addEventListener("mouseleave", function () { if (state.hover >= 0) handlers.hover(-1); });
    window.addEventListener("resize", resize);
    resize();
    return {
      kind: "canvas",
      refresh: schedule,
      reset: function () { view.cx = home.cx; view.cy = home.cy; view.scale = home.scale; schedule(); },
      focus: function (members) {
        if (!members.length) return;
        var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
        members.forEach(function (i) {
          x0 = Math.min(x0, nodes.x[i]); x1 = Math.max(x1, nodes.x[i]);
          y0 = Math.min(y0, nodes.y[i]); y1 = Math.max(y1, nodes.y[i]);
        });
        view.cx = (x0 + x1) / 2; view.cy = (y0 + y1) / 2;
        var span = Math.max(x1 - x0, y1 - y0, 1);
        view.scale = Math.min(home.scale * 80, 0.8 * Math.min(width, height) / span);
        schedule();
      }
    };
  }

  /* ---------------------------------------------------------------- page wiring */

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function accountButton(i, fallbackText) {
    if (i < 0) return el("bdi", fallbackText, "acct-text");
    var button = el("button", null, "acct");
    button.type = "button";
    button.dataset.node = String(i);
    button.title = data.accounts[i].id;
    button.appendChild(el("bdi", labelOf(i)));
    return button;
  }

  var hoverCard = document.getElementById("hover-card");
  function describe(i) {
    hoverCard.replaceChildren();
    if (i < 0) { hoverCard.appendChild(el("span", "Hover over an account.", "muted")); return; }
    var a = data.accounts[i];
    hoverCard.appendChild(el("strong", null)).appendChild(el("bdi", labelOf(i)));
    var net = a.network >= 0 ? "network " + data.networks[a.network].id : "not in a network";
    hoverCard.appendChild(el("div", net + " · " + (a.kind || "account") + " · score " + a.score));
    if (a.signals) hoverCard.appendChild(el("div", "signals: " + a.signals, "muted"));
  }

  var view = document.getElementById("account-view");
  function fact(list, name, value) {
    if (value === null || value === undefined || value === "") return;
    list.appendChild(el("dt", name));
    var dd = el("dd");
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    list.appendChild(dd);
  }
  function openAccount(i) {
    var a = data.accounts[i];
    if (!a) return;
    document.getElementById("account-title").replaceChildren(el("bdi", a.handle || a.id));
    document.getElementById("account-name").replaceChildren(el("bdi", a.name || ""));
    var facts = document.getElementById("account-facts");
    facts.replaceChildren();
    fact(facts, "id", el("bdi", a.id));
    if (a.bio) fact(facts, "bio", el("bdi", a.bio));
    fact(facts, "kind", a.kind);
    fact(facts, "platform", a.platform);
    fact(facts, "created", a.created);
    fact(facts, "followers", a.followers === null ? null : Number(a.followers).toLocaleString("en"));
    fact(facts, "posts", a.posts);
    if (a.network >= 0) {
      var link = el("a", null);
      link.href = "#net-" + a.network; // built from a number, never from the data's text
      link.appendChild(el("bdi", data.networks[a.network].id));
      fact(facts, "network", link);
    } else {
      fact(facts, "network", "none (background account)");
    }
    fact(facts, "score", a.score);
    fact(facts, "significant partners", a.degree);
    fact(facts, "top signals", a.signals || "–");
    var posts = document.getElementById("account-posts");
    posts.replaceChildren();
    if (!a.sample.length) posts.appendChild(el("li", a.network >= 0 ? "No posts." : "Posts are listed for network accounts only.", "muted"));
    a.sample.forEach(function (p) {
      var li = el("li");
      li.appendChild(el("div", (p.time || "") + " · " + (p.kind || "post"), "time"));
      li.appendChild(el("bdi", p.text || "", "post-text"));
      posts.appendChild(li);
    });
    var partners = document.getElementById("account-partners");
    partners.replaceChildren();
    if (!a.partners.length) partners.appendChild(el("li", "No significant partner.", "muted"));
    a.partners.forEach(function (p) {
      var li = el("li");
      li.appendChild(accountButton(p.node, p.id));
      li.appendChild(el("span", " · " + p.signals + " · weight " + p.weight, "muted"));
      partners.appendChild(li);
    });
    view.hidden = false;
    view.dataset.account = String(i);
  }

  var selection = document.getElementById("selection");
  function showNetwork(n) {
    var list = document.getElementById("selection-list");
    list.replaceChildren();
    if (n < 0) { selection.hidden = true; return; }
    var members = [];
    for (var i = 0; i < N; i++) if (nodes.net[i] === n) members.push(i);
    members.sort(function (a, b) { return data.accounts[b].score - data.accounts[a].score; });
    var title = document.getElementById("selection-title");
    title.replaceChildren(el("bdi", data.networks[n].id), document.createTextNode(": " + members.length + " accounts"));
    members.forEach(function (i) {
      var li = el("li");
      li.appendChild(accountButton(i));
      list.appendChild(li);
    });
    selection.hidden = false;
    return members;
  }

  var legend = document.getElementById("legend");
  function drawLegend() {
    legend.replaceChildren();
    function item(colour, text) {
      var row = el("div", null, "item");
      var dot = el("span", null, "dot");
      dot.style.background = colour; // CSSOM, allowed by the policy; colours are ours
      row.appendChild(dot);
      row.appendChild(el("bdi", text));
      legend.appendChild(row);
    }
    if (state.colourBy === "signal") {
      data.signals.forEach(function (s) { item(s.colour, s.name); });
      item(data.background.colour, "no signal");
    } else {
      data.networks.forEach(function (n) { item(n.colour, n.id + " (" + n.size + ")"); });
      item(data.background.linked, "linked to a network");
      item(data.background.colour, "other accounts (sample)");
    }
  }

  var renderer = null;
  var handlers = {
    hover: function (i) { state.hover = i; describe(i); if (renderer) renderer.refresh(); },
    click: function (i) {
      state.node = i;
      recomputeFocus();
      if (i >= 0) openAccount(i);
      if (renderer) renderer.refresh();
    }
  };

  var wanted = /renderer=canvas/.test(window.location.hash) ? "canvas" : "webgl";
  if (wanted === "webgl" && webglAvailable() && window.Sigma && window.graphology) {
    try {
      renderer = sigmaRenderer(handlers);
    } catch (err) {
      console.warn("WebGL renderer failed, using canvas:", err && err.message);
      container.replaceChildren();
      renderer = null;
    }
  }
  if (!renderer) renderer = canvasRenderer(handlers);
  container.dataset.renderer = renderer.kind;
  container.dataset.nodeCount = String(N);
  container.dataset.edgeCount = String(E);
  drawLegend();

  document.getElementById("colour-by").addEventListener("change", function (ev) {
    state.colourBy = ev.target.value === "signal" ? "signal" : "network";
    drawLegend();
    renderer.refresh();
  });
  var netSelect = document.getElementById("network-select");
  function selectNetwork(n) {
    state.net = n;
    state.node = -1;
    netSelect.value = String(n);
    recomputeFocus();
    var members = showNetwork(n);
    if (members && members.length) renderer.focus(members); else renderer.reset();
    renderer.refresh();
  }
  netSelect.addEventListener("change", function (ev) { selectNetwork(parseInt(ev.target.value, 10)); });
  document.getElementById("graph-reset").addEventListener("click", function () {
    selectNetwork(-1);
  });
  var status = document.getElementById("search-status");
  document.getElementById("account-search").addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") return;
    var query = ev.target.value.trim().toLowerCase();
    if (!query) return;
    var found = -1;
    for (var i = 0; i < N && found < 0; i++) {
      if (String(nodes.label[i]).toLowerCase() === query || data.accounts[i].id.toLowerCase() === query) found = i;
    }
    for (var j = 0; j < N && found < 0; j++) {
      if (String(nodes.label[j]).toLowerCase().indexOf(query) >= 0) found = j;
    }
    status.textContent = found < 0 ? "not found among the drawn accounts" : "";
    if (found >= 0) {
      handlers.click(found);
      renderer.focus([found].concat(neighbours[found]));
    }
  });
  document.getElementById("account-close").addEventListener("click", function () {
    view.hidden = true;
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") view.hidden = true;
  });
  document.addEventListener("click", function (ev) {
    var target = ev.target instanceof Element ? ev.target.closest("[data-node], .show-network") : null;
    if (!target) return;
    if (target.classList.contains("show-network")) {
      selectNetwork(parseInt(target.dataset.network, 10));
      document.getElementById("graph-section").scrollIntoView();
      return;
    }
    var i = parseInt(target.dataset.node, 10);
    if (i >= 0 && i < N) {
      state.node = i;
      recomputeFocus();
      openAccount(i);
      renderer.refresh();
    }
  });
  container.dataset.ready = "1";
})();
