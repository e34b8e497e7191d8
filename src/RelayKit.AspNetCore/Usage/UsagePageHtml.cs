using RelayKit.AspNetCore.Status;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// The usage and billing page a person opens in a browser. It carries no data itself: its script asks for the key,
/// keeps it in the tab's sessionStorage (gone when the tab closes, never sent anywhere but this
/// relay), fetches the usage JSON and the key's credits (<c>/v1/relay/ledger</c>) with it and draws them, times in
/// the viewer's own time zone. Every value goes in as text, never as markup.
/// </summary>
internal static class UsagePageHtml
{
    private const string Body = """
        <h1>Relay usage and billing</h1>
        <noscript><p id="no-script">This page needs JavaScript: it keeps your key in this tab only and reads your usage with
        it. Turn scripts on for this page, or read the same figures as JSON: GET /relay/usage with your key.</p></noscript>
        <form id="key-form" autocomplete="off">
          <label for="key">Your relay key</label>
          <input id="key" type="password" autocomplete="off" spellcheck="false" size="40">
          <button id="show" type="submit">Show usage</button>
          <button id="forget" type="button">Forget key</button>
        </form>
        <p id="status" role="status">The key stays in this browser tab only.</p>
        <section id="data" hidden>
          <p>Key <strong id="key-name"></strong> · <span id="range"></span> · <span id="balance"></span></p>
          <p class="muted">Times are shown in <span id="time-zone"></span>; days are UTC days.</p>
          <section id="billing" class="card">
            <h2>Balance (USD)</h2>
            <dl class="money" id="money">
              <div><dt>Balance</dt><dd id="money-balance"></dd></div>
              <div><dt>Reserved by requests in flight</dt><dd id="money-reserved"></dd></div>
              <div><dt>Available</dt><dd id="money-available"></dd></div>
              <div><dt>Unspent free credit</dt><dd id="money-free"></dd></div>
            </dl>
            <p id="no-budget" class="muted" hidden>This key has no pre-paid budget: its requests are not charged to a balance.</p>
            <p id="free-credit"></p>
            <h2>Top-ups and refunds</h2>
            <div class="scroll"><table id="credits"><thead><tr><th>When</th><th>What</th><th class="num">Amount</th><th>Reference</th></tr></thead><tbody></tbody></table></div>
            <p id="credits-empty" class="muted" hidden>No top-ups, free credit or refunds yet.</p>
            <button id="more-credits" type="button" hidden>Show more</button>
          </section>
          <h2>Spend by day (USD)</h2>
          <svg id="chart" width="640" height="220" viewBox="0 0 640 220" role="img" aria-label="Spend by day"></svg>
          <h2>Spend by model (USD)</h2>
          <ul id="model-bars" class="bars"></ul>
          <h2>By model</h2>
          <div class="scroll"><table id="by-model"><thead><tr><th>Model</th><th>Requests</th><th>Errors</th><th>Input tokens</th><th>Output tokens</th><th>Spend</th></tr></thead><tbody></tbody></table></div>
          <h2>By day (UTC)</h2>
          <div class="scroll"><table id="by-day"><thead><tr><th>Day</th><th>Requests</th><th>Errors</th><th>Input tokens</th><th>Output tokens</th><th>Spend</th></tr></thead><tbody></tbody></table></div>
          <h2>Recent requests</h2>
          <div class="scroll"><table id="recent"><thead><tr><th>Time</th><th>Model</th><th>Upstream</th><th>Streamed</th><th>Status</th><th>Attempts</th><th>Input</th><th>Output</th><th>Spend</th><th>Duration</th></tr></thead><tbody></tbody></table></div>
          <section class="card">
            <h2>Refund policy</h2>
            <p id="refund-policy"></p>
          </section>
        </section>
        """;

