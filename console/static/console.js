// The console's own script (no inline scripts: the Content-Security-Policy allows only files
// from this site). Pages opt in with data- attributes; text from the server is only ever set
// with textContent, never parsed as HTML.
"use strict";

(function () {
  const LEVELS = { red: "红色", orange: "橙色", yellow: "黄色", blue: "蓝色" };
  const KEEP = 50;

  function text(tag, className, value) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    el.textContent = value;
    return el;
  }

  function beijing(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    return d.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }

  function item(w) {
    const level = Object.prototype.hasOwnProperty.call(LEVELS, w.level) ? w.level : "blue";
    const li = document.createElement("li");
    li.className = "live-item fresh";
    li.dataset.alertId = w.alert_id;
    li.appendChild(text("span", "level " + level, LEVELS[level]));
    const link = text("a", "title", w.title);
    link.href = "/warnings/" + encodeURIComponent(w.alert_id);
    li.appendChild(link);
    li.appendChild(text("span", "muted", " " + w.entity + " · " + w.region_code + " · " + beijing(w.first_seen)));
    return li;
  }

  function live(wall) {
    const list = document.getElementById("live-list");
    const status = document.getElementById("live-status");
    const source = new EventSource(wall.dataset.live);
    source.onopen = function () { status.textContent = "已连接"; };
    source.onerror = function () { status.textContent = "连接中断，正在重连…"; };
    source.addEventListener("warning", function (event) {
      const w = JSON.parse(event.data);
      list.prepend(item(w));
      while (list.children.length > KEEP) list.removeChild(list.lastChild);
      const panels = document.getElementById("panels");
      if (panels && window.htmx) window.htmx.trigger(panels, "refresh");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const wall = document.querySelector("[data-live]");
    if (wall) live(wall);
  });
})();
