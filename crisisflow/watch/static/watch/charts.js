// Interactive impact charts (Apache ECharts, served from this site). Each
// .watch-echart holds its chart as data (crisisflow/watch/charts.py); the server's SVG
// stays for anyone without JavaScript. Times are shown in the reader's own time zone
// (the one their preferences name, not the browser's), in the page's language.
(function () {
  "use strict";
  function formatter(zone, language, withDate) {
    var options = { timeZone: zone || "UTC", hour: "2-digit", minute: "2-digit", hour12: false };
    if (withDate) { options.month = "2-digit"; options.day = "2-digit"; }
    try { return new Intl.DateTimeFormat(language, options); }
    catch (e) { options.timeZone = "UTC"; return new Intl.DateTimeFormat(language, options); }
  }
  function draw(holder) {
    var data = JSON.parse(holder.getAttribute("data-chart"));
    var language = holder.getAttribute("data-language") || document.documentElement.lang || "en";
    var short = formatter(data.zone, language, true);
    holder.hidden = false;
    holder.style.width = "100%";
    holder.style.height = "260px";
    var chart = window.echarts.init(holder, null, { renderer: "svg" });
    var lines = data.markers.filter(function (m) { return m.at >= data.start && m.at <= data.end; }).map(function (m) {
      var statement = m.kind === "statement";
      return {
        xAxis: m.at,
        name: m.label,
        lineStyle: { color: statement ? "#b42318" : "#8a5a00", type: statement ? "solid" : "dashed" },
        label: { formatter: String(m.n), color: statement ? "#b42318" : "#8a5a00", fontSize: 11, position: "end" }
      };
    });
    chart.setOption({
      animation: false,  // drawn at once: a screenshot or a print shows the whole line
      title: { text: data.title, subtext: data.kind + " · " + data.zone, textStyle: { fontSize: 13 } },
      grid: { left: 48, right: 16, top: 56, bottom: 40, containLabel: false },
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var item = items[0];
          return short.format(new Date(item.value[0])) + "<br>" + item.value[1];
        }
      },
      xAxis: {
        type: "time", min: data.start, max: data.end,
        axisLabel: { hideOverlap: true, formatter: function (value) { return short.format(new Date(value)); } }
      },
      yAxis: { type: "value", scale: false },
      series: [{
        type: "line", name: data.title, showSymbol: false, data: data.points,
        markLine: { symbol: "none", silent: false, data: lines }
      }]
    });
    holder.setAttribute("data-drawn", "1");
    holder.previousElementSibling && (holder.previousElementSibling.hidden = true);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function start() {
    if (!window.echarts) return;
    document.querySelectorAll(".watch-echart[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