    private const string Script = """
        (function () {
          'use strict';
          var storeName = 'relaykit-usage-key';
          var svgNs = 'http://www.w3.org/2000/svg';
          var statusLine = document.getElementById('status');
          function money(v) { return '$' + Number(v).toFixed(6).replace(/0{1,4}$/, ''); }
          // The server sends ISO times in UTC; the viewer reads them in the browser's own time zone and language.
          var when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
          function time(iso) { return iso ? when.format(new Date(iso)) : null; }
          var kinds = { top_up: 'Top-up', free_credit: 'Free credit', refund: 'Refund' };
          var ledgerUrl = location.pathname.replace(/relay\/usage\/?$/, '') + 'v1/relay/ledger';
          var currentKey = null;
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
            svg('line', { x1: left, y1: top, x2: left, y2: height - bottom }, root);
            svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom }, root);
            svg('text', { x: left - 4, y: top + 10, 'font-size': 10, 'text-anchor': 'end' }, root).textContent = money(max);
            var step = days.length ? (width - left) / days.length : 0;
            days.forEach(function (d, i) {
              var value = Number(d.cost);
              var barHeight = max > 0 ? (height - bottom - top) * value / max : 0;
              var bar = svg('rect', {
                'class': 'bar', 'data-day': d.day, 'data-cost': d.cost,
                x: left + i * step + Math.max(2, (step - 48) / 2), y: height - bottom - barHeight,
                width: Math.max(1, Math.min(48, step - 4)), height: barHeight
              }, root);
              svg('title', {}, bar).textContent = d.day + ': ' + money(value);
              svg('text', { x: left + i * step + step / 2, y: height - bottom + 14, 'font-size': 10, 'text-anchor': 'middle' }, root)
                .textContent = d.day.slice(5);
            });
          }
          function modelBars(models) {
            var list = document.getElementById('model-bars');
            list.replaceChildren();
            var max = 0;
            models.forEach(function (m) { max = Math.max(max, Number(m.cost)); });
            models.slice().sort(function (a, b) { return Number(b.cost) - Number(a.cost); }).forEach(function (m) {
              var item = document.createElement('li');
              item.setAttribute('data-cost', String(m.cost));
              var label = document.createElement('span');
              label.className = 'label';
              label.textContent = m.model;
              var track = document.createElement('span');
              track.className = 'track';
              var fill = document.createElement('span');
              fill.className = 'fill';
              fill.style.width = (max > 0 ? 100 * Number(m.cost) / max : 0) + '%';
              track.appendChild(fill);
              var value = document.createElement('span');
              value.className = 'value';
              value.textContent = money(m.cost);
              item.append(label, track, value);
              list.appendChild(item);
            });
          }
          function amount(id, v) { document.getElementById(id).textContent = money(v); }
          function billing(data) {
            var b = data.balance;
            document.getElementById('money').hidden = !b;
            document.getElementById('no-budget').hidden = !!b;
            if (b) {
              amount('money-balance', b.balance); amount('money-reserved', b.reserved);
              amount('money-available', b.available); amount('money-free', b.free_credit);
            }
            // Carriage returns become line breaks too, so the text reads as the operator wrote it.
            document.getElementById('refund-policy').textContent = String(data.refund_policy).replace(/\r\n?/g, '\n');
          }
          function credits(page, append) {
            var body = document.querySelector('#credits tbody');
            if (!append) { body.replaceChildren(); document.getElementById('free-credit').textContent = ''; }
            page.entries.forEach(function (e) {
              var tr = document.createElement('tr');
              tr.className = e.kind;
              var at = document.createElement('time');
              at.dateTime = e.at;
              at.textContent = time(e.at);
              var cells = [at, kinds[e.kind] || e.kind, (e.kind === 'refund' ? '\u2212' : '') + money(e.amount), e.reference];
              cells.forEach(function (c, i) {
                var td = document.createElement('td');
                if (i === 2) { td.className = 'num'; }
                if (i === 3) { td.className = 'ref'; }
                if (c instanceof Node) { td.appendChild(c); } else { td.textContent = text(c); }
                tr.appendChild(td);
              });
              body.appendChild(tr);
              if (e.kind === 'free_credit') {
                var line = document.getElementById('free-credit');
                line.textContent = (line.textContent ? line.textContent + ' ' : '') +
                  'Free credit of ' + money(e.amount) + ' was given on ' + time(e.at) + '.';
              }
            });
            document.getElementById('credits-empty').hidden = body.children.length > 0;
            var more = document.getElementById('more-credits');
            more.hidden = page.next_after === undefined || page.next_after === null;
            more.setAttribute('data-after', more.hidden ? '' : String(page.next_after));
          }
          function loadCredits(key, after) {
            return fetch(ledgerUrl + (after ? '?after=' + encodeURIComponent(after) : ''), {
              headers: { 'Authorization': 'Bearer ' + key, 'Accept': 'application/json' },
              cache: 'no-store', credentials: 'omit'
            }).then(function (response) {
              if (!response.ok) { throw new Error('The relay answered ' + response.status + ' for the ledger.'); }
              return response.json();
            }).then(function (page) { credits(page, !!after); });
          }
          function draw(data) {
            document.getElementById('key-name').textContent = data.key;
            document.getElementById('range').textContent = data.from + ' to ' + data.to;
            document.getElementById('balance').textContent = !data.balance ? 'no budget'
              : data.balance.closed ? 'closed (refunded); its past usage below'
              : 'available ' + money(data.balance.available) + ' (reserved ' + money(data.balance.reserved) + ')';
            document.getElementById('time-zone').textContent = when.resolvedOptions().timeZone;
            billing(data);
            chart(data.by_day);
            modelBars(data.by_model);
            fill('by-model', data.by_model, [
              function (r) { return r.model; }, function (r) { return r.requests; }, function (r) { return r.errors; },
              function (r) { return r.input_tokens; }, function (r) { return r.output_tokens; }, function (r) { return money(r.cost); }]);
            fill('by-day', data.by_day, [
              function (r) { return r.day; }, function (r) { return r.requests; }, function (r) { return r.errors; },
              function (r) { return r.input_tokens; }, function (r) { return r.output_tokens; }, function (r) { return money(r.cost); }]);
            fill('recent', data.recent, [
              function (r) { return time(r.timestamp); }, function (r) { return r.model; },
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
              currentKey = key;
              return loadCredits(key, null);
            }).then(function () {
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
          document.getElementById('more-credits').addEventListener('click', function () {
            var after = this.getAttribute('data-after');
            if (currentKey && after) {
              loadCredits(currentKey, after).catch(function (error) { statusLine.textContent = error.message; });
            }
          });
          document.getElementById('forget').addEventListener('click', function () {
            sessionStorage.removeItem(storeName);
            currentKey = null;
            document.getElementById('data').hidden = true;
            statusLine.textContent = 'Key forgotten.';
          });
          var saved = sessionStorage.getItem(storeName);
          if (saved) { load(saved); }
        })();
        """;

    public static string Render(string nonce) => RelayPageResponses.Document("Relay usage and billing", Body, Script, nonce, UsagePageStyle.Css);
}
