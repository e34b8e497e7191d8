using RelayKit.AspNetCore.Status;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// The usage page a person opens in a browser. It carries no data itself: its script asks for the key,
/// keeps it in the tab's sessionStorage (gone when the tab closes, never sent anywhere but this
/// relay), fetches the usage JSON with it and draws it. Every value goes in as text, never as markup.
/// </summary>
internal static class UsagePageHtml
{
    private const string Body = """
        <h1>Relay usage</h1>
        <form id="key-form" autocomplete="off">
          <label for="key">Your relay key</label>
          <input id="key" type="password" autocomplete="off" spellcheck="false" size="40">
          <button id="show" type="submit">Show usage</button>
          <button id="forget" type="button">Forget key</button>
        </form>
        <p id="status" role="status">The key stays in this browser tab only.</p>
        <section id="data" hidden>
          <p>Key <strong id="key-name"></strong> · <span id="range"></span> · <span id="balance"></span></p>
          <h2>Spend by day (USD)</h2>
          <svg id="chart" width="640" height="220" viewBox="0 0 640 220" role="img" aria-label="Spend by day"></svg>
          <h2>By model</h2>
          <table id="by-model"><thead><tr><th>Model</th><th>Requests</th><th>Errors</th><th>Input tokens</th><th>Output tokens</th><th>Spend</th></tr></thead><tbody></tbody></table>
          <h2>By day</h2>
          <table id="by-day"><thead><tr><th>Day</th><th>Requests</th><th>Errors</th><th>Input tokens</th><th>Output tokens</th><th>Spend</th></tr></thead><tbody></tbody></table>
          <h2>Recent requests</h2>
          <table id="recent"><thead><tr><th>Time (UTC)</th><th>Model</th><th>Upstream</th><th>Streamed</th><th>Status</th><th>Attempts</th><th>Input</th><th>Output</th><th>Spend</th><th>Duration</th></tr></thead><tbody></tbody></table>
        </section>
        """;

    private const string Script = """
        (function () {
          'use strict';
          var storeName = 'relaykit-usage-key';
          var svgNs = 'http://www.w3.org/2000/svg';
          var statusLine = document.getElementById('status');
          function money(v) { return '$' + Number(v).toFixed(6).replace(/0{1,4}$/, ''); }
          function text(v) { return v === null || v === undefined ? '\u2014' : String(v); }
          function attempts(list) {
            if (!list || list.length === 0) { return null; }
            if (list.length === 1) { return 1; }
            return list.length + ': ' + list.map(function (a) {
              return a.provider + ' ' + (a.status_code !== undefined ? a.status_code : a.error_type);
            }).join(', ');
          }
          function fill(id, rows, columns) {
            var body = document.querySelector('#' + id + ' tbody');
            body.replaceChildren();
            rows.forEach(function (row) {
              var tr = document.createElement('tr');
              columns.forEach(function (column) {
                var td = document.createElement('td');
                td.textContent = text(column(row));
                tr.appendChild(td);
              });
              body.appendChild(tr);
            });
          }
          function svg(name, attributes, parent) {
            var node = document.createElementNS(svgNs, name);
            Object.keys(attributes).forEach(function (k) { node.setAttribute(k, String(attributes[k])); });
            parent.appendChild(node);
            return node;
          }
          function chart(days) {
            var root = document.getElementById('chart');
            root.replaceChildren();
            var width = 640, height = 220, left = 60, bottom = 30, top = 10;
            var max = 0;
            days.forEach(function (d) { max = Math.max(max, Number(d.cost)); });
            svg('line', { x1: left, y1: top, x2: left, y2: height - bottom, stroke: '#888' }, root);
            svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: '#888' }, root);
            svg('text', { x: left - 4, y: top + 10, 'font-size': 10, 'text-anchor': 'end' }, root).textContent = money(max);
            var step = days.length ? (width - left) / days.length : 0;
            days.forEach(function (d, i) {
              var value = Number(d.cost);
              var barHeight = max > 0 ? (height - bottom - top) * value / max : 0;
              var bar = svg('rect', {
                'class': 'bar', 'data-day': d.day, 'data-cost': d.cost,
                x: left + i * step + Math.max(2, (step - 48) / 2), y: height - bottom - barHeight,
                width: Math.max(1, Math.min(48, step - 4)), height: barHeight, fill: '#3b6fd4'
              }, root);
              svg('title', {}, bar).textContent = d.day + ': ' + money(value);
              svg('text', { x: left + i * step + step / 2, y: height - bottom + 14, 'font-size': 10, 'text-anchor': 'middle' }, root)
                .textContent = d.day.slice(5);
            });
          }
          function draw(data) {
            document.getElementById('key-name').textContent = data.key;
            document.getElementById('range').textContent = data.from + ' to ' + data.to;
            document.getElementById('balance').textContent = !data.balance ? 'no budget'
              : data.balance.closed ? 'closed (refunded); its past usage below'
              : 'available ' + money(data.balance.available) + ' (reserved ' + money(data.balance.reserved) + ')';
            chart(data.by_day);
            fill('by-model', data.by_model, [
              function (r) { return r.model; }, function (r) { return r.requests; }, function (r) { return r.errors; },
              function (r) { return r.input_tokens; }, function (r) { return r.output_tokens; }, function (r) { return money(r.cost); }]);
            fill('by-day', data.by_day, [
              function (r) { return r.day; }, function (r) { return r.requests; }, function (r) { return r.errors; },
              function (r) { return r.input_tokens; }, function (r) { return r.output_tokens; }, function (r) { return money(r.cost); }]);
            fill('recent', data.recent, [
              function (r) { return r.timestamp; }, function (r) { return r.model; },
              function (r) { return r.provider ? r.provider + ' / ' + r.upstream_model : null; },
              function (r) { return r.streamed ? 'yes' : 'no'; }, function (r) { return r.status; },
              function (r) { return attempts(r.attempts); },
              function (r) { return r.input_tokens; }, function (r) { return r.output_tokens; },
              function (r) { return money(r.cost); }, function (r) { return Math.round(r.duration_ms) + ' ms'; }]);
            document.getElementById('data').hidden = false;
          }
          function load(key) {
            statusLine.textContent = 'Loading\u2026';
            fetch(location.pathname, {
              headers: { 'Authorization': 'Bearer ' + key, 'Accept': 'application/json' },
              cache: 'no-store', credentials: 'omit'
            }).then(function (response) {
              if (!response.ok) {
                sessionStorage.removeItem(storeName);
                throw new Error(response.status === 401 ? 'That key was not accepted.' : 'The relay answered ' + response.status + '.');
              }
              return response.json();
            }).then(function (data) {
              draw(data);
              statusLine.textContent = 'Loaded.';
            }).catch(function (error) {
              document.getElementById('data').hidden = true;
              statusLine.textContent = error.message;
            });
          }
          document.getElementById('key-form').addEventListener('submit', function (e) {
            e.preventDefault();
            var input = document.getElementById('key');
            var key = input.value.trim();
            input.value = '';
            if (key) { sessionStorage.setItem(storeName, key); load(key); }
          });
          document.getElementById('forget').addEventListener('click', function () {
            sessionStorage.removeItem(storeName);
            document.getElementById('data').hidden = true;
            statusLine.textContent = 'Key forgotten.';
          });
          var saved = sessionStorage.getItem(storeName);
          if (saved) { load(saved); }
        })();
        """;

    public static string Render(string nonce) => RelayPageResponses.Document("Relay usage", Body, Script, nonce);
}
