namespace PetsML.Host.Commands.Serve;

/// <summary>The page <c>petsml serve</c> shows at /: drop a photo (or choose one), see the labels. No external resources.</summary>
internal static class ServePage
{
    /// <summary>Only this page's own inline script and style, and requests back to this server.</summary>
    public const string ContentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src blob:; connect-src 'self'";

    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>PetsML: which breed?</title>
        <style>
          body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
          #drop { border: 3px dashed #999; border-radius: 1rem; padding: 2rem; text-align: center; cursor: pointer; }
          #drop.over { border-color: #2a7; background: #efe; }
          #preview { max-width: 100%; max-height: 20rem; display: none; margin: 1rem auto; }
          #answer { font-size: 1.4rem; margin-top: 1rem; }
          #error { color: #b00; margin-top: 1rem; }
          li { font-size: 1rem; }
        </style>
        </head>
        <body>
        <h1>Which breed is it?</h1>
        <div id="drop">Drop a photo here, or <label>choose one <input id="file" type="file" accept="image/*"></label></div>
        <img id="preview" alt="the photo sent">
        <div id="answer" role="status"></div>
        <ol id="top"></ol>
        <div id="error" role="alert"></div>
        <script>
        // (not 'top': that name is the window's own, and redeclaring it stops the whole script)
        const drop = document.getElementById('drop'), file = document.getElementById('file');
        const answer = document.getElementById('answer'), ranking = document.getElementById('top');
        const error = document.getElementById('error'), preview = document.getElementById('preview');
        async function send(photo) {
          answer.textContent = 'Looking...'; ranking.innerHTML = ''; error.textContent = '';
          preview.src = URL.createObjectURL(photo); preview.style.display = 'block';
          try {
            const response = await fetch('predict', { method: 'POST', body: photo });
            const body = await response.json();
            if (!response.ok) { answer.textContent = ''; error.textContent = body.error || ('error ' + response.status); return; }
            answer.textContent = body.label + ' (' + (100 * body.probability).toFixed(1) + '%)';
            for (const t of body.top) {
              const li = document.createElement('li');
              li.textContent = t.label + ': ' + (100 * t.probability).toFixed(1) + '%';
              ranking.appendChild(li);
            }
          } catch (e) { answer.textContent = ''; error.textContent = 'The server did not answer (' + e.message + ').'; }
        }
        drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
        drop.addEventListener('dragleave', () => drop.classList.remove('over'));
        drop.addEventListener('drop', e => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files.length) send(e.dataTransfer.files[0]); });
        file.addEventListener('change', () => { if (file.files.length) send(file.files[0]); });
        </script>
        </body>
        </html>
        """;
}
