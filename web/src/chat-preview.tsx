import type { LinkPreview } from '../../src/client/index.js';
import { t } from './i18n.js';

/**
 * The card under a message whose first link has a preview: site, title, description. No image:
 * loading og:image would tell the image's host who reads the conversation (the server's
 * Content-Security-Policy allows only its own images anyway), so the card stays text.
 */
export function LinkPreviewCard({ preview }: { preview: LinkPreview }) {
  let url: URL;
  try {
    url = new URL(preview.url);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const site = preview.siteName ?? url.hostname;
  return (
    <a class="link-preview" href={url.toString()} target="_blank" rel="noopener noreferrer nofollow" title={t('openLink')}>
      <span class="link-preview-site small muted">{preview.siteName ? `${site} · ${url.hostname}` : site}</span>
      {preview.title && <strong class="link-preview-title">{preview.title}</strong>}
      {preview.description && <span class="link-preview-description small">{preview.description}</span>}
    </a>
  );
}
