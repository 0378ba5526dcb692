import { describe, expect, it } from 'vitest';
import { isHtml, parsePage } from '../../src/modules/previews/index.js';
import { firstUrl } from '../../src/shared/links.js';

describe('firstUrl', () => {
  it('finds the first http(s) link, without the punctuation that ends the sentence', () => {
    expect(firstUrl('see https://example.com/a?b=1. and http://other.example')).toBe('https://example.com/a?b=1');
    expect(firstUrl('(see https://example.com/wiki/Foo_(bar))')).toBe('https://example.com/wiki/Foo_(bar)');
    expect(firstUrl('看「HTTPS://Example.COM/路径」，好')).toBe('https://example.com/%E8%B7%AF%E5%BE%84');
    expect(firstUrl('链接：https://example.com/a。')).toBe('https://example.com/a');
    expect(firstUrl('no link, ftp://example.com or example.com')).toBeNull();
    expect(firstUrl('http:// broken then https://ok.example/')).toBe('https://ok.example/');
  });
});

describe('parsePage', () => {
  const page = 'https://site.example/post/1';

  it('prefers Open Graph tags, decodes entities and resolves the image against the page', () => {
    const html = `<html><head><title>Plain</title>
      <meta content="OG &amp; title" property="og:title">
      <meta property='og:description' content='Two&#10;lines &#x263A;'>
      <meta property="og:image" content="/img/cover.png">
      <meta property="og:site_name" content="Site">
      <meta name="description" content="meta description"></head></html>`;
    expect(parsePage(html, page)).toEqual({ title: 'OG & title', description: 'Two lines ☺', image: 'https://site.example/img/cover.png', siteName: 'Site' });
  });

  it('falls back to <title> and meta description, ignores scripts and drops non-http images', () => {
    const html = `<script>document.write('<meta property="og:title" content="from script">')</script><title>
      The   title </title><meta name="description" content="About it"><meta property="og:image" content="javascript:alert(1)">`;
    expect(parsePage(html, page)).toEqual({ title: 'The title', description: 'About it', image: null, siteName: null });
  });

  it('cuts long values', () => {
    const title = parsePage(`<title>${'a'.repeat(1000)}</title>`, page).title ?? '';
    expect([...title]).toHaveLength(300);
    expect(title.endsWith('…')).toBe(true);
  });

  it('reads HTML content types only', () => {
    expect(isHtml('text/html; charset=utf-8')).toBe(true);
    expect(isHtml('application/xhtml+xml')).toBe(true);
    expect(isHtml('application/json')).toBe(false);
    expect(isHtml('image/svg+xml')).toBe(false);
    expect(isHtml(undefined)).toBe(false);
  });
});
