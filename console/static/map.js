// The map page: Leaflet (vendored) without a tile layer; the base is the shipped district
// outlines. Layers come from /map/data.json every few seconds. Text from the server is only
// ever set with textContent (popups get DOM nodes, never HTML strings).
"use strict";

(function () {
  const el = document.getElementById("map");
  if (!el || typeof L === "undefined") return;
  const REFRESH_MS = 5000;
  const LEVEL = { red: "#d93026", orange: "#f08c00", yellow: "#e6b800", blue: "#1c6fd1" };
  const FENCE = {
    disposal_site: "#2e7d32", construction_site: "#6d4c41", forbidden_zone: "#c62828",
    route: "#1565c0", speed_zone: "#8e24aa",
  };
  const FENCE_WORD = {
    disposal_site: "消纳场", construction_site: "工地", forbidden_zone: "禁行区",
    route: "准运路线", speed_zone: "限速区",
  };

  const map = L.map(el, { zoomSnap: 0.25, preferCanvas: false, attributionControl: false });
  map.setView([30.25, 120.15], 7);
  const groups = {
    fences: L.layerGroup().addTo(map),
    tracks: L.layerGroup().addTo(map),
    trucks: L.layerGroup().addTo(map),
    detections: L.layerGroup().addTo(map),
    equipment: L.layerGroup().addTo(map),
  };
  L.control.layers(null, {
    "围栏": groups.fences, "轨迹": groups.tracks, "车辆": groups.trucks,
    "车辆预警": groups.detections, "特种设备": groups.equipment,
  }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  function node(tag, className, value) {
    const n = document.createElement(tag);
    if (className) n.className = className;
    if (value !== undefined && value !== null) n.textContent = String(value);
    return n;
  }

  function popup(lines) {
    const box = node("div", "popup");
    lines.forEach(function (line) { box.appendChild(node("div", "", line)); });
    return box;
  }

  function beijing(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }

  fetch(el.dataset.base, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (base) {
      L.geoJSON(base, {
        style: { color: "#8a99a8", weight: 1, fillColor: "#ffffff", fillOpacity: 0.6 },
        onEachFeature: function (f, layer) {
          layer.bindTooltip(node("span", "", f.properties.name), { className: "district-label" });
        },
      }).addTo(map).bringToBack();
    });

  let fitted = false;

  function draw(data) {
    Object.keys(groups).forEach(function (k) { groups[k].clearLayers(); });
    L.geoJSON(data.fences, {
      style: function (f) {
        const c = FENCE[f.properties.kind] || "#555";
        return { color: c, weight: 2, fillOpacity: 0.15, dashArray: f.properties.kind === "route" ? "6 4" : null };
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(popup([(FENCE_WORD[f.properties.kind] || f.properties.kind) + "：" + f.properties.name,
          "围栏集 " + f.properties.fence_set]));
      },
    }).addTo(groups.fences);

    const trucks = document.getElementById("truck-list");
    trucks.replaceChildren();
    let truckCount = 0;
    data.trucks.features.forEach(function (f) {
      const p = f.properties;
      if (p.layer === "track") {
        L.geoJSON(f, { style: { color: "#37474f", weight: 2, opacity: 0.7 } }).addTo(groups.tracks);
        return;
      }
      truckCount += 1;
      const ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
      L.circleMarker(ll, { radius: 6, color: "#263238", fillColor: p.loaded ? "#ff7043" : "#90a4ae", fillOpacity: 1 })
        .bindPopup(popup([p.plate, beijing(p.at), p.speed_kmh == null ? "" : p.speed_kmh.toFixed(0) + " km/h",
          p.loaded ? "重车" : ""]))
        .addTo(groups.trucks);
      const li = node("li", "truck-item");
      li.dataset.plate = p.plate;
      li.appendChild(node("strong", "", p.plate));
      li.appendChild(node("span", "muted", " " + beijing(p.at)));
      trucks.appendChild(li);
    });
    document.getElementById("truck-count").textContent = String(truckCount);

    const list = document.getElementById("detection-list");
    list.replaceChildren();
    function warningMarker(f, group, listName) {
      const p = f.properties;
      const ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
      L.circleMarker(ll, { radius: 10, color: LEVEL[p.level] || "#555", weight: 3, fillOpacity: p.ended ? 0.1 : 0.45 })
        .bindPopup(popup([p.level_word + "预警 · " + p.state_word, p.title, p.plate || p.equipment || "",
          (p.rules || []).join(", "), (p.fences || []).join(", "), p.approximate ? "位置为所在区县中心（示意）" : "",
          beijing(p.last_seen)]))
        .addTo(group);
      const li = node("li", "detection-item " + listName);
      li.dataset.alertId = p.alert_id;
      li.dataset.rules = (p.rules || []).join(" ");
      li.appendChild(node("span", "tag " + p.level, p.level_word));
      li.appendChild(node("span", "", p.title + " · " + (p.plate || p.equipment || "") + " · " + p.state_word));
      list.appendChild(li);
    }
    data.detections.features.forEach(function (f) { warningMarker(f, groups.detections, "truck"); });
    data.equipment.features.forEach(function (f) { warningMarker(f, groups.equipment, "equipment"); });
    document.getElementById("detection-count").textContent =
      String(data.detections.features.length + data.equipment.features.length);

    const unplaced = document.getElementById("unplaced-list");
    unplaced.replaceChildren();
    data.equipment_unplaced.forEach(function (p) {
      unplaced.appendChild(node("li", "", p.level_word + " " + p.title + " · " + p.equipment));
    });

    if (!fitted && data.bounds) {
      map.fitBounds(data.bounds, { padding: [30, 30], maxZoom: 16 });
      fitted = data.trucks.features.length > 0;
    }
    const status = document.getElementById("map-status");
    status.textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
    el.dataset.trucks = String(truckCount);
    el.dataset.detections = String(data.detections.features.length);
  }

  function refresh() {
    fetch(el.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(draw)
      .catch(function (e) {
        document.getElementById("map-status").textContent = "地图数据暂不可用：" + e.message;
      })
      .finally(function () { window.setTimeout(refresh, REFRESH_MS); });
  }
  refresh();
})();
