import { chromium } from "playwright-core";
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
const ctx = await b.newContext({ viewport: { width: 1280, height: 800 } });
const p = await ctx.newPage();
await p.goto('http://127.0.0.1:18787/');
await p.waitForLoadState('networkidle');
const shifts = await p.evaluate(() => new Promise((ok) => {
  const out = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) out.push({ v: e.value, t: e.startTime, src: e.sources.map(s => (s.node && (s.node.id || s.node.className || s.node.nodeName)) + ' ' + JSON.stringify(s.previousRect) + '->' + JSON.stringify(s.currentRect)) }); })
    .observe({ type: "layout-shift", buffered: true });
  setTimeout(() => ok(out), 100);
}));
console.log(JSON.stringify(shifts, null, 1));
await b.close();
