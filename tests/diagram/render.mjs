// Parses and renders Mermaid files with mermaid.js itself, in headless Chromium: what GitHub
// does with a ```mermaid block. For each FILE.mmd, writes FILE.svg next to it and prints one
// JSON line: {"file", "ok", "error", "clusters", "nodes", "edges", "edgeLabels"}. Exit 1 if
// any failed. With PNG=1 also FILE.png, a screenshot of the rendered diagram.
//
//   node render.mjs FILE.mmd...   (CHROMIUM names the browser; default /usr/bin/chromium)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const mermaidJs = readFileSync(require.resolve('mermaid/dist/mermaid.min.js'), 'utf8');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let failed = false;
try {
  const page = await browser.newPage();
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ content: mermaidJs });
  // Mermaid's defaults, as GitHub uses them: the size and edge limits are left alone so that a
  // test sees the library's own.
  await page.evaluate(() => window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' }));
  for (const file of process.argv.slice(2)) {
    const text = readFileSync(file, 'utf8');
    const result = await page.evaluate(async (text) => {
      try {
        await window.mermaid.parse(text);
        const { svg } = await window.mermaid.render('d' + Math.floor(Math.random() * 1e9), text);
        // Counted in the page's DOM, where GitHub puts it too (the SVG holds HTML labels).
        const host = document.createElement('div');
        host.id = 'diagram';
        host.innerHTML = svg;
        document.body.replaceChildren(host);
        const count = (sel) => host.querySelectorAll(sel).length;
        // Over maxTextSize mermaid draws one node with this text instead of the diagram.
        const tooBig = svg.includes('Maximum text size in diagram exceeded');
        const errorNode = host.querySelector('.error-text');
        const error = tooBig ? 'Maximum text size in diagram exceeded'
          : errorNode ? errorNode.textContent : null;
        return {
          ok: true, svg,
          clusters: count('g.cluster'),
          nodes: count('g.node'),
          edges: count('path.flowchart-link'),
          edgeLabels: count('g.edgeLabel'),
          error,
        };
      } catch (e) {
        return { ok: false, error: String(e && e.message || e) };
      }
    }, text);
    if (result.ok && !result.error) {
      writeFileSync(file.replace(/\.mmd$/, '') + '.svg', result.svg);
      if (process.env.PNG) {
        await page.locator('#diagram svg').screenshot({ path: file.replace(/\.mmd$/, '') + '.png' });
      }
    } else {
      failed = true;
    }
    delete result.svg;
    console.log(JSON.stringify({ file, ...result }));
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
