// The operator console. It keeps the admin key in this tab's sessionStorage only and does everything through the
// operations API beside it (the page's own address without "/console"); it decides nothing itself. Every value from
// the API reaches the page as text (textContent, attributes set one by one), never as markup.
(() => {
  'use strict';
  const storageName = 'relaykit-admin-key';
  const api = location.pathname.replace(/\/console\/?$/, '');
  const $ = (id) => document.getElementById(id);
  const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 6 });
  const count = new Intl.NumberFormat('en-US');
  const money = (value) => (value === undefined || value === null ? '—' : usd.format(value));
  let usageNext = null;
  let selected = null;

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  // One call to the operations API with the admin key; an answer that is not 2xx becomes an ApiError with the API's message.
  async function call(method, path, { body, accept, adminKey } = {}) {
    const headers = { Authorization: 'Bearer ' + (adminKey ?? sessionStorage.getItem(storageName) ?? '') };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (accept) headers.Accept = accept;
    const response = await fetch(api + path, {
      method, headers, cache: 'no-store', credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let message = 'The operations API answered ' + response.status + '.';
      try { message = (await response.json()).error.message || message; } catch { /* not the API's JSON error */ }
      if (response.status === 401 && adminKey === undefined) {
        signOut('The admin key was refused; sign in again.');
      }
      throw new ApiError(response.status, message);
    }
    return accept === 'text/csv' ? response.blob() : response.json();
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function say(text, isError) {
    const message = $('message');
    message.textContent = text;
    message.classList.toggle('error', Boolean(isError));
  }

  async function run(action) {
    try {
      await action();
    } catch (error) {
      say(error.message, true);
    }
  }

  function query(extra) {
    const parameters = new URLSearchParams();
    for (const [name, id] of [['key', 'filter-key'], ['model', 'filter-model'], ['status', 'filter-status'], ['from', 'filter-from'], ['to', 'filter-to']]) {
      const value = $(id).value.trim();
      if (value) parameters.set(name, value);
    }
    for (const [name, value] of Object.entries(extra || {})) parameters.set(name, value);
    const text = parameters.toString();
    return text ? '?' + text : '';
  }

  // Sign in: the key is checked with one read of the key list before it is kept; the field is emptied either way.
  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('admin-key');
    const adminKey = input.value.trim();
    input.value = '';
    $('login-error').textContent = '';
    try {
      const list = await call('GET', '/keys', { adminKey });
      sessionStorage.setItem(storageName, adminKey);
      show(true);
      renderKeys(list);
      await Promise.all([loadUsage(), loadSpend()]);
    } catch (error) {
      $('login-error').textContent = error.status === 401 ? 'That is not the admin key. ' + error.message : error.message;
    }
  });

  function signOut(reason) {
    sessionStorage.removeItem(storageName);
    for (const id of ['keys', 'usage']) $(id).tBodies[0].replaceChildren();
    for (const id of ['spend-by-key', 'spend-by-model', 'spend-by-day', 'key-ids']) $(id).replaceChildren();
    for (const id of ['new-secret', 'new-key-id', 'spend-total', 'keys-status', 'usage-status', 'message']) $(id).textContent = '';
    $('secret-card').hidden = true;
    closeAction();
    show(false);
    $('login-error').textContent = reason || '';
  }

  $('sign-out').addEventListener('click', () => signOut('Signed out.'));

  function show(signedIn) {
    $('login').hidden = signedIn;
    $('app').hidden = !signedIn;
    $('sign-out').hidden = !signedIn;
  }

  // Keys: each with its money and spend as the API lists them.
  async function loadKeys() {
    renderKeys(await call('GET', '/keys'));
  }

  function renderKeys(list) {
    const rows = list.keys.map((key) => {
      const row = element('tr');
      row.dataset.id = key.id;
      row.append(
        element('td', key.name, 'name'), element('td', key.id, 'id'), element('td', key.source), element('td', key.state, 'state ' + key.state),
        element('td', money(key.balance?.balance), 'num balance'), element('td', money(key.balance?.reserved), 'num reserved'),
        element('td', money(key.spent), 'num spent'),
        element('td', key.models.length ? key.models.join(', ') : 'all', 'models'));
      const actions = element('td', null, 'actions nowrap');
      if (key.state !== 'closed') {
        actions.append(actionButton('topup', 'Top up', key.id), actionButton('refund', 'Refund and close', key.id));
      }
      if (key.source === 'created' && key.state !== 'revoked' && key.state !== 'closed') {
        actions.append(actionButton('revoke', 'Revoke', key.id));
      }
      row.append(actions);
      return row;
    });
    $('keys').tBodies[0].replaceChildren(...rows);
    $('key-ids').replaceChildren(...list.keys.map((key) => { const option = element('option'); option.value = key.id; return option; }));
    $('keys-status').textContent = list.keys.length === 1 ? '1 key' : list.keys.length + ' keys';
  }

  function actionButton(action, label, id) {
    const button = element('button', label, 'secondary');
    button.type = 'button';
    button.dataset.action = action;
    button.dataset.id = id;
    return button;
  }

  $('keys').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (button) openAction(button.dataset.action, button.dataset.id);
  });

  function openAction(action, id) {
    selected = id;
    $('action-title').textContent = { topup: 'Top up', refund: 'Refund and close', revoke: 'Revoke' }[action];
    $('action-key').textContent = id;
    for (const name of ['topup', 'refund', 'revoke']) $(name + '-form').hidden = name !== action;
    $('action-card').hidden = false;
    $('action-card').scrollIntoView({ block: 'nearest' });
  }

  function closeAction() {
    selected = null;
    $('action-card').hidden = true;
    for (const id of ['topup-amount', 'topup-reference', 'refund-reference']) $(id).value = '';
  }

  $('action-cancel').addEventListener('click', closeAction);

  const keyPath = (id) => '/keys/' + encodeURIComponent(id);

  $('create-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(async () => {
      const body = { name: $('create-name').value, models: $('create-models').value.split(/[\s,]+/).filter((m) => m) };
      const credit = $('create-credit').value.trim();
      if (credit) body.credit = Number(credit);
      const reference = $('create-reference').value.trim();
      if (reference) body.credit_reference = reference;
      const expires = $('create-expires').value;
      if (expires) body.expires_at = expires + 'T00:00:00Z';
      const created = await call('POST', '/keys', { body });
      // The secret goes into the box once and nowhere else: not storage, not the key list.
      $('new-secret').textContent = created.secret;
      $('new-key-id').textContent = created.id;
      $('secret-card').hidden = false;
      event.target.reset();
      say('Created the key ' + created.id + ' (' + created.name + '), balance ' + money(created.balance?.balance) + '.');
      await loadKeys();
    });
  });

  $('secret-done').addEventListener('click', () => {
    $('new-secret').textContent = '';
    $('new-key-id').textContent = '';
    $('secret-card').hidden = true;
  });

  $('topup-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(async () => {
      const id = selected;
      const result = await call('POST', keyPath(id) + '/topups', {
        body: { amount: Number($('topup-amount').value.trim()), reference: $('topup-reference').value.trim() },
      });
      closeAction();
      say('Top-up ' + result.status + ': ' + money(result.amount) + ' to ' + id + ' (reference ' + result.reference + '), balance ' + money(result.balance) + '.');
      await loadKeys();
    });
  });

  $('refund-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(async () => {
      const id = selected;
      const reference = $('refund-reference').value.trim();
      const result = await call('POST', keyPath(id) + '/refund', reference ? { body: { reference } } : {});
      closeAction();
      say('Refund ' + result.status + ': ' + money(result.amount) + ' paid back for ' + id + '; the key is closed.');
      await loadKeys();
    });
  });

  $('revoke-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(async () => {
      const id = selected;
      const key = await call('POST', keyPath(id) + '/revoke');
      closeAction();
      say('Revoked ' + key.id + ' (' + key.name + ').');
      await loadKeys();
    });
  });

  $('refresh').addEventListener('click', () => run(() => Promise.all([loadKeys(), loadUsage(), loadSpend()])));

  // Usage: pages of records, newest first; More asks for the next page.
  async function loadUsage(more) {
    const page = await call('GET', '/usage' + query(more ? { limit: 50, offset: usageNext } : { limit: 50 }));
    const rows = page.records.map((record) => {
      const row = element('tr');
      row.dataset.requestId = record.request_id;
      row.append(
        element('td', record.timestamp.replace('T', ' ').slice(0, 19), 'nowrap'), element('td', record.key_name ?? '—', 'key'),
        element('td', record.requested_model, 'model'), element('td', record.provider ?? '—'),
        element('td', count.format(record.input_tokens ?? 0), 'num'), element('td', count.format(record.output_tokens ?? 0), 'num'),
        element('td', money(record.cost), 'num cost'), element('td', record.status_code, 'num'));
      return row;
    });
    const body = $('usage').tBodies[0];
    if (more) body.append(...rows); else body.replaceChildren(...rows);
    usageNext = page.next_offset ?? null;
    $('usage-more').hidden = usageNext === null;
    $('usage-status').textContent = body.rows.length + (usageNext === null ? ' records' : ' records so far');
  }

  $('usage-more').addEventListener('click', () => run(() => loadUsage(true)));

  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(() => Promise.all([loadUsage(), loadSpend()]));
  });

  // CSV: the API writes it; the page fetches it with the admin key and hands the browser the bytes as a download.
  $('export-csv').addEventListener('click', () => run(async () => {
    const blob = await call('GET', '/usage' + query({ format: 'csv' }), { accept: 'text/csv' });
    const link = element('a');
    link.href = URL.createObjectURL(blob);
    link.download = 'relaykit-usage.csv';
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    say('Exported the usage as CSV.');
  }));

  // Spend: the API totals it by key, model and day; the page only draws the bars.
  async function loadSpend() {
    const spend = await call('GET', '/spend' + query());
    $('spend-total').textContent = count.format(spend.requests) + ' requests (' + count.format(spend.errors) + ' failed), ' + money(spend.cost) + ' in all.';
    drawBars($('spend-by-key'), spend.by_key, (name) => name ?? '(no key)');
    drawBars($('spend-by-model'), spend.by_model, (name) => name);
    drawDays($('spend-by-day'), spend.by_day);
  }

  function drawBars(container, totals, label) {
    const max = Math.max(0, ...totals.map((t) => t.cost));
    container.replaceChildren(...totals.map((total) => {
      const row = element('div', null, 'bar-row');
      row.dataset.name = total.name ?? '';
      row.dataset.cost = String(total.cost);
      row.title = label(total.name) + ': ' + count.format(total.requests) + ' requests, ' + money(total.cost);
      const track = element('span', null, 'track');
      const fill = element('span', null, 'fill');
      fill.style.width = (max > 0 ? (total.cost / max) * 100 : 0) + '%';
      track.append(fill);
      row.append(element('span', label(total.name), 'label'), track, element('span', money(total.cost), 'value'));
      return row;
    }));
    if (!totals.length) container.append(element('p', 'No usage in this range.', 'muted'));
  }

  function drawDays(container, days) {
    if (!days.length) {
      container.replaceChildren(element('p', 'No usage in this range.', 'muted'));
      return;
    }
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    const width = 600, height = 180, bottom = 20, plot = height - bottom - 8;
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'Spend by day');
    svg.setAttribute('preserveAspectRatio', 'none');
    const max = Math.max(0, ...days.map((d) => d.cost));
    const step = width / days.length;
    days.forEach((day, index) => {
      const barHeight = max > 0 ? (day.cost / max) * plot : 0;
      const rect = document.createElementNS(ns, 'rect');
      rect.setAttribute('class', 'bar');
      // A bar is at most 48 units wide, so a range of one day is not a solid block.
      const barWidth = Math.min(step * 0.7, 48);
      rect.setAttribute('x', String(index * step + (step - barWidth) / 2));
      rect.setAttribute('y', String(height - bottom - barHeight));
      rect.setAttribute('width', String(barWidth));
      rect.setAttribute('height', String(barHeight));
      rect.dataset.day = day.name;
      rect.dataset.cost = String(day.cost);
      const title = document.createElementNS(ns, 'title');
      title.textContent = day.name + ': ' + count.format(day.requests) + ' requests, ' + money(day.cost);
      rect.append(title);
      svg.append(rect);
    });
    const axis = document.createElementNS(ns, 'line');
    axis.setAttribute('class', 'axis');
    for (const [name, value] of [['x1', 0], ['x2', width], ['y1', height - bottom], ['y2', height - bottom]]) axis.setAttribute(name, String(value));
    svg.append(axis);
    for (const [index, anchor] of [[0, 'start'], [days.length - 1, 'end']]) {
      const text = document.createElementNS(ns, 'text');
      text.setAttribute('x', String(anchor === 'start' ? 2 : width - 2));
      text.setAttribute('y', String(height - 5));
      text.setAttribute('text-anchor', anchor);
      text.textContent = days[index].name;
      svg.append(text);
    }
    const top = element('p', 'Highest day: ' + money(max), 'muted value');
    container.replaceChildren(svg, top);
  }

  // A tab that signed in before (a reload) carries on with the key it kept.
  if (sessionStorage.getItem(storageName)) {
    show(true);
    run(() => Promise.all([loadKeys(), loadUsage(), loadSpend()]));
  }
})();
