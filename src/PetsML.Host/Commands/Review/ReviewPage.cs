namespace PetsML.Host.Commands.Review;

/// <summary>
/// The page of <c>petsml review</c>: the photos per class, top losses first, the most confused pairs, a keep /
/// relabel / delete choice per photo, apply and undo. It reads the token from its own address and sends it with every
/// request; it loads nothing from elsewhere, and builds the page with textContent only (file names are data, not HTML).
/// </summary>
internal static class ReviewPage
{
    public const string ContentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'";

    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>PetsML: review the photos</title>
        <style>
          body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
          header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
          .grid { display: flex; flex-wrap: wrap; gap: .8rem; }
          .card { width: 12rem; border: 1px solid #ccc; border-radius: .5rem; padding: .5rem; font-size: .85rem; }
          .card.changed { border-color: #c60; background: #fff6ec; }
          .card.wrong .pred { color: #b00; font-weight: bold; }
          .card img { width: 100%; height: 9rem; object-fit: contain; background: #f3f3f3; }
          .card img.heat { display: none; }
          .card img.heat.loaded { display: block; }
          .name { word-break: break-all; color: #555; }
          #error { color: #b00; }
          #next code { background: #f3f3f3; padding: .2rem .4rem; }
        </style>
        </head>
        <body>
        <header>
          <h1>Review the photos</h1>
          <label>Sort <select id="sort"><option value="loss">by loss (top losses first)</option><option value="name">by file name</option></select></label>
          <button id="apply" disabled>Apply changes</button>
          <button id="undo" disabled>Undo the last apply</button>
          <span id="status" role="status"></span>
        </header>
        <div id="error" role="alert"></div>
        <p id="folder"></p>
        <p id="next">Next step, after cleaning: <code id="command"></code></p>
        <h2>Most confused</h2>
        <ul id="confused"></ul>
        <div id="classes"></div>
        <script>
        const token = new URLSearchParams(location.search).get('token') || '';
        const el = id => document.getElementById(id);
        const pending = new Map();      // path -> {action, label}
        let state = null;
        const q = path => encodeURIComponent(path) + '&token=' + encodeURIComponent(token);

        async function call(method, url, body) {
          const response = await fetch(url, { method, headers: { 'X-Review-Token': token, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
          const json = await response.json();
          if (!response.ok) throw new Error(json.error || ('error ' + response.status));
          return json;
        }
        function make(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
        const pct = p => (100 * p).toFixed(1) + '%';

        function render() {
          el('folder').textContent = state.folder + ': ' + state.photos.length + ' photos, labels from ' + state.labels + (state.pattern ? ' (' + state.pattern + ')' : '');
          el('command').textContent = state.nextStep;
          el('undo').disabled = !state.canUndo;
          el('apply').disabled = pending.size === 0;
          const confused = el('confused'); confused.replaceChildren();
          for (const c of state.mostConfused) confused.appendChild(make('li', c.actual + ' predicted as ' + c.predicted + ': ' + c.count));
          if (!state.mostConfused.length) confused.appendChild(make('li', 'none'));
          const byName = el('sort').value === 'name';
          const groups = new Map(state.classes.map(c => [c, []]));
          groups.set('(no class)', []);
          for (const p of state.photos) groups.get(p.label ?? '(no class)').push(p);
          const root = el('classes'); root.replaceChildren();
          for (const [name, photos] of groups) {
            if (!photos.length) continue;
            photos.sort(byName ? (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
                               : (a, b) => (b.loss ?? -1) - (a.loss ?? -1) || (a.path < b.path ? -1 : 1));
            const section = make('section'); section.dataset.class = name;
            section.appendChild(make('h2', name + ' (' + photos.length + ')'));
            const grid = make('div', undefined, 'grid');
            for (const p of photos) grid.appendChild(card(p));
            section.appendChild(grid); root.appendChild(section);
          }
        }

        function card(p) {
          const c = make('div', undefined, 'card' + (p.label && p.label !== p.predicted ? ' wrong' : '') + (pending.has(p.path) ? ' changed' : ''));
          c.dataset.path = p.path; c.dataset.loss = p.loss ?? '';
          const img = make('img'); img.alt = p.path; img.loading = 'lazy'; img.src = 'photo?path=' + q(p.path); c.appendChild(img);
          if (state.heatmaps) {
            const heat = make('img', undefined, 'heat'); heat.alt = 'heatmap of ' + p.path;
            heat.loading = 'lazy'; heat.addEventListener('load', () => heat.classList.add('loaded'));
            heat.src = 'heatmap?path=' + q(p.path); c.appendChild(heat);
          }
          c.appendChild(make('div', p.path, 'name'));
          c.appendChild(make('div', 'label: ' + (p.label ?? '(none)'), 'label'));
          c.appendChild(make('div', 'predicted: ' + p.predicted + ' (' + pct(p.probability) + ')', 'pred'));
          c.appendChild(make('div', 'loss: ' + (p.loss === null ? '-' : p.loss.toFixed(2)), 'loss'));
          const choice = make('select', undefined, 'action');
          choice.appendChild(new Option('keep', 'keep'));
          for (const k of state.classes) if (k !== p.label) choice.appendChild(new Option('relabel as ' + k, 'relabel:' + k));
          choice.appendChild(new Option('delete (to .petsml-trash)', 'delete'));
          const was = pending.get(p.path);
          choice.value = !was ? 'keep' : was.action === 'delete' ? 'delete' : 'relabel:' + was.label;
          choice.addEventListener('change', () => {
            const v = choice.value;
            if (v === 'keep') pending.delete(p.path);
            else if (v === 'delete') pending.set(p.path, { action: 'delete' });
            else pending.set(p.path, { action: 'relabel', label: v.slice('relabel:'.length) });
            c.classList.toggle('changed', pending.has(p.path));
            el('apply').disabled = pending.size === 0;
            el('status').textContent = pending.size + ' change(s) to apply';
          });
          c.appendChild(choice);
          return c;
        }

        async function act(what) {
          el('error').textContent = ''; el('apply').disabled = true; el('undo').disabled = true;
          try {
            if (what === 'apply') {
              const changes = [...pending].map(([path, c]) => ({ path, action: c.action, label: c.label }));
              const r = await call('POST', 'api/apply', { changes });
              pending.clear(); state = r.state;
              el('status').textContent = 'Applied: ' + r.changes + ' change(s) (apply ' + r.apply + ')';
            } else {
              const r = await call('POST', 'api/undo');
              state = r.state;
              el('status').textContent = 'Undone: apply ' + r.undone + ' (' + r.changes + ' change(s))';
            }
          } catch (e) { el('error').textContent = e.message; }
          render();
        }

        el('sort').addEventListener('change', render);
        el('apply').addEventListener('click', () => act('apply'));
        el('undo').addEventListener('click', () => act('undo'));
        call('GET', 'api/state').then(s => { state = s; render(); el('status').textContent = 'Loaded ' + s.photos.length + ' photos'; })
          .catch(e => { el('error').textContent = e.message; });
        </script>
        </body>
        </html>
        """;
}
